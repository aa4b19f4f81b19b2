/**
 * The scheduled rollback drills (lib/DrillSchedules.ts, decision 052): one EventBridge Scheduler schedule per stage with
 * `drill.schedule`, starting the drill workflow with the scheduled input, as a role only Scheduler of this account may
 * assume and that may start that workflow alone; none without a schedule. The drill workflow's nested-execution grants
 * (lib/WorkflowDefinition.ts) are checked on statemachines/drill.asl.json.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Pass, StateMachine, DefinitionBody } from 'aws-cdk-lib/aws-stepfunctions';
import { parseConfig } from '../../lambdas/domain/config';
import { DrillSchedules } from '../../lib/DrillSchedules';
import { WorkflowDefinition } from '../../lib/WorkflowDefinition';
import { ROOT } from './fixtures';

const stage = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  cluster: 'dev',
  namespace: 'payments',
  deploy: { driver: 'helm', release: 'payments', chart: 'oci://x/y', version: '1.0.0' },
  ...extra,
});
const configWith = (stages: unknown[]) =>
  parseConfig({ services: { payments: { repository: 'payments-api', stages } }, clusters: { dev: { name: 'dev-eks', region: 'eu-west-2' } } });

function build(stages: unknown[]): Template {
  const app = new App();
  const stack = new Stack(app, 'DrillTest', { env: { account: '111122223333', region: 'eu-west-2' } });
  const key = new Key(stack, 'Key', { enableKeyRotation: true });
  const sm = new StateMachine(stack, 'Drill', { definitionBody: DefinitionBody.fromChainable(new Pass(stack, 'P')) });
  new DrillSchedules(stack, 'DrillSchedules', { config: configWith(stages), drillWorkflow: sm, encryptionKey: key, removalPolicy: RemovalPolicy.DESTROY });
  return Template.fromStack(stack);
}

describe('scheduled drills in the template', () => {
  it('makes one schedule per stage with drill.schedule, starting the drill workflow with that stage', () => {
    const t = build([stage('dev', { drill: { schedule: 'rate(7 days)' } }), stage('staging', { drill: { schedule: 'cron(0 4 ? * MON *)' } }), stage('prod')]);
    t.resourceCountIs('AWS::Scheduler::Schedule', 2);
    t.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(7 days)',
      State: 'ENABLED',
      Target: Match.objectLike({
        Arn: { Ref: Match.stringLikeRegexp('^Drill') },
        Input: JSON.stringify({ service: 'payments', stage: 'dev', scheduled: true, reason: 'scheduled drill (drill.schedule rate(7 days))' }),
        DeadLetterConfig: Match.anyValue(),
      }),
    });
    t.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'cron(0 4 ? * MON *)' });
  });

  it('uses a role only EventBridge Scheduler of this account can assume, allowed to start the drill workflow', () => {
    const t = build([stage('dev', { drill: { schedule: 'rate(1 day)' } }), stage('prod')]);
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: Match.objectLike({
        Statement: [
          Match.objectLike({ Principal: { Service: 'scheduler.amazonaws.com' }, Condition: Match.objectLike({ StringEquals: { 'aws:SourceAccount': '111122223333' } }) }),
        ],
      }),
    });
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: Match.objectLike({
        Statement: Match.arrayWith([Match.objectLike({ Action: 'states:StartExecution', Resource: { Ref: Match.stringLikeRegexp('^Drill') } })]),
      }),
    });
  });

  it('makes nothing when no stage has a schedule', () => {
    const t = build([stage('dev', { drill: {} }), stage('prod')]);
    t.resourceCountIs('AWS::Scheduler::Schedule', 0);
    t.resourceCountIs('AWS::SQS::Queue', 0);
  });
});

describe('the drill workflow definition', () => {
  const def = WorkflowDefinition.fromFile(join(ROOT, 'statemachines', 'drill.asl.json'));
  it('runs the rollback workflow nested (startExecution.sync:2) and is granted exactly that', () => {
    assert.deepEqual(def.nestedStateMachines, ['RollbackStateMachineArn']);
    const grants = def.startExecutionGrants({ RollbackStateMachineArn: { arn: 'arn:sm', executions: 'arn:exec:*' } }, 'arn:rule');
    assert.deepEqual(
      grants.map((g) => [g.sid, [...g.actions], [...g.resources]]),
      [
        ['StartNestedWorkflows', ['states:StartExecution'], ['arn:sm']],
        ['WatchNestedWorkflows', ['states:DescribeExecution', 'states:StopExecution'], ['arn:exec:*']],
        ['ManagedNestedWorkflowRule', ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'], ['arn:rule']],
      ],
    );
    assert.throws(() => def.startExecutionGrants({}, 'arn:rule'), /runs state machine\(s\) \$\{RollbackStateMachineArn\} the control plane has no ARN for/);
  });
});
