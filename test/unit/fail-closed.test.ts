/**
 * Failing closed on AWS errors and honest rollback records (issue 13; decision 018): the pure policy
 * (lambdas/domain) and the record-step / reconciler paths that close a stage an error left open.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { DynamoLedger } from '../../lambdas/adapters/dynamo-ledger';
import { parseConfig } from '../../lambdas/domain/config';
import { alarmReadFailureReason, evaluateAlarmReadFailure } from '../../lambdas/domain/gates';
import { chainEvent, type LedgerEvent, type LedgerEventInput } from '../../lambdas/domain/ledger';
import { bakeTimeoutReason, closeOpenStage, rollbackFrom, rollbackFromText } from '../../lambdas/domain/release';
import type { Deps } from '../../lambdas/ports';
import { run as reconciler } from '../../lambdas/reconciler';
import { run as recordStep } from '../../lambdas/record-step';
import { loadRelease, record } from '../../lambdas/shared/recorder';
import type { LocalDynamo } from '../../local/dynamo';
import { startMemoryDynamo } from '../../local/memory-dynamo';
import { ledgerOnlyDeps } from '../helpers/ledger-deps';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const config = parseConfig(JSON.parse(readFileSync(join(__dirname, '../../examples/gantry.config.json'), 'utf8')));

/** The stage's lease, as the workflow's AcquireStageLease gives it: a rollback deploys only under it. */
async function holdLease(ledger: DynamoLedger, releaseId: string): Promise<void> {
  const r = await projectReleaseOf(ledger, releaseId);
  const stage = r.stage;
  const lease = await ledger.acquireLease('payments', stage, releaseId, '2026-11-24T10:00:00Z');
  await ledger.append({ releaseId, stepKey: `stage:${stage}:lease.acquired`, type: 'lease.acquired', at: '2026-11-24T10:00:00Z', data: { fence: lease.fence ?? null }, stage });
}

async function projectReleaseOf(ledger: DynamoLedger, releaseId: string): Promise<{ stage: string }> {
  const started = (await ledger.events(releaseId)).find((e) => e.type === 'release.started');
  const stage = (started?.data.stages as string[] | undefined)?.[0];
  if (!stage) throw new Error(`release ${releaseId} names no stage`);
  return { stage };
}

describe('alarm read failures (domain)', () => {
  it('names every alarm and the error once, and shortens a long message', () => {
    const denied = { name: 'AccessDeniedException', message: 'AccessDeniedException: User arn:aws:sts::1:assumed-role/x is not authorized to perform: cloudwatch:DescribeAlarms' };
    assert.equal(
      alarmReadFailureReason(['payments-prod-5xx', 'payments-prod-latency-p99'], denied),
      'could not read alarms payments-prod-5xx, payments-prod-latency-p99: AccessDeniedException: User arn:aws:sts::1:assumed-role/x is not authorized to perform: cloudwatch:DescribeAlarms',
    );
    assert.equal(alarmReadFailureReason(['a'], { name: 'ThrottlingException', message: '' }), 'could not read alarm a: ThrottlingException');
    const long = alarmReadFailureReason(['a'], { name: 'InternalServiceFault', message: 'x'.repeat(1000) });
    assert.ok(long.length < 360 && long.endsWith('…'), long);
  });

  it('is a FAIL of the gate that read, with the alarms and the whole error as evidence', () => {
    const error = { name: 'AccessDeniedException', message: 'denied' };
    const g = evaluateAlarmReadFailure('bake', ['a', 'b'], error, 'final check after 30 minutes');
    assert.deepEqual(g, {
      gate: 'bake',
      result: 'FAIL',
      reason: 'final check after 30 minutes: could not read alarms a, b: AccessDeniedException: denied',
      evidence: { alarms: ['a', 'b'], error },
    });
    assert.equal(evaluateAlarmReadFailure('alarms.pre-deploy', ['a'], error).result, 'FAIL');
  });
});

describe('the bake safety timeout reason', () => {
  it('says nothing ended the bake when no verdict was recorded, and which verdict was lost when one was', () => {
    assert.equal(bakeTimeoutReason(undefined), 'bake did not end within its safety timeout: nothing ended the bake (no final check ran)');
    assert.equal(bakeTimeoutReason({ result: 'RUNNING' }), 'bake did not end within its safety timeout: nothing ended the bake (no final check ran)');
    assert.equal(
      bakeTimeoutReason({ result: 'PASS', endedAt: '2026-11-24T10:14:00.000Z' }),
      'bake did not end within its safety timeout: its verdict (PASS at 2026-11-24T10:14:00.000Z) was recorded but never reached the workflow',
    );
  });
});

