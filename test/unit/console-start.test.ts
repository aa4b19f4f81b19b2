/**
 * Console starts are attributed (decision 027): the EventBridge pattern for CloudTrail's StartExecution record, its
 * parser, and intake's first-writer-wins attribution against a real ledger (the in-memory DynamoDB).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { DynamoLedger } from '../../lambdas/adapters/dynamo-ledger';
import { createLedgerTable } from '../../lambdas/adapters/ledger-table';
import { decideApproval } from '../../lambdas/domain/approvers';
import { auditRelease } from '../../lambdas/domain/audit';
import { parseConfig } from '../../lambdas/domain/config';
import { cloudTrailPutImagePattern, cloudTrailStartExecutionPattern } from '../../lambdas/domain/event-patterns';
import { parseCloudTrailStartExecution, parseGantryEvent } from '../../lambdas/domain/events';
import { projectRelease } from '../../lambdas/domain/ledger';
import { matchesPattern } from '../../lambdas/domain/pattern-match';
import { awaitedAttribution, UNATTRIBUTED_PUSH, UNATTRIBUTED_START } from '../../lambdas/domain/release';
import { ValidationError } from '../../lambdas/domain/validation';
import { AttributionPendingError, run as intake } from '../../lambdas/intake';
import type { Deps } from '../../lambdas/ports';
import { run as prepareRelease } from '../../lambdas/prepare-release';
import type { LocalDynamo } from '../../local/dynamo';
import { startMemoryDynamo } from '../../local/memory-dynamo';
import { ledgerOnlyDeps } from '../helpers/ledger-deps';

const ROOT = join(__dirname, '..', '..');
const config = parseConfig(JSON.parse(readFileSync(join(ROOT, 'examples', 'gantry.config.json'), 'utf8')));
const RECORD = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'aws-samples', 'stepfunctions-cloudtrail-startexecution-record.json'), 'utf8')) as Record<string, any>;
const SAMPLE_MACHINE = RECORD.requestParameters.stateMachineArn as string;
const SAMPLE_NAME = 'testUser.2016-10-27-18-16-26.6e229586-3698-4ce5-8d';
const RELEASE_SM = 'arn:aws:states:eu-west-2:111122223333:stateMachine:gantry-release';
const ROLLBACK_SM = 'arn:aws:states:eu-west-2:111122223333:stateMachine:gantry-rollback';
const alice = 'arn:aws:sts::111122223333:assumed-role/Deployers/alice';
const carol = 'arn:aws:sts::111122223333:assumed-role/Deployers/carol';

/** The documentation's record in EventBridge's envelope; `over` edits the record (its `detail`). */
function event(over: (d: Record<string, any>) => void = () => undefined): Record<string, any> {
  const detail = structuredClone(RECORD);
  over(detail);
  return {
    version: '0',
    id: 'e1',
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.states',
    account: '123456789012',
    time: '2016-10-28T01:17:25Z',
    region: 'us-east-1',
    resources: [],
    detail,
  };
}
/** The record as alice's console session starting `name` on Gantry's release workflow. */
function consoleEvent(name: string, principal = alice, eventId = 'ct-1'): Record<string, any> {
  return event((d) => {
    d.userIdentity = { type: 'AssumedRole', arn: principal, accountId: '111122223333' };
    d.eventID = eventId;
    d.requestParameters = { input: '{}', stateMachineArn: RELEASE_SM, name };
    d.responseElements = { startDate: 'Nov 24, 2026 10:00:00 AM', executionArn: `${RELEASE_SM.replace(':stateMachine:', ':execution:')}:${name}` };
  });
}

describe('cloudTrailStartExecutionPattern', () => {
  const pattern = cloudTrailStartExecutionPattern([SAMPLE_MACHINE]);

  it('matches the documentation’s StartExecution record of a named state machine', () => {
    assert.equal(matchesPattern(pattern, event()), true);
  });

  it('does not match another state machine, a failed call, another API call or an ECR record', () => {
    assert.equal(matchesPattern(cloudTrailStartExecutionPattern([RELEASE_SM, ROLLBACK_SM]), event()), false);
    assert.equal(
      matchesPattern(
        pattern,
        event((d) => Object.assign(d, { errorCode: 'AccessDenied' })),
      ),
      false,
    );
    assert.equal(
      matchesPattern(
        pattern,
        event((d) => Object.assign(d, { eventName: 'StopExecution' })),
      ),
      false,
    );
    assert.equal(matchesPattern(pattern, { ...event(), source: 'aws.ecr' }), false);
    assert.equal(matchesPattern(cloudTrailPutImagePattern, event()), false);
  });
});

