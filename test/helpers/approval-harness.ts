/**
 * A release of `payments` whose prod stage waits for an approval, on the real DynamoDB ledger adapter
 * (the in-memory DynamoDB), with fakes for Step Functions, the bus and ECR: what the approval tests act on. Also the
 * attacker's tool: an event written straight into the table, correctly chained (chainEvent), as anyone
 * holding dynamodb:PutItem on the table could write it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoLedger } from '../../lambdas/adapters/dynamo-ledger';
import { createLedgerTable, ledgerKeys } from '../../lambdas/adapters/ledger-table';
import { type ApiResponse, run as decide } from '../../lambdas/approval-decide';
import { decisionEvent } from '../../local/api-events';
import { run as requestApproval } from '../../lambdas/approval-request';
import { configHash, type GantryConfig, parseConfig } from '../../lambdas/domain/config';
import { chainEvent, type LedgerEvent, type LedgerEventInput, projectRelease } from '../../lambdas/domain/ledger';
import { type Deps, type ImageDetail, type ImageRegistry, type LifecycleEvent, LOCAL_RUNTIME, type ScanResult, type TaskTokens } from '../../lambdas/ports';
import type { LocalDynamo } from '../../local/dynamo';

export const T0 = new Date('2026-11-24T10:00:00.000Z');
export const ACCOUNT = '111122223333';
export const OTHER_ACCOUNT = '444455556666';
export const TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAU1cW1SECRET-TASK-TOKEN-f00d';
export const RELEASE = 'payments-0123456789abcdef';
export const EXECUTION_ARN = `arn:aws:states:eu-west-2:${ACCOUNT}:execution:gantry-release:${RELEASE}`;
export const DIGEST = `sha256:${'ab'.repeat(32)}`;
export const APPROVERS_ROLE = `arn:aws:iam::${ACCOUNT}:role/ReleaseApprovers`;
export const CAROL = `arn:aws:iam::${ACCOUNT}:user/carol`;
export const session = (role: string, name: string, account = ACCOUNT) => `arn:aws:sts::${account}:assumed-role/${role}/${name}`;
export const ALICE_DEPLOYER = session('Deployers', 'alice');
export const ALICE_APPROVER = session('ReleaseApprovers', 'alice');
export const BOB = session('ReleaseApprovers', 'bob');
export const MALLORY = session('Contractors', 'mallory');

/** The API Gateway IAM-auth sample, copied from the shared folder (test/fixtures/aws-samples/SOURCES.md). */
export const API_SAMPLE = join(__dirname, '../fixtures/aws-samples/apigw-rest-lambda-proxy-event-iam-auth.constructed.json');

/** The example config with an approval on prod (ReleaseApprovers or carol), plus `extra` at the top level. */
export function approvalConfig(extra: Record<string, unknown> = {}): GantryConfig {
  const raw = JSON.parse(readFileSync(join(__dirname, '../../examples/gantry.config.json'), 'utf8'));
  const prod = raw.services.payments.stages.find((s: { name: string }) => s.name === 'prod');
  prod.approval = { approvers: [APPROVERS_ROLE, CAROL], timeoutMinutes: 60 };
  return parseConfig({ ...raw, ...extra }, 'test config');
}

export class FakeTaskTokens implements TaskTokens {
  readonly successes: Array<{ token: string; output: unknown }> = [];
  readonly failures: Array<{ token: string; error: string; cause: string }> = [];
  /** How many of the next sends fail (a Step Functions outage). */
  failNext = 0;
  private maybeFail(): void {
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw Object.assign(new Error(`ServiceUnavailable while sending ${TOKEN}`), { name: 'ServiceUnavailable' });
    }
  }
  async sendSuccess(token: string, output: unknown): Promise<void> {
    this.maybeFail();
    this.successes.push({ token, output });
  }
  async sendFailure(token: string, error: string, cause: string): Promise<void> {
    this.maybeFail();
    this.failures.push({ token, error, cause });
  }
  get sent(): number {
    return this.successes.length + this.failures.length;
  }
}

export class FakeBus {
  readonly published: LifecycleEvent[] = [];
  async publish(events: readonly LifecycleEvent[]): Promise<void> {
    this.published.push(...events);
  }
}

