/**
 * The AWS path of the operator commands, without an account: request shapes of CloudFormation
 * DescribeStacks, STS GetCallerIdentity, Step Functions StartExecution/DescribeExecution
 * (aws-sdk-client-mock), the ledger writes, and the exit codes.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DescribeExecutionCommand, ExecutionAlreadyExists, SFNClient, SFNServiceException, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { Command } from 'commander';
import { exportEvents, parseExport } from '../../lambdas/domain/audit';
import type { LedgerEvent } from '../../lambdas/domain/ledger';
import { projectRelease } from '../../lambdas/domain/ledger';
import type { FreezeState, Ledger } from '../../lambdas/ports';
import { AwsBackend, openAwsBackend } from '../../lib/cli/aws-backend';
import { GantryAwsError, NotFoundError } from '../../lib/cli/backend';
import { type OperatorIo, registerOperatorCommands } from '../../lib/cli/operator';
import { statusOutputSchema } from '../../lib/cli/schemas';
import { callerArn, describeStackOutputs, toStackOutputs } from '../../lib/cli/stack';
import { D2, alice, gantry, localGantry, scenarioFile, tmp } from './helpers';

const RELEASE_SM = 'arn:aws:states:eu-west-2:111122223333:stateMachine:Gantry-Release';
const ROLLBACK_SM = 'arn:aws:states:eu-west-2:111122223333:stateMachine:Gantry-Rollback';
const OUTPUTS = { ReleaseStateMachineArn: RELEASE_SM, RollbackStateMachineArn: ROLLBACK_SM, LedgerTableName: 'Gantry-Ledger', ApprovalApiUrl: 'https://abc123.execute-api.eu-west-2.amazonaws.com/v1/', EventBusName: 'gantry' };
const CREDS = async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' });
const operator = 'arn:aws:sts::111122223333:assumed-role/Operators/carol';

const callerIdentity = { Arn: operator, UserId: 'AROAEXAMPLE:carol', Account: '111122223333' };
const noCredentials = () => Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });

interface Sent {
  url: string;
  headers: Record<string, string>;
  body: string;
}
function fakeFetch(answer: (body: string) => { status: number; text: string }, sent: Sent[]): typeof fetch {
  return (async (url: string | URL, init?: RequestInit) => {
    const body = String(init?.body ?? '');
    sent.push({ url: String(url), headers: init?.headers as Record<string, string>, body });
    const a = answer(body);
    return new Response(a.text, { status: a.status });
  }) as typeof fetch;
}

/** The ledger, in memory, with the events of a real local run. */
class MemoryLedger {
  freeze: FreezeState = { on: false };
  initiators = new Map<string, string>();
  constructor(public events: LedgerEvent[] = []) {}
  asLedger(): Ledger {
    return {
      events: async (id: string) => this.events.filter((e) => e.releaseId === id),
      getRelease: async (id: string) => projectRelease(this.events.filter((e) => e.releaseId === id)),
      listReleases: async () => [...new Set(this.events.map((e) => e.releaseId))].map((id) => projectRelease(this.events.filter((e) => e.releaseId === id))).filter((x) => x !== undefined),
      putInitiator: async (name: string, p: string) => void this.initiators.set(name, p),
      getFreeze: async () => this.freeze,
      setFreeze: async (s: FreezeState) => void (this.freeze = s),
    } as unknown as Ledger;
  }
}

function backend(ledger: Ledger, sfn = new SFNClient({ region: 'eu-west-2' })) {
  return new AwsBackend({
    outputs: toStackOutputs('Gantry', OUTPUTS),
    region: 'eu-west-2',
    sfn,
    ledger,
    callerArn: async () => operator,
    now: () => new Date('2026-11-24T10:40:00Z'),
    nonce: () => 'n1',
    decide: async () => ({ code: 0, lines: [{ stream: 'out', text: 'APPROVED' }] }),
  });
}

