/** The EMF metrics a finished release emits (lambdas/shared/metrics-emit.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { LOCAL_RUNTIME } from '../../lambdas/ports';
import { emitReleaseMetrics, type MetricsSink, releaseMetrics } from '../../lambdas/shared/metrics-emit';
import { buildRelease, promotedRelease } from '../helpers/ledger-builder';

const rolledBack = () =>
  buildRelease({
    id: 'R3',
    at: '2026-11-03T10:00:00.000Z',
    status: 'ROLLED_BACK',
    stages: [
      { name: 'dev', deploy: { result: 'SUCCEEDED' }, bake: { result: 'PASS', minutes: 10 }, promote: true },
      { name: 'prod', deploy: { result: 'SUCCEEDED' }, bake: { result: 'FAIL', minutes: 7 }, rollback: { result: 'SUCCEEDED', minutes: 6 } },
    ],
  });

function recordingSink(): { sink: MetricsSink; emitted: Array<{ dims: Record<string, string>; name: string; unit: string; value: number; cleared: boolean }> } {
  const emitted: Array<{ dims: Record<string, string>; name: string; unit: string; value: number; cleared: boolean }> = [];
  const sink: MetricsSink = {
    singleMetric() {
      let dims: Record<string, string> = {};
      let cleared = false;
      return {
        clearDefaultDimensions: () => {
          cleared = true;
        },
        addDimensions: (d) => {
          dims = { ...dims, ...d };
        },
        addMetric: (name, unit, value) => {
          emitted.push({ dims, name, unit, value, cleared });
        },
      };
    },
  };
  return { sink, emitted };
}

describe('release metrics', () => {
  it('give a rolled-back release its outcome, a failed change, its deployments, lead time and recovery time', () => {
    const list = releaseMetrics(rolledBack()).map((m) => `${m.name} ${JSON.stringify(m.dimensions)} ${m.value}`);
    for (const expected of [
      'Releases {"Service":"payments","Outcome":"ROLLED_BACK"} 1',
      'ChangesDeployed {"Service":"payments"} 1',
      'ChangesFailed {"Service":"payments"} 1',
      'Deployments {"Service":"payments","Stage":"dev"} 1',
      'Deployments {"Service":"payments","Stage":"prod"} 1',
      'LeadTime {"Service":"payments","Stage":"dev"} 660',
      'RecoveryTime {"Service":"payments","Stage":"prod"} 360',
      'PhaseDuration {"Service":"payments","Phase":"bake"} 1020',
      'PhaseDuration {"Service":"payments","Phase":"rollback"} 360',
    ]) {
      assert.ok(list.includes(expected), `${expected} not in\n${list.join('\n')}`);
    }
    assert.ok(!list.some((l) => l.startsWith('LeadTime {"Service":"payments","Stage":"prod"}')));
  });

  it("count a successful release's change as deployed and not failed", () => {
    const list = releaseMetrics(promotedRelease('R1', '2026-11-01T10:00:00.000Z'));
    assert.equal(list.find((m) => m.name === 'ChangesFailed')?.value, 0);
    assert.equal(list.find((m) => m.name === 'LeadTime' && m.dimensions.Stage === 'prod')?.value, 42 * 60);
  });

  it('give a release that never deployed no change metrics at all', () => {
    const blocked = buildRelease({
      id: 'B',
      at: '2026-11-01T10:00:00.000Z',
      status: 'BLOCKED',
      stages: [{ name: 'dev', gates: [{ gate: 'image.scan', result: 'FAIL', reason: 'x' }], status: 'BLOCKED' }],
    });
    const names = releaseMetrics(blocked).map((m) => m.name);
    assert.ok(names.includes('Releases'));
    assert.ok(!names.includes('ChangesDeployed') && !names.includes('ChangesFailed') && !names.includes('Deployments'));
  });

  it('emit nothing for a release that has not finished', () => {
    assert.deepEqual(releaseMetrics(buildRelease({ id: 'X', at: '2026-11-01T10:00:00.000Z', stages: [{ name: 'dev', deploy: { result: 'SUCCEEDED' } }] })), []);
  });

  it("emit an operator rollback's recovery time only", () => {
    const rb = buildRelease({
      id: 'R7',
      kind: 'rollback',
      at: '2026-11-07T10:00:00.000Z',
      status: 'ROLLED_BACK',
      stages: [{ name: 'prod', rollback: { result: 'SUCCEEDED', minutes: 4 } }],
    });
    assert.deepEqual(
      releaseMetrics(rb).map((m) => `${m.name}=${m.value}`),
      ['RecoveryTime=240'],
    );
  });
});

describe('emitting release metrics', () => {
  it('sends each metric as its own record with exactly its dimensions (the default service dimension cleared)', () => {
    const { sink, emitted } = recordingSink();
    const list = emitReleaseMetrics(rolledBack(), LOCAL_RUNTIME, sink);
    assert.equal(emitted.length, list.length);
    assert.ok(emitted.every((e) => e.cleared));
    assert.deepEqual(
      emitted.find((e) => e.name === 'RecoveryTime'),
      { dims: { Service: 'payments', Stage: 'prod' }, name: 'RecoveryTime', unit: 'Seconds', value: 360, cleared: true },
    );
  });

  it('prints nothing outside Lambda when no sink is given (gantry simulate runs the same handlers)', () => {
    const written: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    const originalLog = console.log;
    process.stdout.write = ((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
    console.log = (...args: unknown[]) => written.push(args.map(String).join(' '));
    let list: ReturnType<typeof emitReleaseMetrics> = [];
    try {
      list = emitReleaseMetrics(promotedRelease('R1', '2026-11-01T10:00:00.000Z'), LOCAL_RUNTIME);
    } finally {
      process.stdout.write = write;
      console.log = originalLog;
    }
    assert.ok(list.length > 0);
    assert.deepEqual(
      written.filter((w) => w.includes('_aws')),
      [],
    );
  });

  it('writes CloudWatch EMF through Powertools with the Gantry namespace', () => {
    const metrics = new Metrics({ namespace: 'Gantry', serviceName: 'gantry' });
    const written: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    const originalLog = console.log;
    process.stdout.write = ((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
    console.log = (...args: unknown[]) => written.push(args.map(String).join(' '));
    try {
      emitReleaseMetrics(promotedRelease('R1', '2026-11-01T10:00:00.000Z'), { inLambda: true }, metrics);
    } finally {
      process.stdout.write = write;
      console.log = originalLog;
    }
    const records = written
      .flatMap((w) => w.split('\n'))
      .filter((l) => l.includes('"_aws"'))
      .map((l) => JSON.parse(l));
    const lead = records.find((r) => r._aws.CloudWatchMetrics[0].Metrics[0].Name === 'LeadTime' && r.Stage === 'prod');
    assert.ok(lead, `no LeadTime record in ${written.join('')}`);
    assert.equal(lead._aws.CloudWatchMetrics[0].Namespace, 'Gantry');
    assert.deepEqual(lead._aws.CloudWatchMetrics[0].Dimensions, [['Service', 'Stage']]);
    assert.equal(lead.LeadTime, 42 * 60);
  });
});
