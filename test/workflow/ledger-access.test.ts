/**
 * The test that keeps the ledger's IAM honest (docs/decisions/025-ledger-trust-boundary.md): scenarios run
 * through the real workflows and handlers with each handler's DynamoDB requests recorded, and every
 * request is checked, with IAM's own matching rules (test/helpers/iam-policy.ts), against the statements
 * that handler's role gets (lib/ledger-access.ts `ledgerPolicy`, the very statements the stack attaches).
 * A handler whose code starts touching an item kind its role may not — or a grant no scenario needs any
 * more — fails here before it fails in AWS with AccessDenied.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, it } from 'vitest';
import { loadScenario, loadScenarioFile } from '../../local/scenario';
import { type LedgerRequest, type SimulationOutput, simulate } from '../../local/simulate';
import { HANDLERS } from '../../lib/ReleaseControlPlane';
import { handlerGrants, itemKindOf, LEDGER_ACCESS, LEDGER_ACTIONS, ledgerPolicy, WRITE_ACTIONS } from '../../lib/ledger-access';
import { allows } from '../helpers/iam-policy';
import { iamRequestsOf, LEDGER_ARNS, type LedgerIamRequest } from '../helpers/ledger-requests';
import { D1, D2, ROOT } from './helpers';

const D3 = `sha256:${'3'.repeat(64)}`;
const D4 = `sha256:${'4'.repeat(64)}`;
const alice = 'arn:aws:sts::111122223333:assumed-role/Deployers/alice';
const bob = 'arn:aws:sts::111122223333:assumed-role/ReleaseApprovers/bob';
const carol = 'arn:aws:sts::111122223333:assumed-role/Operators/carol';
const mallory = 'arn:aws:sts::111122223333:assumed-role/Developers/mallory';
const pusher = (n: number) => `arn:aws:sts::111122223333:assumed-role/ci-pusher/build-${n}`;

interface Recorded {
  readonly scenario: string;
  readonly handler: string;
  readonly request: LedgerIamRequest;
}

/** The demo scenario with its config inline: scans complete, two more images, prod with an approval when asked. */
function scenario(name: string, prod: { approval?: { timeoutMinutes: number }; bakePoll?: boolean } = {}) {
  const s = JSON.parse(readFileSync(join(ROOT, 'examples', 'scenarios', 'demo.json'), 'utf8'));
  const cfg = JSON.parse(readFileSync(join(ROOT, 'examples', 'gantry.config.json'), 'utf8'));
  if (prod.approval) cfg.services.payments.stages[2].approval = { approvers: ['arn:aws:iam::111122223333:role/ReleaseApprovers'], timeoutMinutes: prod.approval.timeoutMinutes };
  if (prod.bakePoll) cfg.services.payments.stages[0].bake = { mode: 'poll', intervalSeconds: 60 };
  s.name = name;
  s.config = cfg;
  const images = s.ecr['payments-api'].images;
  images[1].scan = { status: 'COMPLETE', findings: [] };
  for (const [digest, tag, minutes] of [
    [D3, 'v1.4.3', 1],
    [D4, 'v1.4.4', 2],
  ] as const) {
    images.push({
      digest,
      tags: [tag],
      pushedAt: new Date(Date.parse(s.clock) + minutes * 60_000).toISOString(),
      labels: { 'org.opencontainers.image.revision': 'c0ffee1' },
      scan: { status: 'COMPLETE', findings: [] },
    });
  }
  s.script = [];
  return s;
}

