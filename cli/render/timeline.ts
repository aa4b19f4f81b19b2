/** The human rendering of a simulation: a timeline in virtual time, then each release's summary. */
import { rollbackFromText } from '../../lambdas/domain/release';
import type { SimulationOutput } from '../../local/simulate';

const pad = (s: string, n: number) => (s.length >= n ? `${s.slice(0, n - 1)}…` : s.padEnd(n));

function clockTime(iso: string, startDay: string): string {
  const day = iso.slice(0, 10);
  const t = iso.slice(11, 19);
  return day === startDay ? t : `${day} ${t}`;
}

export function renderTimeline(out: SimulationOutput, options: { verbose?: boolean } = {}): string {
  const lines: string[] = [];
  const startDay = out.clock.start.slice(0, 10);
  // A run that crosses midnight prints dates beside the times: widen the column so they are not cut.
  const multiDay = out.timeline.some((t) => t.at.slice(0, 10) !== startDay);
  const timeWidth = multiDay ? 21 : 10;
  const quiet = new Set(['Lease Acquired', 'Lease Released', 'Stage Started']);
  lines.push(`SIMULATION — "${out.scenario}"`);
  lines.push('Simulated: no AWS account was used. Times are virtual (UTC); the real workflows and handlers ran against a local cloud.');
  lines.push('');
  lines.push(`${pad('time', timeWidth)}${pad('release', 34)}${pad('stage', 10)}${pad('step', 26)}${pad('result', 13)}reason`);
  for (const t of out.timeline) {
    if (!options.verbose && quiet.has(t.event)) continue;
    lines.push(`${pad(clockTime(t.at, startDay), timeWidth)}${pad(t.release ?? '—', 34)}${pad(t.stage ?? '', 10)}${pad(t.event, 26)}${pad(t.result ?? '', 13)}${t.reason ?? ''}`);
  }
  lines.push('');
  lines.push('Summary');
  if (out.releases.length === 0) lines.push('  no release was started');
  for (const r of out.releases) {
    lines.push(`  ${r.releaseId}  ${r.kind === 'rollback' ? 'rollback of ' : ''}${r.service} ${r.tag ?? ''} ${r.digest ?? '(unresolved)'}`);
    lines.push(`    status: ${r.status}${r.reason ? ` — ${r.reason}` : ''}`);
    lines.push(`    initiator: ${r.initiator ?? 'unknown'}`);
    for (const s of r.stages) {
      const rb = s.rollback ? `; rollback ${String(s.rollback.result ?? 'started')} ${rollbackFromText(s.rollback)} → ${String(s.rollback.toDigest ?? '')}` : '';
      lines.push(`    ${pad(s.name, 10)}${pad(s.status, 16)}${s.gates.map((g) => `${g.gate}:${g.result}`).join(' ')}${rb}`);
    }
    lines.push(`    audit: ${r.audit.events} ledger events, hash chain ${r.audit.verified ? 'verified' : `BROKEN (${(r.audit.problems ?? []).join('; ')})`}`);
  }
  for (const s of out.skipped) lines.push(`  skipped push ${s.repository}:${s.tag ?? '(no tag)'} — ${s.reason}`);
  if (Object.keys(out.stages).length) {
    lines.push('');
    lines.push('Stages now');
    for (const [k, v] of Object.entries(out.stages)) lines.push(`  ${pad(k, 22)} running ${v.running ?? '—'}  last known good ${v.lastKnownGood ?? '—'}`);
  }
  for (const u of out.unused) lines.push(`  unused script line ${u.index}: ${u.reason}`);
  for (const w of out.warnings) lines.push(`  warning: ${w}`);
  lines.push('');
  lines.push(`(simulation: virtual time ${out.clock.start} → ${out.clock.end})`);
  return lines.join('\n');
}
