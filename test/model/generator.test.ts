/** The model-based test's generator: seeded, valid scenarios, small histories, events on the window's edges. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { loadScenario } from '../../local/scenario';
import { CLOCK_MS, edgesOf, historyOf, minuteOf, scenarioForSeed } from './generator';
import { closedBecause, durationMs, type ScenarioDoc } from './invariants';

const ROOT = join(__dirname, '..', '..');
const SEEDS = Array.from({ length: 300 }, (_, i) => i + 1);
type Doc = ScenarioDoc & { triggers: NonNullable<ScenarioDoc['triggers']>; script: Array<Record<string, unknown>> };
const docs = SEEDS.map((s) => scenarioForSeed(s) as unknown as Doc);

describe('model history generator', () => {
  it('gives the same scenario for the same seed, and different ones for different seeds', () => {
    assert.deepEqual(scenarioForSeed(17), scenarioForSeed(17));
    assert.equal(new Set(docs.map((d) => JSON.stringify(d.triggers))).size > SEEDS.length * 0.9, true);
  });

  it('writes scenarios the scenario schema and the config schema accept', () => {
    for (const [i, d] of docs.entries()) assert.doesNotThrow(() => loadScenario(structuredClone(d), ROOT), `seed ${SEEDS[i]}`);
  });

  it("deploys beta's prod in waves of clusters in some histories (decision 044), and only there", () => {
    const waved = docs.filter((d) => JSON.stringify((d as { config?: unknown }).config).includes('"waves"'));
    assert.ok(waved.length > SEEDS.length / 4 && waved.length < (SEEDS.length * 3) / 4, `${waved.length} of ${SEEDS.length}`);
    for (const d of waved) {
      const cfg = (d as unknown as { config: { services: Record<string, { stages: Array<{ name: string; waves?: string[][]; cluster?: string }> }> } }).config;
      assert.deepEqual(cfg.services.beta?.stages.find((st) => st.name === 'prod')?.waves, [['prod'], ['prod-b', 'prod-c']]);
      assert.equal(
        cfg.services.alpha?.stages.some((st) => st.waves !== undefined),
        false,
      );
    }
  });

  it("makes alpha's prod a canary in some histories, with both traffic modes among the fixed seeds (decision 043)", () => {
    const traffic = (seed: number) => {
      const doc = scenarioForSeed(seed) as { config: { services: Record<string, { stages: Array<{ name: string; deploy: { rollout?: { traffic: string } } }> }> } };
      const first = Object.values(doc.config.services)[0];
      return first?.stages.find((st) => st.name === 'prod')?.deploy.rollout?.traffic ?? 'none';
    };
    const modes = new Set(Array.from({ length: 50 }, (_, i) => traffic(i + 1)));
    assert.deepEqual([...modes].sort(), ['gateway-api', 'none', 'replicas']);
  });

  it('keeps every history to at most six releases (pushes, a break-glass start, an operator rollback)', () => {
    for (const [i, d] of docs.entries()) {
      const starts = d.triggers.filter((t) => t.type === 'ecr-push' || t.type === 'start' || t.type === 'rollback').length;
      assert.ok(starts >= 1 && starts <= 6, `seed ${SEEDS[i]}: ${starts} releases`);
    }
  });

  it('covers every kind of event the issue lists, across the seeds', () => {
    const all = (pred: (d: Doc) => boolean) => docs.filter(pred).length;
    const triggers = (type: string) => (d: Doc) => d.triggers.some((t) => t.type === type);
    const lines = (key: string) => (d: Doc) => d.script.some((l) => key in l);
    assert.ok(all((d) => d.triggers.some((t) => t.type === 'ecr-push' && Number(t.copies) > 1)) > 0, 'duplicate deliveries');
    assert.ok(all((d) => d.triggers.filter((t) => t.type === 'ecr-push' && (t.repository as string) === 'alpha-api').length >= 3) > 0, 'three digests of one service');
    assert.ok(all(triggers('start')) > 0, 'break-glass starts');
    assert.ok(
      all((d) => d.triggers.some((t) => t.type === 'freeze' && t.state === 'on')) > 0 && all((d) => d.triggers.some((t) => t.type === 'freeze' && t.state === 'off')) > 0,
      'freezes on and off',
    );
    assert.ok(all(triggers('rollback')) > 0, 'operator rollbacks');
    for (const key of ['approve', 'reject', 'alarm', 'deploy', 'abort', 'fault']) assert.ok(all(lines(key)) > 0, `script lines "${key}"`);
    assert.ok(all((d) => d.script.some((l) => (l.alarm as { state?: string } | undefined)?.state === 'OK')) > 0, 'alarm flaps');
    assert.ok(all((d) => (d.config.services.alpha?.stages[2]?.windows?.blackouts?.length ?? 0) > 0) > 0, 'blackouts');
  });

  it('puts events on window and blackout edges in many histories', () => {
    let onEdge = 0;
    for (const s of SEEDS) {
      const h = historyOf(s);
      const edges = new Set(edgesOf(h));
      const doc = scenarioForSeed(s) as unknown as Doc;
      const minutes = [
        ...doc.triggers.map((t) => durationMs(t.at as string)),
        ...doc.script.flatMap((l) => ('at' in (l.when as object) ? [durationMs((l.when as { at: string }).at)] : [])),
      ].map((ms) => ms / 60_000);
      if (minutes.some((m) => edges.has(m))) onEdge++;
      // An edge moment resolves to an edge.
      assert.ok(edges.has(minuteOf(h, { edge: 3, plus: 0 })), `seed ${s}`);
    }
    assert.ok(onEdge >= SEEDS.length / 4, `only ${onEdge} of ${SEEDS.length} histories have an event on an edge`);
  });

  it("renders prod's allow slots so that the oracle reads them back as generated", () => {
    for (const s of SEEDS.slice(0, 50)) {
      const h = historyOf(s);
      const doc = scenarioForSeed(s) as unknown as Doc;
      for (const svc of ['alpha', 'beta']) {
        for (const [from, to] of h.slots.slice(0, -1)) {
          assert.deepEqual(
            closedBecause(doc, svc, 'prod', CLOCK_MS + from * 60_000).filter((c) => c.kind === 'window'),
            [],
            `seed ${s}: open at ${from}`,
          );
          assert.equal(
            closedBecause(doc, svc, 'prod', CLOCK_MS + to * 60_000 - 1).some((c) => c.kind === 'window'),
            false,
            `seed ${s}: open until ${to}`,
          );
          // `to` is exclusive: closed at `to` unless the next slot opens then (a gap is 3 minutes or more).
          assert.equal(
            closedBecause(doc, svc, 'prod', CLOCK_MS + to * 60_000).some((c) => c.kind === 'window'),
            true,
            `seed ${s}: closed at ${to}`,
          );
        }
        assert.deepEqual(closedBecause(doc, svc, 'dev', CLOCK_MS + 7 * 60_000), [], 'dev has no window');
      }
    }
  });
});