async function run(b: AwsBackend, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  let code = 0;
  const io: OperatorIo = { out: (s) => out.push(s), err: (s) => err.push(s), isTTY: false, env: {}, sleep: async () => undefined, openBackend: async () => b };
  const program = new Command('gantry').exitOverride();
  registerOperatorCommands(program, (c) => (code = Math.max(code, c)), io);
  try {
    await program.parseAsync(['node', 'gantry', ...args]);
  } catch (e) {
    if (e instanceof GantryAwsError) return { code: 4, stdout: out.join('\n'), stderr: `${err.join('\n')}\n${e.message}` };
    throw e;
  }
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

describe('stack discovery', () => {
  it('asks CloudFormation DescribeStacks for the stack and reads its outputs', async () => {
    const cfn = mockClient(CloudFormationClient);
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 'Gantry', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(), Outputs: Object.entries(OUTPUTS).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue, Description: `about ${OutputKey}` })) }],
    });
    try {
      const outputs = await describeStackOutputs({ region: 'eu-west-2' }, 'eu-west-2')('Gantry');

      assert.deepEqual(cfn.commandCalls(DescribeStacksCommand)[0]?.args[0].input, { StackName: 'Gantry' });
      assert.deepEqual(toStackOutputs('Gantry', outputs), { stackName: 'Gantry', releaseStateMachineArn: RELEASE_SM, rollbackStateMachineArn: ROLLBACK_SM, ledgerTableName: 'Gantry-Ledger', approvalApiUrl: OUTPUTS.ApprovalApiUrl, eventBusName: 'gantry' });
    } finally {
      cfn.restore();
    }
  });

  it('finds the stack named by GANTRY_STACK when --stack is not given', async () => {
    const cfn = mockClient(CloudFormationClient);
    cfn.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'GantryProd', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(), Outputs: Object.entries(OUTPUTS).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })) }] });
    const env = process.env.GANTRY_STACK;
    process.env.GANTRY_STACK = 'GantryProd';
    try {
      const b = await openAwsBackend({ region: 'eu-west-2' }, { credentials: CREDS, sfn: new SFNClient({ region: 'eu-west-2' }), dynamo: new DynamoDBClient({ region: 'eu-west-2' }) });
      b.close();

      assert.equal(cfn.commandCalls(DescribeStacksCommand)[0]?.args[0].input.StackName, 'GantryProd');
      assert.equal(b.label, 'stack GantryProd (eu-west-2)');
    } finally {
      if (env === undefined) delete process.env.GANTRY_STACK;
      else process.env.GANTRY_STACK = env;
      cfn.restore();
    }
  });

  it('says a stack that does not exist is not found, and what to do', async () => {
    const cfn = mockClient(CloudFormationClient);
    cfn.on(DescribeStacksCommand).rejects(Object.assign(new Error('Stack with id Gantry does not exist'), { name: 'ValidationError', $metadata: {} }));
    try {
      await assert.rejects(describeStackOutputs({ region: 'eu-west-2' }, 'eu-west-2')('Gantry'), (e: unknown) => e instanceof NotFoundError && /stack Gantry does not exist in eu-west-2: deploy Gantry .* --stack/.test(e.message));
    } finally {
      cfn.restore();
    }
  });

  it('reports a CloudFormation refusal as an AWS error naming the permission and the way round it', async () => {
    const cfn = mockClient(CloudFormationClient);
    cfn.on(DescribeStacksCommand).rejects(Object.assign(new Error('not authorized to perform: cloudformation:DescribeStacks'), { name: 'AccessDenied', $metadata: {} }));
    try {
      await assert.rejects(describeStackOutputs({ region: 'eu-west-2' }, 'eu-west-2')('Gantry'), (e: unknown) => e instanceof GantryAwsError && /AccessDenied.*cloudformation:DescribeStacks.*--outputs/.test(e.message));
    } finally {
      cfn.restore();
    }
  });

  it('refuses a stack without the Gantry outputs', () => {
    assert.throws(() => toStackOutputs('Other', { LedgerTableName: 't' }), (e: unknown) => e instanceof NotFoundError && /stack Other has no output ReleaseStateMachineArn, RollbackStateMachineArn: is it a Gantry stack\?/.test(e.message));
  });

  it('asks STS GetCallerIdentity who the caller is, in the region given', async () => {
    const sts = mockClient(STSClient);
    sts.on(GetCallerIdentityCommand).resolves(callerIdentity);
    try {
      const arn = await callerArn({ region: 'eu-west-2', credentials: CREDS });

      assert.equal(arn, operator);
      const call = sts.commandCalls(GetCallerIdentityCommand)[0];
      assert.deepEqual(call?.args[0].input, {});
      assert.equal(await (call?.thisValue as STSClient).config.region(), 'eu-west-2');
    } finally {
      sts.restore();
    }
  });

  it('says to sign in when there are no credentials for STS (an AWS error, exit 4)', async () => {
    const sts = mockClient(STSClient);
    sts.on(GetCallerIdentityCommand).rejects(noCredentials());
    try {
      await assert.rejects(callerArn({ region: 'eu-west-2' }), (e: unknown) => e instanceof GantryAwsError && /^STS GetCallerIdentity failed: no AWS credentials \(.*\): sign in \(aws sso login\) or give --profile/.test(e.message));
    } finally {
      sts.restore();
    }
  });

  it('names the STS error and what to check when STS refuses', async () => {
    const sts = mockClient(STSClient);
    sts.on(GetCallerIdentityCommand).rejects(Object.assign(new Error('The security token included in the request is expired'), { name: 'ExpiredTokenException', $metadata: {} }));
    try {
      await assert.rejects(callerArn({ region: 'eu-west-2' }), (e: unknown) => e instanceof GantryAwsError && /STS GetCallerIdentity failed: ExpiredTokenException: .*expired; check your credentials \(--profile/.test(e.message));
    } finally {
      sts.restore();
    }
  });
});

