/**
 * `gantry abort` against a deployed Gantry, without an account (decision 053): the signed POST /v1/aborts the CLI sends
 * (a fake fetch), that the CLI itself neither writes the ledger nor calls Step Functions, and how each answer of the API
 * becomes output and an exit code (through `main`, as a user runs it).
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'vitest';
import { SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { openAwsBackend } from '../../cli/backends/aws-backend';
import type { GantryBackend } from '../../cli/backends/backend';
import { main } from '../../cli/main';
import { renderStatus } from '../../cli/commands/status';
import { releaseStatusSchema } from '../../cli/render/schemas';
import { releaseStatus } from '../../cli/render/status-view';
import { chainEvent, type LedgerEvent, type LedgerEventInput } from '../../lambdas/domain/ledger';
import { STACK_OUTPUTS } from './stack-fixture';

const OUTPUTS = STACK_OUTPUTS;
const CAROL = 'arn:aws:sts::111122223333:assumed-role/Operators/carol';
const ID = 'payments-20261124T104000Z-abc123';

interface Sent {
  readonly url: string;
  readonly method: string;
  readonly authorization: string;
  readonly body: string;
}

let sfn: ReturnType<typeof mockClient>;
let doc: ReturnType<typeof mockClient>;
beforeEach(() => {
  sfn = mockClient(SFNClient);
  doc = mockClient(DynamoDBDocumentClient);
});
afterEach(() => {
  sfn.restore();
  doc.restore();
});

/** `gantry abort …` through main, its backend an AWS one whose operator API answers `status`/`body`. */
async function abort(answer: { status: number; body: unknown }, ...args: string[]) {
  const sent: Sent[] = [];
  const fetch = (async (url: string | URL, init?: RequestInit) => {
    const headers = init?.headers as Record<string, string>;
    sent.push({ url: String(url), method: String(init?.method), authorization: headers.authorization ?? '', body: String(init?.body ?? '') });
    return new Response(JSON.stringify(answer.body), { status: answer.status });
  }) as typeof globalThis.fetch;
  const out: string[] = [];
  const err: string[] = [];
  const openBackend = async (): Promise<GantryBackend> =>
    openAwsBackend(
      { region: 'eu-west-2' },
      {
        describeStack: async () => OUTPUTS,
        credentials: async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }),
        fetch,
        sfn: new SFNClient({ region: 'eu-west-2' }),
        dynamo: new DynamoDBClient({ region: 'eu-west-2' }),
      },
    );
  const code = await main(['node', 'gantry', 'abort', ...args], {
    out: (s) => out.push(s.endsWith('\n') ? s : `${s}\n`),
    err: (s) => err.push(s.endsWith('\n') ? s : `${s}\n`),
    isTTY: false,
    env: {},
    sleep: async () => undefined,
    openBackend,
  });
  return { code, stdout: out.join(''), stderr: err.join(''), sent };
}

