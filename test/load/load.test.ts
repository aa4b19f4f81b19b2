/**
 * Load in simulation (issue 8): 50 services × 10 digests, every push delivered twice, pushes 20 virtual
 * minutes apart, three stages each (local/load.ts) — through the real workflows, handlers and ledger.
 *
 * Run: `npm run test:load` (vitest.load.config.mts). Not part of `npm test`: it takes about a minute of CPU on
 * this machine (docs/benchmarks.md, Load); vitest.config.mts leaves test/load out.
 *
 * "Every stage ends on its service's newest digest" — what Gantry promises, and so what is asserted:
 * a stage takes its deploy plus its bake (10, 15, 30 min), so prod takes longer than the 20 minutes
 * between pushes and later releases queue for prod's lease. Gantry never deploys an older digest over a
 * newer one, and newest wins the queue: a release that has not deployed a stage gives way when a newer
 * digest of its service runs there or is on its way — that stage and the later ones finish SUPERSEDED,
 * nothing is deployed, the release ends BLOCKED (lambdas/shared/lease.ts, decision 021). Which older
 * digests get deployed before a newer one overtakes them is a matter of timing; what is fixed, and asserted:
 * - every release ends SUCCEEDED or BLOCKED, and BLOCKED only because it was superseded;
 * - the newest digest of every service is released everywhere (SUCCEEDED, three stages PROMOTED),
 *   so every stage ends running it, as its last known good;
 * - on every stage the deployed digests only ever move forward in push order (so no digest is
 *   deployed twice in a row, and no older one after a newer one), and deploys never overlap;
 * - 1,000 push deliveries started exactly 500 releases, one per digest; nothing is left RUNNING and
 *   no lease is held; every hash chain verifies.
 */
import assert from 'node:assert/strict';
import { beforeAll, describe, it } from 'vitest';
import { LOAD_DEFAULTS, loadDigest, loadScenarioLoaded, loadServiceName } from '../../local/load';
import { type SimulationResult, simulate } from '../../local/simulate';

const SERVICES = LOAD_DEFAULTS.services;
const DIGESTS = LOAD_DEFAULTS.digests;
const STAGES = ['dev', 'staging', 'prod'];

describe('load: 50 services × 10 digests, every push delivered twice, 20 minutes apart', () => {
  let result: SimulationResult;
  let wallMs = 0;

  beforeAll(async () => {
    const loaded = loadScenarioLoaded();
    const t0 = performance.now();
    result = await simulate(loaded);
    wallMs = performance.now() - t0;
  });

  it('delivers every push twice and starts exactly one release per digest: 500', (t) => {
    const loaded = loadScenarioLoaded();
    assert.equal(loaded.scenario.triggers.length, SERVICES * DIGESTS);
    assert.ok(loaded.scenario.triggers.every((tr) => tr.type === 'ecr-push' && tr.copies === 2));

    const releases = result.output.releases;
    assert.equal(releases.length, SERVICES * DIGESTS);
    assert.equal(new Set(releases.map((r) => `${r.service} ${r.digest}`)).size, SERVICES * DIGESTS);
    assert.ok(releases.every((r) => r.kind === 'release'));
    const transitions = result.output.executions.reduce((a, e) => a + e.transitions, 0);
    const superseded = releases.filter((r) => r.status === 'BLOCKED').length;
    t.annotate(
      `wall ${(wallMs / 1000).toFixed(1)} s; ${releases.length} releases (${superseded} superseded); ${result.output.deployments.length} deploys; ${transitions} state transitions; ${result.ledgerEvents.length} ledger events; virtual ${result.output.clock.start} → ${result.output.clock.end}`,
    );
  });

  it('ends every release SUCCEEDED, or BLOCKED only because a newer digest superseded it (the rest of its stages SUPERSEDED)', () => {
    for (const r of result.output.releases) {
      assert.ok(r.status === 'SUCCEEDED' || r.status === 'BLOCKED', `${r.releaseId}: ${r.status}`);
      if (r.status === 'SUCCEEDED') {
        assert.deepEqual(
          r.stages.map((s) => s.status),
          ['PROMOTED', 'PROMOTED', 'PROMOTED'],
          r.releaseId,
        );
      } else {
        const first = r.stages.findIndex((s) => s.status === 'SUPERSEDED');
        assert.ok(first >= 0, `${r.releaseId}: BLOCKED without a superseded stage`);
        assert.deepEqual(
          r.stages.slice(0, first).map((s) => s.status),
          r.stages.slice(0, first).map(() => 'PROMOTED'),
          r.releaseId,
        );
        for (const st of r.stages.slice(first)) {
          assert.equal(st.status, 'SUPERSEDED', r.releaseId);
          assert.match(st.reason ?? '', /superseded/, r.releaseId);
        }
      }
    }
  });

  it('releases the newest digest of every service to every stage, so each stage ends on it', () => {
    for (let i = 0; i < SERVICES; i++) {
      const svc = loadServiceName(i);
      const newest = loadDigest(svc, DIGESTS - 1);
      const release = result.output.releases.find((r) => r.service === svc && r.digest === newest);
      assert.equal(release?.status, 'SUCCEEDED', `${svc}: newest digest`);
      for (const stage of STAGES) assert.deepEqual(result.output.stages[`${svc}/${stage}`], { running: newest, lastKnownGood: newest }, `${svc}/${stage}`);
    }
  });

  it('never overlaps two deploys on a stage and only ever moves a stage forward in push order', () => {
    const byStage = new Map<string, typeof result.output.deployments>();
    for (const d of result.output.deployments) {
      const k = `${d.service}/${d.stage}`;
      byStage.set(k, [...(byStage.get(k) ?? []), d]);
    }
    assert.equal(byStage.size, SERVICES * STAGES.length);
    for (const [k, list] of byStage) {
      const order = [...list].sort((a, b) => a.startedAt.localeCompare(b.startedAt));
      for (const [j, d] of order.entries()) {
        assert.equal(d.kind, 'deploy', k);
        assert.equal(d.result, 'SUCCEEDED', k);
        assert.ok(d.endedAt, `${k}: deploy of ${d.digest} never ended`);
        const prev = order[j - 1];
        if (!prev) continue;
        assert.ok(d.startedAt >= (prev.endedAt ?? ''), `${k}: ${d.digest} started ${d.startedAt} before ${prev.digest} ended ${prev.endedAt}`);
        assert.notEqual(d.digest, prev.digest, `${k}: ${d.digest} deployed twice in a row`);
        const svc = d.service;
        const index = (digest: string) => Array.from({ length: DIGESTS }, (_, n) => loadDigest(svc, n)).indexOf(digest);
        assert.ok(index(d.digest) > index(prev.digest), `${k}: ${d.digest} (push ${index(d.digest)}) deployed after ${prev.digest} (push ${index(prev.digest)})`);
      }
    }
  });

  it('leaves nothing RUNNING, no lease held, no warning, and every chain verified', () => {
    for (const e of result.output.executions) assert.notEqual(e.status, 'RUNNING', e.name);
    for (const r of result.output.releases) assert.equal(r.audit.verified, true, `${r.releaseId}: ${r.audit.problems?.join('; ')}`);
    assert.deepEqual(result.output.leasesHeld, []);
    assert.deepEqual(result.output.warnings, []);
  });
});
