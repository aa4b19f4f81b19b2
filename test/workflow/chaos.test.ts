/**
 * Faults (issue 8): every example scenario ends the same way — same release outcomes, same deploys,
 * same ledger — when every AWS call fails its first attempts (throttling, then a 5xx), and when every
 * handler crashes right after its first ledger write. Nothing is left RUNNING and no lease is held.
 *
 * What may legitimately differ between a faulted run and a clean one, and is left out of the comparison:
 * - `seq`, `prevHash` and `hash` of a ledger event: when two writers append to one release at the same
 *   virtual instant (the workflow and the bake timer, say), the extra asynchronous steps of a retry can
 *   change which of them takes the next sequence number. Each chain must still verify.
 * - the output's `chaos` block (what was injected and retried).
 * - in scenarios whose signing keys are `"generate"`d, the config hash and the signature manifest
 *   digests: the local cloud makes a fresh key pair on every run, faulted or not.
 * Everything else must match, timestamps included: retries take no virtual time (decisions/004).
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import type { LedgerEvent } from '../../lambdas/domain/ledger';
import type { ChaosOptions } from '../../local/chaos';
import { loadScenarioFile } from '../../local/scenario';
import { type SimulationResult, simulate } from '../../local/simulate';
import { ROOT } from './helpers';

const SCENARIOS = readdirSync(join(ROOT, 'examples', 'scenarios'))
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.replace(/\.json$/, ''))
  .sort();

const run = (name: string, chaos?: ChaosOptions): Promise<SimulationResult> =>
  simulate(loadScenarioFile(join(ROOT, 'examples', 'scenarios', `${name}.json`)), chaos ? { chaos } : {});

/** The clean run of a scenario, made once and compared with both faulted runs. */
const cleanRuns = new Map<string, Promise<SimulationResult>>();
const clean = (name: string): Promise<SimulationResult> => {
  let r = cleanRuns.get(name);
  if (!r) {
    r = run(name);
    cleanRuns.set(name, r);
  }
  return r;
};

/** Values that come from a freshly generated signing key (different on every run). */
const PER_RUN_KEYS = new Set(['configHash', 'signatureManifestDigest']);
const maskPerRun = (v: unknown): unknown =>
  JSON.parse(JSON.stringify(v, (k, x) => (PER_RUN_KEYS.has(k) ? '(per run)' : typeof x === 'string' && x.startsWith('-----BEGIN') ? '(per run)' : x)));

/** A release's events keyed by step key, without the fields a retry may legitimately change. */
function ledgerOf(events: readonly LedgerEvent[]): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const e of events) {
    const { seq, prevHash, hash, ...rest } = e as LedgerEvent & Record<string, unknown>;
    void seq;
    void prevHash;
    void hash;
    const key = `${e.releaseId} ${e.stepKey}`;
    assert.equal(out[key], undefined, `${key} appended twice`);
    out[key] = maskPerRun(rest) as Record<string, unknown>;
  }
  return out;
}

function outcomes(r: SimulationResult) {
  const o = r.output;
  return {
    releases: o.releases.map((x) => ({
      id: x.releaseId,
      status: x.status,
      reason: x.reason,
      stages: x.stages.map((s) => ({ name: s.name, status: s.status, reason: s.reason, deployed: s.deployedDigest, gates: s.gates })),
    })),
    stages: o.stages,
    deployments: o.deployments,
    executions: o.executions.map((e) => ({ name: e.name, status: e.status, error: e.error })),
    skipped: o.skipped,
  };
}

function outcomesMasked(r: SimulationResult) {
  return maskPerRun(outcomes(r));
}

function assertSameEnd(name: string, clean: SimulationResult, faulted: SimulationResult): void {
  assert.deepEqual(faulted.output.warnings, clean.output.warnings, `${name}: warnings`);
  assert.deepEqual(outcomesMasked(faulted), outcomesMasked(clean), `${name}: outcomes`);
  assert.deepEqual(ledgerOf(faulted.ledgerEvents), ledgerOf(clean.ledgerEvents), `${name}: ledger`);
  for (const r of faulted.output.releases) {
    assert.notEqual(r.status, 'RUNNING', `${name}: ${r.releaseId} left RUNNING`);
    assert.equal(r.audit.verified, true, `${name}: ${r.releaseId} chain: ${r.audit.problems?.join('; ')}`);
  }
  assert.deepEqual(faulted.output.leasesHeld, [], `${name}: leases held`);
}

describe('chaos mode', () => {
  it('finds the example scenarios to run', () => {
    assert.ok(SCENARIOS.length >= 10, SCENARIOS.join(', '));
  });

  for (const name of SCENARIOS) {
    it(`${name}: ends with the same outcomes and ledger when every AWS call fails its first two attempts`, async () => {
      const faulted = await run(name, { transientFailures: 2 });

      const baseline = await clean(name);
      assertSameEnd(name, baseline, faulted);
      const injected = Object.values(faulted.output.chaos?.injected ?? {}).reduce((a, b) => a + b, 0);
      // Faults hit only the calls of the run (not the simulator's seeding): a scenario where nothing happens gets none.
      if (baseline.output.executions.length > 0) assert.ok(injected > 0, `${name}: no fault was injected`);
      if (baseline.ledgerEvents.length > 0) assert.ok((faulted.output.chaos?.injected['dynamodb:PutItem'] ?? 0) > 0, `${name}: the ledger's writes were faulted`);
    });

    it(`${name}: ends with the same outcomes and ledger when every handler crashes once after its first ledger write`, async () => {
      const crashed = await run(name, { crashAfterLedgerWrite: true });

      const baseline = await clean(name);
      assertSameEnd(name, baseline, crashed);
      const crashes = Object.values(crashed.output.chaos?.crashes ?? {}).reduce((a, b) => a + b, 0);
      assert.ok(crashes > 0 || baseline.ledgerEvents.length === 0, `${name}: no handler crashed`);
    });
  }

  it('retries with the same classifier as the SDK: a throttled call and a 5xx are retried, within the SDK attempts', async () => {
    const faulted = await run('demo', { transientFailures: 2 });

    const c = faulted.output.chaos;
    assert.ok(c);
    assert.ok((c.retries['sdk:dynamodb'] ?? 0) >= (c.injected['dynamodb:PutItem'] ?? 0), 'every injected DynamoDB failure was retried by the client');
    assert.equal(faulted.output.releases[0]?.status, 'SUCCEEDED');
  });
});