/** ECR DescribeImages over a list; the rest of the registry is not used by the approval tests. */
export class FakeRegistry implements ImageRegistry {
  readonly images: ImageDetail[] = [];
  async describeImage(repository: string, ref: { tag?: string; digest?: string }): Promise<ImageDetail | undefined> {
    return this.images.find((i) => i.repository === repository && (ref.digest ? i.digest === ref.digest : ref.tag !== undefined && i.tags.includes(ref.tag)));
  }
  async tagMutability(): Promise<string> {
    return 'IMMUTABLE';
  }
  async scanFindings(): Promise<ScanResult> {
    return { status: 'COMPLETE', findings: [] };
  }
}

const unused = () => {
  throw new Error('not used by the approval handlers');
};

export interface Harness {
  deps: Deps;
  ledger: DynamoLedger;
  tableName: string;
  dynamo: LocalDynamo;
  tasks: FakeTaskTokens;
  bus: FakeBus;
  registry: FakeRegistry;
  started: Array<{ name: string; input: unknown }>;
  now: Date;
  responses: ApiResponse[];
}

let tables = 0;

/** Deps over a fresh ledger table of its own. */
export async function harness(dynamo: LocalDynamo, config: GantryConfig = approvalConfig()): Promise<Harness> {
  const tableName = `approvals-${process.pid}-${++tables}`;
  await createLedgerTable(dynamo.client, tableName);
  const ledger = new DynamoLedger({ client: dynamo.doc, tableName });
  const h = { ledger, tableName, dynamo, tasks: new FakeTaskTokens(), bus: new FakeBus(), registry: new FakeRegistry(), started: [], now: T0, responses: [] } as Omit<
    Harness,
    'deps'
  > & { deps?: Deps };
  const existing = new Set<string>();
  h.deps = {
    config,
    configHash: configHash(config),
    ledger,
    registry: h.registry,
    alarms: { describeAlarms: unused },
    tasks: h.tasks,
    executions: {
      // The account and region of the pushes these tests deliver: intake starts releases only for pushes there.
      home: { account: ACCOUNT, region: 'eu-west-2' },
      start: async (name: string, input: unknown) => {
        h.started.push({ name, input });
        const alreadyExists = existing.has(name);
        existing.add(name);
        return { executionArn: `arn:aws:states:eu-west-2:${ACCOUNT}:execution:gantry-release:${name}`, alreadyExists };
      },
    },
    timers: { schedule: unused, cancel: unused },
    bus: h.bus,
    now: () => h.now,
    runtime: LOCAL_RUNTIME,
  };
  return h as Harness;
}

/**
 * Bring an opened release (its `release.started` on record) to prod waiting for an approval: gates
 * passed, prod's lease held (with its fencing token on record), approval-request run with TOKEN.
 */
export async function waitForProdApproval(h: Harness, releaseId = RELEASE): Promise<void> {
  const at = (min: number) => new Date(T0.getTime() - min * 60_000).toISOString();
  const append = (stepKey: string, type: LedgerEventInput['type'], minutesAgo: number, data: Record<string, unknown>, stage?: string) =>
    h.ledger.append({ releaseId, stepKey, type, at: at(minutesAgo), data, ...(stage ? { stage } : {}) });
  await append(
    'stage:dev:gate:image.labels',
    'gate.evaluated',
    80,
    { gate: 'image.labels', result: 'PASS', reason: '1 required label(s) present', evidence: { provenance: { revision: 'c0ffee1234' } } },
    'dev',
  );
  await append('stage:prod:started', 'stage.started', 10, {}, 'prod');
  const lease = await h.ledger.acquireLease('payments', 'prod', releaseId, at(10));
  await append('stage:prod:lease.acquired', 'lease.acquired', 10, { fence: lease.fence }, 'prod');
  await append('stage:prod:gate:window', 'gate.evaluated', 9, { gate: 'window', result: 'PASS', reason: 'inside Mon-Thu 09:00-16:00 Europe/London' }, 'prod');
  await append('stage:prod:gate:alarms.pre-deploy', 'gate.evaluated', 8, { gate: 'alarms.pre-deploy', result: 'PASS', reason: '2 alarms OK' }, 'prod');
  await requestApproval({ taskToken: TOKEN, releaseId, stage: 'prod', timeoutSeconds: 3600 }, h.deps);
}

