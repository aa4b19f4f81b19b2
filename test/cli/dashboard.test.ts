/**
 * `gantry dashboard`'s server against a local Gantry (docs/decisions/056-dashboard.md): the JSON routes, the approval
 * round trip through the local backend (segregation of duties as `gantry approve` has it), and its security — the Host
 * check, read-only unless --allow-actions, the per-server token, the content type, the CSP and other headers, bad path
 * parameters and bodies refused before they reach the backend (nothing written), no token or credential in any answer.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { ledgerKeys } from '../../lambdas/adapters/ledger-table';
import { openAwsBackend } from '../../cli/backends/aws-backend';
import { LocalBackend } from '../../cli/backends/local-backend';
import { CliInputError } from '../../cli/errors';
import { overviewSchema } from '../../cli/dashboard/overview';
import { type Dashboard, PAGE_CSP, parsePort, startDashboard } from '../../cli/dashboard/server';
import { releaseStatusSchema } from '../../cli/render/schemas';
import { call, ledgerOf, testIo, tokenOf, waitingForApproval } from './dashboard-fixture';
import { alice, bob, gantry, ROOT } from './helpers';
import { STACK_OUTPUTS } from './stack-fixture';

const RELEASE = 'payments-20261124T100000Z-6abdef';
const json = (v: unknown) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(v) });

/** Every key and string value of a JSON answer, walked; a problem for each token-like key or credential-looking value. */
function secretsIn(value: unknown, token: string, path = '$'): string[] {
  if (typeof value === 'string') {
    const problems: string[] = [];
    if (/\b(AKIA|ASIA)[0-9A-Z]{16}\b/.test(value)) problems.push(`${path}: an AWS access key id`);
    if (/aws_secret_access_key|secretAccessKey|X-Amz-Security-Token|AAAAKGV4/i.test(value)) problems.push(`${path}: a credential`);
    if (/arn:aws[a-z-]*:secretsmanager:/.test(value)) problems.push(`${path}: the ARN of a secret`);
    if (token && value.includes(token)) problems.push(`${path}: the dashboard token`);
    return problems;
  }
  if (Array.isArray(value)) return value.flatMap((v, i) => secretsIn(v, token, `${path}[${i}]`));
  if (value && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => [
      ...(/token|secret|password|credential/i.test(k) ? [`${path}.${k}: a token-like key`] : []),
      ...secretsIn(v, token, `${path}.${k}`),
    ]);
  return [];
}