describe('parsing a CloudTrail StartExecution event', () => {
  it('reads the execution, its name and the caller from the documentation’s record', () => {
    const e = parseGantryEvent(event());

    assert.equal(e.kind, 'cloudtrail-start-execution');
    const s = parseCloudTrailStartExecution(event());
    assert.equal(s.executionName, SAMPLE_NAME);
    assert.equal(s.stateMachineArn, SAMPLE_MACHINE);
    assert.equal(s.principalArn, 'arn:aws:iam::123456789012:user/test-user');
    assert.equal(s.principalType, 'IAMUser');
    assert.equal(s.cloudTrailEventId, '30a20c8e-a3a1-4b07-9139-cd9cd73b5eb8');
  });

  it('refuses an execution ARN of another state machine, naming both paths', () => {
    const bad = event((d) => {
      d.responseElements.executionArn = 'arn:aws:states:us-east-1:123456789012:execution:other:run-1';
    });

    assert.throws(
      () => parseCloudTrailStartExecution(bad),
      (err: Error) =>
        err instanceof ValidationError && /detail\.responseElements\.executionArn: expected an execution of .*detail\.requestParameters\.stateMachineArn/.test(err.message),
    );
  });

  it('takes a failed call as nothing to act on', () => {
    const e = parseGantryEvent(event((d) => Object.assign(d, { errorCode: 'ExecutionAlreadyExists' })));

    assert.equal(e.kind, 'unknown');
  });
});

