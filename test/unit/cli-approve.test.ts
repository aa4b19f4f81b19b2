/**
 * `gantry approve|reject`: the request it sends (to a local HTTP server on 127.0.0.1) is a SigV4-signed
 * POST for execute-api whose signature verifies, and each answer of the API maps to its exit code.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, it } from 'vitest';
import { type Credentials, decisionRequest, type DecisionIo, runDecision } from '../../cli/backends/approval-api';
import { CliInputError } from '../../cli/errors';
import { main } from '../../cli/main';

const ROOT = join(__dirname, '..', '..');
const CREDENTIALS: Credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'session-token-example' };
const NOW = new Date('2026-11-24T10:00:00.000Z');
const RELEASE = 'payments-0123456789abcdef';
const BOB = 'arn:aws:sts::111122223333:assumed-role/ReleaseApprovers/bob';

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

let server: Server;
let baseUrl: string;
let received: Received[] = [];
let answer: { status: number; body: unknown } = { status: 200, body: {} };

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  received = [];
  answer = { status: 200, body: { releaseId: RELEASE, stage: 'prod', decision: 'APPROVED', principal: BOB, at: '2026-11-24T10:00:01.000Z' } };
});

function io(): DecisionIo & { lines: { out: string[]; err: string[] } } {
  const lines = { out: [] as string[], err: [] as string[] };
  return { lines, out: (l) => lines.out.push(l), err: (l) => lines.err.push(l), credentials: async () => CREDENTIALS, now: () => NOW };
}

const hex = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const hmac = (key: Buffer | string, s: string) => createHmac('sha256', key).update(s, 'utf8').digest();

/** Verify a SigV4 Authorization header the way API Gateway does, from what arrived on the wire. */
function verifySigV4(r: Received, secret: string): { ok: boolean; scope: string; signedHeaders: string[] } {
  const auth = String(r.headers.authorization ?? '');
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return { ok: false, scope: '', signedHeaders: [] };
  const [, , date, region, service, signed, signature] = m as unknown as string[];
  const signedHeaders = (signed as string).split(';');
  const [path, query = ''] = r.url.split('?');
  const canonicalHeaders = signedHeaders
    .map(
      (h) =>
        `${h}:${String(r.headers[h] ?? '')
          .trim()
          .replace(/\s+/g, ' ')}\n`,
    )
    .join('');
  const payloadHash = String(r.headers['x-amz-content-sha256'] ?? hex(r.body));
  const canonicalRequest = [r.method, path, query, canonicalHeaders, signed, payloadHash].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', String(r.headers['x-amz-date']), scope, hex(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date as string), region as string), service as string), 'aws4_request');
  return { ok: createHmac('sha256', key).update(stringToSign).digest('hex') === signature, scope, signedHeaders };
}

