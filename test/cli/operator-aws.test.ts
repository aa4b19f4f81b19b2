/**
 * The AWS path of the operator commands, without an account: request shapes of CloudFormation
 * DescribeStacks and Step Functions DescribeExecution (aws-sdk-client-mock), the signed requests to the
 * Gantry API's operator routes (a fake fetch), that the CLI writes nothing to the ledger, and the exit codes.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { Command } from 'commander';
import { exportEvents, parseExport } from '../../lambdas/domain/audit';
import type { LedgerEvent } from '../../lambdas/domain/ledger';
import { projectRelease } from '../../lambdas/domain/ledger';
import type { OperatorRoute } from '../../lambdas/domain/operator-requests';
import { ValidationError } from '../../lambdas/domain/validation';
import type { FreezeState, Ledger } from '../../lambdas/ports';
import { AwsBackend, openAwsBackend } from '../../cli/backends/aws-backend';
import { GantryAwsError, NotFoundError } from '../../cli/backends/backend';
import type { OperatorIo } from '../../cli/commands/common';
import { registerOperatorCommands } from '../../cli/commands/operator';
import type { OperatorApiAnswer } from '../../cli/backends/operator-api';
import { statusOutputSchema } from '../../cli/render/schemas';
import { describeStackOutputs, toStackOutputs } from '../../cli/backends/stack';
import { D2, alice, gantry, localGantry, scenarioFile, tmp } from './helpers';

const RELEASE_SM = 'arn:aws:states:eu-west-2:111122223333:stateMachine:Gantry-Release';
const ROLLBACK_SM = 'arn:aws:states:eu-west-2:111122223333:stateMachine:Gantry-Rollback';
const OUTPUTS = {
  ReleaseStateMachineArn: RELEASE_SM,
  RollbackStateMachineArn: ROLLBACK_SM,
  LedgerTableName: 'Gantry-Ledger',
  ApprovalApiUrl: 'https://abc123.execute-api.eu-west-2.amazonaws.com/v1/',
  EventBusName: 'gantry',
};
const CREDS = async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' });
const operator = 'arn:aws:sts::111122223333:assumed-role/Operators/carol';

const noCredentials = () => Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });

interface Sent {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string;
}
function fakeFetch(answer: (body: string, url: string) => { status: number; text: string }, sent: Sent[]): typeof fetch {
  return (async (url: string | URL, init?: RequestInit) => {
    const body = String(init?.body ?? '');
    sent.push({ url: String(url), method: String(init?.method ?? 'GET'), headers: init?.headers as Record<string, string>, body });
    const a = answer(body, String(url));
    return new Response(a.text, { status: a.status });
  }) as typeof fetch;
}

/** The operator routes as the API answers them: `answer` per call, every call recorded. */
function fakeOperatorApi(
  answer: (route: OperatorRoute, body: Record<string, unknown>) => OperatorApiAnswer,
  calls: Array<{ route: OperatorRoute; body: Record<string, unknown> }> = [],
) {
  return async (route: OperatorRoute, body: unknown) => {
    calls.push({ route, body: body as Record<string, unknown> });
    return answer(route, body as Record<string, unknown>);
  };
}

const started = (releaseId: string, sm = RELEASE_SM) => ({
  status: 200,
  body: { kind: 'release', releaseId, executionArn: `${sm.replace(':stateMachine:', ':execution:')}:${releaseId}`, principal: operator, at: '2026-11-24T10:40:00.000Z' },
});

/** The ledger, in memory, with the events of a real local run. */
class MemoryLedger {
  freeze: FreezeState = { on: false };
  initiators = new Map<string, string>();
  pointers = new Map<string, { service: string; stage: string; running?: string; promoted: string[] }>();
  constructor(public events: LedgerEvent[] = []) {}
  asLedger(): Ledger {
    return {
      events: async (id: string) => this.events.filter((e) => e.releaseId === id),
      getRelease: async (id: string) => projectRelease(this.events.filter((e) => e.releaseId === id)),
      listReleases: async () =>
        [...new Set(this.events.map((e) => e.releaseId))].map((id) => projectRelease(this.events.filter((e) => e.releaseId === id))).filter((x) => x !== undefined),
      putInitiator: async (name: string, p: string) => void this.initiators.set(name, p),
      getPointer: async (service: string, stage: string) => this.pointers.get(`${service}/${stage}`),
      getFreeze: async () => this.freeze,
      setFreeze: async (s: FreezeState) => void (this.freeze = s),
    } as unknown as Ledger;
  }
}

