import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, it } from 'vitest';
import type { CfnElement } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { alarmStateChangePattern, cloudTrailPutImagePattern, cloudTrailStartExecutionPattern, ecrPushPattern } from '../../lambdas/domain/event-patterns';
import { renderHelmBuildSpec, HELM_BUILDSPEC_PATH, HELM_SCRIPT_PATH } from '../../drivers/helm/cdk';
import { HANDLERS, type HandlerName, pascalCase } from '../../lib/ReleaseControlPlane';
import { CAPABILITY_ACTIONS } from '../../lib/handler-grants';
import { CLUSTER_ACCESS_ROLE_ENV, CLUSTER_PLANNING_HANDLERS } from '../../lib/ClusterAccessRole';
import { handlerGrants, LEDGER_ACTIONS, writes } from '../../lib/ledger-access';
import { HANDLER_NAMES, handlerEntry, handlersWith } from '../../lambdas/registry';
import { parseConfig } from '../../lambdas/domain/config';
import { allPolicyStatements, type BuiltGantry, buildGantry, resourcesOfType, ROOT, testConfig } from './fixtures';

const PLACEHOLDER = /\$\{([A-Za-z][A-Za-z0-9]*)\}/g;

let built: BuiltGantry;
const logicalId = (c: IConstruct) => built.stack.getLogicalId(c.node.defaultChild as CfnElement);
const cp = () => built.stack.controlPlane;
const keyArn = () => ({ 'Fn::GetAtt': [logicalId(cp().key), 'Arn'] });
const fnArn = (name: HandlerName) => ({ 'Fn::GetAtt': [logicalId(cp().functions[name].function), 'Arn'] });
const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function rolePolicyStatements(roleLogicalId: string): Array<Record<string, unknown>> {
  return Object.values(resourcesOfType(built.template, 'AWS::IAM::Policy'))
    .filter((p) => JSON.stringify((p.Properties as { Roles: unknown }).Roles).includes(`"${roleLogicalId}"`))
    .flatMap((p) => (p.Properties as { PolicyDocument: { Statement: Array<Record<string, unknown>> } }).PolicyDocument.Statement);
}

function targetsOf(rule: { Properties?: Record<string, unknown> } | undefined): Array<Record<string, unknown>> {
  return (rule?.Properties?.Targets ?? []) as Array<Record<string, unknown>>;
}

function statementsWithAction(statements: Array<Record<string, unknown>>, action: string) {
  return statements.filter((s) => asArray(s.Action as string | string[]).includes(action));
}

beforeAll(() => {
  built = buildGantry({ bundle: false });
});

describe('the ledger table', () => {
  it('has point-in-time recovery, deletion protection and on-demand billing', () => {
    built.template.hasResourceProperties('AWS::DynamoDB::Table', {
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
      BillingMode: 'PAY_PER_REQUEST',
    });
  });

  it('is encrypted with the customer-managed key', () => {
    built.template.hasResourceProperties('AWS::DynamoDB::Table', {
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: keyArn() },
    });
  });

  it('keys items by pk/sk, expires by expiresAt and indexes releases by service', () => {
    built.template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      GlobalSecondaryIndexes: [
        {
          IndexName: 'byService',
          KeySchema: [
            { AttributeName: 'gsi1pk', KeyType: 'HASH' },
            { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    });
  });

  it('is retained when it leaves the stack', () => {
    built.template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });
});

describe('encryption', () => {
  it('uses one customer-managed key with rotation on (and the anchor signing key, which cannot rotate: decision 048)', () => {
    built.template.resourceCountIs('AWS::KMS::Key', 2);
    built.template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    built.template.hasResourceProperties('AWS::KMS::Key', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
  });

  it('encrypts the Gantry bus with the key', () => {
    built.template.hasResourceProperties('AWS::Events::EventBus', { Name: 'gantry', KmsKeyIdentifier: keyArn() });
  });

  it('encrypts every log group with the key and gives each a retention', () => {
    const groups = Object.values(resourcesOfType(built.template, 'AWS::Logs::LogGroup'));
    assert.equal(
      groups.length,
      Object.keys(HANDLERS).length + 7,
      'one per handler, one per workflow (release, rollback, insight, drill), one per driver (Helm, Terraform), one for the approval API access logs',
    );
    for (const g of groups) {
      assert.deepEqual(g.Properties?.KmsKeyId, keyArn());
      assert.equal(typeof g.Properties?.RetentionInDays, 'number');
    }
  });

  it('encrypts every dead-letter queue with the key and refuses plain HTTP to it', () => {
    const queues = resourcesOfType(built.template, 'AWS::SQS::Queue');
    assert.equal(Object.keys(queues).length, 8, 'intake, alarm-watch, bake-timer, reconciler, scan-watch, anchor-sign, the notifications rule and the insight schedule');
    for (const [id, q] of Object.entries(queues)) {
      assert.deepEqual(q.Properties?.KmsMasterKeyId, keyArn(), id);
      built.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
        },
      });
    }
  });
});

