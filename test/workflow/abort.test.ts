/**
 * `gantry abort` through the real workflows (decision 053): a scenario's `abort` trigger goes through the operator
 * API's Lambda, the local engine stops the execution, and the reconciler closes the record on the status event. What
 * the reconciler frees is watched at the boundaries: the bake timer's schedule is deleted (EventBridge Scheduler) and
 * the task tokens' items are deleted from the ledger table (the DynamoDB requests of each handler).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { ABORTED_FROM_OUTSIDE } from '../../lambdas/domain/operator-requests';
import type { LocalCloud } from '../../local/cloud';
import { loadScenario } from '../../local/scenario';
import { simulate } from '../../local/simulate';
import type { LedgerRequest } from '../../local/sim-types';
import { ROOT } from './helpers';

const CAROL = 'arn:aws:iam::111122223333:user/carol';
const ID = 'payments-2222222222222222';

/** abort-during-bake.json without its scripted (console) stop, with these triggers added. */
function scenario(triggers: unknown[], script: unknown[] = []): unknown {
  const s = JSON.parse(readFileSync(join(ROOT, 'examples', 'scenarios', 'abort-during-bake.json'), 'utf8'));
  s.triggers.push(...triggers);
  s.script = script;
  return s;
}

async function run(raw: unknown) {
  const timers = { scheduled: [] as string[], cancelled: [] as string[] };
  const requests: Array<{ handler: string; request: LedgerRequest }> = [];
  const watch = (cloud: LocalCloud) => {
    const schedule = cloud.schedule.bind(cloud);
    const cancel = cloud.cancel.bind(cloud);
    cloud.schedule = async (name, at, payload) => {
      timers.scheduled.push(name);
      return schedule(name, at, payload);
    };
    cloud.cancel = async (name) => {
      timers.cancelled.push(name);
      return cancel(name);
    };
  };
  const result = await simulate(loadScenario(raw, join(ROOT, 'examples', 'scenarios')), {
    prepareCloud: watch,
    observeLedger: (handler, request) => requests.push({ handler, request }),
  });
  return { ...result, timers, requests };
}

/** Who last wrote the item with this partition key, and how. */
function lastWrite(requests: ReadonlyArray<{ handler: string; request: LedgerRequest }>, pk: string) {
  const writes = requests.filter((r) => ['PutCommand', 'DeleteCommand', 'UpdateCommand'].includes(r.request.command) && JSON.stringify(r.request.input).includes(`"pk":"${pk}"`));
  const last = writes.at(-1);
  return last ? `${last.handler} ${last.request.command}` : undefined;
}

