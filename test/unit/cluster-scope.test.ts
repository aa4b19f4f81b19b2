/**
 * Where a cluster is and how it is reached (lambdas/domain/cluster-scope.ts), the alarm read over several clusters
 * (lambdas/shared/alarms.ts readClusterAlarms) and the CodeBuild drivers' environment (decision 045).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { alarmIndexKey, ClusterScopeError, clusterScope, distinctScopes, eventAlarmKey, isHomeScope, roleSessionName, taskRoleArn } from '../../lambdas/domain/cluster-scope';
import { parseConfig } from '../../lambdas/domain/config';
import { driverEnvironment } from '../../lambdas/domain/release';
import type { AlarmReader, AlarmState, Deps, ReadScope } from '../../lambdas/ports';
import { bakeAlarmKeys, readClusterAlarms } from '../../lambdas/shared/alarms';

const ROLE_B = 'arn:aws:iam::222222222222:role/gantry-target';
const ROLE_C = 'arn:aws:iam::333333333333:role/gantry-target';
const ACCESS = 'arn:aws:iam::111122223333:role/gantry-cluster-access';
const stage = (name: string, cluster: string) => ({
  name,
  cluster,
  namespace: 'payments',
  deploy: { driver: 'helm', release: 'payments', chart: 'repo/payments', version: '1.0.0' },
});
const config = parseConfig(
  {
    services: { payments: { repository: 'payments-api', stages: [stage('dev', 'dev'), stage('prod', 'eu'), stage('us', 'us')] } },
    clusters: {
      dev: { name: 'dev-eks', region: 'eu-west-2' },
      eu: { name: 'prod-eu', region: 'eu-central-1', account: '222222222222', roleArn: ROLE_B },
      eu2: { name: 'prod-eu-2', region: 'eu-central-1', account: '222222222222', roleArn: ROLE_B },
      us: { name: 'prod-us', region: 'us-east-1', account: '333333333333', roleArn: ROLE_C },
      dev2: { name: 'dev-2', region: 'eu-west-1' },
    },
  },
  'test',
);

describe('cluster scopes', () => {
  it('gives the account, region and role of a configured cluster, and refuses an unknown key by name', () => {
    assert.deepEqual(clusterScope(config, 'eu'), { cluster: 'eu', account: '222222222222', region: 'eu-central-1', roleArn: ROLE_B });
    assert.deepEqual(clusterScope(config, 'dev'), { cluster: 'dev', region: 'eu-west-2' });
    assert.throws(
      () => clusterScope(config, 'constructor'),
      (e: Error) => e instanceof ClusterScopeError && /"constructor" is not a key of "clusters"/.test(e.message),
    );
  });

  it("runs eks:call with the cluster's role, else the stack's ClusterAccessRole, and refuses when neither is known", () => {
    assert.equal(taskRoleArn(clusterScope(config, 'eu'), ACCESS), ROLE_B);
    assert.equal(taskRoleArn(clusterScope(config, 'dev'), ACCESS), ACCESS);
    assert.throws(() => taskRoleArn(clusterScope(config, 'dev'), undefined), /GANTRY_CLUSTER_ACCESS_ROLE_ARN/);
    assert.throws(() => taskRoleArn(clusterScope(config, 'dev'), 'arn:aws:iam::1:role/x'), ClusterScopeError);
  });

  it('is home only in the own account and the handler region (or an unknown region)', () => {
    assert.equal(isHomeScope({ region: 'eu-west-2' }, 'eu-west-2'), true);
    assert.equal(isHomeScope({ region: 'eu-west-1' }, undefined), true);
    assert.equal(isHomeScope({ region: 'eu-west-1' }, 'eu-west-2'), false);
    assert.equal(isHomeScope({ account: '222222222222', region: 'eu-west-2' }, 'eu-west-2'), false);
  });

  it('reads two clusters of one account, region and role once', () => {
    assert.deepEqual(
      distinctScopes(config, ['eu', 'eu2', 'us', 'eu']).map((s) => s.cluster),
      ['eu', 'us'],
    );
  });

  it('names a role session after the release, within STS limits, refusing what STS would', () => {
    assert.equal(roleSessionName('payments-2222'), 'gantry-payments-2222');
    assert.equal(roleSessionName('x'.repeat(80)).length, 64);
    assert.throws(() => roleSessionName('a b'), ClusterScopeError);
  });
});

describe('bake token keys and alarm events (decision 045)', () => {
  it('keeps the plain alarm name at home (tokens stored before issue 18 keep their keys), and account:region elsewhere', () => {
    assert.equal(alarmIndexKey({ region: 'eu-west-2' }, 'payments-5xx', 'eu-west-2'), 'payments-5xx');
    assert.equal(alarmIndexKey({ account: '222222222222', region: 'eu-central-1' }, 'payments-5xx', 'eu-west-2'), '222222222222:eu-central-1:alarm:payments-5xx');
    assert.equal(alarmIndexKey({ region: 'us-east-1' }, 'payments-5xx', 'eu-west-2'), 'self:us-east-1:alarm:payments-5xx');
  });

  it('matches an event to the bake watching the alarm in that account and region only', () => {
    const watched = bakeAlarmKeys({ config, runtime: { inLambda: true, ecrRegistry: 'r', region: 'eu-west-2' } } as unknown as Deps, 'eu', ['payments-5xx']);
    assert.deepEqual(watched, ['222222222222:eu-central-1:alarm:payments-5xx']);
    const key = (account: string, region: string) => eventAlarmKey(config, { account, region, alarmName: 'payments-5xx' }, 'eu-west-2');
    assert.equal(key('222222222222', 'eu-central-1'), watched[0]);
    assert.notEqual(key('333333333333', 'eu-central-1'), watched[0], 'same name, another target account');
    assert.notEqual(key('222222222222', 'us-east-1'), watched[0], 'same name and account, another region');
    assert.equal(key('111122223333', 'eu-west-2'), 'payments-5xx', 'own account, own region: the plain name');
  });
});

describe('readClusterAlarms', () => {
  /** Deps whose readers answer `states[<scope>]`; home is `deps.alarms`. */
  function deps(states: Record<string, AlarmState[]>, asked: string[]) {
    const reader = (where: string): AlarmReader => ({
      describeAlarms: async (names) => (asked.push(`${where}:${names.join(',')}`), (states[where] ?? []).filter((s) => names.includes(s.name))),
    });
    return {
      config,
      runtime: { inLambda: true, ecrRegistry: 'r', region: 'eu-west-2' },
      alarms: reader('home'),
      scoped: { alarmsIn: (s: ReadScope) => reader(s.account ?? s.region), metricsIn: () => assert.fail(), eksIn: () => assert.fail() },
    } as unknown as Deps;
  }
  const st = (name: string, state: AlarmState['state']): AlarmState => ({ name, type: 'MetricAlarm', state });

  it('reads the home cluster as before (deps.alarms, no scope fields) and another account through its reader', async () => {
    const asked: string[] = [];
    const out = await readClusterAlarms(deps({ home: [st('a', 'OK')], '222222222222': [st('a', 'OK')] }, asked), ['dev', 'eu', 'eu2'], ['a'], 'r1');
    assert.deepEqual(asked, ['home:a', '222222222222:a']);
    assert.deepEqual(out, [st('a', 'OK')], 'the home state first; another OK does not replace it');
  });

  it('is healthy only where healthy everywhere it exists: the worst state wins, with where it was read', async () => {
    const out = await readClusterAlarms(
      deps({ home: [st('a', 'OK'), st('b', 'OK')], '222222222222': [st('a', 'ALARM')], '333333333333': [st('b', 'INSUFFICIENT_DATA')] }, []),
      ['dev', 'eu', 'us'],
      ['a', 'b', 'c'],
      'r1',
    );
    assert.deepEqual(out, [
      { ...st('a', 'ALARM'), account: '222222222222', region: 'eu-central-1' },
      { ...st('b', 'INSUFFICIENT_DATA'), account: '333333333333', region: 'us-east-1' },
    ]);
    assert.equal(
      out.find((s) => s.name === 'c'),
      undefined,
      'a name that exists in no scope is absent (does not exist)',
    );
  });

  it('exists if it exists in one scope only', async () => {
    const out = await readClusterAlarms(deps({ '333333333333': [st('only-us', 'OK')] }, []), ['dev', 'us'], ['only-us'], 'r1');
    assert.deepEqual(out, [{ ...st('only-us', 'OK'), account: '333333333333', region: 'us-east-1' }]);
  });
});

describe('the CodeBuild drivers’ environment', () => {
  it('passes the role of a cluster in another account (GANTRY_CLUSTER_ROLE_ARN) and its region; nothing for the own account', () => {
    const env = (st: string) =>
      Object.fromEntries(
        driverEnvironment({
          config,
          service: 'payments',
          stage: config.services.payments?.stages.find((s) => s.name === st) as never,
          digest: `sha256:${'a'.repeat(64)}`,
          releaseId: 'r1',
          kind: 'deploy',
          registry: 'r.example',
        }).map((v) => [v.Name, v.Value]),
      );
    assert.deepEqual([env('prod').GANTRY_CLUSTER_ROLE_ARN, env('prod').GANTRY_CLUSTER_REGION], [ROLE_B, 'eu-central-1']);
    assert.equal(env('dev').GANTRY_CLUSTER_ROLE_ARN, undefined);
  });
});