function backend(ledger: Ledger, operatorApi = fakeOperatorApi(() => started('payments-20261124T104000Z-abc123')), sfn = new SFNClient({ region: 'eu-west-2' })) {
  return new AwsBackend({
    outputs: toStackOutputs('Gantry', OUTPUTS),
    region: 'eu-west-2',
    sfn,
    ledger,
    operatorApi,
    now: () => new Date('2026-11-24T10:40:00Z'),
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
      Stacks: [
        {
          StackName: 'Gantry',
          StackStatus: 'UPDATE_COMPLETE',
          CreationTime: new Date(),
          Outputs: Object.entries(OUTPUTS).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue, Description: `about ${OutputKey}` })),
        },
      ],
    });
    try {
      const outputs = await describeStackOutputs({ region: 'eu-west-2' }, 'eu-west-2')('Gantry');

      assert.deepEqual(cfn.commandCalls(DescribeStacksCommand)[0]?.args[0].input, { StackName: 'Gantry' });
      assert.deepEqual(toStackOutputs('Gantry', outputs), {
        stackName: 'Gantry',
        releaseStateMachineArn: RELEASE_SM,
        rollbackStateMachineArn: ROLLBACK_SM,
        ledgerTableName: 'Gantry-Ledger',
        approvalApiUrl: OUTPUTS.ApprovalApiUrl,
        eventBusName: 'gantry',
      });
    } finally {
      cfn.restore();
    }
  });

  it('finds the stack named by GANTRY_STACK when --stack is not given', async () => {
    const cfn = mockClient(CloudFormationClient);
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'GantryProd',
          StackStatus: 'UPDATE_COMPLETE',
          CreationTime: new Date(),
          Outputs: Object.entries(OUTPUTS).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
        },
      ],
    });
    const env = process.env.GANTRY_STACK;
    process.env.GANTRY_STACK = 'GantryProd';
    try {
      const b = await openAwsBackend(
        { region: 'eu-west-2' },
        { credentials: CREDS, sfn: new SFNClient({ region: 'eu-west-2' }), dynamo: new DynamoDBClient({ region: 'eu-west-2' }) },
      );
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
      await assert.rejects(
        describeStackOutputs({ region: 'eu-west-2' }, 'eu-west-2')('Gantry'),
        (e: unknown) => e instanceof NotFoundError && /stack Gantry does not exist in eu-west-2: deploy Gantry .* --stack/.test(e.message),
      );
    } finally {
      cfn.restore();
    }
  });

  it('reports a CloudFormation refusal as an AWS error naming the permission and the way round it', async () => {
    const cfn = mockClient(CloudFormationClient);
    cfn.on(DescribeStacksCommand).rejects(Object.assign(new Error('not authorized to perform: cloudformation:DescribeStacks'), { name: 'AccessDenied', $metadata: {} }));
    try {
      await assert.rejects(
        describeStackOutputs({ region: 'eu-west-2' }, 'eu-west-2')('Gantry'),
        (e: unknown) => e instanceof GantryAwsError && /AccessDenied.*cloudformation:DescribeStacks.*--outputs/.test(e.message),
      );
    } finally {
      cfn.restore();
    }
  });

  it('refuses a stack without the Gantry outputs', () => {
    assert.throws(
      () => toStackOutputs('Other', { LedgerTableName: 't' }),
      (e: unknown) => e instanceof NotFoundError && /stack Other has no output ReleaseStateMachineArn, RollbackStateMachineArn: is it a Gantry stack\?/.test(e.message),
    );
  });
});

