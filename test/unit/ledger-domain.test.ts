import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import {
  chainEvent,
  GENESIS_HASH,
  LEDGER_EVENT_TYPES,
  type LedgerEvent,
  type LedgerEventInput,
  projectRelease,
  REFUSALS_KEPT,
  verifyChain,
  withRefusals,
} from '../../lambdas/domain/ledger';

const DEV_DIGEST = `sha256:${'a'.repeat(64)}`;
const OLD_DIGEST = `sha256:${'b'.repeat(64)}`;

function chain(inputs: readonly LedgerEventInput[]): LedgerEvent[] {
  const out: LedgerEvent[] = [];
  for (const input of inputs) out.push(chainEvent(out.at(-1), input));
  return out;
}

/** A release promoted in dev, deployed in prod, failed its prod bake and was rolled back. */
function journey(releaseId = 'rel-1'): LedgerEventInput[] {
  let t = Date.parse('2026-11-24T10:00:00Z');
  const at = () => new Date((t += 60_000)).toISOString();
  const e = (type: LedgerEventInput['type'], stage: string | undefined, data: Record<string, unknown>, stepKey: string): LedgerEventInput => ({
    releaseId,
    stepKey,
    type,
    at: at(),
    ...(stage ? { stage } : {}),
    data,
  });
  return [
    e(
      'release.started',
      undefined,
      { service: 'payments', digest: DEV_DIGEST, tag: 'v1.2.3', initiator: 'arn:aws:iam::111122223333:user/alice', stages: ['dev', 'prod'] },
      'start',
    ),
    e('release.attributed', undefined, { initiator: 'arn:aws:iam::111122223333:user/alice', source: 'CloudTrail PutImage' }, 'attributed'),
    e('stage.started', 'dev', { previousDigest: OLD_DIGEST }, 'dev/start'),
    e('lease.acquired', 'dev', { owner: 'exec-1' }, 'dev/lease'),
    e('gate.evaluated', 'dev', { gate: 'window', result: 'PASS', reason: 'inside window' }, 'dev/gate/window'),
    e('gate.evaluated', 'dev', { gate: 'image.scan', result: 'WARN', reason: '1 medium finding', evidence: { findings: 1 } }, 'dev/gate/scan'),
    e('deploy.started', 'dev', { buildId: 'build:1' }, 'dev/deploy/start'),
    e('deploy.finished', 'dev', { result: 'SUCCEEDED', digest: DEV_DIGEST }, 'dev/deploy/end'),
    e('bake.started', 'dev', {}, 'dev/bake/start'),
    e('bake.finished', 'dev', { result: 'PASS' }, 'dev/bake/end'),
    e('stage.promoted', 'dev', { digest: DEV_DIGEST }, 'dev/promoted'),
    e('lease.released', 'dev', { owner: 'exec-1' }, 'dev/unlock'),
    e('stage.started', 'prod', { previousDigest: OLD_DIGEST }, 'prod/start'),
    // A Terraform stage that plans first (decision 049): plan 1 went stale after its approval, plan 2 is the one approved.
    e('plan.recorded', 'prod', { sha256: 'a'.repeat(64), key: 'evidence/rel-1/prod/plan-1/tfplan', adds: 0, changes: 1, destroys: 0, attempt: 1 }, 'prod/plan/1'),
    e('plan.stale', 'prod', { sha256: 'a'.repeat(64), attempt: 1, message: 'Saved plan is stale' }, 'prod/plan/1/stale'),
    e('plan.recorded', 'prod', { sha256: 'b'.repeat(64), key: 'evidence/rel-1/prod/plan-2/tfplan', adds: 1, changes: 2, destroys: 0, attempt: 2 }, 'prod/plan/2'),
    e('stage.waiting', 'prod', { for: 'approval' }, 'prod/wait'),
    e(
      'approval.refused',
      'prod',
      { principal: 'arn:aws:sts::111122223333:assumed-role/ReleaseApprovers/alice', reason: 'alice started this release' },
      'prod/approval/refused/req-1',
    ),
    e('approval.recorded', 'prod', { principal: 'arn:aws:iam::111122223333:user/carol', person: 'carol', decision: 'APPROVED', count: 1, required: 2 }, 'prod/approval/1'),
    e(
      'gate.evaluated',
      'prod',
      { gate: 'approval', result: 'PASS', reason: 'approved', decision: 'APPROVED', principal: 'arn:aws:iam::111122223333:user/bob', comment: 'ok' },
      'prod/approval',
    ),
    e('deploy.started', 'prod', { buildId: 'build:2' }, 'prod/deploy/start'),
    e('canary.step', 'prod', { step: 1, weight: 100, status: 'passed' }, 'prod/canary/1'),
    e('deploy.finished', 'prod', { result: 'SUCCEEDED', digest: DEV_DIGEST }, 'prod/deploy/end'),
    e('wave.finished', 'prod', { wave: 1, of: 1, result: 'SUCCEEDED', clusters: ['prod'] }, 'prod/wave/1'),
    e('bake.started', 'prod', {}, 'prod/bake/start'),
    e('bake.event-ignored', 'prod', { alarm: 'payments-5xx', changedAt: '2026-11-24T08:00:00.000Z', reason: 'state change before the bake' }, 'prod/bake/ignored'),
    e('bake.finished', 'prod', { result: 'FAIL', reason: 'alarm payments-5xx in ALARM' }, 'prod/bake/end'),
    e('rollback.started', 'prod', { reason: 'bake failed', toDigest: OLD_DIGEST, fromDigest: DEV_DIGEST, detectedAt: '2026-11-24T10:17:30.000Z' }, 'prod/rollback/start'),
    e('deploy.started', 'prod', { kind: 'rollback', buildId: 'build:3' }, 'prod/rollback/deploy/start'),
    e('deploy.finished', 'prod', { kind: 'rollback', result: 'SUCCEEDED', digest: OLD_DIGEST }, 'prod/rollback/deploy/end'),
    e('rollback.finished', 'prod', { result: 'SUCCEEDED', message: 'back on the last known good digest' }, 'prod/rollback/end'),
    e('stage.finished', 'prod', { status: 'ROLLED_BACK', reason: 'bake failed' }, 'prod/end'),
    e('lease.lost', 'prod', { to: 'payments-rollback-1', by: 'arn:aws:sts::111122223333:assumed-role/Operators/carol', reason: 'operator rollback' }, 'prod/lost-after'),
    // Only a drill's own record has drill.recorded (decision 052); the projection reads it wherever it is.
    e('drill.recorded', 'prod', { stage: 'prod', status: 'SUCCEEDED', fromDigest: DEV_DIGEST, toDigest: OLD_DIGEST, timeToRestoreSeconds: 360, legs: [] }, 'prod/drill'),
    // gantry abort (decision 053): the first request is the one the summary keeps.
    e('abort.requested', undefined, { by: 'arn:aws:iam::111122223333:user/carol', reason: 'wrong digest' }, 'abort'),
    e('release.finished', undefined, { status: 'ROLLED_BACK', reason: 'prod bake failed' }, 'end'),
  ];
}

