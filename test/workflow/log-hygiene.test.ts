/**
 * Log hygiene: run a whole simulation — a push attributed by CloudTrail, a skipped push, a refused and
 * an accepted approval (task tokens), a prod alarm during the bake and the rollback it causes — with
 * the handlers' logger at DEBUG, capture every line written to stdout, stderr and the console, and
 * check that no line carries a task token the local cloud issued, an AWS credential, a request
 * signature or a whole raw event. Then the Lambda wrapper itself: even with event logging switched
 * on by the environment (POWERTOOLS_LOGGER_LOG_EVENT), a signed API request is not logged.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, it } from 'vitest';
import { handler as approvalDecideHandler } from '../../lambdas/approval-decide';
import { logger } from '../../lambdas/shared/middleware';
import { LocalCloud } from '../../local/cloud';
import type { SimulationOutput } from '../../local/simulate';
import { ROOT, runInline } from './helpers';

const SAMPLES = join(ROOT, 'test', 'fixtures', 'aws-samples');
const BOB = 'arn:aws:sts::111122223333:assumed-role/ReleaseApprovers/bob';
const MALLORY = 'arn:aws:sts::111122223333:assumed-role/Developers/mallory';
const D3 = `sha256:${'3'.repeat(64)}`;
/** A SigV4 signature and session token, as a signed approval request carries them. */
const SIGNATURE = '5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7';
const SESSION_TOKEN = 'IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKENdGhpcyBpcyBub3QgYSByZWFsIHRva2Vu';
const SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

