/** The dashboard, the control-plane alarms and the notification topics, in the Gantry app and on their own. */
import assert from 'node:assert/strict';
import { beforeAll, describe, it } from 'vitest';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { METRIC_NAMESPACE, RELEASE_METRICS } from '../../lambdas/domain/metrics';
import { HANDLERS } from '../../lib/ReleaseControlPlane';
import { ReleaseDashboard, ReleaseDashboardError } from '../../lib/ReleaseDashboard';
import { ReleaseNotifications, ReleaseNotificationsError } from '../../lib/ReleaseNotifications';
import { type BuiltGantry, buildGantry, resourcesOfType, testConfig } from './fixtures';

let built: BuiltGantry;
beforeAll(() => {
  built = buildGantry({ bundle: false });
});

const ref = (r: unknown) => JSON.stringify(r);
const logicalIdOf = (template: Template, type: string, pathPart: string) => Object.entries(template.findResources(type)).find(([id]) => id.includes(pathPart))?.[0] as string;

/** The dashboard body with CloudFormation tokens flattened to their names, searchable as text. */
function dashboardBody(template: Template): string {
  const [dash] = Object.values(resourcesOfType(template, 'AWS::CloudWatch::Dashboard'));
  return JSON.stringify(dash?.Properties?.DashboardBody);
}

describe('the Gantry dashboard', () => {
  it('is one dashboard in the control plane', () => {
    built.template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  it('shows the four DORA figures of every service for its production stage, from the EMF metrics', () => {
    const body = dashboardBody(built.template);
    for (const service of Object.keys(testConfig().services)) {
      for (const title of [
        `${service}: deployments to prod per day`,
        `${service}: lead time to prod`,
        `${service}: change failure rate`,
        `${service}: failed deployment recovery time`,
      ]) {
        assert.ok(body.includes(title), `no widget "${title}"`);
      }
    }
    for (const name of [RELEASE_METRICS.deployments, RELEASE_METRICS.leadTime, RELEASE_METRICS.changesDeployed, RELEASE_METRICS.changesFailed, RELEASE_METRICS.recoveryTime]) {
      assert.ok(body.includes(`\\"${METRIC_NAMESPACE}\\",\\"${name}\\"`), `no ${METRIC_NAMESPACE}/${name} metric`);
    }
    assert.ok(body.includes('\\"Service\\",\\"payments\\",\\"Stage\\",\\"prod\\"'), 'metrics are not dimensioned by service and stage');
  });

  it('shows releases by outcome and the time spent per phase', () => {
    const body = dashboardBody(built.template);
    assert.ok(body.includes('payments: releases by outcome'));
    for (const outcome of ['SUCCEEDED', 'ROLLED_BACK', 'BLOCKED', 'FAILED']) assert.ok(body.includes(`\\"Outcome\\",\\"${outcome}\\"`), outcome);
    for (const phase of ['gates', 'approval', 'deploy', 'bake', 'rollback']) assert.ok(body.includes(`\\"Phase\\",\\"${phase}\\"`), phase);
  });

  it('shows control-plane health: failed executions of both workflows, handler errors and throttles, dead-letter depth', () => {
    const body = dashboardBody(built.template);
    for (const m of ['ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted', 'Errors', 'Throttles', 'ApproximateNumberOfMessagesVisible']) assert.ok(body.includes(m), m);
    for (const sm of ['ReleaseWorkflow', 'RollbackWorkflow']) assert.ok(body.includes(logicalIdOf(built.template, 'AWS::StepFunctions::StateMachine', sm)), sm);
  });
});

describe('the control-plane alarms', () => {
  it('alarm on failed and timed-out executions of each workflow', () => {
    for (const sm of ['ReleaseWorkflow', 'RollbackWorkflow']) {
      const id = logicalIdOf(built.template, 'AWS::StepFunctions::StateMachine', sm);
      for (const metric of ['ExecutionsFailed', 'ExecutionsTimedOut']) {
        built.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          Metrics: Match.arrayWith([
            Match.objectLike({
              MetricStat: Match.objectLike({ Metric: { Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: id } }], MetricName: metric, Namespace: 'AWS/States' } }),
            }),
          ]),
        });
      }
    }
  });

  it('alarm on errors or throttles of every handler, and on every dead-letter queue', () => {
    const alarms = Object.values(resourcesOfType(built.template, 'AWS::CloudWatch::Alarm'));
    const text = alarms.map((a) => JSON.stringify(a.Properties)).join('\n');
    for (const name of Object.keys(HANDLERS)) assert.ok(text.includes(`the ${name} handler had errors or throttles`), name);
    const queues = Object.keys(resourcesOfType(built.template, 'AWS::SQS::Queue'));
    for (const q of queues) {
      built.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Threshold: 1,
        Metrics: [
          Match.objectLike({
            MetricStat: Match.objectLike({
              Metric: { Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [q, 'QueueName'] } }], MetricName: 'ApproximateNumberOfMessagesVisible', Namespace: 'AWS/SQS' },
            }),
          }),
        ],
      });
    }
    // Plus the alarm on failed anchor signatures (lib/AnchorSigning.ts, decision 048).
    assert.ok(
      alarms.some((a) => /could not be signed \(AnchorSignaturesFailed\)/.test(String(a.Properties?.AlarmDescription))),
      'the failed-signatures alarm',
    );
    assert.equal(alarms.length, 2 * 2 + Object.keys(HANDLERS).length + queues.length + 1);
  });

  it('notify the alarm topic when they fire and when they recover', () => {
    const topic = logicalIdOf(built.template, 'AWS::SNS::Topic', 'AlarmTopic');
    for (const a of Object.values(resourcesOfType(built.template, 'AWS::CloudWatch::Alarm'))) {
      assert.deepEqual(a.Properties?.AlarmActions, [{ Ref: topic }]);
      assert.deepEqual(a.Properties?.OKActions, [{ Ref: topic }]);
    }
  });
});