/** CloudTrail's PutImage record, as EventBridge delivers it (here: late, after the push started its release unattributed). */
function cloudTrailPutImage(digest: string, tag: string, principal: string, time: string) {
  return {
    version: '0',
    id: 'b5c1f0c2-6a0e-4f1e-9d1c-ledgeraccess',
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.ecr',
    account: '111122223333',
    time,
    region: 'eu-west-2',
    resources: [],
    detail: {
      eventVersion: '1.08',
      userIdentity: { type: 'AssumedRole', arn: principal, accountId: '111122223333' },
      eventTime: time,
      eventSource: 'ecr.amazonaws.com',
      eventName: 'PutImage',
      awsRegion: 'eu-west-2',
      requestParameters: { repositoryName: 'payments-api', imageTag: tag, registryId: '111122223333' },
      responseElements: { image: { repositoryName: 'payments-api', registryId: '111122223333', imageId: { imageDigest: digest, imageTag: tag } } },
      eventID: 'b5c1f0c2-6a0e-4f1e-9d1c-0000000000aa',
      eventType: 'AwsApiCall',
    },
  };
}

/** Scenarios that between them reach every handler and every ledger method the handlers call. */
function scenarios(): Array<{ name: string; raw?: unknown; file?: string }> {
  // 1. A push through three stages; prod needs an approval: a non-approver is refused, bob approves; an
  //    alarm at minute 7 of the prod bake rolls prod back (alarm-watch, the rollback path, the recovery check).
  const approvals = scenario('approvals and an alarm rollback', { approval: { timeoutMinutes: 600 } });
  approvals.triggers = [{ type: 'ecr-push', repository: 'payments-api', tag: 'v1.4.2', digest: D2, principal: pusher(1) }];
  approvals.script = [
    { when: { service: 'payments', stage: 'prod', phase: 'approval', after: 'PT5M' }, approve: { principal: mallory, comment: 'me' } },
    { when: { service: 'payments', stage: 'prod', phase: 'approval', after: 'PT10M' }, approve: { principal: bob, comment: 'ok' } },
    { when: { service: 'payments', stage: 'prod', phase: 'bake', after: 'PT7M' }, alarm: { name: 'payments-prod-5xx', state: 'ALARM' } },
  ];

  // 2. Operators: a freeze on and off, a start by tag, an operator rollback that preempts the release
  //    baking in prod, skipped pushes, a push whose CloudTrail record comes late, and an insight check.
  const operators = scenario('operators, skips and a late pusher');
  operators.triggers = [
    { type: 'freeze', state: 'on', reason: 'INC-1 in progress', principal: carol, at: 'PT0S' },
    { type: 'freeze', state: 'off', reason: 'INC-1 over', principal: carol, at: 'PT1M' },
    { type: 'start', principal: alice, input: { service: 'payments', image: { tag: 'v1.4.2' }, reason: 'CHG-1' }, at: 'PT2M' },
    { type: 'rollback', principal: carol, input: { service: 'payments', stage: 'prod', digest: D1, reason: 'INC-2' }, at: 'PT37M' },
    { type: 'ecr-push', repository: 'unknown-repo', tag: 'v1.0.0', digest: D3, at: 'PT3H' },
    { type: 'ecr-push', repository: 'payments-api', tag: 'latest', digest: D3, at: 'PT3H', copies: 2 },
    { type: 'ecr-push', repository: 'payments-api', tag: 'v1.4.4', digest: D4, at: 'PT4H' },
    { type: 'event', event: cloudTrailPutImage(D4, 'v1.4.4', pusher(4), '2026-11-24T14:03:00Z'), at: 'PT4H3M' },
    { type: 'insight-check', at: 'PT6H' },
  ];

  // 3. Three digests pushed a minute apart while the first deploys to dev for three minutes: leases waited
  //    for and handed on (the end of the deploy wakes the waiters), releases superseded.
  const queue = scenario('newest wins');
  queue.triggers = [
    { type: 'ecr-push', repository: 'payments-api', tag: 'v1.4.2', digest: D2, principal: pusher(1) },
    { type: 'ecr-push', repository: 'payments-api', tag: 'v1.4.3', digest: D3, principal: pusher(2), at: 'PT1M' },
    { type: 'ecr-push', repository: 'payments-api', tag: 'v1.4.4', digest: D4, principal: pusher(3), at: 'PT2M' },
  ];
  queue.script = [{ when: { service: 'payments', stage: 'dev', phase: 'deploy' }, deploy: { result: 'SUCCEEDED', duration: 'PT3M' } }];

  // 4. An approval nobody gives (it times out); dev bakes by polling.
  const timeout = scenario('approval timeout, polling bake', { approval: { timeoutMinutes: 30 }, bakePoll: true });
  timeout.triggers = [{ type: 'ecr-push', repository: 'payments-api', tag: 'v1.4.2', digest: D2, principal: pusher(1) }];

  // 5. A preempted approval: an operator rollback takes prod from a release waiting for its approval.
  const preempted = scenario('rollback preempts an approval', { approval: { timeoutMinutes: 600 } });
  preempted.triggers = [
    { type: 'ecr-push', repository: 'payments-api', tag: 'v1.4.2', digest: D2, principal: pusher(1) },
    { type: 'rollback', principal: carol, input: { service: 'payments', stage: 'prod', digest: D1, reason: 'INC-3' }, at: 'PT2H' },
  ];
  preempted.stages['payments/prod'] = { running: D3, lastKnownGood: D3, promoted: [D1, D3] };

  // 6. An alarm fires while dev deploys: the bake fails as soon as it is registered.
  const early = scenario('alarm before the bake');
  early.triggers = [{ type: 'ecr-push', repository: 'payments-api', tag: 'v1.4.2', digest: D2, principal: pusher(1) }];
  early.script = [{ when: { service: 'payments', stage: 'dev', phase: 'deploy', after: 'PT30S' }, alarm: { name: 'payments-dev-5xx', state: 'ALARM' } }];

  // 7. gantry abort (decision 053): the operator API reads the record, appends abort.requested and stops the execution.
  const aborted = JSON.parse(readFileSync(join(ROOT, 'examples', 'scenarios', 'abort-during-bake.json'), 'utf8'));
  aborted.name = 'abort through the operator API';
  aborted.script = [];
  aborted.triggers.push({ type: 'abort', service: 'payments', reason: 'wrong digest', principal: 'arn:aws:iam::111122223333:user/carol', at: 'PT20M' });

  return [
    { name: aborted.name, raw: aborted },
    { name: approvals.name, raw: approvals },
    { name: early.name, raw: early },
    { name: operators.name, raw: operators },
    { name: queue.name, raw: queue },
    { name: timeout.name, raw: timeout },
    { name: preempted.name, raw: preempted },
    // The reconciler (an execution aborted during its bake) and the Kubernetes driver's rollout-check.
    { name: 'abort-during-bake', file: join(ROOT, 'examples', 'scenarios', 'abort-during-bake.json') },
    { name: 'kubernetes-deploy', file: join(ROOT, 'examples', 'scenarios', 'kubernetes-deploy.json') },
    // The event-driven image-scan wait: image-gates registers the scan token, scan-watch claims it (ECR Image Scan).
    { name: 'demo', file: join(ROOT, 'examples', 'scenarios', 'demo.json') },
    // Issue 18: a canary with its analysis (canary-analysis), and waves of clusters across accounts (per-cluster records).
    { name: 'canary-analysis-fails', file: join(ROOT, 'examples', 'scenarios', 'canary-analysis-fails.json') },
    { name: 'waves-cross-account', file: join(ROOT, 'examples', 'scenarios', 'waves-cross-account.json') },
    // Issue 19: a rollback drill (drill-step, the legs' rollback-prepare reading the drill record), the prod refusal and Drill Overdue.
    { name: 'drill-staging', file: join(ROOT, 'examples', 'scenarios', 'drill-staging.json') },
    // Issue 20: a promotion (decision 054): prepare-release reads the previous stage's pointer and the service's releases.
    { name: 'promote-to-prod', file: join(ROOT, 'examples', 'scenarios', 'promote-to-prod.json') },
  ];
}

