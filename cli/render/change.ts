/**
 * The change record, commit and commit ranges of a release (decision 051) as `gantry audit show` prints them and
 * the HTML report shows them.
 */
import type { ChangeAudit } from '../../lambdas/domain/audit';

/** Where the change id was expected, as the gate's reason names it. */
export function changeSource(c: ChangeAudit): string {
  if (!c.from) return 'no change record asked for';
  const where = c.from.startsWith('label:') ? `image label ${c.from.slice('label:'.length)}` : 'release input changeRecord';
  return `${where}, pattern ${c.pattern ?? '?'}${c.required === false ? ', not required' : ''}`;
}

/** A stage's range as lines: from (or why there is none) and to, each digest and commit in full. */
export function rangeLines(st: ChangeAudit['stages'][number]): string[] {
  const ref = (r: { digest: string; commit?: string }) => `${r.digest}  commit ${r.commit ?? 'not recorded'}`;
  const to = st.to ? ref(st.to) : '?';
  if (!st.from) return ['from  (first release in the stage: no last known good)', `to    ${to}`];
  if (st.to && st.from.digest === st.to.digest) return [`no change: ${to} is already the last known good`];
  return [`from  ${ref(st.from)}`, `to    ${to}`];
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
    const lines = [...rangeLines(st), ...(st.compareUrl ? [`diff  ${st.compareUrl}`] : []), ...(st.result === 'FAIL' ? ['change.record FAIL'] : [])];
    lines.forEach((l, i) => out.push(`  ${(i === 0 ? st.stage : '').padEnd(10)} ${l}`));
  }
  return out;
}