describe('gantry approve', () => {
  it('POSTs the decision and comment as JSON to <api-url>releases/<id>/stages/<stage>/decision', async () => {
    const t = io();

    const code = await runDecision('approve', RELEASE, { stage: 'prod', comment: 'CHG-2211 reviewed', apiUrl: baseUrl, region: 'eu-west-2' }, t);

    assert.equal(code, 0);
    assert.equal(received.length, 1);
    const [r] = received;
    assert.equal(r?.method, 'POST');
    assert.equal(r?.url, `/v1/releases/${RELEASE}/stages/prod/decision`);
    assert.equal(r?.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(r?.body ?? ''), { decision: 'approve', comment: 'CHG-2211 reviewed' });
  });

  it('signs the request with SigV4 for execute-api in the region, with the session token, and the signature verifies', async () => {
    await runDecision('approve', RELEASE, { stage: 'prod', apiUrl: baseUrl, region: 'eu-west-2' }, io());

    const r = received[0] as Received;
    assert.match(
      String(r.headers.authorization),
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20261124\/eu-west-2\/execute-api\/aws4_request, SignedHeaders=.*host.*, Signature=[0-9a-f]{64}$/,
    );
    assert.equal(r.headers['x-amz-date'], '20261124T100000Z');
    assert.equal(r.headers['x-amz-security-token'], 'session-token-example');
    const v = verifySigV4(r, CREDENTIALS.secretAccessKey);
    assert.equal(v.ok, true, 'the signature verifies over what arrived');
    assert.ok(v.signedHeaders.includes('host') && v.signedHeaders.includes('content-type') && v.signedHeaders.includes('x-amz-date'));
  });

  it('sends a signature that fails to verify with another secret (the check above is live)', async () => {
    await runDecision('approve', RELEASE, { stage: 'prod', apiUrl: baseUrl, region: 'eu-west-2' }, io());

    assert.equal(verifySigV4(received[0] as Received, 'another-secret').ok, false);
  });

  it('prints the applied decision and exits 0', async () => {
    const t = io();

    await runDecision('approve', RELEASE, { stage: 'prod', apiUrl: baseUrl, region: 'eu-west-2' }, t);

    assert.deepEqual(t.lines.out, [`APPROVED: prod of ${RELEASE} by ${BOB} at 2026-11-24T10:00:01.000Z`]);
    assert.deepEqual(t.lines.err, []);
  });

  it('sends "reject" for gantry reject', async () => {
    answer = { status: 200, body: { decision: 'REJECTED', principal: BOB } };

    const code = await runDecision('reject', RELEASE, { stage: 'prod', comment: 'error budget exhausted', apiUrl: baseUrl, region: 'eu-west-2' }, io());

    assert.equal(code, 0);
    assert.deepEqual(JSON.parse(received[0]?.body ?? ''), { decision: 'reject', comment: 'error budget exhausted' });
  });

  it('prints a recorded refusal and exits 1', async () => {
    answer = { status: 403, body: { message: `${BOB} is the person who started this release`, refused: true, code: 'self-approval', principal: BOB } };
    const t = io();

    const code = await runDecision('approve', RELEASE, { stage: 'prod', apiUrl: baseUrl, region: 'eu-west-2' }, t);

    assert.equal(code, 1);
    assert.equal(t.lines.err[0], `refused: ${BOB} is the person who started this release`);
    assert.match(t.lines.err[1] ?? '', /keeps waiting/);
  });

  it('exits 1 when API Gateway itself denies the call', async () => {
    answer = { status: 403, body: { Message: 'User: arn:aws:sts::111122223333:assumed-role/Dev/x is not authorized to perform: execute-api:Invoke' } };
    const t = io();

    const code = await runDecision('approve', RELEASE, { stage: 'prod', apiUrl: baseUrl, region: 'eu-west-2' }, t);

    assert.equal(code, 1);
    assert.match(t.lines.err[0] ?? '', /^refused by API Gateway \(HTTP 403\): User: .* is not authorized to perform: execute-api:Invoke/);
  });

  it('exits 1 when no approval is waiting', async () => {
    answer = { status: 409, body: { message: `no approval is waiting for prod of ${RELEASE}: already APPROVED by ${BOB}` } };
    const t = io();

    const code = await runDecision('reject', RELEASE, { stage: 'prod', apiUrl: baseUrl, region: 'eu-west-2' }, t);

    assert.equal(code, 1);
    assert.deepEqual(t.lines.err, [`no approval is waiting for prod of ${RELEASE}: already APPROVED by ${BOB}`]);
  });

  it('exits 2 with each problem when the API finds the request invalid, and 2 for an unknown release', async () => {
    answer = { status: 400, body: { message: 'the request is invalid', problems: ['body.comment: expected at most 1000 characters'] } };
    const t = io();
    const invalid = await runDecision('approve', RELEASE, { stage: 'prod', apiUrl: baseUrl, region: 'eu-west-2' }, t);
    answer = { status: 404, body: { message: `release ${RELEASE} not found` } };
    const unknown = await runDecision('approve', RELEASE, { stage: 'prod', apiUrl: baseUrl, region: 'eu-west-2' }, t);

    assert.deepEqual([invalid, unknown], [2, 2]);
    assert.deepEqual(t.lines.err, ['gantry: the request is invalid', '  body.comment: expected at most 1000 characters', `gantry: release ${RELEASE} not found`]);
  });

  it('exits 1 when the API cannot be reached', async () => {
    const t = io();

    const code = await runDecision('approve', RELEASE, { stage: 'prod', apiUrl: 'http://127.0.0.1:9/v1/', region: 'eu-west-2' }, t);

    assert.equal(code, 1);
    assert.match(t.lines.err[0] ?? '', /could not reach the approval API at http:\/\/127\.0\.0\.1:9/);
  });
});

