/**
 * The local cloud's accounts (issue 18, decision 045): alarms per account and region, a small IAM/STS that knows the
 * ClusterAccessRole and the configured cluster roles, and EKS clusters that belong to their config's account.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { parseConfig } from '../../lambdas/domain/config';
import { SIMULATED_CLUSTER_ACCESS_ROLE_ARN } from '../../lambdas/ports';
import { VirtualClock } from '../../local/clock';
import { ACCOUNT, LocalAwsError, LocalCloud } from '../../local/cloud';
import { scenarioSchema } from '../../local/scenario';
import { LocalScopedReaders } from '../../local/sim-accounts';

const ROLE_B = 'arn:aws:iam::222222222222:role/gantry-target';
const MISSING = 'arn:aws:iam::333333333333:role/gantry-target';
const config = parseConfig(
  {
    services: {
      payments: {
        repository: 'payments-api',
        stages: [{ name: 'prod', cluster: 'prod', namespace: 'payments', deploy: { driver: 'kubernetes', deployment: 'api', container: 'api' } }],
      },
    },
    clusters: {
      dev: { name: 'dev-eks', region: 'eu-west-2' },
      prod: { name: 'prod-eks', region: 'eu-central-1', account: '222222222222', roleArn: ROLE_B },
      us: { name: 'us-eks', region: 'us-east-1', account: '333333333333', roleArn: MISSING },
    },
  },
  'test',
);

function makeCloud(): LocalCloud {
  const scenario = scenarioSchema.parse({
    name: 'accounts',
    config: 'gantry.config.json',
    clock: '2026-11-24T10:00:00Z',
    alarms: { 'payments-5xx': 'OK' },
    missingRoles: [MISSING],
  });
  const cloud = new LocalCloud(scenario, new VirtualClock(new Date('2026-11-24T10:00:00Z')));
  cloud.configureAccounts(config);
  return cloud;
}

describe('the local cloud in several accounts', () => {
  it('keeps an alarm of another account apart from the one of the same name at home, and emits its event from there', async () => {
    const cloud = makeCloud();
    const ev = cloud.setAlarm('payments-5xx', 'ALARM', 'breach', undefined, { account: '222222222222', region: 'eu-central-1' });
    assert.deepEqual(
      [ev?.account, ev?.region, (ev?.resources as string[])[0]],
      ['222222222222', 'eu-central-1', 'arn:aws:cloudwatch:eu-central-1:222222222222:alarm:payments-5xx'],
    );
    assert.equal((await cloud.describeAlarms(['payments-5xx']))[0]?.state, 'OK', 'the home alarm did not change');
    assert.equal((await cloud.alarmsIn({ account: '222222222222', region: 'eu-central-1' }).describeAlarms(['payments-5xx']))[0]?.state, 'ALARM');
    assert.equal((await cloud.alarmsIn({ account: '222222222222', region: 'us-east-1' }).describeAlarms(['payments-5xx']))[0]?.state, 'OK', 'another region of that account');
  });

  it('assumes the ClusterAccessRole and the configured roles, and refuses an unknown or missing one with AccessDenied', () => {
    const cloud = makeCloud();
    assert.deepEqual(cloud.assumeRole(SIMULATED_CLUSTER_ACCESS_ROLE_ARN, 's'), { account: ACCOUNT });
    assert.deepEqual(cloud.assumeRole(ROLE_B, 's'), { account: '222222222222' });
    for (const role of [MISSING, 'arn:aws:iam::222222222222:role/someone-else']) {
      assert.throws(
        () => cloud.assumeRole(role, 's'),
        (e: unknown) => e instanceof LocalAwsError && e.name === 'AccessDenied' && e.message.includes(`sts:AssumeRole on resource: ${role}`),
      );
    }
  });

  it('describes a cluster only in its own account and region', () => {
    const cloud = makeCloud();
    assert.match(cloud.describeEksCluster('prod-eks', '222222222222', 'eu-central-1').endpoint, /\.gr7\.eu-central-1\.eks\.amazonaws\.com$/);
    for (const [account, region] of [
      [ACCOUNT, 'eu-central-1'],
      ['222222222222', 'eu-west-2'],
    ] as const) {
      assert.throws(
        () => cloud.describeEksCluster('prod-eks', account, region),
        (e: Error) => e.name === 'ResourceNotFoundException',
      );
    }
    assert.equal(cloud.clusterIn('prod-eks', ACCOUNT), undefined, 'the ClusterAccessRole does not reach a cluster of another account');
    assert.equal(cloud.clusterIn('prod-eks', '222222222222')?.key, 'prod');
  });

  it('serves the handlers’ scoped reads through the local STS', async () => {
    const readers = new LocalScopedReaders(makeCloud());
    const prod = { cluster: 'prod', account: '222222222222', region: 'eu-central-1', roleArn: ROLE_B };
    assert.equal((await readers.eksIn(prod, 'gantry-r1').describeCluster('prod-eks')).certificateAuthority.length > 0, true);
    const us = { cluster: 'us', account: '333333333333', region: 'us-east-1', roleArn: MISSING };
    await assert.rejects(readers.alarmsIn(us, 'gantry-r1').describeAlarms(['payments-5xx']), (e: Error) => e.name === 'AccessDenied');
  });
});

describe('the local engine’s eks:call credentials (the Credentials rule)', () => {
  /** The engine of a small world, and its check of a task's role against the cluster named. */
  async function engineCheck() {
    const { startMemoryDynamo } = await import('../../local/memory-dynamo');
    const { buildWorld, startEngine } = await import('../../local/sim-world');
    const scenario = scenarioSchema.parse({ name: 'engine', config: 'gantry.config.json', clock: '2026-11-24T10:00:00Z' });
    const clock = new VirtualClock(new Date('2026-11-24T10:00:00Z'));
    const cloud = new LocalCloud(scenario, clock);
    const dynamo = await startMemoryDynamo();
    const world = buildWorld({ scenario, options: {}, startMs: clock.nowMs(), clock, cloud, config, dynamo });
    const sfn = startEngine(world, { onPhase: () => undefined, driverScript: () => undefined });
    const check = (role: string | undefined, cluster: string) => (sfn as unknown as { taskClusterKey(r: unknown, c: string): string }).taskClusterKey(role, cluster);
    return { check, close: () => dynamo.close() };
  }

  it('reaches a cluster with its own account’s role, refuses an unknown role, and answers 401 to a role of another account', async () => {
    const { check, close } = await engineCheck();
    try {
      assert.equal(check(ROLE_B, 'prod-eks'), 'prod');
      assert.equal(check(SIMULATED_CLUSTER_ACCESS_ROLE_ARN, 'dev-eks'), 'dev');
      assert.throws(
        () => check(SIMULATED_CLUSTER_ACCESS_ROLE_ARN, 'prod-eks'),
        (e: Error) => e.name === 'EKS.401' && JSON.parse(e.message).StatusCode === 401,
      );
      assert.throws(
        () => check('arn:aws:iam::222222222222:role/unknown', 'prod-eks'),
        (e: Error) => e.name === 'States.TaskFailed' && /AccessDenied/.test(e.message),
      );
    } finally {
      await close();
    }
  });
});