const flip = (hex: string): string => (hex[0] === '0' ? '1' : '0') + hex.slice(1);

/** One edit per field of an event: each returns the edited copy. */
const EDITS: Record<string, (e: LedgerEvent) => LedgerEvent> = {
  releaseId: (e) => ({ ...e, releaseId: `${e.releaseId}-x` }),
  stepKey: (e) => ({ ...e, stepKey: `${e.stepKey}-x` }),
  type: (e) => ({ ...e, type: LEDGER_EVENT_TYPES.find((t) => t !== e.type) ?? e.type }),
  at: (e) => ({ ...e, at: new Date(Date.parse(e.at) + 1000).toISOString() }),
  stage: (e) => ({ ...e, stage: e.stage === 'prod' ? 'dev' : 'prod' }),
  data: (e) => ({ ...e, data: { ...e.data, edited: true } }),
  seq: (e) => ({ ...e, seq: e.seq + 100 }),
  prevHash: (e) => ({ ...e, prevHash: flip(e.prevHash) }),
  hash: (e) => ({ ...e, hash: flip(e.hash) }),
};

describe('ledger hash chain', () => {
  it('verifies a chain built with chainEvent', () => {
    const events = chain(journey());

    const result = verifyChain(events);

    assert.deepEqual(result, { ok: true, events: events.length, problems: [] });
    assert.equal(events[0]?.prevHash, GENESIS_HASH);
    assert.deepEqual(
      events.map((e) => e.seq),
      events.map((_, i) => i + 1),
    );
  });

  it('fails and names the event when any field of any event is edited', () => {
    const events = chain(journey());
    let checked = 0;
    for (const [field, edit] of Object.entries(EDITS)) {
      events.forEach((original, i) => {
        const edited = edit(original);
        const tampered = events.map((e, j) => (j === i ? edited : e));

        const result = verifyChain(tampered);

        assert.equal(result.ok, false, `editing ${field} of event ${original.seq} went unnoticed`);
        assert.ok(
          result.problems.some((p) => p.startsWith(`event ${edited.seq}:`)),
          `editing ${field} of event ${original.seq}: no problem names event ${edited.seq}: ${result.problems.join('; ')}`,
        );
        checked++;
      });
    }
    assert.equal(checked, Object.keys(EDITS).length * events.length);
  });

  it('fails and names the next event when an event is removed from the middle', () => {
    const events = chain(journey());
    for (let i = 0; i < events.length - 1; i++) {
      const removed = events.filter((_, j) => j !== i);

      const result = verifyChain(removed);

      assert.equal(result.ok, false, `removing event ${i + 1} went unnoticed`);
      assert.ok(
        result.problems.some((p) => p.startsWith(`event ${i + 2}:`)),
        `removing event ${i + 1}: ${result.problems.join('; ')}`,
      );
    }
  });

  it('detects a removed last event only against the summary, whose lastHash anchors the chain', () => {
    const events = chain(journey());
    const summary = projectRelease(events);
    const truncated = events.slice(0, -1);

    const chainAlone = verifyChain(truncated);
    const reprojected = projectRelease(truncated);

    assert.equal(chainAlone.ok, true);
    assert.notEqual(reprojected?.lastHash, summary?.lastHash);
    assert.notEqual(reprojected?.version, summary?.version);
  });

  it('fails and names the events when two events swap places in the sequence', () => {
    const events = chain(journey());
    for (let i = 0; i < events.length - 1; i++) {
      const a = events[i] as LedgerEvent;
      const b = events[i + 1] as LedgerEvent;
      const swapped = events.map((e, j) => (j === i ? { ...b, seq: a.seq } : j === i + 1 ? { ...a, seq: b.seq } : e));

      const result = verifyChain(swapped);

      assert.equal(result.ok, false, `swapping events ${a.seq} and ${b.seq} went unnoticed`);
      assert.ok(
        result.problems.some((p) => p.startsWith(`event ${a.seq}:`)),
        `swapping events ${a.seq} and ${b.seq}: ${result.problems.join('; ')}`,
      );
    }
  });

  it('does not depend on the order the events are passed in', () => {
    const events = chain(journey());

    const result = verifyChain([...events].reverse());

    assert.equal(result.ok, true);
  });
});