describe('the digest a rollback rolls back from (domain)', () => {
  const release = { kind: 'release' as const, digest: D2 };
  it('is the digest the release tried to deploy, deployed or not', () => {
    assert.deepEqual(rollbackFrom(release, { deploy: { result: 'FAILED' } }, D1), { fromDigest: D2, fromDeployed: false });
    assert.deepEqual(rollbackFrom(release, { deploy: { result: 'RUNNING' } }, D1), { fromDigest: D2, fromDeployed: false });
    assert.deepEqual(rollbackFrom(release, { deploy: { result: 'SUCCEEDED' }, deployedDigest: D2 }, D2), { fromDigest: D2, fromDeployed: true });
  });
  it('is the running digest when this release deployed nothing there (an operator rollback)', () => {
    assert.deepEqual(rollbackFrom({ kind: 'rollback', digest: D1 }, undefined, D2), { fromDigest: D2, fromDeployed: true });
    assert.deepEqual(rollbackFrom({ kind: 'rollback', digest: D1 }, undefined, undefined), { fromDigest: null, fromDeployed: false });
  });
  it('is printed with "nothing was deployed" only when that is so', () => {
    assert.equal(rollbackFromText({ fromDigest: D2, fromDeployed: false }), `from ${D2} (its deploy did not finish: nothing was deployed)`);
    assert.equal(rollbackFromText({ fromDigest: D2, fromDeployed: true }), `from ${D2}`);
    assert.equal(rollbackFromText({ fromDigest: D2 }), `from ${D2}`, 'an older record without fromDeployed');
    assert.equal(rollbackFromText({}), 'from (not recorded)');
  });
});

describe('closing a stage an internal error left open (domain)', () => {
  const chain = (inputs: Array<Omit<LedgerEventInput, 'releaseId' | 'at'> & { at?: string }>): LedgerEvent[] => {
    const out: LedgerEvent[] = [];
    for (const i of inputs) out.push(chainEvent(out.at(-1), { releaseId: 'r', at: i.at ?? '2026-11-24T10:00:00.000Z', ...i }));
    return out;
  };
  const startedRollback = [
    { stepKey: 'stage:dev:rollback.started', type: 'rollback.started' as const, stage: 'dev', data: { reason: 'alarm a in ALARM at bake minute 3', toDigest: D1 } },
    { stepKey: 'stage:dev:rollback.deploy.started', type: 'deploy.started' as const, stage: 'dev', data: { kind: 'rollback', digest: D1 } },
  ];

  it('closes ROLLED_BACK, with the rollback result and recovery unknown, when the rollback deploy succeeded', () => {
    const events = chain([
      ...startedRollback,
      {
        stepKey: 'stage:dev:rollback.deploy.finished',
        type: 'deploy.finished',
        stage: 'dev',
        at: '2026-11-24T10:05:00.000Z',
        data: { kind: 'rollback', digest: D1, result: 'SUCCEEDED' },
      },
    ]);
    const writes = closeOpenStage('dev', events, 'internal error: X');
    assert.deepEqual(
      writes.map((w) => w.type),
      ['rollback.finished', 'stage.finished'],
    );
    assert.deepEqual(writes[0]?.data, {
      result: 'SUCCEEDED',
      toDigest: D1,
      message: null,
      recovery: { recovered: null, reason: 'recovery unknown: internal error: X' },
      deployEndedAt: '2026-11-24T10:05:00.000Z',
      by: 'internal-error',
    });
    assert.deepEqual(writes[1]?.data, { status: 'ROLLED_BACK', reason: `alarm a in ALARM at bake minute 3; rolled back to ${D1}; recovery unknown: internal error: X` });
  });

  it('closes ROLLBACK_FAILED when the rollback deploy failed', () => {
    const events = chain([
      ...startedRollback,
      { stepKey: 'stage:dev:rollback.deploy.finished', type: 'deploy.finished', stage: 'dev', data: { kind: 'rollback', digest: D1, result: 'FAILED', message: 'UPGRADE FAILED' } },
    ]);
    const writes = closeOpenStage('dev', events, 'internal error: X');
    assert.equal(writes[0]?.data.result, 'FAILED');
    assert.deepEqual(writes[1]?.data, { status: 'ROLLBACK_FAILED', reason: `alarm a in ALARM at bake minute 3; rollback to ${D1} failed: UPGRADE FAILED` });
  });

  it('only writes the stage end when the rollback itself was recorded as finished', () => {
    const events = chain([
      ...startedRollback,
      { stepKey: 'stage:dev:rollback.deploy.finished', type: 'deploy.finished', stage: 'dev', data: { kind: 'rollback', digest: D1, result: 'SUCCEEDED' } },
      {
        stepKey: 'stage:dev:rollback.finished',
        type: 'rollback.finished',
        stage: 'dev',
        data: { result: 'SUCCEEDED', toDigest: D1, recovery: { recovered: false, reason: 'not recovered 5 minutes after the rollback: alarm a is in ALARM' } },
      },
    ]);
    const writes = closeOpenStage('dev', events, 'internal error: X');
    assert.deepEqual(writes, [
      {
        stepKey: 'stage:dev:finished',
        type: 'stage.finished',
        data: { status: 'ROLLED_BACK', reason: `alarm a in ALARM at bake minute 3; rolled back to ${D1}; not recovered 5 minutes after the rollback: alarm a is in ALARM` },
      },
    ]);
  });

  it('closes FAILED when no rollback deploy finished, saying a rollback was under way', () => {
    assert.deepEqual(closeOpenStage('dev', chain(startedRollback), 'internal error: X')[0]?.data, {
      status: 'FAILED',
      reason: `internal error: X (during the rollback to ${D1}, whose result is unknown)`,
    });
    assert.deepEqual(closeOpenStage('dev', [], 'internal error: X'), [
      { stepKey: 'stage:dev:finished', type: 'stage.finished', data: { status: 'FAILED', reason: 'internal error: X' } },
    ]);
  });
});