describe('gantry start|rollback against AWS', () => {
  it('records the caller as initiator, then starts the release state machine with the validated input', async () => {
    const sfn = mockClient(SFNClient);
    const doc = mockClient(DynamoDBDocumentClient);
    const sts = mockClient(STSClient);
    sfn.on(StartExecutionCommand).resolves({ executionArn: `${RELEASE_SM.replace(':stateMachine:', ':execution:')}:x`, startDate: new Date() });
    doc.on(PutCommand).resolves({});
    doc.on(QueryCommand).resolves({ Items: [] });
    sts.on(GetCallerIdentityCommand).resolves(callerIdentity);
    const b = await openAwsBackend(
      { stack: 'Gantry', region: 'eu-west-2' },
      { describeStack: async () => OUTPUTS, credentials: CREDS, sfn: new SFNClient({ region: 'eu-west-2' }), dynamo: new DynamoDBClient({ region: 'eu-west-2' }) },
    );
    try {
      const r = await b.startRelease({ service: 'payments', image: { tag: 'v1.4.2' }, reason: 'CHG-1' });

      assert.equal(sts.commandCalls(GetCallerIdentityCommand).length, 1);
      const put = doc.commandCalls(PutCommand)[0]?.args[0].input;
      assert.equal(put?.TableName, 'Gantry-Ledger');
      assert.equal(put?.Item?.principal, operator);
      assert.equal(put?.Item?.executionName, r.releaseId);
      const start = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input;
      assert.equal(start?.stateMachineArn, RELEASE_SM);
      assert.equal(start?.name, r.releaseId);
      assert.match(r.releaseId, /^payments-\d{8}T\d{6}Z-[0-9a-f]{6}$/);
      assert.deepEqual(JSON.parse(start?.input ?? ''), { service: 'payments', image: { tag: 'v1.4.2' }, reason: 'CHG-1' });
      assert.match(r.consoleUrl ?? '', /^https:\/\/eu-west-2\.console\.aws\.amazon\.com\/states\/home\?region=eu-west-2#\/v2\/executions\/details\/arn:aws:states:eu-west-2:111122223333:execution:Gantry-Release:/);
    } finally {
      b.close();
      sfn.restore();
      doc.restore();
      sts.restore();
    }
  });

  it('still starts the release, warning that it will be unattributed, when STS cannot say who the caller is', async () => {
    const sfn = mockClient(SFNClient);
    const doc = mockClient(DynamoDBDocumentClient);
    const sts = mockClient(STSClient);
    sfn.on(StartExecutionCommand).resolves({ executionArn: `${RELEASE_SM.replace(':stateMachine:', ':execution:')}:x` });
    sts.on(GetCallerIdentityCommand).rejects(noCredentials());
    const warnings: string[] = [];
    const b = await openAwsBackend(
      { stack: 'Gantry', region: 'eu-west-2' },
      { describeStack: async () => OUTPUTS, sfn: new SFNClient({ region: 'eu-west-2' }), dynamo: new DynamoDBClient({ region: 'eu-west-2' }), warn: (l) => warnings.push(l) },
    );
    try {
      await b.startRelease({ service: 'payments', image: { tag: 'v1.4.2' } });

      assert.equal(doc.commandCalls(PutCommand).length, 0, 'no start record without a caller');
      assert.equal(sfn.commandCalls(StartExecutionCommand).length, 1);
      assert.match(warnings.join('\n'), /could not record you as the initiator \(STS GetCallerIdentity failed: no AWS credentials .*\); the release will say "unattributed"/);
    } finally {
      b.close();
      sfn.restore();
      doc.restore();
      sts.restore();
    }
  });

  it('prints the release id and the console link', async () => {
    const sfn = mockClient(SFNClient);
    sfn.on(StartExecutionCommand).resolves({ executionArn: `${RELEASE_SM.replace(':stateMachine:', ':execution:')}:payments-20261124T104000Z-abc123` });
    sfn.on(DescribeExecutionCommand).rejects(new SFNServiceException({ name: 'ExecutionDoesNotExist', $fault: 'client', $metadata: {}, message: 'no' }));
    try {
      const r = await run(backend(new MemoryLedger().asLedger()), 'start', '--service', 'payments', '--digest', D2);

      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Started release of payments: payments-20261124T104000Z-[0-9a-f]{6}/);
      assert.match(r.stdout, /console\s+https:\/\/eu-west-2\.console\.aws\.amazon\.com\/states\/home/);
    } finally {
      sfn.restore();
    }
  });

  it('treats ExecutionAlreadyExists as the same release, not an error', async () => {
    const sfn = mockClient(SFNClient);
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ $metadata: {}, message: 'exists' }));
    try {
      const r = await backend(new MemoryLedger().asLedger()).startRelease({ service: 'payments', image: { digest: D2 } });

      assert.equal(r.alreadyExists, true);
      assert.equal(r.executionArn, `arn:aws:states:eu-west-2:111122223333:execution:Gantry-Release:${r.releaseId}`);
    } finally {
      sfn.restore();
    }
  });

  it('exits 4 with what to check when Step Functions refuses', async () => {
    const sfn = mockClient(SFNClient);
    sfn.on(StartExecutionCommand).rejects(new SFNServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: {}, message: 'not authorized to perform: states:StartExecution' }));
    try {
      const r = await run(backend(new MemoryLedger().asLedger()), 'start', '--service', 'payments', '--tag', 'v1.4.2');

      assert.equal(r.code, 4);
      assert.match(r.stderr, /StartExecution .* failed: AccessDeniedException: .*check your credentials/);
    } finally {
      sfn.restore();
    }
  });

  it('starts the rollback state machine and prints the refusal the workflow recorded, exit 1', async () => {
    const sfn = mockClient(SFNClient);
    const ledger = new MemoryLedger();
    sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => {
      // The workflow's first state refuses and records it (rollback-prepare).
      const base = { releaseId: input.name, prevHash: '', hash: '' };
      ledger.events.push(
        { ...base, seq: 1, stepKey: 'release.started', type: 'release.started', at: '2026-11-24T10:40:01Z', data: { kind: 'rollback', service: 'payments', stages: ['prod'], initiator: operator } },
        { ...base, seq: 2, stepKey: 'f', type: 'stage.finished', stage: 'prod', at: '2026-11-24T10:40:01Z', data: { status: 'BLOCKED', reason: 'rollback refused: nothing to roll back to' } },
        { ...base, seq: 3, stepKey: 'r', type: 'release.finished', at: '2026-11-24T10:40:01Z', data: { status: 'BLOCKED', reason: 'rollback refused: nothing to roll back to' } },
      );
      return { executionArn: `${ROLLBACK_SM.replace(':stateMachine:', ':execution:')}:${input.name}` };
    });
    sfn.on(DescribeExecutionCommand).resolves({ status: 'FAILED', error: 'PolicyRefusedError' });
    try {
      const r = await run(backend(ledger.asLedger()), 'rollback', '--service', 'payments', '--stage', 'prod', '--reason', 'INC-5120');

      const start = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input;
      assert.equal(start?.stateMachineArn, ROLLBACK_SM);
      assert.match(start?.name ?? '', /^payments-rollback-\d{8}T\d{6}Z-[0-9a-f]{6}$/);
      assert.deepEqual(JSON.parse(start?.input ?? ''), { service: 'payments', stage: 'prod', reason: 'INC-5120' });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /rollback refused: nothing to roll back to/);
    } finally {
      sfn.restore();
    }
  });
});

