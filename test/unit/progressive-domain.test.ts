/**
 * The pure decisions behind issue 18's rollouts, one by one: wave targets and outcomes (decision 044), the reach of a
 * cluster in another account (decision 045), the canary's words and route paths (decision 043), a phase's safety net
 * (decision 047). The workflows run them end to end in test/workflow/waves*.test.ts, cross-account.test.ts and
 * drivers/kubernetes/canary.test.ts; here each refusal is shown to name what is wrong.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { abortWords, canaryTarget, httpRoutePath } from '../../lambdas/domain/canary';
import { ClusterScopeError, clusterScope, distinctScopes, eventAlarmKey, isHomeScope, roleSessionName, taskRoleArn } from '../../lambdas/domain/cluster-scope';
import { type GantryConfig, hasWaves, parseConfig, stageClusters, stageWaves } from '../../lambdas/domain/config';
import { clusterRunsOutcome, driverEnvironment, phaseBakeTimeoutSeconds, waveOf, waveTargets } from '../../lambdas/domain/release';
import { KubernetesDriverError, rolloutTarget } from '../../lambdas/domain/rollout';

const ROOT = join(__dirname, '..', '..');
const scenarioConfig = (name: string): GantryConfig => parseConfig(JSON.parse(readFileSync(join(ROOT, 'examples', 'scenarios', `${name}.json`), 'utf8')).config);
const DIGEST = `sha256:${'2'.repeat(64)}`;
const REGISTRY = '111122223333.dkr.ecr.eu-west-2.amazonaws.com';

describe('waves (decision 044)', () => {
  const cfg = scenarioConfig('waves-cross-account');
  const prod = cfg.services.payments?.stages.find((s) => s.name === 'prod');
  const dev = cfg.services.payments?.stages.find((s) => s.name === 'dev');
  assert.ok(prod && dev);
  const args = { config: cfg, service: 'payments', stage: prod, digest: DIGEST, releaseId: 'payments-2222222222222222', kind: 'deploy' as const, registry: REGISTRY };

  it('gives every stage its waves: a one-cluster stage is one wave of its cluster', () => {
    assert.deepEqual(stageWaves(dev), [['dev']]);
    assert.equal(hasWaves(dev), false);
    assert.equal(hasWaves(prod), true);
    assert.deepEqual(stageClusters(prod), ['prod-eu-1', 'prod-eu-2', 'prod-us-1', 'prod-ap-1']);
    assert.equal(prod.cluster, 'prod-eu-1', "a wave stage's cluster is its first wave's first");
  });

  it("targets each cluster of a wave with that cluster's driver environment, and refuses a wave the stage does not have", () => {
    const wave2 = waveTargets({ ...args, wave: 2 });
    assert.deepEqual(
      wave2.map((t) => [t.cluster, t.wave]),
      [
        ['prod-eu-2', 2],
        ['prod-us-1', 2],
      ],
    );
    const env = (t: (typeof wave2)[number]) => Object.fromEntries(t.deployEnv.map((v) => [v.Name, v.Value]));
    assert.equal(env(wave2[0]!).GANTRY_CLUSTER_ROLE_ARN, 'arn:aws:iam::222222222222:role/gantry-target-Gantry', 'each cluster its own role');
    assert.equal(env(wave2[1]!).GANTRY_CLUSTER_ROLE_ARN, 'arn:aws:iam::333333333333:role/gantry-target-Gantry');
    assert.throws(
      () => waveTargets({ ...args, wave: 4 }),
      (e: Error) => e instanceof RangeError && /has no wave 4/.test(e.message),
    );
    assert.throws(
      () => driverEnvironment({ ...args, cluster: 'dev' }),
      (e: Error) => e instanceof TypeError && /cluster dev is not a cluster of stage payments\/prod/.test(e.message),
    );
    assert.throws(
      () => rolloutTarget({ ...args, cluster: 'dev' }),
      (e: Error) => e instanceof KubernetesDriverError && /cluster dev is not a cluster of stage payments\/prod/.test(e.message),
    );
  });

  it('knows the wave of a cluster, and none for a cluster outside the stage', () => {
    assert.equal(waveOf(prod, 'prod-us-1'), 2);
    assert.equal(waveOf(prod, 'prod-ap-1'), 3);
    assert.equal(waveOf(prod, 'dev'), undefined);
  });

  it('adds up a wave: SUCCEEDED only when every cluster did and at least one ran; FAILED names each failed cluster', () => {
    assert.deepEqual(clusterRunsOutcome([{ cluster: 'a', result: 'SUCCEEDED' }]), { result: 'SUCCEEDED', failed: [], message: null });
    assert.deepEqual(clusterRunsOutcome([]), { result: 'FAILED', failed: [], message: 'no cluster ran' });
    const out = clusterRunsOutcome([
      { cluster: 'a', result: 'SUCCEEDED' },
      { cluster: 'b', result: 'FAILED', message: 'rollout stalled' },
    ]);
    assert.equal(out.result, 'FAILED');
    assert.deepEqual(out.failed, ['b']);
    assert.match(out.message ?? '', /b/);
  });
});

describe('clusters in other accounts (decision 045)', () => {
  const cfg = scenarioConfig('waves-cross-account');

  it('scopes a cluster by its account, region and role, and refuses a key the config does not have', () => {
    assert.deepEqual(clusterScope(cfg, 'prod-us-1'), {
      cluster: 'prod-us-1',
      region: 'us-east-1',
      account: '333333333333',
      roleArn: 'arn:aws:iam::333333333333:role/gantry-target-Gantry',
    });
    assert.throws(
      () => clusterScope(cfg, 'nowhere'),
      (e: Error) => e instanceof ClusterScopeError && /"nowhere" is not a key of "clusters"/.test(e.message),
    );
    assert.equal(distinctScopes(cfg, ['prod-eu-2', 'prod-ap-1', 'prod-eu-2']).length, 2, 'one read per account/region/role');
  });

  it("runs eks:call with the cluster's role, else the ClusterAccessRole; refuses neither, and a malformed role", () => {
    assert.equal(taskRoleArn(clusterScope(cfg, 'prod-eu-2'), undefined), 'arn:aws:iam::222222222222:role/gantry-target-Gantry');
    const home = clusterScope(cfg, 'prod-eu-1');
    assert.equal(taskRoleArn(home, 'arn:aws:iam::111122223333:role/Gantry-ClusterAccess'), 'arn:aws:iam::111122223333:role/Gantry-ClusterAccess');
    assert.throws(
      () => taskRoleArn(home, undefined),
      (e: Error) => e instanceof ClusterScopeError && /GANTRY_CLUSTER_ACCESS_ROLE_ARN/.test(e.message),
    );
    assert.throws(
      () => taskRoleArn(home, 'arn:aws:iam::1:role/x; rm -rf /'),
      (e: Error) => e instanceof ClusterScopeError && /refusing to use/.test(e.message),
    );
  });

  it("keys an alarm event by its account only when a cluster names that account; another region of the own account is 'self'", () => {
    assert.equal(isHomeScope({ region: 'eu-west-2' }, 'eu-west-2'), true);
    assert.equal(isHomeScope({ region: 'eu-west-1' }, 'eu-west-2'), false);
    assert.equal(eventAlarmKey(cfg, { account: '333333333333', region: 'us-east-1', alarmName: 'a' }, 'eu-west-2'), '333333333333:us-east-1:alarm:a');
    assert.equal(eventAlarmKey(cfg, { account: '999999999999', region: 'eu-west-2', alarmName: 'a' }, 'eu-west-2'), 'a', 'an account no cluster names is the own account');
    assert.equal(eventAlarmKey(cfg, { region: 'eu-west-1', alarmName: 'a' }, 'eu-west-2'), 'self:eu-west-1:alarm:a');
  });

  it('names the role session after the release, and refuses an id that would not be a session name', () => {
    assert.equal(roleSessionName('payments-2222222222222222'), 'gantry-payments-2222222222222222');
    assert.throws(
      () => roleSessionName('a b'),
      (e: Error) => e instanceof ClusterScopeError && /role session name/.test(e.message),
    );
  });
});

describe('canary words and paths (decision 043), phase safety nets (decision 047)', () => {
  it('says where a canary was aborted, or that it had not begun', () => {
    assert.equal(abortWords({ number: 2, weight: 25 }), 'canary aborted at step 2 (25 %)');
    assert.equal(abortWords(undefined), 'canary aborted before its first step');
  });

  it('builds the HTTPRoute path from checked names only', () => {
    assert.equal(httpRoutePath('payments', 'payments-api'), '/apis/gateway.networking.k8s.io/v1/namespaces/payments/httproutes/payments-api');
    assert.throws(() => httpRoutePath('payments', '../secrets'), KubernetesDriverError);
  });

  it('has no canary target for a stage without a rollout', () => {
    const cfg = scenarioConfig('canary-promoted');
    const dev = cfg.services.payments?.stages.find((s) => s.name === 'dev');
    assert.ok(dev);
    const stable = rolloutTarget({
      config: cfg,
      service: 'payments',
      stage: dev,
      digest: DIGEST,
      registry: REGISTRY,
      releaseId: 'payments-2222222222222222',
      kind: 'deploy',
      clusterAccessRoleArn: 'arn:aws:iam::111122223333:role/Gantry-ClusterAccess',
    });
    assert.equal(canaryTarget(dev, stable), undefined);
  });

  it("gives a phase's bake the stage bake's safety margin", () => {
    assert.equal(phaseBakeTimeoutSeconds(10), 10 * 60 + 900);
    assert.equal(phaseBakeTimeoutSeconds(0), 900);
  });
});