describe('abort through the operator API (scenario trigger)', () => {
  it("during the staging bake: the bake timer's schedule is deleted, its token item too, and the record says who and why", async () => {
    const { output, ledgerEvents, timers, requests } = await run(scenario([{ type: 'abort', service: 'payments', reason: 'wrong digest', principal: CAROL, at: 'PT20M' }]));

    assert.deepEqual(output.warnings, []);
    assert.deepEqual(output.leasesHeld, []);
    const r = output.releases.find((x) => x.releaseId === ID);
    assert.equal(r?.status, 'ABORTED');
    assert.equal(r?.reason, `aborted by ${CAROL}: wrong digest`);
    assert.equal(r?.stages.find((s) => s.name === 'staging')?.status, 'ABORTED');
    const stagingTimer = timers.scheduled.find((n) => n.includes('staging'));
    assert.ok(stagingTimer, `a staging bake timer was scheduled: ${timers.scheduled.join(', ')}`);
    assert.ok(timers.cancelled.includes(stagingTimer), `cancelled: ${timers.cancelled.join(', ')}`);
    assert.equal(lastWrite(requests, `TOKEN#BAKE#${ID}#staging`), 'reconciler DeleteCommand');
    // The bake timer never ran for staging: no bake.finished, and the bake-timer handler touched nothing of staging.
    assert.ok(!ledgerEvents.some((e) => e.stage === 'staging' && e.type === 'bake.finished'));
    assert.ok(!requests.some((x) => x.handler === 'bake-timer' && JSON.stringify(x.request.input).includes(`#${ID}#staging`)));
    const finished = output.lifecycle.filter((e) => e.detailType === 'Release Finished');
    assert.equal(finished.length, 1);
    assert.deepEqual([finished[0]?.detail.abortedBy, finished[0]?.detail.abortReason, finished[0]?.detail.reason], [CAROL, 'wrong digest', `aborted by ${CAROL}: wrong digest`]);
    // The operator API wrote abort.requested and nothing else of the release.
    const apiWrites = requests.filter((x) => x.handler === 'operator-api' && x.request.command !== 'QueryCommand');
    assert.ok(apiWrites.length > 0);
    assert.ok(
      apiWrites.every((x) => JSON.stringify(x.request.input).includes(`RELEASE#${ID}`)),
      JSON.stringify(apiWrites.map((x) => x.request.command)),
    );
    assert.deepEqual(
      ledgerEvents.filter((e) => e.type === 'abort.requested').map((e) => [e.releaseId, e.data.by, e.data.reason]),
      [[ID, CAROL, 'wrong digest']],
    );
  });

  it('while prod waits for its approval: the approval token item is deleted by the reconciler', async () => {
    const s = scenario([{ type: 'abort', releaseId: ID, reason: 'not today', principal: CAROL, at: 'PT40M' }]) as Record<string, any>;
    s.config = JSON.parse(readFileSync(join(ROOT, 'examples', 'gantry.config.json'), 'utf8'));
    s.config.services.payments.stages[2].approval = { approvers: ['arn:aws:iam::111122223333:role/ReleaseApprovers'], timeoutMinutes: 60 };
    const { output, ledgerEvents, requests } = await run(s);

    assert.ok(ledgerEvents.some((e) => e.stage === 'prod' && e.type === 'stage.waiting' && e.data.waitingFor === 'approval'));
    assert.equal(lastWrite(requests, `TOKEN#APPROVAL#${ID}#prod`), 'reconciler DeleteCommand');
    assert.equal(output.releases[0]?.status, 'ABORTED');
    assert.equal(output.releases[0]?.stages.find((x) => x.name === 'prod')?.status, 'ABORTED');
    assert.deepEqual(output.leasesHeld, []);
    assert.deepEqual(output.warnings, []);
  });

  it('refuses an abort after the release ended (noted on the timeline) and writes nothing for it', async () => {
    const { output, ledgerEvents } = await run(scenario([{ type: 'abort', releaseId: ID, reason: 'too late', principal: CAROL, at: 'PT2H' }]));

    assert.equal(output.releases[0]?.status, 'SUCCEEDED');
    assert.ok(!ledgerEvents.some((e) => e.type === 'abort.requested'));
    const refused = output.timeline.find((t) => t.event === 'Abort Refused');
    assert.match(refused?.reason ?? '', new RegExp(`^HTTP 409 to ${CAROL}: release ${ID} already ended SUCCEEDED at .*: nothing to abort$`));
  });

  it('rejects a bad reason at the API (400, noted) and leaves the release running to its end', async () => {
    const { output, ledgerEvents } = await run(scenario([{ type: 'abort', releaseId: ID, reason: '', principal: CAROL, at: 'PT20M' }]));

    assert.equal(output.releases[0]?.status, 'SUCCEEDED');
    assert.ok(!ledgerEvents.some((e) => e.type === 'abort.requested'));
    assert.match(output.timeline.find((t) => t.event === 'Abort Refused')?.reason ?? '', /HTTP 400 .*reason: expected a non-empty reason/);
  });

  it('a stop from outside (the scenario script, as the console does it) closes the record saying nobody is on record', async () => {
    const { output } = await run(scenario([], [{ when: { at: 'PT20M' }, abort: { service: 'payments' } }]));

    assert.equal(output.releases[0]?.status, 'ABORTED');
    assert.equal(output.releases[0]?.reason, ABORTED_FROM_OUTSIDE);
    const finished = output.lifecycle.find((e) => e.detailType === 'Release Finished');
    assert.equal(finished?.detail.abortedBy, undefined);
  });
});