describe('the EventBridge rules', () => {
  const ruleWithPattern = (pattern: unknown) =>
    Object.values(resourcesOfType(built.template, 'AWS::Events::Rule')).find((r) => JSON.stringify(r.Properties?.EventPattern) === JSON.stringify(pattern));

  it('match ECR pushes with exactly ecrPushPattern and deliver them to intake', () => {
    const rule = ruleWithPattern(ecrPushPattern);
    assert.ok(rule, 'a rule whose EventPattern equals ecrPushPattern');
    assert.deepEqual(targetsOf(rule)[0]?.Arn, fnArn('intake'));
  });

  it('match CloudTrail PutImage calls with exactly cloudTrailPutImagePattern and deliver them to intake', () => {
    const rule = ruleWithPattern(cloudTrailPutImagePattern);
    assert.ok(rule);
    assert.deepEqual(targetsOf(rule)[0]?.Arn, fnArn('intake'));
  });

  it('match CloudTrail StartExecution calls of both workflows with exactly cloudTrailStartExecutionPattern and deliver them to intake', () => {
    const pattern = cloudTrailStartExecutionPattern([{ Ref: logicalId(cp().releaseStateMachine) }, { Ref: logicalId(cp().rollbackStateMachine) }] as unknown as string[]);
    const rule = ruleWithPattern(pattern);
    assert.ok(rule, 'a rule whose EventPattern equals cloudTrailStartExecutionPattern of the release and rollback workflows');
    assert.deepEqual(targetsOf(rule)[0]?.Arn, fnArn('intake'));
    built.template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.states'],
        'detail-type': ['AWS API Call via CloudTrail'],
        detail: { eventSource: ['states.amazonaws.com'], eventName: ['StartExecution'], errorCode: [{ exists: false }] },
      },
    });
  });

  it('match alarm state changes with exactly alarmStateChangePattern and deliver them to alarm-watch', () => {
    const rule = ruleWithPattern(alarmStateChangePattern);
    assert.ok(rule);
    assert.deepEqual(targetsOf(rule)[0]?.Arn, fnArn('alarm-watch'));
  });

  it('send failed, aborted and timed-out executions of the release, rollback and drill workflows to the reconciler', () => {
    built.template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: {
          status: ['FAILED', 'ABORTED', 'TIMED_OUT'],
          stateMachineArn: [{ Ref: logicalId(cp().releaseStateMachine) }, { Ref: logicalId(cp().rollbackStateMachine) }, { Ref: logicalId(cp().drillStateMachine) }],
        },
      },
      Targets: [Match.objectLike({ Arn: fnArn('reconciler') })],
    });
  });

  it('give every target a retry policy and an encrypted dead-letter queue', () => {
    const queueIds = new Set(Object.keys(resourcesOfType(built.template, 'AWS::SQS::Queue')));
    for (const rule of Object.values(resourcesOfType(built.template, 'AWS::Events::Rule'))) {
      for (const t of targetsOf(rule) as Array<{ RetryPolicy?: { MaximumRetryAttempts: number }; DeadLetterConfig?: { Arn: { 'Fn::GetAtt': [string, string] } } }>) {
        assert.ok((t.RetryPolicy?.MaximumRetryAttempts ?? 0) > 0);
        assert.ok(queueIds.has(t.DeadLetterConfig?.Arn['Fn::GetAtt'][0] ?? ''));
      }
    }
  });
});