describe('gantry abort (AWS)', () => {
  it('sends a signed POST /v1/aborts of {releaseId, reason} and prints who aborts and what happens next; the CLI writes and stops nothing itself', async () => {
    const r = await abort(
      {
        status: 200,
        body: {
          releaseId: ID,
          kind: 'release',
          executionArn: `arn:aws:states:eu-west-2:111122223333:execution:Gantry-Release:${ID}`,
          status: 'ABORTING',
          principal: CAROL,
          at: '2026-11-24T10:40:00.000Z',
        },
      },
      ID,
      '--reason',
      'wrong digest (INC-7)',
    );

    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.sent.length, 1);
    assert.equal(r.sent[0]?.url, 'https://abc123.execute-api.eu-west-2.amazonaws.com/v1/aborts');
    assert.equal(r.sent[0]?.method, 'POST');
    assert.deepEqual(JSON.parse(r.sent[0]?.body ?? ''), { releaseId: ID, reason: 'wrong digest (INC-7)' });
    assert.match(r.sent[0]?.authorization ?? '', /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-2\/execute-api\/aws4_request/);
    assert.equal(
      r.stdout,
      `Aborting release ${ID} (principal ${CAROL}): wrong digest (INC-7)\n  the reconciler closes the record as ABORTED within seconds: gantry status ${ID}\n`,
    );
    assert.equal(sfn.commandCalls(StopExecutionCommand).length, 0, 'the CLI stops nothing itself');
    assert.equal(doc.calls().length, 0, 'the CLI writes nothing to the ledger');
  });

  it('prints the result as JSON with --json', async () => {
    const r = await abort({ status: 200, body: { releaseId: ID, status: 'ABORTING', principal: CAROL } }, ID, '--reason', 'x', '--json');
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.deepEqual([j.releaseId, j.status, j.principal, j.simulated], [ID, 'ABORTING', CAROL, false]);
  });

  it("refuses a finished release with the API's message on stderr, exit 1", async () => {
    const message = `release ${ID} already ended SUCCEEDED at 2026-11-24T10:30:00.000Z: nothing to abort`;
    const r = await abort({ status: 409, body: { message, code: 'ReleaseFinished', releaseId: ID, status: 'SUCCEEDED' } }, ID, '--reason', 'x');
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `gantry: ${message}\n`);
    assert.equal(r.stdout, '');
  });

  it('answers an unknown release (404) with exit 3, and the API finding the input bad (400) with exit 2', async () => {
    const unknown = await abort({ status: 404, body: { message: `no release ${ID} on record: nothing to abort` } }, ID, '--reason', 'x');
    assert.equal(unknown.code, 3);
    assert.match(unknown.stderr, /no release payments-20261124T104000Z-abc123 on record/);
    const bad = await abort({ status: 400, body: { message: 'the abort request is invalid', problems: ['reason: expected …'] } }, ID, '--reason', 'x');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /abort request is invalid:\n {2}reason: expected/);
  });

  it('refuses bad input before sending anything (exit 2, naming the option)', async () => {
    const r = await abort({ status: 200, body: {} }, ID, '--reason', '');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--reason: expected a non-empty reason/);
    assert.equal(r.sent.length, 0);
  });

  it('names the route and the permission when API Gateway refuses the caller (exit 4)', async () => {
    const r = await abort({ status: 403, body: { Message: 'User is not authorized' } }, ID, '--reason', 'x');
    assert.equal(r.code, 4);
    assert.match(r.stderr, /execute-api:Invoke on the POST \/aborts route/);
  });
});

describe('gantry status of a release being aborted (until the reconciler closes it)', () => {
  const chain = (inputs: LedgerEventInput[]): LedgerEvent[] => inputs.reduce<LedgerEvent[]>((acc, i) => [...acc, chainEvent(acc.at(-1), i)], []);
  const started: LedgerEventInput = {
    releaseId: ID,
    stepKey: 'release.started',
    type: 'release.started',
    at: '2026-11-24T10:00:00.000Z',
    data: { service: 'payments', digest: `sha256:${'2'.repeat(64)}`, stages: ['dev'] },
  };
  const requested: LedgerEventInput = {
    releaseId: ID,
    stepKey: 'release.abort-requested',
    type: 'abort.requested',
    at: '2026-11-24T10:40:00.000Z',
    data: { by: CAROL, reason: 'wrong digest' },
  };

  it('says who asked to stop it and why, and --json carries it (schema-valid)', () => {
    const v = releaseStatus(chain([started, requested]), { now: new Date('2026-11-24T10:40:05Z') });
    assert.ok(v);
    assert.equal(v.status, 'RUNNING');
    assert.deepEqual(v.abort, { by: CAROL, reason: 'wrong digest', at: '2026-11-24T10:40:00.000Z' });
    assert.equal(releaseStatusSchema.safeParse(v).success, true);
    assert.match(
      // Joined back where the line wraps at the width (decision 057).
      renderStatus(v, false, 'stack Gantry').replace(/\n {4,}(?=\S)/g, ' '),
      new RegExp(`\\n {2}aborting {3}asked 2026-11-24 10:40:00Z by ${CAROL.replace(/\//g, '\\/')}: wrong digest \\(the reconciler closes the record\\)`),
    );
  });

  it('says nothing of an abort for a release nobody asked to stop', () => {
    const v = releaseStatus(chain([started]), { now: new Date('2026-11-24T10:40:05Z') });
    assert.ok(v);
    assert.equal(v.abort, undefined);
    assert.doesNotMatch(renderStatus(v, false, 'stack Gantry'), /aborting/);
  });
});
