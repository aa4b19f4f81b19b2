/**
 * Signed anchors through the real workflows (decision 048): each simulated release that ends — closed by the
 * record step, by rollback-prepare, or by the reconciler after an abort — is signed by the anchor-sign handler
 * (the `Release Finished` rule on the Gantry bus) with the local P-256 key, its export carries the signature, and
 * `verifyExport` with the local key's public half passes; the insight chain's head is signed per check.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatExport, parseExport, verifyExport } from '../../lambdas/domain/audit';
import { localAnchorKey } from '../../local/anchor-key';
import { loadScenario, loadScenarioFile } from '../../local/scenario';
import { simulate } from '../../local/simulate';
import type { SimulationResult } from '../../local/sim-types';
import { ROOT } from './helpers';

// Every kind of record that ends: releases, operator rollbacks, a dead execution (abort), drills and their legs, a
// Terraform plan round, N-of-M approvals, a change record refused then accepted: each writer of release.finished.
const SCENARIOS = [
  'signed-anchors.json',
  'abort-during-bake.json',
  'stale-service.json',
  'drill-staging.json',
  'terraform-plan-stale.json',
  'approvals-two-of-three.json',
  'change-record-input.json',
];
const results = new Map<string, SimulationResult>();

beforeAll(async () => {
  for (const f of SCENARIOS) results.set(f, await simulate(loadScenarioFile(join(ROOT, 'examples', 'scenarios', f))));
});

describe('signed anchors in gantry simulate', () => {
  it('every finished release ends signed by the local key, and the export verifies with its public half', () => {
    const key = localAnchorKey();
    let finished = 0;
    for (const [name, r] of results) {
      const ends = r.ledgerEvents.filter((e) => e.type === 'release.finished');
      finished += ends.length;
      for (const end of ends) {
        const sig = r.signatures?.get(end.releaseId);
        expect(sig, `${name}: ${end.releaseId} has no signature`).toBeDefined();
        expect(sig).toMatchObject({ keyId: key.keyId, algorithm: 'ECDSA_SHA_256', version: end.seq, lastHash: end.hash });
      }
      const text = formatExport(r.ledgerEvents, { insights: r.insightRecords, ...(r.signatures ? { signatures: r.signatures } : {}) });
      const v = verifyExport(parseExport(text), { publicKey: key.publicKey });
      expect(v.problems, name).toEqual([]);
      expect(v.authorship, name).toBe('verified');
      expect(
        v.releases.filter((x) => x.status !== 'RUNNING').every((x) => x.signature?.status === 'verified'),
        name,
      ).toBe(true);
    }
    expect(finished).toBeGreaterThanOrEqual(SCENARIOS.length);
  });

  it('each writer of release.finished ends signed: the record step, rollback-prepare (a refused rollback), the reconciler', () => {
    const sa = results.get('signed-anchors.json') as SimulationResult;
    const blocked = sa.ledgerEvents.find((e) => e.type === 'release.finished' && e.data.status === 'BLOCKED');
    expect(blocked?.releaseId).toMatch(/-rollback-/);
    expect(sa.signatures?.get(blocked?.releaseId ?? '')?.version).toBe(blocked?.seq);
    expect(sa.signatures?.get('payments-2222222222222222')).toBeDefined();
  });

  it('the reconciler-closed release (aborted) is signed too', () => {
    const r = results.get('abort-during-bake.json') as SimulationResult;
    const byReconciler = r.ledgerEvents.filter((e) => e.type === 'release.finished' && e.data.by === 'reconciler');
    expect(byReconciler.length).toBeGreaterThan(0);
    for (const e of byReconciler) expect(r.signatures?.get(e.releaseId)?.version).toBe(e.seq);
  });

  it("the insight chain's head is signed per check and an edited insight record is caught by its signature", () => {
    const r = results.get('signed-anchors.json') as SimulationResult;
    expect(r.insightRecords.length).toBeGreaterThan(0);
    const text = formatExport(r.ledgerEvents, { insights: r.insightRecords, ...(r.signatures ? { signatures: r.signatures } : {}) });
    expect(text).toMatch(/"kind":"insight-anchor"/);
    // Rewrite the last insight record's hash (as a re-hashing forger would): its signed head no longer matches.
    const last = r.insightRecords.at(-1);
    const forged = text.replace(`"hash":"${last?.hash}"`, `"hash":"${'0'.repeat(64)}"`);
    const v = verifyExport(parseExport(forged), { publicKey: localAnchorKey().publicKey });
    expect(v.problems.some((p) => p.releaseId === 'insight' && p.kind === 'signature')).toBe(true);
  });

  it('a disabled key (kms Sign refused): the release stays finished, the signature item names the outcome, verify names the release', async () => {
    const raw = structuredClone(loadScenarioFile(join(ROOT, 'examples', 'scenarios', 'demo.json')).scenario) as Record<string, unknown>;
    raw.script = [{ when: { at: 'PT0S' }, fault: { service: 'kms', operation: 'Sign', error: 'DisabledException', count: 5 } }];
    const r = await simulate(loadScenario(raw, join(ROOT, 'examples', 'scenarios')));
    expect(r.output.releases[0]?.status).toBe('SUCCEEDED');
    expect(r.signatures?.size ?? 0).toBe(0);
    expect(r.output.timeline.some((t) => t.event === 'Fault Injected')).toBe(true);
    const v = verifyExport(parseExport(formatExport(r.ledgerEvents)), { publicKey: localAnchorKey().publicKey });
    expect(v.problems.map((p) => [p.releaseId, p.kind])).toEqual([['payments-2222222222222222', 'signature']]);
    expect(v.problems[0]?.message).toMatch(/carries no signature/);
  });
});