describe('projectRelease', () => {
  it('folds a release through promotion in dev and a rolled-back prod bake', () => {
    const inputs = journey();
    const events = chain(inputs);

    const summary = projectRelease(events);

    assert.ok(summary);
    assert.deepEqual(
      LEDGER_EVENT_TYPES.filter((t) => !inputs.some((i) => i.type === t)),
      [],
      'the journey exercises every event type',
    );
    assert.equal(summary.releaseId, 'rel-1');
    assert.equal(summary.service, 'payments');
    assert.equal(summary.drill?.timeToRestoreSeconds, 360);
    assert.equal(summary.abort?.by, 'arn:aws:iam::111122223333:user/carol');
    assert.equal(summary.abort?.reason, 'wrong digest');
    assert.equal(summary.drill?.toDigest, OLD_DIGEST);
    assert.equal(summary.digest, DEV_DIGEST);
    assert.equal(summary.tag, 'v1.2.3');
    assert.equal(summary.initiator, 'arn:aws:iam::111122223333:user/alice');
    assert.equal(summary.status, 'ROLLED_BACK');
    assert.equal(summary.reason, 'prod bake failed');
    assert.equal(summary.startedAt, events[0]?.at);
    assert.equal(summary.endedAt, events.at(-1)?.at);
    assert.equal(summary.version, events.length);
    assert.equal(summary.lastHash, events.at(-1)?.hash);
    assert.deepEqual(
      summary.stages.map((s) => [s.name, s.status]),
      [
        ['dev', 'PROMOTED'],
        ['prod', 'ROLLED_BACK'],
      ],
    );
  });

  it("projects a Terraform stage's latest saved plan and the plans that went stale (decision 049)", () => {
    const prod = projectRelease(chain(journey()))?.stages.find((s) => s.name === 'prod');

    assert.equal(prod?.plan?.sha256, 'b'.repeat(64));
    assert.deepEqual(
      { ...prod?.plan, at: undefined },
      { sha256: 'b'.repeat(64), key: 'evidence/rel-1/prod/plan-2/tfplan', adds: 1, changes: 2, destroys: 0, attempt: 2, at: undefined },
    );
    assert.deepEqual(
      prod?.stalePlans?.map((p) => [p.sha256, p.attempt, p.message]),
      [['a'.repeat(64), 1, 'Saved plan is stale']],
    );
    assert.equal(projectRelease(chain(journey()))?.stages.find((s) => s.name === 'dev')?.plan, undefined);
  });

  it('keeps gates in the order they were evaluated, with their evidence', () => {
    const summary = projectRelease(chain(journey()));

    const dev = summary?.stages.find((s) => s.name === 'dev');

    assert.deepEqual(dev?.gates, [
      { gate: 'window', result: 'PASS', reason: 'inside window', evidence: undefined },
      { gate: 'image.scan', result: 'WARN', reason: '1 medium finding', evidence: { findings: 1 } },
    ]);
  });

  it('records the deployed digest, the deploy and the bake of each stage, ignoring the rollback deploy', () => {
    const events = chain(journey());

    const summary = projectRelease(events);

    const dev = summary?.stages.find((s) => s.name === 'dev');
    const prod = summary?.stages.find((s) => s.name === 'prod');
    assert.equal(dev?.deployedDigest, DEV_DIGEST);
    assert.equal(dev?.previousDigest, OLD_DIGEST);
    assert.equal(dev?.bake?.result, 'PASS');
    assert.equal(prod?.deployedDigest, DEV_DIGEST);
    assert.equal(prod?.deploy?.result, 'SUCCEEDED');
    assert.equal(prod?.deploy?.buildId, 'build:2');
    assert.deepEqual({ result: prod?.bake?.result, reason: prod?.bake?.reason }, { result: 'FAIL', reason: 'alarm payments-5xx in ALARM' });
  });

  it('records the rollback with its reason, digests, detection time and result', () => {
    const events = chain(journey());
    const started = events.find((e) => e.type === 'rollback.started');
    const finished = events.find((e) => e.type === 'rollback.finished');

    const prod = projectRelease(events)?.stages.find((s) => s.name === 'prod');

    assert.deepEqual(prod?.rollback, {
      reason: 'bake failed',
      toDigest: OLD_DIGEST,
      fromDigest: DEV_DIGEST,
      detectedAt: '2026-11-24T10:17:30.000Z',
      startedAt: started?.at,
      result: 'SUCCEEDED',
      endedAt: finished?.at,
      message: 'back on the last known good digest',
    });
  });

  it('records the approval decision and who made it', () => {
    const prod = projectRelease(chain(journey()))?.stages.find((s) => s.name === 'prod');

    assert.equal(prod?.approval?.decision, 'APPROVED');
    assert.equal(prod?.approval?.principal, 'arn:aws:iam::111122223333:user/bob');
    assert.equal(prod?.approval?.comment, 'ok');
  });

  it('lists refused approval attempts on the stage, with who and why', () => {
    const events = chain(journey());
    const refused = events.find((e) => e.type === 'approval.refused');

    const prod = projectRelease(events)?.stages.find((s) => s.name === 'prod');

    assert.deepEqual(prod?.refusals, [{ principal: 'arn:aws:sts::111122223333:assumed-role/ReleaseApprovers/alice', reason: 'alice started this release', at: refused?.at }]);
    assert.equal(prod?.refusalCount, 1);
    assert.equal(projectRelease(events)?.stages.find((s) => s.name === 'dev')?.refusals, undefined);
  });

  it('counts every refusal recorded as an event (older records) but keeps only the newest few', () => {
    const base = journey().slice(0, 2);
    const refusals = Array.from({ length: 40 }, (_, i): LedgerEventInput => ({
      releaseId: 'rel-1',
      stepKey: `prod/approval/refused/req-${i}`,
      type: 'approval.refused',
      at: new Date(Date.parse('2026-11-24T10:00:00Z') + i * 1000).toISOString(),
      stage: 'prod',
      data: { principal: `arn:aws:sts::111122223333:assumed-role/Contractors/c${i}`, reason: 'not an approver' },
    }));

    const prod = projectRelease(chain([...base, ...refusals]))?.stages.find((s) => s.name === 'prod');

    assert.equal(prod?.refusalCount, 40);
    assert.deepEqual(
      prod?.refusals?.map((r) => r.principal.split('/').at(-1)),
      ['c35', 'c36', 'c37', 'c38', 'c39'],
    );
    assert.equal(REFUSALS_KEPT, 5);
  });
});