describe('the notification topics', () => {
  it('are encrypted with the Gantry key and refuse publishes without TLS', () => {
    const key = logicalIdOf(built.template, 'AWS::KMS::Key', 'Key');
    const topics = resourcesOfType(built.template, 'AWS::SNS::Topic');
    assert.equal(Object.keys(topics).length, 2);
    for (const [id, t] of Object.entries(topics)) {
      assert.deepEqual(t.Properties?.KmsMasterKeyId, { 'Fn::GetAtt': [key, 'Arn'] }, id);
      built.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        Topics: [{ Ref: id }],
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
      });
    }
  });

  it('receive Release Finished, Rollback Started and Approval Requested from the Gantry bus', () => {
    const topic = logicalIdOf(built.template, 'AWS::SNS::Topic', 'ReleaseTopic');
    const bus = logicalIdOf(built.template, 'AWS::Events::EventBus', 'Bus');
    built.template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: bus },
      EventPattern: { source: ['gantry'], 'detail-type': ['Release Finished', 'Rollback Started', 'Approval Requested'] },
      Targets: [Match.objectLike({ Arn: { Ref: topic }, RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 7200 }, DeadLetterConfig: Match.anyValue() })],
    });
  });

  it('keep the lifecycle events the rule could not deliver in an encrypted dead-letter queue only that rule may write to, with an alarm on it', () => {
    const rule = logicalIdOf(built.template, 'AWS::Events::Rule', 'LifecycleRule');
    const queue = logicalIdOf(built.template, 'AWS::SQS::Queue', 'NotificationsDeadLetters');
    const key = logicalIdOf(built.template, 'AWS::KMS::Key', 'Key');
    built.template.hasResourceProperties('AWS::Events::Rule', { Targets: [Match.objectLike({ DeadLetterConfig: { Arn: { 'Fn::GetAtt': [queue, 'Arn'] } } })] });
    built.template.hasResourceProperties('AWS::SQS::Queue', { KmsMasterKeyId: { 'Fn::GetAtt': [key, 'Arn'] } });
    built.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queue }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: 'sqs:SendMessage',
            Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [rule, 'Arn'] } } },
          }),
        ]),
      },
    });
    assert.ok(
      Object.values(resourcesOfType(built.template, 'AWS::CloudWatch::Alarm')).some((a) => JSON.stringify(a.Properties).includes(`"${queue}","QueueName"`)),
      'no alarm on the notifications dead-letter queue',
    );
  });

  it('let only the lifecycle rule publish to the release topic, and only CloudWatch alarms of this account to the alarm topic', () => {
    const rule = logicalIdOf(built.template, 'AWS::Events::Rule', 'LifecycleRule');
    built.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: 'sns:Publish',
            Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [rule, 'Arn'] } } },
          }),
        ]),
      },
    });
    built.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Condition: Match.objectLike({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } }),
          }),
        ]),
      },
    });
  });

  it('give EventBridge (rules of this account only) and CloudWatch the key to encrypt for the topics, and nobody else anything unconditioned', () => {
    const [key] = Object.values(resourcesOfType(built.template, 'AWS::KMS::Key'));
    const statements = (key?.Properties?.KeyPolicy as { Statement: Array<Record<string, unknown>> }).Statement;
    const events = statements.filter((s) => ref(s.Principal as object) === ref({ Service: 'events.amazonaws.com' }));
    assert.ok(events.length > 0);
    for (const s of events) assert.ok(s.Condition, `EventBridge has the key without a condition: ${ref(s)}`);
    assert.ok(
      statements.some(
        (s) => ref(s.Principal as object) === ref({ Service: 'cloudwatch.amazonaws.com' }) && ref(s.Action as object) === ref(['kms:Decrypt', 'kms:GenerateDataKey']),
      ),
    );
  });
});

