/**
 * lib/InsightCheck.ts on its own stack: the insight workflow as written, a daily schedule with its own
 * role, retries and dead-letter queue, and a workflow role that may invoke its two handlers and describe
 * the configured clusters only. cdk-nag runs over the construct too.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, it } from 'vitest';
import { App, type CfnElement, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { type GantryConfig, parseConfig } from '../../lambdas/domain/config';
import { InsightCheck, InsightCheckError } from '../../lib/InsightCheck';
import { ROOT } from './fixtures';

const CONFIG_RAW = {
  services: {
    payments: {
      repository: 'payments-api',
      stages: [
        { name: 'dev', cluster: 'dev', namespace: 'payments', deploy: { driver: 'kubernetes', deployment: 'payments', container: 'api' } },
        {
          name: 'prod',
          cluster: 'prod',
          namespace: 'payments',
          deploy: { driver: 'helm', release: 'payments', chart: 'repo/payments', version: '1.0.0' },
          workload: { deployment: 'payments', container: 'api' },
        },
      ],
    },
  },
  clusters: { dev: { name: 'dev-eks', region: 'eu-west-2' }, prod: { name: 'prod-eks', region: 'eu-west-1' } },
};
const CONFIG = parseConfig(CONFIG_RAW);

interface Built {
  readonly stack: Stack;
  readonly check: InsightCheck;
  readonly template: Template;
  readonly plan: LambdaFunction;
  readonly record: LambdaFunction;
}

function build(config: GantryConfig = CONFIG): Built {
  const app = new App();
  const stack = new Stack(app, 'InsightTest', { env: { account: '111122223333', region: 'eu-west-2' } });
  const key = new Key(stack, 'Key', { enableKeyRotation: true });
  const fn = (id: string) => new LambdaFunction(stack, id, { runtime: Runtime.NODEJS_24_X, handler: 'index.handler', code: Code.fromInline('exports.handler = async () => ({})') });
  const plan = fn('Plan');
  const record = fn('Record');
  const check = new InsightCheck(stack, 'InsightCheck', {
    config,
    planFunction: plan,
    recordFunction: record,
    encryptionKey: key,
    logRetention: RetentionDays.ONE_YEAR,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  return { stack, check, template: Template.fromStack(stack), plan, record };
}

let built: Built;
const logicalId = (c: IConstruct) => built.stack.getLogicalId(c.node.defaultChild as CfnElement);
const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function roleStatements(roleLogicalId: string): Array<Record<string, unknown>> {
  return Object.values(built.template.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(`"${roleLogicalId}"`))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Array<Record<string, unknown>>);
}

beforeAll(() => {
  built = build();
});

describe('the insight workflow', () => {
  it('is statemachines/insight.asl.json as written, with both handler ARNs substituted', () => {
    const props = built.template.toJSON().Resources[logicalId(built.check.stateMachine)].Properties;
    assert.equal(props.DefinitionString, readFileSync(join(ROOT, 'statemachines', 'insight.asl.json'), 'utf8'));
    assert.deepEqual(props.DefinitionSubstitutions, {
      InsightPlanFunctionArn: { 'Fn::GetAtt': [logicalId(built.plan), 'Arn'] },
      InsightRecordFunctionArn: { 'Fn::GetAtt': [logicalId(built.record), 'Arn'] },
    });
    assert.equal(props.StateMachineType, 'STANDARD');
    assert.equal(props.LoggingConfiguration.IncludeExecutionData, false);
  });

  it('may invoke its two handlers and nothing else: insight-plan describes the clusters (decision 045), eks:call runs as the ClusterAccessRole', () => {
    const statements = roleStatements(logicalId(built.check.stateMachine.role));
    const invoke = statements.find((s) => s.Sid === 'InvokeInsightFunctions');
    assert.deepEqual(invoke?.Resource, [{ 'Fn::GetAtt': [logicalId(built.plan), 'Arn'] }, { 'Fn::GetAtt': [logicalId(built.record), 'Arn'] }]);
    const actions = new Set(statements.flatMap((s) => asArray(s.Action as string | string[])));
    const unexpected = [...actions].filter((a) => !a.startsWith('logs:') && !a.startsWith('xray:') && a !== 'lambda:InvokeFunction');
    assert.deepEqual(unexpected, []);
  });

  it('may describe no cluster when insight.driftCheck is off, or for a stage without a workload', () => {
    const raw = {
      services: {
        payments: {
          repository: 'payments-api',
          stages: [{ name: 'prod', cluster: 'prod', namespace: 'payments', deploy: { driver: 'helm', release: 'payments', chart: 'repo/payments', version: '1.0.0' } }],
        },
      },
      clusters: { prod: { name: 'prod-eks', region: 'eu-west-2' } },
    };
    for (const config of [parseConfig(raw), parseConfig({ ...CONFIG_RAW, insight: { driftCheck: false } })]) {
      const b = build(config);
      const id = b.stack.getLogicalId(b.check.stateMachine.role.node.defaultChild as CfnElement);
      const actions = Object.values(b.template.findResources('AWS::IAM::Policy'))
        .filter((p) => JSON.stringify(p.Properties.Roles).includes(`"${id}"`))
        .flatMap((p) => (p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[] }>).flatMap((st) => asArray(st.Action)));
      assert.ok(actions.includes('lambda:InvokeFunction'));
      assert.deepEqual(
        actions.filter((a) => a.startsWith('eks:')),
        [],
      );
    }
  });

  it('encrypts its log group with the key', () => {
    built.template.hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: Match.anyValue(), RetentionInDays: 365 });
  });
});

describe('the daily schedule', () => {
  it('starts the insight workflow once a day through its own role, with retries and an encrypted dead-letter queue', () => {
    built.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 day)',
      State: 'ENABLED',
      Target: {
        Arn: { Ref: logicalId(built.check.stateMachine) },
        RoleArn: { 'Fn::GetAtt': [logicalId(built.check.schedulerRole), 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 7200 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalId(built.check.deadLetterQueue), 'Arn'] } },
      },
    });
    built.template.hasResourceProperties('AWS::SQS::Queue', { KmsMasterKeyId: Match.anyValue() });
  });

  it('uses a role only EventBridge Scheduler of this account can assume, which may start this workflow alone', () => {
    const role = built.template.toJSON().Resources[logicalId(built.check.schedulerRole)].Properties;
    const [trust] = role.AssumeRolePolicyDocument.Statement;
    assert.deepEqual(trust.Principal, { Service: 'scheduler.amazonaws.com' });
    assert.equal(trust.Condition.StringEquals['aws:SourceAccount'], '111122223333');
    const statements = roleStatements(logicalId(built.check.schedulerRole));
    const start = statements.filter((s) => asArray(s.Action as string | string[]).includes('states:StartExecution'));
    assert.equal(start.length, 1);
    assert.deepEqual(start[0]?.Resource, { Ref: logicalId(built.check.stateMachine) });
    const other = statements.flatMap((s) => asArray(s.Action as string | string[])).filter((a) => !a.startsWith('sqs:') && !a.startsWith('kms:') && a !== 'states:StartExecution');
    assert.deepEqual(other, []);
  });
});

describe('cdk-nag over the insight check', () => {
  it('finds nothing unacknowledged in it', () => {
    const report = new AwsSolutionsChecks().validateScope(built.stack);
    const mine = report.violations.filter((v) => v.violatingResources.some((r) => (r.constructPath ?? '').includes('/InsightCheck/')));
    assert.deepEqual(
      mine.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`),
      [],
    );
  });
});

describe('props', () => {
  it('are refused at synth when the config is not a parsed config', () => {
    const app = new App();
    const stack = new Stack(app, 'Bad');
    const key = new Key(stack, 'Key');
    const fn = new LambdaFunction(stack, 'F', { runtime: Runtime.NODEJS_24_X, handler: 'index.handler', code: Code.fromInline('x') });
    assert.throws(
      () =>
        new InsightCheck(stack, 'X', {
          config: {} as GantryConfig,
          planFunction: fn,
          recordFunction: fn,
          encryptionKey: key,
          logRetention: RetentionDays.ONE_DAY,
          removalPolicy: RemovalPolicy.DESTROY,
        }),
      InsightCheckError,
    );
  });
});