describe('withRefusals', () => {
  const note = (who: string, at: string) => ({ principal: `arn:aws:iam::111122223333:user/${who}`, reason: 'not an approver', at, code: 'not-an-approver' });

  it('folds stored refusals into their stage: the count added, the newest few kept in time order', () => {
    const summary = projectRelease(chain(journey()));
    assert.ok(summary);

    const merged = withRefusals(summary, [
      { stage: 'prod', count: 1000, last: ['10:30', '10:31', '10:32', '10:33', '10:34'].map((t, i) => note(`u${i}`, `2026-11-24T${t}:00.000Z`)) },
      { stage: 'nowhere', count: 3, last: [] },
    ]);
    const prod = merged.stages.find((s) => s.name === 'prod');

    assert.equal(prod?.refusalCount, 1001);
    assert.equal(prod?.refusals?.length, REFUSALS_KEPT);
    assert.deepEqual(
      prod?.refusals?.map((r) => r.at),
      ['2026-11-24T10:30:00.000Z', '2026-11-24T10:31:00.000Z', '2026-11-24T10:32:00.000Z', '2026-11-24T10:33:00.000Z', '2026-11-24T10:34:00.000Z'],
    );
    assert.equal(merged.stages.find((s) => s.name === 'dev')?.refusalCount, undefined);
    assert.equal(merged.stages.length, summary.stages.length);
  });

  it('leaves a summary without stored refusals as it is', () => {
    const summary = projectRelease(chain(journey()));
    assert.ok(summary);

    assert.equal(withRefusals(summary, []), summary);
  });

  it('shows a release still running, with stages not started, before it finishes', () => {
    const events = chain(journey().slice(0, 4));

    const summary = projectRelease(events);

    assert.equal(summary?.status, 'RUNNING');
    assert.equal(summary?.endedAt, undefined);
    assert.deepEqual(
      summary?.stages.map((s) => [s.name, s.status]),
      [
        ['dev', 'WAITING'],
        ['prod', 'NOT_STARTED'],
      ],
    );
  });

  it('marks a waiting stage ABORTED when the release is aborted', () => {
    const inputs = journey().slice(0, 13);
    const last = inputs.at(-1) as LedgerEventInput;
    const events = chain([
      ...inputs,
      { releaseId: last.releaseId, stepKey: 'abort', type: 'release.finished', at: '2026-11-24T12:00:00.000Z', data: { status: 'ABORTED', reason: 'execution aborted' } },
    ]);

    const summary = projectRelease(events);

    assert.equal(summary?.status, 'ABORTED');
    assert.equal(summary?.stages.find((s) => s.name === 'prod')?.status, 'ABORTED');
    assert.equal(summary?.stages.find((s) => s.name === 'dev')?.status, 'PROMOTED');
  });

  it('projects nothing when the first event is not release.started', () => {
    const events = chain(journey().slice(1));

    assert.equal(projectRelease(events), undefined);
  });
});