describe('gantry start|rollback against AWS', () => {
  it('starts a release with a signed POST /releases of the validated input, and writes nothing to the ledger itself', async () => {
    const sfn = mockClient(SFNClient);
    const doc = mockClient(DynamoDBDocumentClient);
    const sent: Sent[] = [];
    const fetch = fakeFetch(() => ({ status: 200, text: JSON.stringify(started('payments-20261124T104000Z-abc123').body) }), sent);
    const b = await openAwsBackend(
      { stack: 'Gantry', region: 'eu-west-2' },
      { describeStack: async () => OUTPUTS, credentials: CREDS, fetch, sfn: new SFNClient({ region: 'eu-west-2' }), dynamo: new DynamoDBClient({ region: 'eu-west-2' }) },
    );
    try {
      const r = await b.startRelease({ service: 'payments', image: { tag: 'v1.4.2' }, reason: 'CHG-1' });

      assert.equal(sent.length, 1);
      assert.equal(sent[0]?.url, 'https://abc123.execute-api.eu-west-2.amazonaws.com/v1/releases');
      assert.equal(sent[0]?.method, 'POST');
      assert.deepEqual(JSON.parse(sent[0]?.body ?? ''), { service: 'payments', image: { tag: 'v1.4.2' }, reason: 'CHG-1' });
      assert.match(sent[0]?.headers.authorization ?? '', /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-2\/execute-api\/aws4_request/);
      assert.equal(r.releaseId, 'payments-20261124T104000Z-abc123', 'the release id is the one the API made');
      assert.equal(r.alreadyExists, false);
      assert.match(
        r.consoleUrl ?? '',
        /^https:\/\/eu-west-2\.console\.aws\.amazon\.com\/states\/home\?region=eu-west-2#\/v2\/executions\/details\/arn:aws:states:eu-west-2:111122223333:execution:Gantry-Release:payments-20261124T104000Z-abc123$/,
      );
      assert.equal(doc.calls().length, 0, 'the CLI writes no start record');
      assert.equal(sfn.commandCalls(StartExecutionCommand).length, 0, 'the CLI starts no execution itself');
    } finally {
      b.close();
      sfn.restore();
      doc.restore();
    }
  });

  it('refuses an input the workflow would refuse before calling the API (exit 2)', async () => {
    const calls: Array<{ route: OperatorRoute; body: Record<string, unknown> }> = [];

    await assert.rejects(
      backend(
        new MemoryLedger().asLedger(),
        fakeOperatorApi(() => started('x'), calls),
      ).startRelease({ service: 'payments', image: { digest: 'sha256:xyz' } }),
      (e: unknown) => e instanceof ValidationError && /image\.digest: expected a digest sha256:<64 lowercase hex characters>, got "sha256:xyz"/.test(e.message),
    );
    assert.equal(calls.length, 0);
  });

  it('reports the problems the API found in the input as bad input (exit 2)', async () => {
    const api = fakeOperatorApi(() => ({
      status: 400,
      body: { message: 'the release input is invalid', problems: ['service: expected one of the services in the config (payments), got "billing"'] },
    }));

    await assert.rejects(
      backend(new MemoryLedger().asLedger(), api).startRelease({ service: 'billing', image: { tag: 'v1' } }),
      (e: unknown) => e instanceof ValidationError && /service: expected one of the services in the config \(payments\), got "billing"/.test(e.message),
    );
  });

  it('says which permission is missing when API Gateway refuses the caller (exit 4)', async () => {
    const api = fakeOperatorApi(() => ({
      status: 403,
      body: { Message: 'User: arn:aws:sts::111122223333:assumed-role/Developers/mallory is not authorized to perform: execute-api:Invoke' },
    }));

    const r = await run(backend(new MemoryLedger().asLedger(), api), 'start', '--service', 'payments', '--tag', 'v1.4.2');

    assert.equal(r.code, 4);
    assert.match(
      r.stderr,
      /starting the release refused by the Gantry API \(HTTP 403\): User: .*mallory is not authorized to perform: execute-api:Invoke; your role needs execute-api:Invoke on the POST \/releases route/,
    );
  });

  it('says to sign in when there are no credentials to sign with (exit 4), and sends nothing', async () => {
    const sent: Sent[] = [];
    const b = await openAwsBackend(
      { stack: 'Gantry', region: 'eu-west-2' },
      {
        describeStack: async () => OUTPUTS,
        credentials: async () => Promise.reject(noCredentials()),
        fetch: fakeFetch(() => ({ status: 200, text: '{}' }), sent),
        sfn: new SFNClient({ region: 'eu-west-2' }),
        dynamo: new DynamoDBClient({ region: 'eu-west-2' }),
      },
    );
    try {
      await assert.rejects(
        b.startRelease({ service: 'payments', image: { tag: 'v1.4.2' } }),
        (e: unknown) => e instanceof GantryAwsError && /no AWS credentials .*: sign in \(aws sso login\) or give --profile/.test(e.message),
      );
      assert.equal(sent.length, 0);
    } finally {
      b.close();
    }
  });

  it('prints the release id and the console link', async () => {
    const sfn = mockClient(SFNClient);
    sfn.on(DescribeExecutionCommand).rejects(Object.assign(new Error('no'), { name: 'ExecutionDoesNotExist', $metadata: {} }));
    try {
      const r = await run(backend(new MemoryLedger().asLedger()), 'start', '--service', 'payments', '--digest', D2);

      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Started release of payments: payments-20261124T104000Z-abc123/);
      assert.match(r.stdout, /console\s+https:\/\/eu-west-2\.console\.aws\.amazon\.com\/states\/home/);
    } finally {
      sfn.restore();
    }
  });

  it('treats an execution that exists already (409) as the same release, not an error', async () => {
    const api = fakeOperatorApi(() => ({
      status: 409,
      body: { message: 'an execution named payments-20261124T104000Z-abc123 exists already: this request was a replay', releaseId: 'payments-20261124T104000Z-abc123' },
    }));

    const r = await backend(new MemoryLedger().asLedger(), api).startRelease({ service: 'payments', image: { digest: D2 } });

    assert.equal(r.alreadyExists, true);
    assert.equal(r.executionArn, 'arn:aws:states:eu-west-2:111122223333:execution:Gantry-Release:payments-20261124T104000Z-abc123');
  });

  it('exits 4 with the request id when the API fails', async () => {
    const api = fakeOperatorApi(() => ({ status: 500, body: { message: 'internal error: retrying is safe (a start that failed started nothing)', requestId: 'req-1' } }));

    const r = await run(backend(new MemoryLedger().asLedger(), api), 'start', '--service', 'payments', '--tag', 'v1.4.2');

    assert.equal(r.code, 4);
    assert.match(r.stderr, /starting the release failed: the Gantry API answered HTTP 500: internal error: .* \(request req-1\)/);
  });

  it('starts the rollback with POST /rollbacks and prints the refusal the workflow recorded, exit 1', async () => {
    const sfn = mockClient(SFNClient);
    const ledger = new MemoryLedger();
    // The stage pointer (read for the hint): only the running digest was ever promoted there.
    ledger.pointers.set('payments/prod', { service: 'payments', stage: 'prod', running: D2, promoted: [D2] });
    const calls: Array<{ route: OperatorRoute; body: Record<string, unknown> }> = [];
    const api = fakeOperatorApi((_route, _body) => {
      const name = 'payments-rollback-20261124T104000Z-abc123';
      // The workflow's first state refuses and records it (rollback-prepare).
      const base = { releaseId: name, prevHash: '', hash: '' };
      ledger.events.push(
        {
          ...base,
          seq: 1,
          stepKey: 'release.started',
          type: 'release.started',
          at: '2026-11-24T10:40:01Z',
          data: { kind: 'rollback', service: 'payments', stages: ['prod'], initiator: operator },
        },
        {
          ...base,
          seq: 2,
          stepKey: 'f',
          type: 'stage.finished',
          stage: 'prod',
          at: '2026-11-24T10:40:01Z',
          data: { status: 'BLOCKED', reason: 'rollback refused: nothing to roll back to' },
        },
        { ...base, seq: 3, stepKey: 'r', type: 'release.finished', at: '2026-11-24T10:40:01Z', data: { status: 'BLOCKED', reason: 'rollback refused: nothing to roll back to' } },
      );
      return started(name, ROLLBACK_SM);
    }, calls);
    sfn.on(DescribeExecutionCommand).resolves({ status: 'FAILED', error: 'PolicyRefusedError' });
    try {
      const r = await run(backend(ledger.asLedger(), api), 'rollback', '--service', 'payments', '--stage', 'prod', '--reason', 'INC-5120');

      assert.deepEqual(calls, [{ route: 'startRollback', body: { service: 'payments', stage: 'prod', reason: 'INC-5120' } }]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^gantry: rollback refused: nothing to roll back to\nnothing was deployed/);
      assert.equal(r.stdout, '', 'nothing says it started');
      assert.ok(r.stderr.endsWith(`\nno digest other than the one running (${D2}) was promoted in payments/prod: there is nothing to roll back to`), r.stderr);
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

  it('sets the freeze with a signed PUT /freeze, and shows the principal the API recorded', async () => {
    const sent: Sent[] = [];
    const ledger = new MemoryLedger();
    const fetch = fakeFetch(
      (body) => ({ status: 200, text: JSON.stringify({ ...JSON.parse(body), on: JSON.parse(body).state === 'on', principal: operator, at: '2026-11-24T10:40:00.000Z' }) }),
      sent,
    );
    const b = await openAwsBackend(
      { region: 'eu-west-2' },
      { describeStack: async () => OUTPUTS, credentials: CREDS, fetch, sfn: new SFNClient({ region: 'eu-west-2' }), dynamo: new DynamoDBClient({ region: 'eu-west-2' }) },
    );
    const doc = mockClient(DynamoDBDocumentClient);
    try {
      const r = await run(b, 'freeze', 'on', '--reason', 'INC-5120 in progress', '--json');

      assert.equal(r.code, 0, r.stderr);
      assert.equal(sent[0]?.url, 'https://abc123.execute-api.eu-west-2.amazonaws.com/v1/freeze');
      assert.equal(sent[0]?.method, 'PUT');
      assert.deepEqual(JSON.parse(sent[0]?.body ?? ''), { state: 'on', reason: 'INC-5120 in progress' });
      assert.match(sent[0]?.headers.authorization ?? '', /\/eu-west-2\/execute-api\/aws4_request/);
      const out = JSON.parse(r.stdout);
      assert.equal(out.on, true);
      assert.equal(out.principal, operator);
      assert.equal(doc.calls().length, 0, 'the CLI writes no freeze item');
      assert.deepEqual(ledger.freeze, { on: false });
    } finally {
      b.close();
      doc.restore();
    }
  });

  it('lifts the freeze with the default reason, and exits 4 naming the route when the caller may not', async () => {
    const calls: Array<{ route: OperatorRoute; body: Record<string, unknown> }> = [];
    const api = fakeOperatorApi(() => ({ status: 403, body: { message: 'Forbidden' } }), calls);

    const r = await run(backend(new MemoryLedger().asLedger(), api), 'freeze', 'off');

    assert.deepEqual(calls, [{ route: 'setFreeze', body: { state: 'off', reason: 'freeze lifted' } }]);
    assert.equal(r.code, 4);
    assert.match(r.stderr, /turning the freeze off refused by the Gantry API \(HTTP 403\): Forbidden; your role needs execute-api:Invoke on the PUT \/freeze route/);
  });

  it('exits 4 through gantry itself when the ledger table cannot be read', async () => {
    const doc = mockClient(DynamoDBDocumentClient);
    doc
      .onAnyCommand()
      .rejects(Object.assign(new Error('User is not authorized to perform: dynamodb:Query'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } }));
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
    const b = await openAwsBackend(
      { region: 'eu-west-2' },
      { describeStack: async () => OUTPUTS, credentials: CREDS, fetch, sfn: new SFNClient({ region: 'eu-west-2' }), dynamo: new DynamoDBClient({ region: 'eu-west-2' }) },
    );
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
