/**
 * Waves of clusters, the pure parts (decision 044): the config's shape after parsing, the per-cluster driver
 * environment and targets, a wave's outcome, the projection of per-cluster runs, the state renaming of the Map
 * processors, and every cluster of a wave stage in the access entries and the drift check.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { parseConfig, stageClusters, stageWaves, hasWaves } from '../../lambdas/domain/config';
import { clusterRunsOutcome, driverEnvironment, waveOf, waveTargets } from '../../lambdas/domain/release';
import { chainEvent, type LedgerEvent, type LedgerEventInput, projectRelease } from '../../lambdas/domain/ledger';
import { accessRequirements } from '../../lambdas/domain/access-entries';
import { workloadTargets } from '../../lambdas/domain/insight';
import { rolloutTarget } from '../../lambdas/domain/rollout';
import { stageStep } from '../../lambdas/domain/step-keys';
import { renameStates } from '../../workflows/fragments/waves';

const ROOT = join(__dirname, '..', '..');
const D = `sha256:${'2'.repeat(64)}`;

/** The waves scenario's config: payments dev (kubernetes, one cluster) and prod in three waves. */
function config(edit: (c: any) => void = () => undefined) {
  const raw = JSON.parse(readFileSync(join(ROOT, 'examples', 'scenarios', 'waves-promoted.json'), 'utf8')).config;
  edit(raw);
  return parseConfig(raw);
}
const prodOf = (c: ReturnType<typeof config>) => c.services.payments?.stages[1] as NonNullable<ReturnType<typeof config>['services'][string]>['stages'][number];

describe('the config of a stage with waves', () => {
  it('gives the stage its first wave’s first cluster as cluster, and lists its waves and clusters in order', () => {
    const prod = prodOf(config());
    assert.equal(prod.cluster, 'prod-eu-1');
    assert.equal(hasWaves(prod), true);
    assert.deepEqual(stageWaves(prod), [['prod-eu-1'], ['prod-eu-2', 'prod-us-1'], ['prod-ap-1']]);
    assert.deepEqual(stageClusters(prod), ['prod-eu-1', 'prod-eu-2', 'prod-us-1', 'prod-ap-1']);
    assert.equal(waveOf(prod, 'prod-us-1'), 2);
    assert.equal(waveOf(prod, 'dev'), undefined);
    const dev = config().services.payments?.stages[0];
    assert.ok(dev);
    assert.equal(hasWaves(dev), false);
    assert.deepEqual(stageWaves(dev), [['dev']]);
    assert.equal('waveBakeMinutes' in dev, false, 'a stage without waves parses as before (same config hash)');
  });
});

describe('per-cluster targets', () => {
  const c = config();
  const prod = prodOf(c);
  const args = { config: c, service: 'payments', stage: prod, digest: D, releaseId: 'payments-2222', kind: 'deploy' as const, registry: '1.dkr.ecr.eu-west-2.amazonaws.com' };
  const env = (vars: Array<{ Name: string; Value: string }>) => Object.fromEntries(vars.map((v) => [v.Name, v.Value]));

  it('gives each cluster of a wave its own driver environment (its cluster name and region)', () => {
    const targets = waveTargets({ ...args, wave: 2 });
    assert.deepEqual(
      targets.map((t) => `${t.cluster}:${t.wave}:${env(t.deployEnv).GANTRY_CLUSTER_NAME}:${env(t.deployEnv).GANTRY_CLUSTER_REGION}`),
      ['prod-eu-2:2:prod-eu-2:eu-west-1', 'prod-us-1:2:prod-us-1:us-east-1'],
    );
    assert.equal(env(driverEnvironment(args)).GANTRY_CLUSTER_NAME, 'prod-eu-1', 'default: the stage’s first cluster');
    assert.throws(() => waveTargets({ ...args, wave: 4 }), /has no wave 4/);
  });

  it('refuses a cluster that is not one of the stage’s', () => {
    assert.throws(() => driverEnvironment({ ...args, cluster: 'dev' }), /cluster dev is not a cluster of stage payments\/prod/);
    const role = { clusterAccessRoleArn: 'arn:aws:iam::111122223333:role/gantry-cluster-access' };
    assert.throws(() => rolloutTarget({ ...args, ...role, cluster: 'dev' }), /cluster dev is not a cluster of stage payments\/prod/);
    const t = rolloutTarget({ ...args, ...role, cluster: 'prod-us-1' });
    assert.deepEqual([t.cluster, t.clusterName, t.region], ['prod-us-1', 'prod-us-1', 'us-east-1']);
  });
});

describe("a wave's outcome", () => {
  it('is SUCCEEDED only when every cluster succeeded, and names each failed cluster otherwise', () => {
    assert.deepEqual(
      clusterRunsOutcome([
        { cluster: 'a', result: 'SUCCEEDED' },
        { cluster: 'b', result: 'SUCCEEDED' },
      ]),
      { result: 'SUCCEEDED', failed: [], message: null },
    );
    assert.deepEqual(
      clusterRunsOutcome([
        { cluster: 'a', result: 'SUCCEEDED' },
        { cluster: 'b', result: 'FAILED', message: 'stalled' },
      ]),
      {
        result: 'FAILED',
        failed: ['b'],
        message: 'cluster b: stalled',
      },
    );
    assert.equal(clusterRunsOutcome([]).result, 'FAILED', 'no run is no success');
  });
});