// ---------------------------------------------------------------- the constructs on their own

function stackWithResources() {
  const app = new App();
  const stack = new Stack(app, 'S', { env: { account: '111122223333', region: 'eu-west-2' } });
  const key = new Key(stack, 'Key', { enableKeyRotation: true });
  const bus = new EventBus(stack, 'Bus', { eventBusName: 'gantry' });
  const fn = LambdaFunction.fromFunctionArn(stack, 'Fn', 'arn:aws:lambda:eu-west-2:111122223333:function:intake');
  const sm = StateMachine.fromStateMachineArn(stack, 'Sm', 'arn:aws:states:eu-west-2:111122223333:stateMachine:release');
  const q = Queue.fromQueueArn(stack, 'Q', 'arn:aws:sqs:eu-west-2:111122223333:dlq');
  return { app, stack, key, bus, fn, sm, q };
}

describe('ReleaseDashboard on its own', () => {
  it('fails at synth naming the props when a service has no stage or there is no workflow', () => {
    const { stack, fn, sm, q } = stackWithResources();
    assert.throws(
      () => new ReleaseDashboard(stack, 'D1', { services: {}, stateMachines: { release: sm }, functions: { intake: fn }, deadLetterQueues: { intake: q } }),
      (e: unknown) => e instanceof ReleaseDashboardError && /services must name/.test(e.message),
    );
    assert.throws(
      () => new ReleaseDashboard(stack, 'D2', { services: { payments: [] }, stateMachines: { release: sm }, functions: {}, deadLetterQueues: {} }),
      /services\.payments must list at least one stage/,
    );
    assert.throws(() => new ReleaseDashboard(stack, 'D3', { services: { payments: ['dev'] }, stateMachines: {}, functions: {}, deadLetterQueues: {} }), /stateMachines must name/);
  });

  it('takes the last stage as production when no stage is named prod', () => {
    const { stack, fn, sm, q } = stackWithResources();
    new ReleaseDashboard(stack, 'D', { services: { api: ['dev', 'live'] }, stateMachines: { release: sm }, functions: { intake: fn }, deadLetterQueues: { intake: q } });
    assert.ok(dashboardBody(Template.fromStack(stack)).includes('api: deployments to live per day'));
  });

  it('creates alarms without actions when no alarm action is given', () => {
    const { stack, fn, sm, q } = stackWithResources();
    const d = new ReleaseDashboard(stack, 'D', { services: { api: ['dev'] }, stateMachines: { release: sm }, functions: { intake: fn }, deadLetterQueues: { intake: q } });
    assert.deepEqual(Object.keys(d.alarms).sort(), ['IntakeDeadLetters', 'IntakeFailures', 'ReleaseExecutionsFailed', 'ReleaseExecutionsTimedOut']);
    for (const a of Object.values(resourcesOfType(Template.fromStack(stack), 'AWS::CloudWatch::Alarm'))) assert.equal(a.Properties?.AlarmActions, undefined);
  });
});

describe('ReleaseNotifications on its own', () => {
  it('refuses a detail-type that is not a lifecycle event, naming it', () => {
    const { stack, key, bus } = stackWithResources();
    assert.throws(
      () => new ReleaseNotifications(stack, 'N', { eventBus: bus, key, detailTypes: ['Release Finished', 'Release Exploded' as never] }),
      (e: unknown) => e instanceof ReleaseNotificationsError && /Release Exploded/.test(e.message),
    );
  });

  it('has no cdk-nag AwsSolutions finding, and neither has the dashboard', () => {
    const { stack, key, bus, fn, sm, q } = stackWithResources();
    const n = new ReleaseNotifications(stack, 'N', { eventBus: bus, key });
    const d = new ReleaseDashboard(stack, 'D', { services: { api: ['dev', 'prod'] }, stateMachines: { release: sm }, functions: { intake: fn }, deadLetterQueues: { intake: q } });
    for (const scope of [n, d]) {
      const report = new AwsSolutionsChecks().validateScope(scope);
      assert.deepEqual(
        report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`),
        [],
        scope.node.path,
      );
    }
  });
});
