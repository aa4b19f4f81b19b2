/**
 * The change record, commit and commit ranges of a release (decision 051) as `gantry audit show` prints them and
 * the HTML report shows them.
 */
import type { ChangeAudit } from '../../lambdas/domain/audit';

const shortCommit = (c: string | undefined): string => (c ? c.slice(0, 12) : '?');
const shortDigest = (d: string): string => (/^sha256:[0-9a-f]{64}$/.test(d) ? `${d.slice(0, 19)}…` : d);

/** Where the change id was expected, as the gate's reason names it. */
export function changeSource(c: ChangeAudit): string {
  if (!c.from) return 'no change record asked for';
  const where = c.from.startsWith('label:') ? `image label ${c.from.slice('label:'.length)}` : 'release input changeRecord';
  return `${where}, pattern ${c.pattern ?? '?'}${c.required === false ? ', not required' : ''}`;
}

/** One stage's range in words: `sha256:1111… (3b1f5c2a9d8e) → sha256:2222… (9f2c1e7d4a5b)`. */
export function rangeText(st: ChangeAudit['stages'][number]): string {
  const to = st.to ? `${shortDigest(st.to.digest)} (${st.to.commit ? shortCommit(st.to.commit) : 'commit not recorded'})` : '?';
  if (!st.from) return `first release in the stage (no last known good) → ${to}`;
  if (st.to && st.from.digest === st.to.digest) return `no change: ${to} is already the last known good`;
  return `${shortDigest(st.from.digest)} (${st.from.commit ? shortCommit(st.from.commit) : 'commit not recorded'}) → ${to}`;
}

/** The lines of `gantry audit show` (the block after Config). */
export function changeLines(c: ChangeAudit | undefined): string[] {
  if (!c) return [];
  const failed = c.stages.find((s) => s.result === 'FAIL');
  const out = [
    `Change       ${c.id ?? (c.from ? (failed ? `NONE VALID (${failed.reason})` : 'none given') : '(no change record asked for)')}${c.from ? `  (${changeSource(c)})` : ''}`,
    `  commit     ${c.commit ?? `not recorded${c.commitProblem ? ` (${c.commitProblem})` : c.commitLabel ? ` (no label ${c.commitLabel})` : ''}`}`,
  ];
  for (const st of c.stages) {
    out.push(`  ${st.stage.padEnd(10)} ${st.result === 'FAIL' ? 'change.record FAIL; ' : ''}${rangeText(st)}`);
    if (st.compareUrl) out.push(`  ${''.padEnd(10)} ${st.compareUrl}`);
  }
  return out;
}