describe('the dashboard server, read-only', () => {
  let dir: string;
  let d: Dashboard;
  beforeAll(async () => {
    dir = await waitingForApproval();
    d = await startDashboard({ local: dir, port: 0 }, testIo());
  });
  afterAll(async () => d?.close());

  it('serves the page with a strict CSP, no-store, nosniff and no-referrer, and only its own scripts and styles', async () => {
    const page = await call(d.port, 'GET', '/');

    assert.equal(page.status, 200);
    assert.equal(page.headers['content-security-policy'], PAGE_CSP);
    assert.match(PAGE_CSP, /default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'/);
    assert.doesNotMatch(PAGE_CSP, /unsafe-inline|unsafe-eval|\*/);
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    assert.equal(page.headers['referrer-policy'], 'no-referrer');
    assert.equal(page.headers['cache-control'], 'no-store');
    assert.equal(await tokenOf(d.port), '', 'no token in a read-only page');
    assert.doesNotMatch(page.text, /<script>|<style>|\son\w+=|https?:\/\//, 'no inline script or style, no handler attribute, no external URL');
    for (const asset of ['/app.js', '/app.css']) {
      const a = await call(d.port, 'GET', asset);
      assert.equal(a.status, 200, asset);
      assert.doesNotMatch(a.text, /https?:\/\/|innerHTML|eval\(|new Function/, `${asset}: no external URL, no innerHTML, no eval`);
    }
  });

  it('answers the overview: the release in flight with its progress, prod waiting for approval, the history', async () => {
    const o = overviewSchema.parse((await call(d.port, 'GET', '/api/overview')).json());

    assert.equal(o.simulated, true);
    assert.equal(o.now, '2026-11-24T10:30:00.000Z');
    assert.equal(o.allowActions, false);
    assert.equal(o.canAbort, false);
    assert.match(o.source, /local Gantry .* \(simulation\)/);
    assert.equal(o.inFlight.length, 1);
    const r = o.inFlight[0];
    assert.equal(r?.releaseId, RELEASE);
    assert.deepEqual(r?.progress, { done: 2, total: 3 });
    assert.equal(r?.current?.stage, 'prod');
    assert.equal(r?.current?.phase, 'approval');
    assert.match(r?.current?.activity ?? '', /awaiting approval by ReleaseApprovers/);
    assert.deepEqual(
      o.approvals.map((a) => [a.releaseId, a.service, a.stage, a.required, a.done, a.approvers]),
      [[RELEASE, 'payments', 'prod', 1, 0, ['arn:aws:iam::111122223333:role/ReleaseApprovers']]],
    );
    assert.deepEqual(o.history, []);
    const matrix = o.matrix;
    const cells = matrix.services.find((x) => x.service === 'payments')?.stages ?? [];
    assert.deepEqual(
      cells.map((c) => [c.stage, c.state]),
      [
        ['dev', 'HEALTHY'],
        ['staging', 'HEALTHY'],
        ['prod', 'WAITING'],
      ],
    );
    assert.equal(cells[2]?.inFlight[0]?.releaseId, RELEASE);
    assert.equal(cells[2]?.inFlight[0]?.waitingFor, 'approval');
  });

  it("answers one release's status view (the shape of gantry status --json), 404 for an unknown one, 400 for a bad id", async () => {
    const v = await call(d.port, 'GET', `/api/releases/${RELEASE}`);
    const unknown = await call(d.port, 'GET', '/api/releases/payments-20991231T000000Z-000000');
    const bad = await call(d.port, 'GET', '/api/releases/..%2F..%2Fetc');
    const spaces = await call(d.port, 'GET', '/api/releases/a%20b');

    assert.equal(v.status, 200);
    const view = releaseStatusSchema.parse(v.json());
    assert.equal(view.stages.find((s) => s.name === 'prod')?.phase, 'approval');
    assert.equal(unknown.status, 404);
    assert.match(unknown.json().message, /is not in local Gantry/);
    assert.equal(bad.status, 400);
    assert.match(bad.json().message, /release id: expected 1-80 of A-Z a-z 0-9 _ -/);
    assert.equal(spaces.status, 400);
  });

  it("serves a release's HTML report with its simulation banner, its inline styles allowed only there and its one script by hash", async () => {
    const r = await call(d.port, 'GET', `/releases/${RELEASE}/report`);

    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /text\/html/);
    assert.match(r.text, /SIMULATION/);
    const csp = String(r.headers['content-security-policy']);
    assert.match(csp, /style-src 'unsafe-inline'/);
    assert.match(csp, /script-src 'sha256-[A-Za-z0-9+/]+=*'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal((await call(d.port, 'GET', '/releases/nope-1/report')).status, 404);
  });

  it('refuses a request whose Host is not 127.0.0.1:PORT or localhost:PORT (DNS rebinding)', async () => {
    const evil = await call(d.port, 'GET', '/api/overview', { headers: { host: 'evil.example:80' } });
    const otherPort = await call(d.port, 'GET', '/api/overview', { headers: { host: `127.0.0.1:${d.port + 1}` } });
    const localhost = await call(d.port, 'GET', '/api/overview', { headers: { host: `localhost:${d.port}` } });

    assert.equal(evil.status, 403);
    assert.match(evil.json().message, /Host header must be 127\.0\.0\.1:\d+ or localhost:\d+/);
    assert.doesNotMatch(evil.text, /payments/);
    assert.equal(otherPort.status, 403);
    assert.equal(localhost.status, 200);
  });

  it('refuses every action with 403 and says how to allow them; nothing is written', async () => {
    const before = ledgerOf(dir);

    const r = await call(d.port, 'POST', `/api/releases/${RELEASE}/approve`, json({ stage: 'prod' }));

    assert.equal(r.status, 403);
    assert.match(r.json().message, /read-only: restart it with --allow-actions/);
    assert.equal(ledgerOf(dir), before);
  });

  it('404s an unknown page and 405s another method', async () => {
    assert.equal((await call(d.port, 'GET', '/etc/passwd')).status, 404);
    assert.equal((await call(d.port, 'DELETE', `/api/releases/${RELEASE}`)).status, 405);
  });
});

describe('the dashboard server with --allow-actions', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await waitingForApproval();
  });

  it('refuses a POST without the token, with a wrong one, from another origin, or not as JSON; nothing is written', async () => {
    const d = await startDashboard({ local: dir, port: 0, allowActions: true, as: bob }, testIo());
    try {
      const before = ledgerOf(dir);
      const token = await tokenOf(d.port);
      assert.match(token, /^[A-Za-z0-9_-]{43}$/, '32 random bytes');
      const url = `/api/releases/${RELEASE}/approve`;
      const body = JSON.stringify({ stage: 'prod' });

      const none = await call(d.port, 'POST', url, { headers: { 'content-type': 'application/json' }, body });
      const wrong = await call(d.port, 'POST', url, { headers: { 'content-type': 'application/json', 'x-gantry-dashboard-token': `${token.slice(1)}x` }, body });
      const origin = await call(d.port, 'POST', url, { headers: { 'content-type': 'application/json', 'x-gantry-dashboard-token': token, origin: 'http://evil.example' }, body });
      const form = await call(d.port, 'POST', url, { headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-gantry-dashboard-token': token }, body: 'stage=prod' });
      const text = await call(d.port, 'POST', url, { headers: { 'content-type': 'text/plain', 'x-gantry-dashboard-token': token }, body });

      assert.equal(none.status, 403);
      assert.match(none.json().message, /missing or wrong x-gantry-dashboard-token/);
      assert.equal(wrong.status, 403);
      assert.equal(origin.status, 403);
      assert.equal(form.status, 415);
      assert.match(form.json().message, /Content-Type: expected application\/json/);
      assert.equal(text.status, 415);
      assert.equal(ledgerOf(dir), before);
    } finally {
      await d.close();
    }
  });

  it('validates the path and the body before the backend: 400 naming the field, 404 for an unknown release; nothing is written', async () => {
    const d = await startDashboard({ local: dir, port: 0, allowActions: true, as: bob }, testIo());
    try {
      const before = ledgerOf(dir);
      const token = await tokenOf(d.port);
      const post = (path: string, body: unknown, raw?: string) =>
        call(d.port, 'POST', path, { headers: { 'content-type': 'application/json', 'x-gantry-dashboard-token': token }, body: raw ?? JSON.stringify(body) });
      const cases: Array<[Promise<{ status: number; json(): any }>, number, RegExp]> = [
        [post('/api/releases/bad$id/approve', { stage: 'prod' }), 400, /release id: expected/],
        [post(`/api/releases/${RELEASE}/approve`, { stage: 'qa' }), 400, /stage: "qa" is not a stage of .* \(its stages: dev, staging, prod\)/],
        [post(`/api/releases/${RELEASE}/approve`, {}), 400, /stage: expected the name of the stage/],
        [post(`/api/releases/${RELEASE}/approve`, { stage: 'prod', comment: 'x'.repeat(1001) }), 400, /comment: at most 1000 characters/],
        [post(`/api/releases/${RELEASE}/approve`, { stage: 'prod', comment: 'a\u0007b' }), 400, /comment: control characters/],
        [post(`/api/releases/${RELEASE}/approve`, { stage: 'prod', planSha256: 'abc' }), 400, /planSha256: expected the saved plan's sha256/],
        [post(`/api/releases/${RELEASE}/approve`, null, '{not json'), 400, /not JSON/],
        [post(`/api/releases/${RELEASE}/approve`, [1]), 400, /expected a JSON object/],
        [post(`/api/releases/${RELEASE}/approve`, null, JSON.stringify({ stage: 'prod', comment: 'x'.repeat(20_000) })), 413, /larger than 16384 bytes/],
        [post('/api/releases/payments-20991231T000000Z-000000/reject', { stage: 'prod' }), 404, /is not in local Gantry/],
        [post(`/api/releases/${RELEASE}/abort`, {}), 400, /reason: expected why/],
        [post(`/api/releases/${RELEASE}/promote`, {}), 404, /no such action/],
        [post('/api/promote', { service: 'payments', digest: `sha256:${'2'.repeat(64)}`, to: 'dev' }), 400, /--to: dev is the first stage of payments/],
        [post('/api/promote', { service: 'payments', digest: `sha256:${'2'.repeat(64)}`, to: 'qa' }), 400, /--to: expected one of the stages of payments after the first/],
        [post('/api/promote', { service: 'billing', digest: `sha256:${'2'.repeat(64)}`, to: 'prod' }), 400, /service: billing is not in the configuration/],
        [post('/api/promote', { service: 'payments', digest: 'sha256:2222', to: 'prod' }), 400, /digest: expected a digest sha256:<64 lowercase hex characters>/],
        [post('/api/promote', { service: 'Payments!', digest: `sha256:${'2'.repeat(64)}`, to: 'prod' }), 400, /service: expected a service name/],
      ];
      for (const [answer, status, message] of cases) {
        const a = await answer;
        assert.equal(a.status, status, `${message}: ${JSON.stringify(a.json())}`);
        assert.match(a.json().message, message);
      }
      assert.equal(ledgerOf(dir), before);
    } finally {
      await d.close();
    }
  });

  it('the initiator is refused (segregation of duties, recorded); an approver approves, and the overview shows prod deploying', async () => {
    const asAlice = await startDashboard({ local: dir, port: 0, allowActions: true, as: alice }, testIo());
    let refused;
    try {
      refused = await call(asAlice.port, 'POST', `/api/releases/${RELEASE}/approve`, {
        headers: { 'content-type': 'application/json', 'x-gantry-dashboard-token': await tokenOf(asAlice.port) },
        body: JSON.stringify({ stage: 'prod', comment: 'my own' }),
      });
    } finally {
      await asAlice.close();
    }
    assert.equal(refused.status, 409);
    assert.match(refused.json().message, /refused: .*Deployers\/alice/);

    const d = await startDashboard({ local: dir, port: 0, allowActions: true, as: bob }, testIo());
    try {
      const token = await tokenOf(d.port);
      const approved = await call(d.port, 'POST', `/api/releases/${RELEASE}/approve`, {
        headers: { 'content-type': 'application/json; charset=utf-8', 'x-gantry-dashboard-token': token, origin: `http://127.0.0.1:${d.port}` },
        body: JSON.stringify({ stage: 'prod', comment: 'ok for CHG-2211' }),
      });
      const again = await call(d.port, 'POST', `/api/releases/${RELEASE}/approve`, {
        headers: { 'content-type': 'application/json', 'x-gantry-dashboard-token': token },
        body: JSON.stringify({ stage: 'prod' }),
      });
      const o = (await call(d.port, 'GET', '/api/overview')).json();

      assert.equal(approved.status, 200, approved.text);
      assert.equal(approved.json().code, 0);
      assert.match(approved.json().message, /^APPROVED: prod of payments-20261124T100000Z-6abdef by .*ReleaseApprovers\/bob at 2026-11-24T10:30:00.000Z \(ok for CHG-2211\)$/);
      assert.equal(again.status, 409);
      assert.match(again.json().message, /no approval is waiting for prod .*already decided/);
      assert.deepEqual(o.approvals, []);
      assert.equal(o.inFlight[0].current.phase, 'deploy');
      assert.match(ledgerOf(dir), /"type":"gate\.evaluated".*"gate":"approval"/);
    } finally {
      await d.close();
    }
  });

  it('aborts a running release with the reason (gantry abort, decision 053); a finished one is refused with 409', async () => {
    const d = await startDashboard({ local: dir, port: 0, allowActions: true }, testIo());
    try {
      const token = await tokenOf(d.port);
      const abort = () =>
        call(d.port, 'POST', `/api/releases/${RELEASE}/abort`, {
          headers: { 'content-type': 'application/json', 'x-gantry-dashboard-token': token },
          body: JSON.stringify({ reason: 'INC-5120 wrong build' }),
        });
      const before = overviewSchema.parse((await call(d.port, 'GET', '/api/overview')).json());

      const r = await abort();
      const again = await abort();
      const after = overviewSchema.parse((await call(d.port, 'GET', '/api/overview')).json());

      assert.equal(before.canAbort, true);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json().releaseId, RELEASE);
      assert.equal(r.json().status, 'ABORTED');
      assert.match(r.json().message, /INC-5120 wrong build/);
      assert.equal(again.status, 409);
      assert.match(again.json().message, /ABORTED|finished|ended/);
      assert.deepEqual(after.inFlight, []);
      assert.deepEqual(
        after.history.map((h) => [h.releaseId, h.status]),
        [[RELEASE, 'ABORTED']],
      );
    } finally {
      await d.close();
    }
  });

  it('has no task token, credential, secret ARN or its own token in any JSON answer', async () => {
    const d = await startDashboard({ local: dir, port: 0, allowActions: true, as: bob }, testIo());
    try {
      const token = await tokenOf(d.port);
      const overview = (await call(d.port, 'GET', '/api/overview')).json();
      const ids = [...overview.history, ...overview.inFlight].map((r: { releaseId: string }) => r.releaseId);
      assert.ok(ids.length > 0);
      const answers: unknown[] = [overview];
      for (const id of ids) answers.push((await call(d.port, 'GET', `/api/releases/${id}`)).json());
      answers.push(
        (
          await call(d.port, 'POST', `/api/releases/${RELEASE}/reject`, {
            headers: { 'content-type': 'application/json', 'x-gantry-dashboard-token': token },
            body: JSON.stringify({ stage: 'prod' }),
          })
        ).json(),
      );
      // The walker itself finds what it looks for.
      assert.equal(secretsIn({ data: { taskToken: 'x' }, k: 'AKIAIOSFODNN7EXAMPLE', t: `a ${token}` }, token).length, 3);

      assert.deepEqual(
        answers.flatMap((a) => secretsIn(a, token)),
        [],
      );
    } finally {
      await d.close();
    }
  });
});

describe('gantry dashboard (the command)', () => {
  it('refuses a bad --port with exit 2 naming it, and a port in use', async () => {
    for (const bad of ['-1', '65536', 'http', '80.5', ''])
      assert.throws(
        () => parsePort(bad),
        (e: Error) => e instanceof CliInputError && /--port: expected a port number from 0 to 65535/.test(e.message),
      );
    assert.equal(parsePort('0'), 0);
    assert.equal(parsePort(undefined), 7711);

    const dir = await waitingForApproval({ until: 'PT0S' });
    const r = await gantry('dashboard', '--local', dir, '--port', '70000');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--port: expected a port number from 0 to 65535 \(0: any free port\), got "70000"/);

    const first = await startDashboard({ local: dir, port: 0 }, testIo());
    try {
      const inUse = await gantry('dashboard', '--local', dir, '--port', String(first.port));
      assert.equal(inUse.code, 2);
      assert.match(inUse.stderr, new RegExp(`--port: port ${first.port} on 127\\.0\\.0\\.1 is in use; give another with --port N`));
    } finally {
      await first.close();
    }
  });

  it('prints its URL, serves until SIGINT, then stops with exit 0', async () => {
    const dir = await waitingForApproval({ until: 'PT0S' });
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'gantry.js'), 'dashboard', '--local', dir, '--port', '0'], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
    let out = '';
    let err = '';
    child.stderr.on('data', (c) => (err += String(c)));
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (c) => {
        out += String(c);
        const m = /Gantry dashboard: (http:\/\/127\.0\.0\.1:\d+\/) \(read-only\) — Ctrl-C to stop/.exec(out);
        if (m) resolve(m[1] as string);
      });
      child.on('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
    });
    const port = Number(new URL(url).port);
    const o = (await call(port, 'GET', '/api/overview')).json();
    assert.equal(o.allowActions, false);

    const code = await new Promise<number | null>((resolve) => {
      child.on('exit', (c) => resolve(c));
      child.kill('SIGINT');
    });
    assert.equal(code, 0, err);
    await assert.rejects(call(port, 'GET', '/api/overview'), /ECONNREFUSED/);
  }, 60_000);
});