/** Patterns no log line may match. */
const FORBIDDEN: Array<[string, RegExp]> = [
  ['AWS access key id', /\b(AKIA|ASIA)[A-Z0-9]{16}\b/],
  ['secret access key', new RegExp(`${SECRET_KEY}|aws_secret_access_key|SecretAccessKey`, 'i')],
  ['session token', new RegExp(`${SESSION_TOKEN}|X-Amz-Security-Token|sessionToken`, 'i')],
  ['request signature', new RegExp(`${SIGNATURE}|Signature=|AWS4-HMAC-SHA256`)],
  ['whole EventBridge event', /"detail-type"|"resources"\s*:\s*\[/],
  ['whole API Gateway request', /"requestContext"|"multiValueHeaders"|"X-Amz-Date"/],
  ['taskToken field', /"taskToken"\s*:/],
];

interface Captured {
  lines: string[];
  restore(): void;
}

/**
 * Every text written to stdout and stderr, and every console call, from now until restore(). Binary
 * chunks pass through: they are the test runner's own reports to its parent process.
 */
function capture(): Captured {
  const lines: string[] = [];
  const push = (chunk: unknown) =>
    lines.push(
      ...String(chunk)
        .split('\n')
        .filter((l) => l.trim() !== ''),
    );
  const saved = { out: process.stdout.write, err: process.stderr.write, console: { ...console } };
  const writer = (original: typeof process.stdout.write, stream: NodeJS.WriteStream) =>
    ((chunk: unknown, ...rest: unknown[]) => {
      if (typeof chunk !== 'string') return (original as (...a: unknown[]) => boolean).call(stream, chunk, ...rest);
      push(chunk);
      return true;
    }) as typeof process.stdout.write;
  process.stdout.write = writer(saved.out, process.stdout);
  process.stderr.write = writer(saved.err, process.stderr);
  for (const m of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
    console[m] = (...args: unknown[]) => push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
  }
  return {
    lines,
    restore() {
      process.stdout.write = saved.out;
      process.stderr.write = saved.err;
      Object.assign(console, saved.console);
    },
  };
}

function scenario(): Record<string, any> {
  const s = JSON.parse(readFileSync(join(ROOT, 'examples', 'scenarios', 'demo.json'), 'utf8'));
  const cfg = JSON.parse(readFileSync(join(ROOT, 'examples', 'gantry.config.json'), 'utf8'));
  cfg.services.payments.stages[2].approval = { approvers: ['arn:aws:iam::111122223333:role/ReleaseApprovers'], timeoutMinutes: 60 };
  s.config = cfg;
  s.ecr['payments-api'].images[1].scan = { status: 'COMPLETE', findings: [] };
  s.ecr['payments-api'].images.push({ digest: D3, tags: ['latest'], pushedAt: '2026-11-24T09:59:00Z' });
  s.triggers.push(
    { type: 'ecr-push', repository: 'payments-api', tag: 'latest', digest: D3, principal: 'arn:aws:sts::111122223333:assumed-role/ci-pusher/build-43' },
    { type: 'event', event: JSON.parse(readFileSync(join(SAMPLES, 'ecr-image-action-delete.json'), 'utf8')) },
  );
  s.script = [
    { when: { service: 'payments', stage: 'prod', phase: 'approval', after: 'PT5M' }, approve: { principal: MALLORY, comment: 'lgtm' } },
    { when: { service: 'payments', stage: 'prod', phase: 'approval', after: 'PT10M' }, approve: { principal: BOB, comment: 'CHG-2211 reviewed' } },
    { when: { service: 'payments', stage: 'prod', phase: 'bake', after: 'PT7M' }, alarm: { name: 'payments-prod-5xx', state: 'ALARM', reason: 'Threshold Crossed: 5xx > 1%' } },
  ];
  return s;
}

let out: SimulationOutput;
let logs: string[] = [];
const tokens = new Set<string>();

beforeAll(async () => {
  const awaitToken = LocalCloud.prototype.awaitToken;
  LocalCloud.prototype.awaitToken = function (this: LocalCloud, token: string) {
    tokens.add(token);
    return awaitToken.call(this, token);
  };
  const level = logger.getLevelName();
  logger.setLogLevel('DEBUG');
  const c = capture();
  try {
    out = await runInline(scenario());
  } finally {
    c.restore();
    logger.setLogLevel(level);
    LocalCloud.prototype.awaitToken = awaitToken;
  }
  logs = c.lines;
});

describe('the logs of a whole simulation', () => {
  it('come from a run that issued task tokens, refused and accepted approvals, and rolled prod back', () => {
    assert.deepEqual(out.warnings, []);
    const release = out.releases.find((r) => r.tag === 'v1.4.2');
    assert.equal(release?.status, 'ROLLED_BACK');
    const prod = release?.stages.find((s) => s.name === 'prod');
    assert.equal(prod?.approval?.principal, BOB);
    assert.ok(
      out.timeline.some((t) => t.event === 'Approval Refused'),
      'mallory was refused',
    );
    assert.deepEqual(
      out.skipped.map((s) => s.tag),
      ['latest'],
    );
    assert.ok(tokens.size >= 4, `bake and approval tokens were issued (${tokens.size})`);
  });

  it('were captured: the handlers logged at DEBUG while it ran', () => {
    const text = logs.join('\n');
    assert.match(text, /"message":"bake failed by alarm"/);
    assert.match(text, /"message":"push skipped"/);
  });

  it('hold no task token the local cloud issued', () => {
    const leaking = logs.filter((l) => [...tokens].some((t) => l.includes(t)));
    assert.deepEqual(leaking, []);
  });

  for (const [what, pattern] of FORBIDDEN) {
    it(`hold no ${what}`, () => {
      assert.deepEqual(
        logs.filter((l) => pattern.test(l)),
        [],
      );
    });
  }
});

describe('the Lambda wrapper', () => {
  let lines: string[] = [];
  let control: string[] = [];

  /** What POWERTOOLS_LOGGER_LOG_EVENT=true does to the logger, for the duration of `work`. */
  async function withEventLogging(work: () => Promise<unknown>): Promise<string[]> {
    const internals = logger as unknown as { logEvent: boolean };
    const saved = { logEvent: internals.logEvent, level: logger.getLevelName() };
    internals.logEvent = true;
    logger.setLogLevel('DEBUG');
    const c = capture();
    try {
      await work().catch(() => undefined); // no AWS environment here: the handler fails building its deps, after the middleware ran
    } finally {
      c.restore();
      logger.setLogLevel(saved.level);
      internals.logEvent = saved.logEvent;
    }
    return c.lines;
  }

  beforeAll(async () => {
    const e = JSON.parse(readFileSync(join(SAMPLES, 'apigw-rest-lambda-proxy-event-iam-auth.constructed.json'), 'utf8'));
    e.httpMethod = 'POST';
    e.body = JSON.stringify({ decision: 'approve', comment: 'signed request' });
    const auth = `AWS4-HMAC-SHA256 Credential=ASIAIOSFODNN7EXAMPLE/20261124/eu-west-2/execute-api/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=${SIGNATURE}`;
    e.headers = { ...e.headers, Authorization: auth, 'X-Amz-Security-Token': SESSION_TOKEN, 'X-Amz-Date': '20261124T100000Z', 'X-Debug-Secret': SECRET_KEY };
    e.multiValueHeaders = Object.fromEntries(Object.entries(e.headers).map(([k, v]) => [k, [v]]));
    const context = { functionName: 'approval-decide', awsRequestId: 'req-1', getRemainingTimeInMillis: () => 10_000 } as never;
    control = await withEventLogging(async () => logger.logEventIfEnabled(e));
    lines = await withEventLogging(() => approvalDecideHandler(e, context));
  });

  it('would be caught logging a signed request: the same logger with event logging on writes it where the capture sees it', () => {
    assert.ok(control.some((l) => l.includes(SIGNATURE) && l.includes('Lambda invocation event')));
  });

  it('does not log the request, its signature or its session token even when event logging is switched on', () => {
    const leaking = lines.filter((l) => l.includes(SIGNATURE) || l.includes(SESSION_TOKEN) || l.includes(SECRET_KEY) || /Lambda invocation event|"requestContext"/.test(l));
    assert.deepEqual(leaking, []);
  });
});