describe('record-step and the reconciler on a real ledger', () => {
  let dynamo: LocalDynamo;
  beforeAll(async () => {
    dynamo = await startMemoryDynamo();
  });
  afterAll(async () => {
    await dynamo?.close();
  });

  /** A release of D2 deployed to dev, its bake failed by an alarm, its rollback to D1 deployed: then `internal error`. */
  async function rolledBackDev(releaseId: string): Promise<{ deps: Deps; ledger: DynamoLedger }> {
    const ledger = new DynamoLedger({ client: dynamo.doc, tableName: dynamo.tableName });
    const deps = ledgerOnlyDeps(config, ledger);
    await ledger.markGood('payments', 'dev', D1, '2026-11-20T10:00:00Z');
    await ledger.setRunning('payments', 'dev', D1, '2026-11-20T10:00:00Z');
    await record(deps, releaseId, 'release.started', 'release.started', { kind: 'release', service: 'payments', digest: D2, stages: ['dev'] });
    await recordStep({ action: 'begin-stage', releaseId, stageIndex: 0 }, deps);
    await holdLease(ledger, releaseId);
    await recordStep({ action: 'deploy-started', releaseId, stage: 'dev' }, deps);
    await recordStep({ action: 'deployed', releaseId, stage: 'dev', buildId: 'gantry-helm:b-1' }, deps);
    const breach = JSON.stringify({ alarm: 'payments-dev-5xx', detectedAt: '2026-11-24T11:58:00.000Z', bakeMinute: 3 });
    await recordStep({ action: 'plan-rollback', releaseId, stage: 'dev', failure: { Error: 'AlarmBreached', Cause: breach } }, deps);
    await recordStep({ action: 'rollback-deployed', releaseId, stage: 'dev', buildId: 'gantry-helm:b-2' }, deps);
    return { deps, ledger };
  }

  it('internal-error after a successful rollback deploy ends the release ROLLED_BACK with its rollback result', async () => {
    const { deps } = await rolledBackDev('rel-internal');
    const out = await recordStep({ action: 'internal-error', releaseId: 'rel-internal', error: { Error: 'AccessDeniedException', Cause: 'denied' } }, deps);
    assert.equal(out.status, 'ROLLED_BACK');
    const r = await loadRelease(deps, 'rel-internal');
    assert.equal(r.status, 'ROLLED_BACK');
    const dev = r.stages[0];
    assert.equal(dev?.status, 'ROLLED_BACK');
    assert.equal(dev?.rollback?.result, 'SUCCEEDED');
    assert.equal(dev?.rollback?.fromDigest, D2);
    assert.equal(dev?.rollback?.fromDeployed, true);
    assert.equal(dev?.rollback?.recovery?.recovered, null);
    assert.match(dev?.rollback?.recovery?.reason ?? '', /^recovery unknown: internal error: AccessDeniedException — denied/);
  });

  it('the reconciler closes a dead execution the same way', async () => {
    const { deps } = await rolledBackDev('rel-dead');
    const arn = 'arn:aws:states:eu-west-2:111122223333:execution:gantry-release:rel-dead';
    await reconciler(
      {
        version: '0',
        id: 'e-1',
        'detail-type': 'Step Functions Execution Status Change',
        source: 'aws.states',
        account: '111122223333',
        time: '2026-11-24T12:00:00Z',
        region: 'eu-west-2',
        resources: [arn],
        detail: {
          executionArn: arn,
          stateMachineArn: 'arn:aws:states:eu-west-2:111122223333:stateMachine:gantry-release',
          name: 'rel-dead',
          status: 'TIMED_OUT',
          startDate: 1,
          stopDate: 2,
          input: '{}',
          output: null,
        },
      },
      deps,
    );
    const r = await loadRelease(deps, 'rel-dead');
    assert.equal(r.status, 'ROLLED_BACK');
    assert.equal(r.stages[0]?.rollback?.result, 'SUCCEEDED');
  });

  it('the reconciler closes a drill record its drill workflow left open (DrillFailedInternally), FAILED with the error', async () => {
    const ledger = new DynamoLedger({ client: dynamo.doc, tableName: dynamo.tableName });
    const deps = ledgerOnlyDeps(config, ledger);
    const id = 'payments-dev-drill-20261124T120000Z-0a1b2c';
    await record(deps, id, 'release.started', 'release.started', { kind: 'drill', service: 'payments', digest: D2, stages: ['dev'] });
    await record(deps, id, 'stage:dev:started', 'stage.started', {}, 'dev');
    assert.equal((await loadRelease(deps, id)).status, 'RUNNING');
    const arn = `arn:aws:states:eu-west-2:111122223333:execution:gantry-drill:${id}`;
    const event = {
      version: '0',
      id: 'e-drill',
      'detail-type': 'Step Functions Execution Status Change',
      source: 'aws.states',
      account: '111122223333',
      time: '2026-11-24T12:20:00Z',
      region: 'eu-west-2',
      resources: [arn],
      detail: {
        executionArn: arn,
        stateMachineArn: 'arn:aws:states:eu-west-2:111122223333:stateMachine:gantry-drill',
        name: id,
        status: 'FAILED',
        error: 'DrillFailed',
        startDate: 1,
        stopDate: 2,
        input: '{}',
        output: null,
      },
    };
    await reconciler(event, deps);
    await reconciler(event, deps); // a duplicate delivery closes nothing twice
    const r = await loadRelease(deps, id);
    assert.equal(r.status, 'FAILED');
    assert.match(r.reason ?? '', /execution FAILED: DrillFailed/);
    assert.equal(r.stages[0]?.status, 'FAILED');
    assert.equal((await ledger.events(id)).filter((e) => e.type === 'release.finished').length, 1);
  });

  it('plan-rollback after the bake safety timeout claims the bake token and records the bake FAIL', async () => {
    const ledger = new DynamoLedger({ client: dynamo.doc, tableName: dynamo.tableName });
    const deps = ledgerOnlyDeps(config, ledger);
    const releaseId = 'rel-timeout';
    await ledger.markGood('payments', 'staging', D1, '2026-11-20T10:00:00Z');
    await record(deps, releaseId, 'release.started', 'release.started', { kind: 'release', service: 'payments', digest: D2, stages: ['staging'] });
    await recordStep({ action: 'begin-stage', releaseId, stageIndex: 0 }, deps);
    await holdLease(ledger, releaseId);
    await recordStep({ action: 'deploy-started', releaseId, stage: 'staging' }, deps);
    await recordStep({ action: 'deployed', releaseId, stage: 'staging', buildId: 'gantry-helm:b-1' }, deps);
    await record(deps, releaseId, 'stage:staging:bake.started', 'bake.started', { alarms: ['payments-staging-5xx'], bakeMinutes: 15 }, 'staging');
    await ledger.putToken({
      kind: 'BAKE',
      releaseId,
      service: 'payments',
      stage: 'staging',
      token: 'tok',
      alarms: ['payments-staging-5xx'],
      createdAt: '2026-11-24T11:00:00Z',
      expiresAt: '2026-11-26T11:00:00Z',
    });

    const out = await recordStep({ action: 'plan-rollback', releaseId, stage: 'staging', failure: { Error: 'States.Timeout', Cause: 'the task did not complete' } }, deps);
    assert.equal(out.reason, 'bake did not end within its safety timeout: nothing ended the bake (no final check ran)');
    assert.equal(await ledger.takeToken('BAKE', releaseId, 'staging'), undefined, 'nobody can end the bake after the rollback began');
    const st = (await loadRelease(deps, releaseId)).stages[0];
    const bake = st?.gates.find((g) => g.gate === 'bake');
    assert.deepEqual(bake && { gate: bake.gate, result: bake.result, reason: bake.reason }, { gate: 'bake', result: 'FAIL', reason: out.reason });
    assert.equal(st?.bake?.result, 'FAIL');
    assert.equal(st?.rollback?.fromDigest, D2);
  });
});
