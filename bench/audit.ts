/**
 * Audit: verifying a 1,000-event chain, and exporting 10,000 releases. The events are shaped like the
 * demo release's real ledger events (one simulation supplies the templates) and chained with the real
 * append code (`chainEvent`: RFC 8785 canonical JSON, sha256).
 */
import { join } from 'node:path';
import { formatExport, parseExport, verifyExport } from '../lambdas/domain/audit';
import { chainEvent, type LedgerEvent, verifyChain } from '../lambdas/domain/ledger';
import { loadScenarioFile } from '../local/scenario';
import { simulate } from '../local/simulate';
import { median, ms, s, verdict } from './stats';

const ROOT = join(__dirname, '..');
export const VERIFY_GOAL_MS = 100;
export const EXPORT_GOAL_MS = 5_000;

async function demoEvents(): Promise<LedgerEvent[]> {
  const { ledgerEvents } = await simulate(loadScenarioFile(join(ROOT, 'examples', 'scenarios', 'demo.json')));
  return ledgerEvents;
}

/** One release of exactly `n` events: the demo's first event, its middle events repeated (unique step keys), its last. */
export function longChain(templates: readonly LedgerEvent[], n: number, releaseId = 'rel-bench-long'): LedgerEvent[] {
  const first = templates[0];
  const last = templates.at(-1);
  const middle = templates.slice(1, -1);
  if (!first || !last || middle.length === 0) throw new Error('the demo produced too few events');
  const inputs = [first, ...Array.from({ length: n - 2 }, (_, i) => middle[i % middle.length] as LedgerEvent), last].map((e, i) => ({
    releaseId,
    stepKey: `${e.stepKey}#${i}`,
    type: e.type,
    at: e.at,
    ...(e.stage ? { stage: e.stage } : {}),
    data: e.data,
  }));
  const out: LedgerEvent[] = [];
  for (const input of inputs) out.push(chainEvent(out.at(-1), input));
  return out;
}

export interface AuditFigures {
  chainEvents: number;
  chainBytes: number;
  verifyChainMs: number[];
  verifyExportMs: number[];
  verifyOk: boolean;
  exportReleases: number;
  exportEvents: number;
  exportBytes: number;
  exportMs: number[];
}

export async function measureAudit(samples = 5): Promise<AuditFigures> {
  const templates = await demoEvents();
  const chain = longChain(templates, 1000);
  const chainText = formatExport(chain);
  let verifyOk = verifyChain(chain).ok && verifyExport(parseExport(chainText)).ok;
  const verifyChainMs: number[] = [];
  const verifyExportMs: number[] = [];
  for (let i = 0; i < samples; i++) {
    let t0 = process.hrtime.bigint();
    verifyOk = verifyChain(chain).ok && verifyOk;
    verifyChainMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
    t0 = process.hrtime.bigint();
    verifyOk = verifyExport(parseExport(chainText)).ok && verifyOk;
    verifyExportMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }

  // 10,000 releases: the demo release's events under 10,000 release ids. formatExport groups, orders
  // and serializes; it does not recompute hashes, so the copies keep the template's.
  const releases = 10_000;
  const events: LedgerEvent[] = [];
  for (let r = 0; r < releases; r++) {
    const releaseId = `rel-bench-${String(r).padStart(5, '0')}`;
    for (const e of templates) events.push({ ...e, releaseId });
  }
  let exportBytes = 0;
  const exportMs: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = process.hrtime.bigint();
    exportBytes = formatExport(events).length;
    exportMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return {
    chainEvents: chain.length,
    chainBytes: chainText.length,
    verifyChainMs,
    verifyExportMs,
    verifyOk,
    exportReleases: releases,
    exportEvents: events.length,
    exportBytes,
    exportMs,
  };
}

export function auditTable(f: AuditFigures): string {
  const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`;
  return [
    '| measure | runs | median | goal | |',
    '|---|---|---|---|---|',
    `| verify a ${f.chainEvents.toLocaleString('en')}-event chain, \`verifyChain\` (ledger.ts, in memory) | ${f.verifyChainMs.map((v) => ms(v)).join(' / ')} | ${ms(median(f.verifyChainMs))} | ≤ ${VERIFY_GOAL_MS} ms | ${verdict(median(f.verifyChainMs) <= VERIFY_GOAL_MS)} |`,
    `| verify the same chain from its export text (${(f.chainBytes / 1024).toFixed(0)} KB), \`parseExport\` + \`verifyExport\` (what \`gantry audit verify\` runs) | ${f.verifyExportMs.map((v) => ms(v)).join(' / ')} | ${ms(median(f.verifyExportMs))} | ≤ ${VERIFY_GOAL_MS} ms | ${verdict(median(f.verifyExportMs) <= VERIFY_GOAL_MS)} |`,
    `| export ${f.exportReleases.toLocaleString('en')} releases (${f.exportEvents.toLocaleString('en')} events → ${mb(f.exportBytes)}), \`formatExport\` | ${f.exportMs.map((v) => s(v, 2)).join(' / ')} | ${s(median(f.exportMs), 2)} | ≤ ${s(EXPORT_GOAL_MS, 0)} | ${verdict(median(f.exportMs) <= EXPORT_GOAL_MS)} |`,
    '',
    f.verifyOk ? 'Every verification of the chain reported it intact.' : '**A verification reported problems: the figures above are not valid.**',
  ].join('\n');
}