const recorded: Recorded[] = [];
const outputs = new Map<string, SimulationOutput>();

beforeAll(async () => {
  for (const s of scenarios()) {
    const loaded = s.file ? loadScenarioFile(s.file) : loadScenario(s.raw, join(ROOT, 'examples', 'scenarios'));
    const { output } = await simulate(loaded, {
      observeLedger: (handler, request: LedgerRequest) => recorded.push(...iamRequestsOf(request).map((r) => ({ scenario: s.name, handler, request: r }))),
    });
    outputs.set(s.name, output);
  }
});

const describeRequest = (r: Recorded) =>
  `${r.handler} ${r.request.operation} ${r.request.index ? `index ${r.request.index} ` : ''}${r.request.partitionKey ?? '(no partition key)'} [${r.scenario}]`;

describe('the scenarios behind the check', () => {
  it('ran as intended: nothing left running, no warning, every chain verifies', () => {
    for (const [name, out] of outputs) {
      assert.deepEqual(out.warnings, [], name);
      for (const r of out.releases) {
        assert.notEqual(r.status, 'RUNNING', `${name}: ${r.releaseId}`);
        assert.equal(r.audit.verified, true, `${name}: ${r.releaseId}`);
      }
    }
    const approvals = outputs.get('approvals and an alarm rollback');
    assert.ok(approvals?.timeline.some((t) => t.event === 'Approval Refused'));
    assert.equal(approvals?.releases[0]?.status, 'ROLLED_BACK');
    const operators = outputs.get('operators, skips and a late pusher');
    assert.equal(operators?.skipped.length, 2);
    assert.ok(
      operators?.timeline.some((t) => t.event === 'Pusher Identified'),
      'the late CloudTrail record attributed the pushed release',
    );
    assert.ok(operators?.releases.some((r) => r.kind === 'rollback' && r.status === 'ROLLED_BACK'));
    assert.equal(operators?.insight.checks.length, 1);
    assert.equal(outputs.get('approval timeout, polling bake')?.releases[0]?.status, 'REJECTED');
    assert.equal(outputs.get('abort-during-bake')?.releases[0]?.status, 'ABORTED');
  });

  it('reached every handler that touches the ledger', () => {
    const seen = new Set(recorded.map((r) => r.handler));
    // insight-plan plans from the config alone: it has no ledger access to reach.
    assert.deepEqual(
      Object.keys(HANDLERS).filter((h) => LEDGER_ACCESS[h as keyof typeof LEDGER_ACCESS].calls.length > 0 && !seen.has(h)),
      [],
    );
  });
});