describe('the dashboard against a deployed Gantry (at the boundary)', () => {
  it("approves by a SigV4-signed POST to the stack's approval API with the operator's credentials, and shows the API's answer", async () => {
    const dir = await waitingForApproval();
    const events = await new LocalBackend(dir).getReleaseEvents(RELEASE);
    const doc = mockClient(DynamoDBDocumentClient);
    doc.on(QueryCommand).callsFake((input) => ({ Items: input.ExpressionAttributeValues?.[':pk'] === ledgerKeys.releasePartition(RELEASE) ? events : [] }));
    const sent: Array<{ url: string; method: string; headers: Record<string, string>; body: string }> = [];
    const fakeFetch = (async (url: string | URL, init?: RequestInit) => {
      sent.push({ url: String(url), method: String(init?.method), headers: init?.headers as Record<string, string>, body: String(init?.body) });
      return new Response(JSON.stringify({ decision: 'APPROVED', principal: bob, at: '2026-11-24T10:31:00.000Z', comment: 'ok' }), { status: 200 });
    }) as typeof fetch;
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    const io = {
      ...testIo(),
      openBackend: () =>
        openAwsBackend(
          { region: 'eu-west-2' },
          {
            describeStack: async () => ({ ...STACK_OUTPUTS }),
            credentials: async () => ({ accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: secret, sessionToken: 'session-token-value' }),
            fetch: fakeFetch,
            sfn: new SFNClient({ region: 'eu-west-2' }),
            dynamo: new DynamoDBClient({ region: 'eu-west-2' }),
          },
        ),
    };
    const d = await startDashboard({ port: 0, allowActions: true, region: 'eu-west-2' }, io);
    try {
      const r = await call(d.port, 'POST', `/api/releases/${RELEASE}/approve`, {
        headers: { 'content-type': 'application/json', 'x-gantry-dashboard-token': await tokenOf(d.port) },
        body: JSON.stringify({ stage: 'prod', comment: 'ok' }),
      });

      assert.equal(r.status, 200, r.text);
      assert.equal(r.json().message, `APPROVED: prod of ${RELEASE} by ${bob} at 2026-11-24T10:31:00.000Z (ok)`);
      assert.equal(sent.length, 1);
      assert.equal(sent[0]?.url, `https://abc123.execute-api.eu-west-2.amazonaws.com/v1/releases/${RELEASE}/stages/prod/decision`);
      assert.equal(sent[0]?.method, 'POST');
      assert.deepEqual(JSON.parse(sent[0]?.body ?? ''), { decision: 'approve', comment: 'ok' });
      assert.match(sent[0]?.headers.authorization ?? '', /^AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE\/\d{8}\/eu-west-2\/execute-api\/aws4_request/);
      assert.doesNotMatch(r.text, new RegExp(`${secret.replace(/[/+]/g, '.')}|session-token-value|AKIA`), 'no credential in the answer');
      // A stage the release does not have is refused before anything is sent.
      const bad = await call(d.port, 'POST', `/api/releases/${RELEASE}/approve`, {
        headers: { 'content-type': 'application/json', 'x-gantry-dashboard-token': await tokenOf(d.port) },
        body: JSON.stringify({ stage: 'qa' }),
      });
      assert.equal(bad.status, 400);
      assert.equal(sent.length, 1);
    } finally {
      await d.close();
      doc.restore();
    }
  });
});