describe('the workflows', () => {
  const cases = [
    { file: 'release.asl.json', sm: () => cp().releaseStateMachine },
    { file: 'rollback.asl.json', sm: () => cp().rollbackStateMachine },
  ];
  const expectedValue = (placeholder: string) => {
    if (placeholder === 'HelmProjectName') return { Ref: logicalId(cp().helmDriver.project) };
    if (placeholder === 'TerraformProjectName') return { Ref: logicalId(cp().terraformDriver.project) };
    const name = (Object.keys(HANDLERS) as HandlerName[]).find((n) => `${pascalCase(n)}FunctionArn` === placeholder);
    assert.ok(name, `placeholder ${placeholder} names a handler`);
    return fnArn(name);
  };

  for (const { file, sm } of cases) {
    const text = readFileSync(join(ROOT, 'statemachines', file), 'utf8');
    const placeholders = [...new Set([...text.matchAll(PLACEHOLDER)].map((m) => m[1] as string))].sort();

    it(`${file} is deployed as written, with a substitution for exactly its placeholders`, () => {
      const props = built.template.toJSON().Resources[logicalId(sm())].Properties;
      assert.equal(props.DefinitionString, text);
      assert.deepEqual(Object.keys(props.DefinitionSubstitutions).sort(), placeholders);
      for (const p of placeholders) assert.deepEqual(props.DefinitionSubstitutions[p], expectedValue(p), p);
      const substituted = props.DefinitionString.replace(PLACEHOLDER, (_m: string, p: string) => `RESOLVED:${JSON.stringify(props.DefinitionSubstitutions[p]).replace(/"/g, "'")}`);
      assert.doesNotMatch(substituted, /\$\{/);
      assert.doesNotThrow(() => JSON.parse(substituted));
    });

    it(`${file} may invoke exactly the functions it names and run the Helm and Terraform drivers`, () => {
      const statements = rolePolicyStatements(logicalId(sm().role));
      const invoke = statementsWithAction(statements, 'lambda:InvokeFunction');
      const expected = placeholders.filter((p) => p.endsWith('FunctionArn')).map(expectedValue);
      assert.deepEqual(
        invoke
          .flatMap((s) => asArray(s.Resource))
          .map((r) => JSON.stringify(r))
          .sort(),
        expected.map((r) => JSON.stringify(r)).sort(),
      );
      const codebuild = statementsWithAction(statements, 'codebuild:StartBuild');
      assert.equal(codebuild.length, 1);
      assert.deepEqual(asArray(codebuild[0]?.Action as string[]).sort(), ['codebuild:BatchGetBuilds', 'codebuild:StartBuild', 'codebuild:StopBuild']);
      assert.deepEqual(codebuild[0]?.Resource, [{ 'Fn::GetAtt': [logicalId(cp().helmDriver.project), 'Arn'] }, { 'Fn::GetAtt': [logicalId(cp().terraformDriver.project), 'Arn'] }]);
      const rule = statementsWithAction(statements, 'events:PutRule');
      assert.equal(rule.length, 1);
      assert.match(JSON.stringify(rule[0]?.Resource), /:rule\/StepFunctionsGetEventForCodeBuildStartBuildRule"/);
    });

    it(`${file} runs as a Standard workflow with X-Ray and full logging that leaves execution data out`, () => {
      const props = built.template.toJSON().Resources[logicalId(sm())].Properties;
      assert.equal(props.StateMachineType, 'STANDARD');
      assert.deepEqual(props.TracingConfiguration, { Enabled: true });
      assert.equal(props.LoggingConfiguration.Level, 'ALL');
      assert.equal(props.LoggingConfiguration.IncludeExecutionData, false);
    });
  }
});

describe('the handlers', () => {
  it('are Node 24 on ARM64 with active tracing, one per file under lambdas/', () => {
    const fns = Object.values(resourcesOfType(built.template, 'AWS::Lambda::Function'));
    assert.equal(fns.length, Object.keys(HANDLERS).length);
    for (const f of fns) {
      assert.match(String(f.Properties?.Runtime), /^nodejs(22|24)\.x$/);
      assert.deepEqual(f.Properties?.Architectures, ['arm64']);
      assert.deepEqual(f.Properties?.TracingConfig, { Mode: 'Active' });
    }
  });

  it('each get the ledger, the bus, the scheduler group and role, and POWERTOOLS_SERVICE_NAME', () => {
    for (const name of Object.keys(HANDLERS) as HandlerName[]) {
      built.template.hasResourceProperties('AWS::Lambda::Function', {
        Description: Match.stringLikeRegexp(HANDLERS[name].replace(/[()]/g, '.')),
        Environment: {
          Variables: Match.objectLike({
            TABLE_NAME: { Ref: logicalId(cp().table) },
            EVENT_BUS_NAME: { Ref: logicalId(cp().eventBus) },
            SCHEDULE_GROUP: 'gantry-bakes',
            SCHEDULER_ROLE_ARN: { 'Fn::GetAtt': [logicalId(cp().schedulerRole), 'Arn'] },
            POWERTOOLS_SERVICE_NAME: 'gantry',
          }),
        },
      });
    }
  });

  it('give each handler exactly the extra environment the registry declares', () => {
    const common = ['TABLE_NAME', 'EVENT_BUS_NAME', 'SCHEDULE_GROUP', 'SCHEDULER_ROLE_ARN', 'POWERTOOLS_SERVICE_NAME', 'NODE_OPTIONS'];
    for (const name of HANDLER_NAMES) {
      const vars = Object.keys(built.template.toJSON().Resources[logicalId(cp().functions[name].function)].Properties.Environment.Variables);
      // Plus the ClusterAccessRole's ARN for the handlers that plan Kubernetes calls (lib/ClusterAccessRole.ts, decision 046).
      const clusterRole = (CLUSTER_PLANNING_HANDLERS as readonly string[]).includes(name) ? [CLUSTER_ACCESS_ROLE_ENV] : [];
      assert.deepEqual(vars.filter((v) => !common.includes(v)).sort(), [...(handlerEntry(name).environment ?? []), ...clusterRole].sort(), name);
    }
  });

  it('give intake the release workflow and record-step the ECR registry', () => {
    const env = (name: HandlerName) => built.template.toJSON().Resources[logicalId(cp().functions[name].function)].Properties.Environment.Variables;
    assert.deepEqual(env('intake').RELEASE_STATE_MACHINE_ARN, { Ref: logicalId(cp().releaseStateMachine) });
    assert.match(JSON.stringify(env('record-step').ECR_REGISTRY), /\.dkr\.ecr\./);
  });

  it('give every handler that can end a bake the bake timer ARN, which names the bake timer function', () => {
    const timerName = built.template.toJSON().Resources[logicalId(cp().functions['bake-timer'].function)].Properties.FunctionName;
    for (const name of handlersWith('cancelBakeTimers')) {
      const arn = built.template.toJSON().Resources[logicalId(cp().functions[name].function)].Properties.Environment.Variables.BAKE_TIMER_FUNCTION_ARN;
      assert.match(JSON.stringify(arn), new RegExp(`:function:${timerName}"`), name);
    }
  });

  it('let only intake and the operator API start releases, and only the operator API start rollbacks', () => {
    const insight = JSON.stringify({ Ref: logicalId(cp().insightCheck.stateMachine) });
    const all = allPolicyStatements(built.template).filter((s) => asArray(s.statement.Action as string[]).includes('states:StartExecution'));
    // The insight schedule's role starts the insight workflow, and only that (test/infra/insight-check.test.ts).
    const starters = all.filter((s) => JSON.stringify(s.statement.Resource) !== insight);
    assert.equal(all.length - starters.length, 1);
    const release = JSON.stringify({ Ref: logicalId(cp().releaseStateMachine) });
    const rollback = JSON.stringify({ Ref: logicalId(cp().rollbackStateMachine) });
    const drill = JSON.stringify({ Ref: logicalId(cp().drillStateMachine) });
    const startersOf = (arn: string) =>
      starters
        .filter((s) => asArray(s.statement.Resource).some((r) => JSON.stringify(r) === arn))
        .map((s) => s.where.split(' ')[0])
        .sort();
    const who = (w: string) => (/Intake/.test(w) ? 'intake' : /OperatorApi/.test(w) ? 'operator-api' : /DrillWorkflow/.test(w) ? 'drill-workflow' : w);
    assert.deepEqual(startersOf(release).map(who), ['intake', 'operator-api']);
    // The drill workflow runs the rollback workflow nested (decision 052): its two legs.
    assert.deepEqual(startersOf(rollback).map(who), ['drill-workflow', 'operator-api']);
    assert.deepEqual(startersOf(drill).map(who), ['operator-api']);
    assert.ok(starters.every((s) => asArray(s.statement.Resource).every((r) => [release, rollback, drill].includes(JSON.stringify(r)))));
    assert.equal(statementsWithAction(rolePolicyStatements(logicalId(cp().functions.intake.role)), 'states:StartExecution').length, 1);
    assert.deepEqual(
      statementsWithAction(rolePolicyStatements(logicalId(cp().functions.intake.role)), 'states:StartExecution')
        .flatMap((s) => asArray(s.Resource))
        .map((r) => JSON.stringify(r)),
      [release],
      'intake starts releases only',
    );
  });

  it('let intake describe executions of the release workflow only (a push whose name is taken, decision 024)', () => {
    const all = allPolicyStatements(built.template).filter((s) => asArray(s.statement.Action as string[]).includes('states:DescribeExecution'));
    const intake = statementsWithAction(rolePolicyStatements(logicalId(cp().functions.intake.role)), 'states:DescribeExecution');

    assert.equal(intake.length, 1);
    assert.deepEqual(asArray(intake[0]?.Action as string | string[]), ['states:DescribeExecution']);
    const resource = JSON.stringify(intake[0]?.Resource);
    assert.match(resource, /:execution:/);
    assert.ok(resource.includes(JSON.stringify({ Ref: logicalId(cp().releaseStateMachine) })), `only the release workflow's executions: ${resource}`);
    assert.ok(!resource.includes(logicalId(cp().rollbackStateMachine)));
    // Besides intake, the drill workflow (it watches its nested rollback executions: startExecution.sync:2, decision 052)
    // and the operator API (after a StopExecution, whether the stop took: gantry abort, decision 053).
    const others = all.filter((s) => !/Intake/.test(s.where) && !/OperatorApi/.test(s.where));
    assert.deepEqual(
      others.map((s) => [/DrillWorkflow/.test(s.where), JSON.stringify(s.statement.Resource).includes(logicalId(cp().rollbackStateMachine))]),
      [[true, true]],
      'no other role may describe executions',
    );
  });

  it('let only the operator API stop executions, and only those of the release, rollback and drill workflows (gantry abort, decision 053)', () => {
    // The drill workflow's own role stops the nested rollback legs it runs (startExecution.sync:2, decision 052): a workflow, not a handler.
    const stoppers = allPolicyStatements(built.template).filter(
      (s) => asArray(s.statement.Action as string[]).includes('states:StopExecution') && !/DrillWorkflowRole/.test(s.where),
    );
    assert.ok(stoppers.length > 0, 'the operator API can stop executions');
    assert.ok(
      stoppers.every((s) => /OperatorApi/.test(s.where)),
      `only operator-api: ${stoppers.map((s) => s.where).join(', ')}`,
    );
    const resources = stoppers.flatMap((s) => asArray(s.statement.Resource).map((r) => JSON.stringify(r)));
    const machines = [cp().releaseStateMachine, cp().rollbackStateMachine, cp().drillStateMachine].map((m) => logicalId(m));
    for (const id of machines)
      assert.ok(
        resources.some((r) => r.includes(`"Ref":"${id}"`) && r.includes(':execution:')),
        `executions of ${id}`,
      );
    // Executions only (never a state machine, never *), each of one of the three workflows.
    for (const r of resources) {
      assert.match(r, /:execution:/, r);
      assert.ok(
        machines.some((id) => r.includes(`"Ref":"${id}"`)),
        r,
      );
    }
    for (const s of stoppers) assert.deepEqual(asArray(s.statement.Action as string[]).sort(), ['states:DescribeExecution', 'states:StopExecution']);
  });

  it('read only the configured ECR repositories', () => {
    const repos = [...new Set(Object.values(testConfig().services).map((s) => s.repository))].sort();
    const statements = allPolicyStatements(built.template).filter((s) => asArray(s.statement.Action as string[]).includes('ecr:DescribeImages'));
    assert.equal(statements.length, 4, 'prepare-release, stage-lease and deploy-check (which digest is newer) and image-gates');
    for (const { statement } of statements) {
      const resources = asArray(statement.Resource).map((r) => JSON.stringify(r));
      assert.equal(resources.length, repos.length);
      for (const [i, repo] of repos.entries()) assert.match(resources[i] as string, new RegExp(`:repository/${repo}"`));
    }
  });
});

describe('each handler', () => {
  // Every role: its own log stream, X-Ray, and reading through the Gantry key (the table is encrypted with it).
  const baseline = new Set(['logs:CreateLogStream', 'logs:PutLogEvents', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments', 'kms:Decrypt', 'kms:DescribeKey']);
  const dlq = ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'];
  /** Writing through the Gantry key: a role that writes the ledger (or sends to an encrypted queue). */
  const kmsWrite = ['kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'];
  // Derived from the declarations: the capabilities of lambdas/registry.ts (lib/handler-grants.ts's action
  // table; the example config has no KMS signing key, so no kms:GetPublicKey), its dead-letter queues, and the
  // DynamoDB actions of the ledger methods each handler's code calls (lib/ledger-access.ts). No role has
  // BatchWriteItem, Scan, DescribeTable, stream reads or PartiQL.
  const expected = (name: HandlerName): string[] => {
    const entry = handlerEntry(name);
    const grants = handlerGrants(name);
    const capabilities = entry.capabilities.filter((c) => c !== 'readSigningPublicKeys').flatMap((c) => CAPABILITY_ACTIONS[c]);
    const ledger = LEDGER_ACTIONS.filter((a) => grants.table[a].length > 0 || (a === 'Query' && grants.index)).map((a) => `dynamodb:${a}`);
    // The plan handlers assume the ClusterAccessRole (lib/ClusterAccessRole.ts); the example config names no other account.
    const clusterRole = (CLUSTER_PLANNING_HANDLERS as readonly string[]).includes(name) ? ['sts:AssumeRole'] : [];
    return [...capabilities, ...ledger, ...(entry.deadLetterQueue ? dlq : []), ...(writes(grants) || entry.deadLetterQueue ? kmsWrite : []), ...clusterRole];
  };

  it('derives from declarations that a few hand-written facts agree with', () => {
    assert.ok(expected('image-gates').includes('inspector2:ListFindings'));
    assert.ok(expected('bake-register').includes('scheduler:CreateSchedule') && !expected('bake-timer').includes('scheduler:CreateSchedule'));
    assert.deepEqual(expected('insight-plan'), ['sts:AssumeRole']);
    assert.deepEqual(expected('rollout-check'), ['dynamodb:Query', 'sts:AssumeRole']);
  });

  for (const name of Object.keys(HANDLERS) as HandlerName[]) {
    it(`${name} may do what its code does and nothing more`, () => {
      const actions = new Set(rolePolicyStatements(logicalId(cp().functions[name].role)).flatMap((s) => asArray(s.Action as string | string[])));
      for (const a of baseline) assert.ok(actions.has(a), `${name} lacks ${a}`);
      assert.deepEqual([...actions].filter((a) => !baseline.has(a)).sort(), [...new Set(expected(name))].sort());
    });
  }
});

describe('the bake timers', () => {
  it('live in the gantry-bakes schedule group', () => {
    built.template.hasResourceProperties('AWS::Scheduler::ScheduleGroup', { Name: 'gantry-bakes' });
  });

  it('are invoked by a role only EventBridge Scheduler of this account can assume, which may invoke the bake timer alone', () => {
    const role = built.template.toJSON().Resources[logicalId(cp().schedulerRole)].Properties;
    const [trust] = role.AssumeRolePolicyDocument.Statement;
    assert.deepEqual(trust.Principal, { Service: 'scheduler.amazonaws.com' });
    assert.deepEqual(trust.Condition.StringEquals, { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } });
    const statements = rolePolicyStatements(logicalId(cp().schedulerRole));
    const invoke = statements.filter((st) => st.Action === 'lambda:InvokeFunction');
    assert.equal(invoke.length, 1);
    const timerName = built.template.toJSON().Resources[logicalId(cp().functions['bake-timer'].function)].Properties.FunctionName;
    assert.match(JSON.stringify(invoke[0]?.Resource), new RegExp(`:function:${timerName}"\\]\\]\\}$`));
    // Besides invoking the timer it may only put an undeliverable timer on the bake timer's dead-letter queue
    // (and use the key that queue is encrypted with).
    const others = statements.filter((st) => st.Action !== 'lambda:InvokeFunction');
    const dlq = { 'Fn::GetAtt': [logicalId(cp().deadLetterQueues.bakeTimer), 'Arn'] };
    assert.ok(others.some((st) => JSON.stringify(st.Resource) === JSON.stringify(dlq) && [st.Action].flat().every((a) => a === 'sqs:SendMessage')));
    for (const st of others)
      assert.ok(
        [st.Action].flat().every((a) => /^(sqs:SendMessage|kms:(Decrypt|GenerateDataKey))$/.test(String(a))),
        JSON.stringify(st),
      );
  });

  it('are created with that dead-letter queue, so a timer Scheduler cannot deliver is kept, not dropped', () => {
    const env = built.template.toJSON().Resources[logicalId(cp().functions['bake-register'].function)].Properties.Environment.Variables;
    assert.deepEqual(env.BAKE_TIMER_DLQ_ARN, { 'Fn::GetAtt': [logicalId(cp().deadLetterQueues.bakeTimer), 'Arn'] });
  });
});

describe('the Helm driver', () => {
  it('runs the rendered buildspec with no source, encrypted with the key, on the standard 7.0 image', () => {
    const expected = renderHelmBuildSpec(readFileSync(HELM_BUILDSPEC_PATH, 'utf8'), readFileSync(HELM_SCRIPT_PATH, 'utf8'));
    built.template.hasResourceProperties('AWS::CodeBuild::Project', {
      Source: { Type: 'NO_SOURCE', BuildSpec: expected },
      EncryptionKey: keyArn(),
      Environment: Match.objectLike({ Image: 'aws/codebuild/standard:7.0', PrivilegedMode: false }),
      LogsConfig: { CloudWatchLogs: { Status: 'ENABLED', GroupName: { Ref: logicalId(cp().helmDriver.logGroup) } } },
    });
  });

  it('may describe exactly the configured clusters', () => {
    const config = testConfig();
    const helmClusters = new Set(Object.values(config.services).flatMap((s) => s.stages.filter((st) => st.deploy.driver === 'helm').map((st) => st.cluster)));
    const [describe] = statementsWithAction(rolePolicyStatements(logicalId(cp().helmDriver.role)), 'eks:DescribeCluster');
    const resources = asArray(describe?.Resource).map((r) => JSON.stringify(r));
    assert.equal(resources.length, helmClusters.size);
    for (const key of helmClusters) {
      const cluster = config.clusters[key];
      assert.ok(
        resources.some((r) => r.includes(`:eks:${cluster?.region}:`) && r.includes(`:cluster/${cluster?.name}"`)),
        key,
      );
    }
  });
});

describe('IAM', () => {
  it('grants no action "*" or "<service>:*" in any policy, except the key policy delegating the key to IAM', () => {
    const offending = allPolicyStatements(built.template).filter(({ statement }) => asArray(statement.Action as string | string[]).some((a) => a === '*' || a.endsWith(':*')));
    const allowed = offending.filter(
      ({ where, statement }) =>
        where.includes('(AWS::KMS::Key)') &&
        statement.Effect === 'Allow' &&
        statement.Action === 'kms:*' &&
        JSON.stringify(statement.Principal) === JSON.stringify({ AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root']] } }),
    );
    const denies = offending.filter(({ statement }) => statement.Effect === 'Deny');
    assert.deepEqual(
      offending.filter((o) => !allowed.includes(o) && !denies.includes(o)).map((o) => `${o.where}: ${JSON.stringify(o.statement.Action)}`),
      [],
    );
    assert.equal(allowed.length, 1, 'the default key policy statement (account root) is the one exception');
  });
});

describe('GantryStack', () => {
  it('outputs the workflow ARNs, the table and bus names, the driver roles, and what replaying intake failures needs', () => {
    const outputs = Object.keys(built.template.findOutputs('*')).sort();
    assert.deepEqual(outputs, [
      'AnchorKeyArn',
      'ApprovalApiUrl',
      'ClusterAccessRoleArn',
      'EventBusName',
      'HelmDriverRoleArn',
      'InsightWorkflowRoleArn',
      'IntakeDeadLetterQueueUrl',
      'IntakeFunctionName',
      'LedgerTableName',
      'ReleaseStateMachineArn',
      'ReleaseWorkflowRoleArn',
      'RollbackStateMachineArn',
      'RollbackWorkflowRoleArn',
      'TerraformDriverRoleArn',
    ]);
    assert.deepEqual(built.template.findOutputs('IntakeDeadLetterQueueUrl').IntakeDeadLetterQueueUrl?.Value, { Ref: logicalId(cp().deadLetterQueues.intake) });
    assert.deepEqual(built.template.findOutputs('IntakeFunctionName').IntakeFunctionName?.Value, { Ref: logicalId(cp().functions.intake.function) });
  });
});

describe('a config with a Terraform stage', () => {
  it('synthesizes without a warning: the release workflow starts the Terraform driver for it', () => {
    const config = parseConfig({
      services: {
        payments: {
          repository: 'payments-api',
          stages: [
            {
              name: 'dev',
              cluster: 'dev',
              namespace: 'payments',
              deploy: { driver: 'helm', release: 'payments', chart: 'oci://111122223333.dkr.ecr.eu-west-2.amazonaws.com/charts/payments', version: '1.2.0' },
            },
            {
              name: 'prod',
              cluster: 'dev',
              namespace: 'payments',
              deploy: { driver: 'terraform', source: 's3://tf-sources/payments.zip', workdir: 'prod', imageVariable: 'image' },
            },
          ],
        },
      },
      clusters: { dev: { name: 'dev-eks', region: 'eu-west-2' } },
    });
    const { stack } = buildGantry({ bundle: false, config });
    Annotations.fromStack(stack).hasNoWarning('/Gantry/ReleaseControlPlane', Match.stringLikeRegexp('terraform driver'));
  });
});