describe('every ledger request of every handler', () => {
  it("is allowed by the IAM statements of that handler's role", () => {
    const denied = recorded.filter((r) => !allows(ledgerPolicy(r.handler, LEDGER_ARNS), r.request));

    assert.deepEqual([...new Set(denied.map(describeRequest))], []);
  });

  it('names a partition key, except index queries', () => {
    const keyless = recorded.filter((r) => r.request.partitionKey === undefined);

    assert.deepEqual([...new Set(keyless.map(describeRequest))], []);
  });

  it("writes only the item kinds the handler owns, and never deletes a release's items", () => {
    const writes = recorded.filter((r) => WRITE_ACTIONS.includes(r.request.operation as never));
    const foreign = writes.filter((r) => {
      const kind = itemKindOf(r.request.partitionKey ?? '');
      return kind === undefined || !handlerGrants(r.handler).table[r.request.operation as (typeof LEDGER_ACTIONS)[number]].includes(kind);
    });

    assert.ok(writes.length > 100, `${writes.length} writes recorded`);
    assert.deepEqual([...new Set(foreign.map(describeRequest))], []);
    assert.deepEqual(recorded.filter((r) => r.request.operation === 'DeleteItem' && itemKindOf(r.request.partitionKey ?? '') === 'release').map(describeRequest), []);
  });

  it("of the operator API writes only start records, the freeze and an abort's abort.requested (decision 053)", () => {
    const kinds = new Set(recorded.filter((r) => r.handler === 'operator-api').map((r) => `${r.request.operation} ${itemKindOf(r.request.partitionKey ?? '')}`));

    assert.deepEqual([...kinds].sort(), ['PutItem initiator', 'PutItem release', 'Query release', 'UpdateItem freeze']);
  });
});

