/**
 * The companion stack of a target account (lib/GantryTargetAccount.ts, decision 046): the target role (its stable name,
 * its trust limited to the Gantry stack's roles, its permissions), the EKS access entries, the rule forwarding alarm
 * state changes to Gantry's default bus and its role, the outputs, bad props refused with the field named, cdk-nag
 * clean (cfn-lint: test/infra/cfn-lint.test.ts), and bin/target-account.ts's errors.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, it } from 'vitest';
import { App, type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { alarmStateChangePattern } from '../../lambdas/domain/event-patterns';
import { GantryTargetAccount, GantryTargetAccountError, type GantryTargetAccountProps, GantryTargetAccountStack, targetAccountProblems } from '../../lib/GantryTargetAccount';
import { cdkJsonContext, crossAccountConfig, ROOT, TARGET_ROLE } from './fixtures';

const PROPS: GantryTargetAccountProps = {
  gantryAccount: '111122223333',
  gantryRegion: 'eu-west-2',
  gantryStackName: 'Gantry',
  clusters: [
    { name: 'prod-b-eks', namespaces: ['inventory', 'checkout', 'checkout'] },
    { name: 'legacy-eks', namespaces: ['checkout'], accessEntries: false },
  ],
};

type Statement = { Sid?: string; Effect: string; Action: string | string[]; Resource?: unknown; Principal?: unknown; Condition?: unknown };

function build(props: GantryTargetAccountProps = PROPS, env = { account: '222222222222', region: 'eu-central-1' }) {
  const app = new App({ context: cdkJsonContext() });
  const stack = new GantryTargetAccountStack(app, 'GantryTarget', { ...props, env });
  return { app, stack, template: Template.fromStack(stack) };
}

let built: ReturnType<typeof build>;
const id = (c: { node: { defaultChild?: unknown } }) => built.stack.getLogicalId(c.node.defaultChild as CfnElement);
const resources = () => built.template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>;
const policyOf = (roleId: string): Statement[] =>
  Object.values(resources())
    .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
    .flatMap((r) => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement);

beforeAll(() => {
  built = build();
});

describe('GantryTargetAccount: the target role', () => {
  it('has the stable name the Gantry config names (gantry-target-<gantryStackName>), the ARN of the fixture config', () => {
    const role = resources()[id(built.stack.target.role)];

    assert.equal(role?.Properties.RoleName, 'gantry-target-Gantry');
    const fixtureRole = (crossAccountConfig().clusters['prod-b'] as { roleArn?: string }).roleArn;
    assert.equal(fixtureRole, TARGET_ROLE);
    assert.equal(`arn:aws:iam::222222222222:role/${role?.Properties.RoleName as string}`, fixtureRole);
  });

  it("trusts the Gantry account, only for roles whose name starts with the Gantry stack's name", () => {
    const trust = (resources()[id(built.stack.target.role)]?.Properties.AssumeRolePolicyDocument as { Statement: Statement[] }).Statement;

    assert.equal(trust.length, 1);
    assert.equal(trust[0]?.Action, 'sts:AssumeRole');
    assert.deepEqual(trust[0]?.Principal, { AWS: 'arn:aws:iam::111122223333:root' });
    assert.deepEqual(trust[0]?.Condition, {
      ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::111122223333:role/Gantry-*' },
    });
  });

  it('may describe its clusters and read alarms and metrics, nothing else', () => {
    const statements = policyOf(id(built.stack.target.role));

    assert.deepEqual(
      statements.map((s) => [s.Sid, s.Action]),
      [
        ['DescribeTargetClusters', 'eks:DescribeCluster'],
        ['ReadAlarmStates', 'cloudwatch:DescribeAlarms'],
        ['ReadCanaryMetrics', 'cloudwatch:GetMetricData'],
      ],
    );
    const clusters = JSON.stringify(statements[0]?.Resource);
    assert.match(clusters, /:eks:eu-central-1:222222222222:cluster\/legacy-eks/);
    assert.match(clusters, /:eks:eu-central-1:222222222222:cluster\/prod-b-eks/);
    assert.deepEqual([statements[1]?.Resource, statements[2]?.Resource], ['*', '*']);
  });

  it('gets an access entry (AmazonEKSEditPolicy in its namespaces, each once) on each cluster that does not opt out', () => {
    const entries = Object.values(resources()).filter((r) => r.Type === 'AWS::EKS::AccessEntry');

    assert.equal(entries.length, 1);
    assert.deepEqual(entries[0]?.Properties, {
      ClusterName: 'prod-b-eks',
      PrincipalArn: { 'Fn::GetAtt': [id(built.stack.target.role), 'Arn'] },
      Type: 'STANDARD',
      AccessPolicies: [
        {
          PolicyArn: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy',
          AccessScope: { Type: 'namespace', Namespaces: ['checkout', 'inventory'] },
        },
      ],
    });
  });

  it('outputs the role ARN', () => {
    const outputs = built.template.toJSON().Outputs as Record<string, { Value: unknown }>;

    assert.deepEqual(outputs.TargetRoleArn?.Value, { 'Fn::GetAtt': [id(built.stack.target.role), 'Arn'] });
  });
});

describe('GantryTargetAccount: forwarding alarm state changes', () => {
  it("a rule on the default bus matching what Gantry's alarm watch matches, targeting Gantry's default bus with its own role and a dead-letter queue", () => {
    const rule = resources()[id(built.stack.target.forwardingRule)];
    const targets = rule?.Properties.Targets as Array<Record<string, unknown>>;

    assert.equal(rule?.Properties.EventBusName, undefined, "the account's default bus");
    assert.deepEqual(rule?.Properties.EventPattern, {
      source: [...alarmStateChangePattern.source],
      'detail-type': [...alarmStateChangePattern['detail-type']],
      detail: alarmStateChangePattern.detail,
    });
    assert.equal(targets.length, 1);
    assert.deepEqual(targets[0]?.Arn, 'arn:aws:events:eu-west-2:111122223333:event-bus/default');
    assert.deepEqual(targets[0]?.RoleArn, { 'Fn::GetAtt': [id(built.stack.target.forwardingRole), 'Arn'] });
    assert.deepEqual(targets[0]?.DeadLetterConfig, { Arn: { 'Fn::GetAtt': [id(built.stack.target.deadLetterQueue), 'Arn'] } });
  });

  it("the forwarding role: assumed by EventBridge of this account, may put events on Gantry's default bus only", () => {
    const role = resources()[id(built.stack.target.forwardingRole)];
    const trust = (role?.Properties.AssumeRolePolicyDocument as { Statement: Statement[] }).Statement;
    const statements = policyOf(id(built.stack.target.forwardingRole));

    assert.deepEqual(trust[0]?.Principal, { Service: 'events.amazonaws.com' });
    assert.deepEqual(trust[0]?.Condition, { StringEquals: { 'aws:SourceAccount': '222222222222' } });
    assert.deepEqual(
      statements.map((s) => [s.Action, s.Resource]),
      [['events:PutEvents', 'arn:aws:events:eu-west-2:111122223333:event-bus/default']],
    );
  });
});

describe('GantryTargetAccount: bad props', () => {
  it('names each bad field and what is allowed', () => {
    const problems = targetAccountProblems({
      gantryAccount: '1111',
      gantryRegion: 'europe',
      gantryStackName: '1-bad',
      clusters: [
        { name: 'ok-eks', namespaces: ['Bad_NS'] },
        { name: 'ok-eks', namespaces: [] },
        { name: '', namespaces: ['a'], accessEntries: 'yes' as unknown as boolean },
      ],
    });

    assert.deepEqual(problems, [
      'gantryAccount: expected a 12-digit AWS account id, got "1111"',
      'gantryRegion: expected an AWS region such as eu-west-2, got "europe"',
      'gantryStackName: expected a CloudFormation stack name (a letter, then letters, digits and -, at most 128), got "1-bad"',
      'clusters[0].namespaces[0]: expected a Kubernetes namespace (lowercase letters, digits, -), got "Bad_NS"',
      'clusters[1].name: expected each cluster once, ok-eks is listed twice',
      'clusters[1].namespaces: expected at least one Kubernetes namespace',
      'clusters[2].name: expected an EKS cluster name, got ""',
      'clusters[2].accessEntries: expected true or false, got "yes"',
    ]);
    assert.deepEqual(targetAccountProblems({ ...PROPS, clusters: [] }), ['clusters: expected at least one cluster { name, namespaces }']);
    assert.match(
      targetAccountProblems({ ...PROPS, gantryStackName: `G${'a'.repeat(60)}` }).join(),
      /^roleName: expected an IAM role name .* \(from gantryStackName: pass roleName\)$/,
    );
    assert.deepEqual(targetAccountProblems(PROPS), []);
  });

  it('throws GantryTargetAccountError with those problems, and refuses a stack in the Gantry account itself', () => {
    const stack = new Stack(new App(), 'T', { env: { account: '222222222222', region: 'eu-central-1' } });

    assert.throws(
      () => new GantryTargetAccount(stack, 'A', { ...PROPS, gantryAccount: 'x' }),
      (e: unknown) => e instanceof GantryTargetAccountError && e.name === 'GantryTargetAccountError' && /gantryAccount: expected a 12-digit/.test(e.message),
    );
    assert.throws(
      () => new GantryTargetAccount(stack, 'B', { ...PROPS, gantryAccount: '222222222222' }),
      (e: unknown) => e instanceof GantryTargetAccountError && /Gantry's own account/.test((e as Error).message),
    );
  });

  it('takes roleName for a second companion stack of the same account', () => {
    const b = build({ ...PROPS, roleName: 'gantry-target-Gantry-eu-west-1' }, { account: '222222222222', region: 'eu-west-1' });
    const roles = Object.values(b.template.toJSON().Resources as Record<string, { Type: string; Properties: { RoleName?: string } }>).filter(
      (r) => r.Type === 'AWS::IAM::Role' && r.Properties.RoleName,
    );

    assert.deepEqual(
      roles.map((r) => r.Properties.RoleName),
      ['gantry-target-Gantry-eu-west-1'],
    );
  });
});

describe('GantryTargetAccount: checks', () => {
  it('passes the AwsSolutions and Serverless cdk-nag packs, and the packs are live on it', () => {
    const b = build();
    Validations.of(b.app).addPlugins(new AwsSolutionsChecks(b.app), new ServerlessChecks(b.app));
    const left = [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap((p) => p.validateScope(b.app).violations);
    const pack = new AwsSolutionsChecks();
    Object.defineProperty(pack, 'isAcknowledged', { value: () => false });

    assert.deepEqual(
      left.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`),
      [],
    );
    assert.ok(
      pack.validateScope(b.app).violations.some((v) => v.ruleName.startsWith('AwsSolutions-IAM5')),
      'the Resource::* of DescribeAlarms/GetMetricData is found when acknowledgements are ignored',
    );
    b.app.synth();
  });

  it('bin/target-account.ts stops with exit 2 and the field named for bad props, and synthesizes good ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gantry-target-'));
    const bad = join(dir, 'bad.json');
    const good = join(dir, 'good.json');
    writeFileSync(bad, JSON.stringify({ ...PROPS, gantryRegion: 'nowhere' }));
    writeFileSync(good, JSON.stringify(PROPS));
    const run = (file: string) =>
      spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bin', 'target-account.ts')], {
        cwd: ROOT,
        encoding: 'utf8',
        env: {
          ...process.env,
          CDK_CONTEXT_JSON: JSON.stringify({ target: file }),
          CDK_OUTDIR: join(dir, `out-${file.length}`),
          CDK_DEFAULT_ACCOUNT: '222222222222',
          CDK_DEFAULT_REGION: 'eu-central-1',
        },
      });

    const r = run(bad);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /is invalid:\n {2}gantryRegion: expected an AWS region such as eu-west-2, got "nowhere"/);
    const ok = run(good);
    assert.equal(ok.status, 0, ok.stderr);
  }, 120_000);
});