describe('the projection of per-cluster runs', () => {
  it("keeps the stage's deploy from the stage-level events and lists each cluster's deploy and rollback", () => {
    const inputs: LedgerEventInput[] = [];
    const at = (m: number) => `2026-11-24T10:${String(m).padStart(2, '0')}:00.000Z`;
    const add = (type: LedgerEventInput['type'], stepKey: string, data: Record<string, unknown>, m: number) =>
      inputs.push({ releaseId: 'r', stepKey, type, at: at(m), data, ...(type === 'release.started' ? {} : { stage: 'prod' }) });
    add('release.started', 'release.started', { service: 'payments', digest: D, stages: ['prod'] }, 0);
    add('deploy.started', stageStep.deployStarted('prod'), { kind: 'deploy', digest: D }, 1);
    add('deploy.started', stageStep.cluster('prod', 'eu', 'deploy.started'), { kind: 'deploy', digest: D, cluster: 'eu', wave: 1 }, 1);
    add('deploy.started', stageStep.cluster('prod', 'us', 'deploy.started'), { kind: 'deploy', digest: D, cluster: 'us', wave: 1 }, 1);
    add('deploy.finished', stageStep.cluster('prod', 'us', 'deploy.finished'), { kind: 'deploy', digest: D, result: 'FAILED', message: 'stalled', cluster: 'us', wave: 1 }, 2);
    add('deploy.finished', stageStep.cluster('prod', 'eu', 'deploy.finished'), { kind: 'deploy', digest: D, result: 'SUCCEEDED', cluster: 'eu', wave: 1 }, 3);
    add('wave.finished', stageStep.wave('prod', 1, 'finished'), { wave: 1, result: 'FAILED', clusters: ['eu', 'us'] }, 3);
    add('deploy.finished', stageStep.deployFinished('prod'), { kind: 'deploy', digest: D, result: 'FAILED', message: 'wave 1 of 1 failed' }, 3);
    add('deploy.finished', stageStep.cluster('prod', 'eu', 'rollback.deploy.finished'), { kind: 'rollback', digest: 'old', result: 'SUCCEEDED', cluster: 'eu', wave: 1 }, 4);
    let prev: LedgerEvent | undefined;
    const events = inputs.map((i) => (prev = chainEvent(prev, i)));
    const st = projectRelease(events)?.stages[0];
    assert.equal(st?.deploy?.result, 'FAILED');
    assert.equal(st?.deploy?.message, 'wave 1 of 1 failed');
    assert.deepEqual(
      st?.clusters?.map((c) => `${c.cluster}:${c.wave}:${c.deploy?.result}:${c.rollback?.result ?? '-'}`),
      ['eu:1:SUCCEEDED:SUCCEEDED', 'us:1:FAILED:-'],
    );
    assert.deepEqual(st?.waves, [{ wave: 1, result: 'FAILED', clusters: ['eu', 'us'], endedAt: at(3) }]);
  });
});

describe('renameStates', () => {
  it('renames the states and every reference to them, and leaves references to other states alone', () => {
    const out = renameStates(
      {
        A: { Type: 'Choice', Choices: [{ Variable: '$.x', StringEquals: 'y', Next: 'B' }], Default: 'Outside' },
        B: {
          Type: 'Task',
          Catch: [
            { ErrorEquals: ['States.ALL'], Next: 'A' },
            { ErrorEquals: ['X'], Next: 'Elsewhere' },
          ],
          Next: 'Outside',
        },
      },
      (n) => `${n}In`,
    );
    assert.deepEqual(Object.keys(out), ['AIn', 'BIn']);
    assert.deepEqual(out.AIn, { Type: 'Choice', Choices: [{ Variable: '$.x', StringEquals: 'y', Next: 'BIn' }], Default: 'Outside' });
    assert.deepEqual(out.BIn?.Catch, [
      { ErrorEquals: ['States.ALL'], Next: 'AIn' },
      { ErrorEquals: ['X'], Next: 'Elsewhere' },
    ]);
    assert.equal(out.BIn?.Next, 'Outside');
  });
});

describe('every cluster of a wave stage', () => {
  it('gets the access entries its driver needs, and is read by the drift check', () => {
    const c = config((raw) => {
      for (const k of Object.keys(raw.clusters)) raw.clusters[k].accessEntries = 'create';
    });
    const release = accessRequirements(c).filter((r) => r.role === 'releaseWorkflow');
    assert.deepEqual(release.map((r) => r.clusterKey).sort(), ['dev', 'prod-ap-1', 'prod-eu-1', 'prod-eu-2', 'prod-us-1']);
    const targets = workloadTargets(c, {}).filter((t) => t.stage === 'prod');
    assert.deepEqual(
      targets.map((t) => `${t.cluster}:${t.clusterName}:${t.region}`),
      ['prod-eu-1:prod-eu-1:eu-west-2', 'prod-eu-2:prod-eu-2:eu-west-1', 'prod-us-1:prod-us-1:us-east-1', 'prod-ap-1:prod-ap-1:ap-southeast-2'],
    );
  });
});