/**
 * Grants the scenarios above do not exercise, each with the path that needs it. Kept exact: a grant that
 * is neither exercised nor listed here is one too many, and a listed one the scenarios now reach is stale.
 */
const NOT_EXERCISED: Record<string, string> = {
  'stage-lease PutItem token': 'preemptHolder → endBake gives a claimed bake token back when recording the bake failure fails (putToken(BAKE))',
  'stage-lease PutItem alarmIndex': 'the same give-back re-indexes the bake token under its alarms',
  'bake-timer PutItem token': 'endBake gives the claimed bake token back when recording the outcome fails (putToken(BAKE))',
  'bake-timer PutItem alarmIndex': 'the same give-back re-indexes the token under its alarms',
  'alarm-watch PutItem token': 'endBake gives the claimed bake token back when recording the failure fails (putToken(BAKE))',
  'alarm-watch PutItem alarmIndex': 'the same give-back re-indexes the token under its alarms',
  'approval-decide PutItem token': 'a decision whose recording or delivery fails puts the claimed approval token back (withTokenGivenBack)',
  'approval-request DeleteItem token':
    'an operator rollback took the stage between the approval token being stored and the wait being recorded: the token is taken back and its task failed',
  'record-step Query index': 'HandleInternalError frees every lease of the release (leasesOf, then freeLease)',
  'record-step DeleteItem alarmIndex': "the bake's safety timeout (States.Timeout): PlanRollback claims the bake token (closeTimedOutBake) and its alarm index entries",
  'reconciler DeleteItem stage': "freeing a dead execution's lease wakes the releases waiting for it (takeLeaseWaiters claims each waiter)",
  'image-gates DeleteItem token':
    "the scan ended between the gates' read and the scan-wait registration: the registration's own read claims its token back and completes the wait (test/unit/scan-wait.test.ts, test/workflow/scan-wait-events.test.ts)",
  'image-gates DeleteItem alarmIndex': "the same claim deletes the scan token's image index entries",
  'scan-watch PutItem token': "SendTaskSuccess failed: scan-watch gives the claimed scan token back for EventBridge's retry (test/unit/scan-wait.test.ts)",
  'scan-watch PutItem alarmIndex': 'the same give-back re-indexes the token under its image',
  'intake GetItem pusher': 'a CloudTrail PutImage record delivered again after the release already carries its pusher (getStartPusher spares the retry)',
};

describe('the grants', () => {
  it('are each needed: exercised by the scenarios, or listed with the path that needs them', () => {
    const exercised = new Set(
      recorded.map((r) => (r.request.index ? `${r.handler} Query index` : `${r.handler} ${r.request.operation} ${itemKindOf(r.request.partitionKey ?? '')}`)),
    );
    const granted: string[] = [];
    for (const handler of Object.keys(HANDLERS)) {
      const g = handlerGrants(handler);
      for (const action of LEDGER_ACTIONS) for (const kind of g.table[action]) granted.push(`${handler} ${action} ${kind}`);
      if (g.index) granted.push(`${handler} Query index`);
    }
    const unused = granted.filter((g) => !exercised.has(g));

    assert.deepEqual(
      unused.filter((g) => !(g in NOT_EXERCISED)),
      [],
      'granted, never used by a scenario, and not listed in NOT_EXERCISED',
    );
    assert.deepEqual(
      Object.keys(NOT_EXERCISED).filter((g) => !unused.includes(g)),
      [],
      'listed in NOT_EXERCISED but exercised (or no longer granted): remove them',
    );
  });
});