/** A running release of payments started by `initiator` (default alice as Deployers), prod waiting for approval unless `request: false`. */
export async function waitingRelease(dynamo: LocalDynamo, options: { request?: boolean; initiator?: string; config?: GantryConfig } = {}): Promise<Harness> {
  const h = await harness(dynamo, options.config);
  await h.ledger.append({
    releaseId: RELEASE,
    stepKey: 'release.started',
    type: 'release.started',
    at: new Date(T0.getTime() - 90 * 60_000).toISOString(),
    data: {
      kind: 'release',
      service: 'payments',
      digest: DIGEST,
      tag: 'v1.4.2',
      initiator: options.initiator ?? ALICE_DEPLOYER,
      stages: ['dev', 'staging', 'prod'],
      executionArn: EXECUTION_ARN,
    },
  });
  if (options.request !== false) await waitForProdApproval(h);
  else {
    // Prod started and holds its lease, but has not asked for an approval.
    await h.ledger.append({ releaseId: RELEASE, stepKey: 'stage:prod:started', type: 'stage.started', at: T0.toISOString(), stage: 'prod', data: {} });
  }
  return h;
}

/**
 * Write an event straight into the table, chained onto the release's last event exactly as the ledger
 * would chain it (what anyone with dynamodb:PutItem on the table can do).
 */
export async function forgeEvent(h: Harness, input: Omit<LedgerEventInput, 'releaseId'> & { releaseId?: string }): Promise<LedgerEvent> {
  const releaseId = input.releaseId ?? RELEASE;
  const events = await h.ledger.events(releaseId);
  const event = chainEvent(events.at(-1), { ...input, releaseId });
  await h.dynamo.doc.send(
    new PutCommand({ TableName: h.tableName, Item: { ...ledgerKeys.releaseEvent(releaseId, event.seq), entity: 'EVENT', ...JSON.parse(JSON.stringify(event)) } }),
  );
  return event;
}

/** The real API Gateway sample (IAM auth), made a decision request: only path, body, method and (optionally) the caller change. */
export function sampleEvent(body: unknown, userArn?: string, releaseId = RELEASE): Record<string, unknown> {
  const e = JSON.parse(readFileSync(API_SAMPLE, 'utf8'));
  const path = `/releases/${releaseId}/stages/prod/decision`;
  Object.assign(e, {
    resource: '/releases/{releaseId}/stages/{stage}/decision',
    path,
    httpMethod: 'POST',
    pathParameters: { releaseId, stage: 'prod' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  Object.assign(e.requestContext, { httpMethod: 'POST', resourcePath: '/releases/{releaseId}/stages/{stage}/decision', path: `/prod${path}` });
  if (userArn !== undefined) e.requestContext.identity.userArn = userArn;
  return e;
}

export async function call(h: Harness, event: unknown): Promise<{ status: number; body: Record<string, unknown>; headers: Record<string, string> }> {
  const r = await decide(event, h.deps);
  h.responses.push(r);
  return { status: r.statusCode, body: JSON.parse(r.body), headers: r.headers };
}

let requests = 0;
/** A decision request signed by `principal`, with a request id of its own. */
export const approve = (principal: string, comment?: string, requestId?: string, releaseId = RELEASE) =>
  decisionEvent(principal, { releaseId, stage: 'prod', decision: 'approve', ...(comment ? { comment } : {}) }, { at: T0, requestId: requestId ?? `req-${++requests}` });
export const reject = (principal: string, comment?: string, releaseId = RELEASE) =>
  decisionEvent(principal, { releaseId, stage: 'prod', decision: 'reject', ...(comment ? { comment } : {}) }, { at: T0, requestId: `req-${++requests}` });

export async function prodOf(h: Harness, releaseId = RELEASE) {
  return projectRelease(await h.ledger.events(releaseId))?.stages.find((s) => s.name === 'prod');
}