describe('segregation of duties while the record is awaited', () => {
  const approvers = ['arn:aws:iam::111122223333:role/ReleaseApprovers'];
  const bob = 'arn:aws:sts::111122223333:assumed-role/ReleaseApprovers/bob';

  it('refuses with initiator-pending and says what it waits for, for a console start and for a push', () => {
    const start = decideApproval({ caller: bob, initiator: UNATTRIBUTED_START, approvers, awaiting: awaitedAttribution(UNATTRIBUTED_START) });
    const push = decideApproval({ caller: bob, initiator: UNATTRIBUTED_PUSH, approvers, awaiting: awaitedAttribution(UNATTRIBUTED_PUSH) });

    assert.deepEqual([!start.ok && start.code, !push.ok && push.code], ['initiator-pending', 'initiator-pending']);
    assert.match(!start.ok ? start.reason : '', /^initiator not known yet: waiting for CloudTrail's StartExecution record/);
    assert.match(!push.ok ? push.reason : '', /waiting for CloudTrail's PutImage record/);
  });

  it('still refuses a non-approver first, and an initiator that will never be known as initiator-unknown', () => {
    const v = decideApproval({ caller: carol, initiator: UNATTRIBUTED_START, approvers, awaiting: 'StartExecution' });
    const never = decideApproval({
      caller: bob,
      initiator: 'arn:aws:iam::111122223333:role/Deployers',
      approvers,
      awaiting: awaitedAttribution('arn:aws:iam::111122223333:role/Deployers'),
    });

    assert.equal(!v.ok && v.code, 'not-an-approver');
    assert.equal(!never.ok && never.code, 'initiator-unknown');
  });
});

describe('intake attributes a console start once', () => {
  let dynamo: LocalDynamo;
  let tables = 0;
  beforeAll(async () => {
    dynamo = await startMemoryDynamo();
  });
  afterAll(async () => {
    await dynamo?.close();
  });

  /** A fresh table; the release `name` started without a start record (as from the console), through prepare-release. */
  async function consoleStarted(name: string, opts: { startRecord?: string; status?: string } = {}): Promise<{ deps: Deps; ledger: DynamoLedger }> {
    const tableName = `console-start-${++tables}`;
    await createLedgerTable(dynamo.client, tableName);
    const ledger = new DynamoLedger({ client: dynamo.doc, tableName });
    const deps = ledgerOnlyDeps(config, ledger, '2026-11-24T10:05:00Z');
    const d1 = `sha256:${'1'.repeat(64)}`;
    (deps as { registry: unknown }).registry = { describeImage: async () => ({ repository: 'payments-api', digest: d1, tags: ['v1.4.2'], pushedAt: '2026-11-24T09:00:00Z' }) };
    (deps as { executions: unknown }).executions = {
      start: async () => ({ executionArn: '', alreadyExists: false }),
      describe: async () => ({ status: opts.status ?? 'RUNNING', input: {} }),
    };
    if (opts.startRecord) await ledger.putInitiator(name, opts.startRecord, '2026-11-24T10:00:00Z');
    await prepareRelease(
      { input: { service: 'payments', image: { digest: d1 } }, executionArn: `arn:aws:states:eu-west-2:111122223333:execution:gantry-release:${name}`, executionName: name },
      deps,
    );
    return { deps, ledger };
  }
  const initiatorOf = async (ledger: DynamoLedger, name: string) => projectRelease(await ledger.events(name))?.initiator;

  it('names the caller as the initiator of a release started without a start record', async () => {
    const { deps, ledger } = await consoleStarted('console-1');
    assert.equal(await initiatorOf(ledger, 'console-1'), UNATTRIBUTED_START);

    const r = await intake(consoleEvent('console-1'), deps);

    assert.deepEqual(r, { outcome: 'attributed', releaseId: 'console-1', initiator: alice });
    assert.equal(await initiatorOf(ledger, 'console-1'), alice);
    const attributed = (await ledger.events('console-1')).filter((e) => e.type === 'release.attributed');
    assert.equal(attributed.length, 1);
    assert.deepEqual([attributed[0]?.data.source, attributed[0]?.data.eventId], ['CloudTrail StartExecution', 'ct-1']);
    const audit = auditRelease(await ledger.events('console-1'));
    assert.deepEqual([audit?.initiator, audit?.attributedFrom], [alice, 'CloudTrail StartExecution'], 'gantry audit show says which record named the initiator');
  });

  it('first writer wins: a duplicate, or a later record naming someone else, writes nothing', async () => {
    const { deps, ledger } = await consoleStarted('console-2');
    await intake(consoleEvent('console-2'), deps);

    const again = await intake(consoleEvent('console-2'), deps);
    const later = await intake(consoleEvent('console-2', carol, 'ct-2'), deps);

    assert.deepEqual([again.outcome, later.outcome], ['ignored', 'ignored']);
    assert.equal(await initiatorOf(ledger, 'console-2'), alice);
    assert.equal((await ledger.events('console-2')).filter((e) => e.type === 'release.attributed').length, 1);
  });

  it('leaves a release whose start record named its initiator as it is: the start record wrote first', async () => {
    const { deps, ledger } = await consoleStarted('api-1', { startRecord: carol });

    const r = await intake(consoleEvent('api-1', 'arn:aws:sts::111122223333:assumed-role/gantry-operator-api/fn'), deps);

    assert.equal(r.outcome, 'ignored');
    assert.equal(await initiatorOf(ledger, 'api-1'), carol);
    assert.equal(
      (await ledger.events('api-1')).some((e) => e.type === 'release.attributed'),
      false,
    );
  });

  it('retries a record that arrives before the release is on record, and ignores one whose execution ended without a record', async () => {
    const { deps } = await consoleStarted('console-3');

    await assert.rejects(intake(consoleEvent('not-yet-recorded'), deps), AttributionPendingError);
    (deps as { executions: unknown }).executions = { start: async () => ({ executionArn: '', alreadyExists: false }), describe: async () => ({ status: 'FAILED', input: {} }) };
    const ended = await intake(consoleEvent('never-recorded'), deps);
    assert.equal(ended.outcome, 'ignored');
  });

  it('ignores an execution whose name is not a Gantry release id (the documentation’s sample has dots)', async () => {
    const { deps } = await consoleStarted('console-5');

    const r = await intake(event(), deps);

    assert.equal(r.outcome, 'ignored');
  });

  it('ignores a call an AWS service made (no principal to name)', async () => {
    const { deps, ledger } = await consoleStarted('console-4');

    const r = await intake(
      { ...consoleEvent('console-4'), detail: { ...consoleEvent('console-4').detail, userIdentity: { type: 'AWSService', invokedBy: 'events.amazonaws.com' } } },
      deps,
    );

    assert.equal(r.outcome, 'ignored');
    assert.equal(await initiatorOf(ledger, 'console-4'), UNATTRIBUTED_START);
  });
});