describe('the decision request', () => {
  it('takes the region from an execute-api URL and keeps the API stage in the path', () => {
    const r = decisionRequest('approve', RELEASE, { stage: 'prod', apiUrl: 'https://a1b2c3d4e5.execute-api.eu-west-2.amazonaws.com/v1' }, {});

    assert.equal(r.region, 'eu-west-2');
    assert.equal(r.url.href, `https://a1b2c3d4e5.execute-api.eu-west-2.amazonaws.com/v1/releases/${RELEASE}/stages/prod/decision`);
  });

  const bad: Array<[string, () => unknown, RegExp]> = [
    ['a malformed release id', () => decisionRequest('approve', 'rel 1', { stage: 'prod', apiUrl: baseUrl, region: 'eu-west-2' }, {}), /<releaseId>: expected a release id/],
    ['a malformed stage', () => decisionRequest('approve', RELEASE, { stage: 'Prod!', apiUrl: baseUrl, region: 'eu-west-2' }, {}), /--stage: expected a stage name/],
    [
      'a comment that is too long',
      () => decisionRequest('approve', RELEASE, { stage: 'prod', comment: 'x'.repeat(1001), apiUrl: baseUrl, region: 'eu-west-2' }, {}),
      /--comment: expected at most 1000/,
    ],
    [
      'plain http to a remote host',
      () => decisionRequest('approve', RELEASE, { stage: 'prod', apiUrl: 'http://api.example.com/v1/', region: 'eu-west-2' }, {}),
      /--api-url: expected an https:\/\/ URL/,
    ],
    ['something that is not a URL', () => decisionRequest('approve', RELEASE, { stage: 'prod', apiUrl: 'not a url' }, {}), /--api-url: expected the approval API URL/],
    ['no region anywhere', () => decisionRequest('approve', RELEASE, { stage: 'prod', apiUrl: 'https://approvals.example.com/' }, {}), /--region: the API URL names no region/],
  ];
  for (const [what, act, message] of bad) {
    it(`refuses ${what} as bad input, naming the argument`, () => {
      assert.throws(act, (e: unknown) => e instanceof CliInputError && message.test(e.message));
    });
  }

  it('sends nothing and exits 2 through the gantry command for bad input', async () => {
    const writes = process.stderr.write;
    const err: string[] = [];
    process.stderr.write = ((chunk: unknown) => {
      err.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    let code: number;
    try {
      code = await main(['node', 'gantry', 'approve', RELEASE, '--stage', 'PROD', '--api-url', baseUrl, '--region', 'eu-west-2']);
    } finally {
      process.stderr.write = writes;
    }

    assert.equal(code, 2);
    assert.match(err.join(''), /--stage: expected a stage name/);
    assert.equal(received.length, 0);
  });

  it('refuses as bad input when there are no credentials', async () => {
    const t = { ...io(), credentials: async (): Promise<Credentials> => Promise.reject(new Error('Could not load credentials from any providers')) };

    await assert.rejects(
      runDecision('approve', RELEASE, { stage: 'prod', apiUrl: baseUrl, region: 'eu-west-2', profile: 'approver' }, t),
      /no AWS credentials for profile approver: Could not load credentials/,
    );
    assert.equal(received.length, 0);
  });
});

describe('bin/gantry.js approve', () => {
  it('signs with the credentials of the standard chain and exits with the decision code', async () => {
    const child = spawn(
      process.execPath,
      [join(ROOT, 'bin', 'gantry.js'), 'approve', RELEASE, '--stage', 'prod', '--api-url', baseUrl, '--region', 'eu-west-2', '--comment', 'ok'],
      {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH,
          HOME: '/nonexistent',
          AWS_ACCESS_KEY_ID: 'AKIDCHAIN',
          AWS_SECRET_ACCESS_KEY: 'chain-secret',
          AWS_CONFIG_FILE: '/nonexistent/config',
          AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
          AWS_EC2_METADATA_DISABLED: 'true',
        },
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += String(c)));
    child.stderr.on('data', (c) => (stderr += String(c)));

    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));

    assert.equal(code, 0, stderr);
    assert.match(stdout, new RegExp(`^APPROVED: prod of ${RELEASE} by ${BOB.replace(/[/]/g, '\\/')}`));
    assert.match(String(received[0]?.headers.authorization), /Credential=AKIDCHAIN\//);
    assert.equal(verifySigV4(received[0] as Received, 'chain-secret').ok, true);
  });
});
