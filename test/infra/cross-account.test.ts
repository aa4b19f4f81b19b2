/**
 * Stages in other accounts, the Gantry stack's side (issue 18, decision 046): the ClusterAccessRole (trust: exactly the
 * workflow roles and the plan handlers' roles; eks:DescribeCluster on the own-account clusters only), who may assume
 * which role (`sts:AssumeRole` on exactly the ClusterAccessRole and the configured roleArns), the handlers' environment,
 * the default bus's policy naming the configured accounts, and the alarm-watch rule matching their events.
 * Config: test/fixtures/cross-account.config.json (the example config plus a cluster in 222222222222, eu-central-1,
 * with a Kubernetes service on it and on an own-account cluster, and a Helm service on it).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, it } from 'vitest';
import { type CfnElement, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { parseConfig } from '../../lambdas/domain/config';
import { HANDLER_NAMES, handlerEntry } from '../../lambdas/registry';
import { busStatementId } from '../../lib/ReleaseControlPlane';
import { CLUSTER_ACCESS_ROLE_ENV, clusterAccess, stageClusterKeys } from '../../lib/ClusterAccessRole';
import { WorkflowDefinition } from '../../lib/WorkflowDefinition';
import { type BuiltGantry, buildGantry, CROSS_ACCOUNT_CONFIG_PATH, crossAccountConfig, resourcesOfType, ROOT, TARGET_ROLE } from './fixtures';

type Statement = { Sid?: string; Effect: string; Action: string | string[]; Resource?: unknown; Principal?: unknown; Condition?: unknown };
type Resources = Record<string, { Type: string; Properties: Record<string, unknown>; DependsOn?: unknown }>;

let built: BuiltGantry;
let resources: Resources;
const id = (c: IConstruct) => built.stack.getLogicalId((c.node.defaultChild ?? c) as CfnElement);
const arnOf = (c: IConstruct) => ({ 'Fn::GetAtt': [id(c), 'Arn'] });
const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Every statement of the identity policies attached to a role (by its logical id). */
function statementsOf(roleId: string): Statement[] {
  return Object.values(resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && list(r.Properties.Roles as unknown[]).some((x) => JSON.stringify(x) === JSON.stringify({ Ref: roleId })))
    .flatMap((r) => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}
/** The resources of a role's statements granting `action`, as JSON strings, sorted. */
function resourcesFor(roleId: string, action: string): string[] {
  return statementsOf(roleId)
    .filter((s) => list(s.Action).includes(action))
    .flatMap((s) => list(s.Resource).map((r) => JSON.stringify(r)))
    .sort();
}

beforeAll(() => {
  built = buildGantry({ bundle: false, config: crossAccountConfig() });
  resources = built.template.toJSON().Resources as Resources;
}, 300_000);

describe('the ClusterAccessRole', () => {
  it('is trusted by exactly the release, rollback and insight workflow roles and the plan handlers (rollout-check, insight-plan)', () => {
    const cp = built.stack.controlPlane;
    const role = resources[id(cp.clusterAccess.role)];
    const trust = (role?.Properties.AssumeRolePolicyDocument as { Statement: Statement[] }).Statement;
    const principals = trust.flatMap((s) => list((s.Principal as { AWS: unknown }).AWS)).map((p) => JSON.stringify(p));

    assert.deepEqual(
      trust.map((s) => [s.Effect, s.Action, s.Condition]).filter(([e, a, c]) => e !== 'Allow' || a !== 'sts:AssumeRole' || c !== undefined),
      [],
    );
    assert.deepEqual(
      principals.sort(),
      [cp.releaseStateMachine.role, cp.rollbackStateMachine.role, cp.insightCheck.stateMachine.role, cp.functions['rollout-check'].role, cp.functions['insight-plan'].role]
        .map((r) => JSON.stringify(arnOf(r)))
        .sort(),
    );
  });

  it('may describe the own-account clusters the workflows reach (Kubernetes stages, drift check) and nothing else', () => {
    const roleId = id(built.stack.controlPlane.clusterAccess.role);
    const statements = statementsOf(roleId);

    assert.deepEqual(
      statements.map((s) => list(s.Action)),
      [['eks:DescribeCluster']],
    );
    const described = JSON.stringify(statements[0]?.Resource);
    assert.match(described, /:eks:eu-west-2:.*:cluster\/dev-eks/);
    assert.doesNotMatch(described, /prod-b-eks|222222222222/, 'a cluster in another account is described with its own role');
    assert.doesNotMatch(described, /staging-eks|prod-eks/, 'Helm-only clusters without a workload are not reached by the workflows');
  });

  it('is named in the environment of the plan handlers only, as GANTRY_CLUSTER_ACCESS_ROLE_ARN', () => {
    const cp = built.stack.controlPlane;
    const withEnv = Object.entries(cp.functions)
      .filter(([, fn]) => {
        const vars = (resources[id(fn.function)]?.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
        return CLUSTER_ACCESS_ROLE_ENV in vars;
      })
      .map(([name, fn]) => {
        const vars = (resources[id(fn.function)]?.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
        assert.deepEqual(vars[CLUSTER_ACCESS_ROLE_ENV], arnOf(cp.clusterAccess.role), name);
        return name;
      });

    assert.deepEqual(withEnv.sort(), ['insight-plan', 'rollout-check']);
  });
});

describe('who may assume which role', () => {
  it('the release, rollback and insight workflow roles: exactly the ClusterAccessRole and the configured roleArn', () => {
    const cp = built.stack.controlPlane;
    for (const role of [cp.releaseStateMachine.role, cp.rollbackStateMachine.role, cp.insightCheck.stateMachine.role]) {
      assert.deepEqual(resourcesFor(id(role), 'sts:AssumeRole'), [JSON.stringify(TARGET_ROLE), JSON.stringify(arnOf(cp.clusterAccess.role))].sort(), id(role));
    }
  });

  it('the plan handlers: the same two; the alarm and metric readers: the target role only; the Helm driver (a stage on that cluster): the target role; nobody else', () => {
    const cp = built.stack.controlPlane;
    const both = [JSON.stringify(TARGET_ROLE), JSON.stringify(arnOf(cp.clusterAccess.role))].sort();
    const expected = new Map<string, string[]>();
    for (const role of [cp.releaseStateMachine.role, cp.rollbackStateMachine.role, cp.insightCheck.stateMachine.role]) expected.set(id(role), both);
    for (const name of ['rollout-check', 'insight-plan'] as const) expected.set(id(cp.functions[name].role), both);
    const alarmReaders = HANDLER_NAMES.filter((n) => handlerEntry(n).capabilities.includes('readAlarms') || handlerEntry(n).capabilities.includes('readMetrics'));
    assert.ok(alarmReaders.length >= 4, `the handlers that read alarms: ${alarmReaders.join(', ')}`);
    assert.ok(alarmReaders.includes('canary-analysis'), "the canary analysis reads the metric in the canary cluster's account");
    for (const name of alarmReaders) expected.set(id(cp.functions[name].role), [JSON.stringify(TARGET_ROLE)]);
    expected.set(id(cp.helmDriver.role), [JSON.stringify(TARGET_ROLE)]);

    const actual = new Map<string, string[]>();
    for (const roleId of Object.keys(resources).filter((k) => resources[k]?.Type === 'AWS::IAM::Role')) {
      const assumed = resourcesFor(roleId, 'sts:AssumeRole');
      if (assumed.length > 0) actual.set(roleId, assumed);
    }

    assert.deepEqual(Object.fromEntries([...actual].sort()), Object.fromEntries([...expected].sort()));
  });

  it('no workflow role describes a cluster in another account, and none describes any once the definitions stop describing clusters', () => {
    const cp = built.stack.controlPlane;
    const describes = (file: string) => WorkflowDefinition.fromFile(join(ROOT, 'statemachines', file)).describesClusters;
    const cases: Array<[IConstruct, string]> = [
      [cp.releaseStateMachine.role, 'release.asl.json'],
      [cp.rollbackStateMachine.role, 'rollback.asl.json'],
      [cp.insightCheck.stateMachine.role, 'insight.asl.json'],
    ];
    for (const [role, file] of cases) {
      const described = resourcesFor(id(role), 'eks:DescribeCluster');
      assert.ok(!described.some((r) => /prod-b-eks|222222222222/.test(r)), `${file}: ${described.join(', ')}`);
      // The plan handler describes the cluster with the assumed role (X2): a definition with no describeCluster Task gets no grant.
      if (!describes(file)) assert.deepEqual(described, [], file);
      else assert.equal(described.length, 1, `${file} still describes clusters: the own-account dev-eks only`);
    }
  });

  it('every role that may assume a target role gets a CloudFormation-generated name, which starts with the stack name (the target trust relies on it)', () => {
    for (const [roleId, r] of Object.entries(resources)) {
      if (r.Type !== 'AWS::IAM::Role' || !resourcesFor(roleId, 'sts:AssumeRole').includes(JSON.stringify(TARGET_ROLE))) continue;
      assert.equal(r.Properties.RoleName, undefined, `${roleId} sets RoleName: its ARN would not match role/${built.stack.stackName}-*`);
    }
  });

  it('the example config (no cluster in another account): the workflows may assume the ClusterAccessRole only, and no alarm reader assumes anything', () => {
    const b = buildGantry({ bundle: false });
    const r = b.template.toJSON().Resources as Resources;
    const cp = b.stack.controlPlane;
    const roleId = (c: IConstruct) => b.stack.getLogicalId(c.node.defaultChild as CfnElement);
    const assumes = Object.values(r)
      .filter((x) => x.Type === 'AWS::IAM::Policy')
      .flatMap((x) =>
        (x.Properties.PolicyDocument as { Statement: Statement[] }).Statement.filter((s) => list(s.Action).includes('sts:AssumeRole')).map((s) => [x.Properties.Roles, s.Resource]),
      );

    assert.equal(assumes.length, 5);
    for (const [, resource] of assumes) assert.deepEqual(resource, { 'Fn::GetAtt': [roleId(cp.clusterAccess.role), 'Arn'] });
    assert.deepEqual(Object.keys(b.template.findResources('AWS::Events::EventBusPolicy')), []);
  });
});

describe("alarm events from other accounts on Gantry's default bus", () => {
  it('a bus policy statement per configured account: events:PutEvents of CloudWatch alarm state changes only, on the default bus', () => {
    const policies = Object.values(resourcesOfType(built.template, 'AWS::Events::EventBusPolicy'));

    assert.deepEqual(clusterAccess(crossAccountConfig()).targetAccounts, ['222222222222']);
    assert.equal(policies.length, 1);
    const p = policies[0]?.Properties as { EventBusName: string; StatementId: string; Statement: Statement };
    assert.equal(p.EventBusName, 'default');
    assert.equal(p.StatementId, 'Gantry-alarms-from-222222222222');
    assert.equal(p.Statement.Sid, p.StatementId);
    assert.deepEqual(p.Statement.Principal, { AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::222222222222:root']] } });
    assert.equal(p.Statement.Action, 'events:PutEvents');
    assert.match(JSON.stringify(p.Statement.Resource), /:event-bus\/default"/);
    assert.deepEqual(p.Statement.Condition, { StringEquals: { 'events:source': ['aws.cloudwatch'], 'events:detail-type': ['CloudWatch Alarm State Change'] } });
  });

  it('one statement per account, each id unique per stack and account and at most 64 characters', () => {
    const raw = JSON.parse(readFileSync(CROSS_ACCOUNT_CONFIG_PATH, 'utf8'));
    raw.clusters['prod-c'] = { name: 'prod-c-eks', region: 'us-east-1', account: '333333333333', roleArn: 'arn:aws:iam::333333333333:role/gantry-target-Gantry' };
    raw.clusters['prod-b2'] = { name: 'prod-b2-eks', region: 'eu-west-1', account: '222222222222', roleArn: 'arn:aws:iam::222222222222:role/gantry-target-Gantry-eu-west-1' };
    raw.services.checkout.stages.push({ ...raw.services.checkout.stages[1], name: 'prod-us', cluster: 'prod-c' });
    const b = buildGantry({ bundle: false, config: parseConfig(raw) });
    const ids = Object.values(resourcesOfType(b.template, 'AWS::Events::EventBusPolicy')).map((p) => (p.Properties as { StatementId: string }).StatementId);

    assert.deepEqual(ids.sort(), ['Gantry-alarms-from-222222222222', 'Gantry-alarms-from-333333333333']);
    const long = busStatementId('A'.repeat(100), '222222222222');
    assert.equal(long, `${'A'.repeat(52)}222222222222`, 'a long stack name is cut, the account kept');
  });

  it("the alarm-watch rule's pattern pins no account, so it matches the forwarded events as well as this account's", () => {
    const rule = resources[id(built.stack.controlPlane.rules.alarmStateChange)];
    const pattern = rule?.Properties.EventPattern as Record<string, unknown>;

    assert.deepEqual(pattern.source, ['aws.cloudwatch']);
    assert.deepEqual(pattern['detail-type'], ['CloudWatch Alarm State Change']);
    assert.equal(pattern.account, undefined);
    assert.equal(rule?.Properties.EventBusName, undefined, 'the default bus');
  });
});

describe('the Gantry stack with a cluster in another account', () => {
  it('passes the AwsSolutions and Serverless cdk-nag packs (acknowledgements with reasons)', () => {
    const b = buildGantry({ bundle: false, config: crossAccountConfig() });
    Validations.of(b.app).addPlugins(new AwsSolutionsChecks(b.app), new ServerlessChecks(b.app));
    const left = [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap((p) => p.validateScope(b.app).violations);

    assert.deepEqual(
      left.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`),
      [],
    );
  });
});

describe('the config fields the stack reads (clusters.<key>.account, .roleArn; X2 owns them, shapes of issue 18)', () => {
  const withCluster = (cluster: Record<string, unknown>) => {
    const raw = JSON.parse(readFileSync(CROSS_ACCOUNT_CONFIG_PATH, 'utf8'));
    raw.clusters['prod-b'] = { name: 'prod-b-eks', region: 'eu-central-1', ...cluster };
    return () => parseConfig(raw, 'cfg');
  };
  const refused = (cluster: Record<string, unknown>, problems: string[]) =>
    assert.throws(withCluster(cluster), (e: unknown) => JSON.stringify((e as { problems?: string[] }).problems) === JSON.stringify(problems));

  it('refuses account without roleArn, roleArn without account, and a role of another account, naming the field', () => {
    refused({ account: '222222222222' }, [
      'clusters["prod-b"].roleArn: expected the role Gantry assumes in account 222222222222 (a cluster with account needs roleArn), got nothing',
    ]);
    refused({ roleArn: TARGET_ROLE }, [`clusters["prod-b"].account: expected the account of roleArn: set account to the role's account, got nothing`]);
    refused({ account: '333333333333', roleArn: TARGET_ROLE }, ['clusters["prod-b"].roleArn: expected a role in account 333333333333, got a role in account 222222222222']);
    refused({ account: '22', roleArn: 'nope' }, [
      'clusters["prod-b"].account: expected a 12-digit AWS account id, got "22"',
      'clusters["prod-b"].roleArn: expected an IAM role ARN such as arn:aws:iam::222222222222:role/gantry-target-Gantry, got "nope"',
    ]);
    assert.doesNotThrow(withCluster({ account: '222222222222', roleArn: TARGET_ROLE }));
  });
});

describe('clusterAccess (lib/ClusterAccessRole.ts)', () => {
  it('splits the clusters into own-account ones the workflows reach and other-account ones with their roles', () => {
    const a = clusterAccess(crossAccountConfig());

    assert.deepEqual(
      a.ownClusters.map((c) => c.key),
      ['dev'],
    );
    assert.deepEqual(
      a.otherAccountClusters.map((c) => [c.key, c.account, c.roleArn]),
      [['prod-b', '222222222222', TARGET_ROLE]],
    );
    assert.deepEqual(a.targetRoleArns, [TARGET_ROLE]);
  });

  it('counts every cluster of a stage with waves (issue 18, W), not only its first', () => {
    // The parsed config is frozen: a copy, with the waves W's parser would give.
    const config = JSON.parse(JSON.stringify(crossAccountConfig())) as ReturnType<typeof crossAccountConfig>;
    const prod = config.services.checkout?.stages[1] as (typeof config.services.checkout.stages)[number] & { waves?: string[][] };
    prod.waves = [['staging'], ['prod-b']];

    assert.deepEqual(stageClusterKeys(prod), ['staging', 'prod-b']);
    assert.deepEqual(
      clusterAccess(config).ownClusters.map((c) => c.key),
      ['dev', 'staging'],
    );
  });
});