describe('gantry status|freeze against AWS', () => {
  it('reads the release from the ledger and the execution from Step Functions, with the console link', async () => {
    const dir = await localGantry(scenarioFile({ triggers: [{ type: 'start', principal: alice, input: { service: 'payments', image: { tag: 'v1.4.2' } } }] }), 'PT40M');
    const events = exportEvents(parseExport(readFileSync(join(dir, 'ledger.jsonl'), 'utf8')));
    const id = events[0]?.releaseId as string;
    const sfn = mockClient(SFNClient);
    sfn.on(DescribeExecutionCommand).resolves({ status: 'RUNNING', startDate: new Date('2026-11-24T10:00:00Z') });
    try {
      const r = await run(backend(new MemoryLedger(events).asLedger()), 'status', id, '--json');

      assert.equal(r.code, 0, r.stderr);
      const body = statusOutputSchema.parse(JSON.parse(r.stdout));
      const arn = sfn.commandCalls(DescribeExecutionCommand)[0]?.args[0].input.executionArn;
      assert.equal(arn, projectRelease(events)?.executionArn);
      assert.equal(body.simulated, false);
      assert.equal(body.source, 'stack Gantry (eu-west-2)');
      assert.equal(body.releases[0]?.execution?.status, 'RUNNING');
      assert.match(body.releases[0]?.consoleUrl ?? '', /console\.aws\.amazon\.com\/states/);
      assert.match(body.releases[0]?.stages[2]?.activity ?? '', /awaiting approval by ReleaseApprovers, requested 13 min ago/);
    } finally {
      sfn.restore();
    }
  });

  it('records the caller STS names as the principal of a freeze, and exits 4 with a sign-in hint when there are no credentials', async () => {
    const doc = mockClient(DynamoDBDocumentClient);
    const sts = mockClient(STSClient);
    doc.on(UpdateCommand).resolves({});
    sts.on(GetCallerIdentityCommand).resolvesOnce(callerIdentity).rejects(noCredentials());
    const outputs = join(tmp(), 'outputs.json');
    writeFileSync(outputs, JSON.stringify({ Gantry: OUTPUTS }));
    try {
      const on = await gantry('freeze', 'on', '--reason', 'INC-5120', '--outputs', outputs, '--region', 'eu-west-2', '--json');
      const off = await gantry('freeze', 'off', '--outputs', outputs, '--region', 'eu-west-2');

      assert.equal(on.code, 0, on.stderr);
      assert.equal(JSON.parse(on.stdout).principal, operator);
      assert.equal(sts.commandCalls(GetCallerIdentityCommand).length, 2);
      assert.equal(off.code, 4);
      assert.match(off.stderr, /STS GetCallerIdentity failed: no AWS credentials .*: sign in \(aws sso login\) or give --profile/);
      assert.equal(doc.commandCalls(UpdateCommand).length, 1, 'no freeze written without a principal');
    } finally {
      doc.restore();
      sts.restore();
    }
  });

  it('records the caller as the principal of a freeze', async () => {
    const ledger = new MemoryLedger();

    const r = await run(backend(ledger.asLedger()), 'freeze', 'on', '--reason', 'INC-5120 in progress');

    assert.equal(r.code, 0);
    assert.deepEqual(ledger.freeze, { on: true, reason: 'INC-5120 in progress', principal: operator, at: '2026-11-24T10:40:00.000Z' });
  });

  it('exits 4 through gantry itself when the ledger table cannot be read', async () => {
    const doc = mockClient(DynamoDBDocumentClient);
    doc.onAnyCommand().rejects(Object.assign(new Error('User is not authorized to perform: dynamodb:Query'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } }));
    const outputs = join(tmp(), 'outputs.json');
    writeFileSync(outputs, JSON.stringify({ Gantry: OUTPUTS }));
    try {
      const r = await gantry('releases', '--outputs', outputs, '--region', 'eu-west-2');

      assert.equal(r.code, 4);
      assert.match(r.stderr, /reading the ledger table Gantry-Ledger failed: AccessDeniedException: .*check your credentials/);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace without --debug');
    } finally {
      doc.restore();
    }
  });

  it('prints the stack trace of an AWS error only with --debug', async () => {
    const doc = mockClient(DynamoDBDocumentClient);
    doc.onAnyCommand().rejects(Object.assign(new Error('throttled'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }));
    const outputs = join(tmp(), 'outputs.json');
    writeFileSync(outputs, JSON.stringify({ Gantry: OUTPUTS }));
    try {
      const r = await gantry('freeze', 'status', '--outputs', outputs, '--region', 'eu-west-2', '--debug');

      assert.equal(r.code, 4);
      assert.match(r.stderr, /ThrottlingException: throttled; check --region and --stack, then retry/);
      assert.match(r.stderr, /\n\s+at /);
    } finally {
      doc.restore();
    }
  });

  it('sends an approval to the approval API named by the stack, signed for execute-api', async () => {
    const sent: Sent[] = [];
    const fetch = fakeFetch(() => ({ status: 200, text: JSON.stringify({ decision: 'APPROVED', principal: operator, at: '2026-11-24T10:40:00Z' }) }), sent);
    const b = await openAwsBackend({ region: 'eu-west-2' }, { describeStack: async () => OUTPUTS, credentials: CREDS, fetch, sfn: new SFNClient({ region: 'eu-west-2' }), dynamo: new DynamoDBClient({ region: 'eu-west-2' }) });
    try {
      const r = await run(b, 'approve', 'payments-20261124T100000Z-6abdef', '--stage', 'prod', '--comment', 'ok');

      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /APPROVED: prod of payments-20261124T100000Z-6abdef by arn:aws:sts::111122223333:assumed-role\/Operators\/carol/);
      assert.equal(sent[0]?.url, 'https://abc123.execute-api.eu-west-2.amazonaws.com/v1/releases/payments-20261124T100000Z-6abdef/stages/prod/decision');
      assert.deepEqual(JSON.parse(sent[0]?.body ?? ''), { decision: 'approve', comment: 'ok' });
      assert.match(sent[0]?.headers.authorization ?? '', /\/eu-west-2\/execute-api\/aws4_request/);
    } finally {
      b.close();
    }
  });

  it('exits 3 when the outputs file has no such stack', async () => {
    const outputs = join(tmp(), 'outputs.json');
    writeFileSync(outputs, JSON.stringify({ Other: OUTPUTS }));

    const r = await gantry('releases', '--outputs', outputs, '--stack', 'Gantry', '--region', 'eu-west-2');

    assert.equal(r.code, 3);
    assert.match(r.stderr, /has no stack Gantry \(it has: Other\); give --stack/);
  });
});
