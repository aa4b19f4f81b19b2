/**
 * Controls that cannot go stale (issue 13): every decision is taken again at the moment a driver runs, leases
 * cannot expire under their holder, the newest digest wins the queue, and operator rollbacks come first.
 * Each case ran the wrong way before the point-of-action check, fenced leases and preemption were built.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import type { SimulationOutput } from '../../local/simulate';
import { D1, D2, ROOT, runInline } from './helpers';

const D3 = `sha256:${'3'.repeat(64)}`;
const D4 = `sha256:${'4'.repeat(64)}`;
const bob = 'arn:aws:sts::111122223333:assumed-role/ReleaseApprovers/bob';
const carol = 'arn:aws:sts::111122223333:assumed-role/Operators/carol';
const dana = 'arn:aws:sts::111122223333:assumed-role/ChangeBoard/dana';
const pusher = (n: number) => `arn:aws:sts::111122223333:assumed-role/ci-pusher/build-${n}`;
const prodWindows = { timezone: 'Europe/London', allow: [{ days: ['Mon', 'Tue', 'Wed', 'Thu'], from: '09:00', to: '16:00' }], outside: 'wait', blackouts: [] };

/** The demo scenario at `clock` (scans complete), prod with an approval (and windows when given). */
function scenario(clock: string, prod: { approval?: boolean; windows?: Record<string, unknown> } = {}) {
  const s = JSON.parse(readFileSync(join(ROOT, 'examples', 'scenarios', 'demo.json'), 'utf8'));
  const cfg = JSON.parse(readFileSync(join(ROOT, 'examples', 'gantry.config.json'), 'utf8'));
  if (prod.approval) cfg.services.payments.stages[2].approval = { approvers: ['arn:aws:iam::111122223333:role/ReleaseApprovers'], timeoutMinutes: 2880 };
  if (prod.windows) cfg.services.payments.stages[2].windows = prod.windows;
  s.config = cfg;
  s.clock = clock;
  const images = s.ecr['payments-api'].images;
  images[1].scan = { status: 'COMPLETE', findings: [] };
  images[1].pushedAt = new Date(Date.parse(clock) - 60_000).toISOString();
  for (const [digest, tag, minutes] of [
    [D3, 'v1.4.3', 1],
    [D4, 'v1.4.4', 2],
  ] as const) {
    images.push({
      digest,
      tags: [tag],
      pushedAt: new Date(Date.parse(clock) + minutes * 60_000).toISOString(),
      labels: { 'org.opencontainers.image.revision': 'c0ffee1' },
      scan: { status: 'COMPLETE', findings: [] },
    });
  }
  s.script = [];
  return s;
}

const approveProd = (after: string) => ({ when: { service: 'payments', stage: 'prod', phase: 'approval', after }, approve: { principal: bob, comment: 'ok' } });
const releaseOf = (out: SimulationOutput, digest: string) => {
  const r = out.releases.find((x) => x.digest === digest);
  assert.ok(r, `no release of ${digest}`);
  return r;
};
const stageOf = (out: SimulationOutput, digest: string, name: string) => {
  const s = releaseOf(out, digest).stages.find((x) => x.name === name);
  assert.ok(s, `no stage ${name}`);
  return s;
};
const deploys = (out: SimulationOutput, stage: string, kind = 'deploy') => out.deployments.filter((d) => d.stage === stage && d.kind === kind);

/** Nothing RUNNING, no lease held, every chain verifies, no two driver runs on one stage overlap. */
function assertClosed(out: SimulationOutput): void {
  for (const r of out.releases) {
    assert.notEqual(r.status, 'RUNNING', `${r.releaseId} left RUNNING`);
    assert.equal(r.audit.verified, true, `${r.releaseId}: ${r.audit.problems?.join('; ')}`);
  }
  assert.deepEqual(out.leasesHeld, []);
  assert.deepEqual(out.warnings, []);
  for (const stage of ['dev', 'staging', 'prod']) {
    const runs = out.deployments.filter((d) => d.stage === stage).sort((a, b) => a.startedAt.localeCompare(b.startedAt));
    for (let i = 1; i < runs.length; i++) assert.ok((runs[i - 1]?.endedAt ?? '') <= (runs[i]?.startedAt ?? ''), `${stage}: driver runs overlap`);
  }
}

describe('the window is decided again when the deploy happens', () => {
  it('waits for the next opening when the window closed while prod waited for its approval (gate passed 15:27, approval 18:27)', async () => {
    // Tuesday 24 Nov 2026, London = UTC: dev 15:00, staging 15:11, prod's window gate 15:27, approval three hours later.
    const s = scenario('2026-11-24T15:00:00Z', { approval: true, windows: prodWindows });
    s.script = [approveProd('PT3H')];
    const out = await runInline(s);
    assertClosed(out);
    const prod = stageOf(out, D2, 'prod');
    assert.equal(releaseOf(out, D2).status, 'SUCCEEDED');
    assert.equal(prod.approval?.at, '2026-11-24T18:27:00.000Z');
    assert.equal(deploys(out, 'prod')[0]?.startedAt, '2026-11-25T09:00:00.000Z', 'deployed at the next opening, not at the approval');
    const windows = prod.gates.filter((g) => g.gate === 'window');
    assert.equal(windows.length, 2, 'the window is recorded when first evaluated and again at deploy time');
    assert.match(windows[1]?.reason ?? '', /^at deploy time: inside the release window \(Wed 25 Nov 2026 09:00/);
    assert.ok(out.timeline.some((t) => t.event === 'Waiting for window' && /Wed 25 Nov 2026 09:00/.test(t.reason ?? '')));
  });

  it('blocks the deploy at the next opening when the approval was only valid for an hour (approval.validForMinutes)', async () => {
    const s = scenario('2026-11-24T15:00:00Z', { approval: true, windows: prodWindows });
    s.config.services.payments.stages[2].approval.validForMinutes = 60;
    s.script = [approveProd('PT3H')];
    const out = await runInline(s);
    assertClosed(out);
    const prod = stageOf(out, D2, 'prod');
    assert.equal(prod.status, 'BLOCKED');
    assert.match(prod.reason ?? '', /approval: at deploy time: approval by .*bob at 2026-11-24T18:27:00.000Z expired \(valid for 60 minutes, given 873 minutes ago\)/);
    assert.deepEqual(deploys(out, 'prod'), []);
  });

  it('blocks a prod deploy when a global freeze was declared while prod waited for its approval', async () => {
    const s = scenario('2026-11-24T10:00:00Z', { approval: true });
    s.triggers.push({ type: 'freeze', state: 'on', reason: 'quarter-end close', principal: dana, at: 'PT40M' });
    s.script = [approveProd('PT2H')];
    const out = await runInline(s);
    assertClosed(out);
    const prod = stageOf(out, D2, 'prod');
    assert.equal(releaseOf(out, D2).status, 'BLOCKED');
    assert.equal(prod.status, 'BLOCKED');
    assert.equal(prod.approval?.decision, 'APPROVED');
    assert.match(prod.reason ?? '', /window: at deploy time: global freeze since .* by .*ChangeBoard\/dana: quarter-end close/);
    assert.deepEqual(deploys(out, 'prod'), []);
  });

  it('records a rollback during a freeze as a WARN naming the freeze, and does not block it', async () => {
    const s = scenario('2026-11-24T10:00:00Z');
    s.triggers = [
      { type: 'freeze', state: 'on', reason: 'quarter-end close', principal: dana },
      { type: 'rollback', principal: carol, input: { service: 'payments', stage: 'prod', digest: D1, reason: 'INC-5120' }, at: 'PT1M' },
    ];
    s.stages['payments/prod'] = { running: D2, lastKnownGood: D2, promoted: [D1, D2] };
    const out = await runInline(s);
    assertClosed(out);
    const rb = out.releases[0];
    assert.equal(rb?.status, 'ROLLED_BACK');
    const gate = rb?.stages[0]?.gates.find((g) => g.gate === 'window');
    assert.equal(gate?.result, 'WARN');
    assert.match(gate?.reason ?? '', /^at rollback time: rollback: never blocked .*; global freeze bypassed \(declared by .*ChangeBoard\/dana at .*: quarter-end close\)$/);
  });
});

describe('leases cannot expire under their holder; the newest digest wins', () => {
  it('keeps prod leased to a release waiting 30 hours for its approval, then lets the newer digest take prod (never older over newer)', async () => {
    const s = scenario('2026-11-24T10:00:00Z', { approval: true });
    s.triggers = [
      { type: 'ecr-push', repository: 'payments-api', tag: 'v1.4.2', digest: D2, principal: pusher(1) },
      { type: 'ecr-push', repository: 'payments-api', tag: 'v1.4.3', digest: D3, principal: pusher(2), at: 'PT1H' },
    ];
    // The first release's approval comes after 30 h (past the old 24-hour lease TTL); the second's an hour later.
    s.script = [approveProd('PT30H'), approveProd('PT31H')];
    const out = await runInline(s);
    assertClosed(out);
    const older = stageOf(out, D2, 'prod');
    assert.equal(older.status, 'SUPERSEDED');
    assert.match(older.reason ?? '', new RegExp(`superseded by ${releaseOf(out, D3).releaseId}`));
    assert.equal(releaseOf(out, D2).status, 'BLOCKED');
    assert.equal(releaseOf(out, D3).status, 'SUCCEEDED');
    assert.deepEqual(
      deploys(out, 'prod').map((d) => d.digest),
      [D3],
      'the older digest never reached prod',
    );
    assert.equal(out.stages['payments/prod']?.running, D3);
    assert.ok(out.timeline.some((t) => t.event === 'Waiting for lease'));
  });

  it('runs only the newest of three digests pushed a minute apart wherever the others had not deployed yet', async () => {
    const s = scenario('2026-11-24T10:00:00Z');
    s.triggers = [
      { type: 'ecr-push', repository: 'payments-api', tag: 'v1.4.2', digest: D2, principal: pusher(1) },
      { type: 'ecr-push', repository: 'payments-api', tag: 'v1.4.3', digest: D3, principal: pusher(2), at: 'PT1M' },
      { type: 'ecr-push', repository: 'payments-api', tag: 'v1.4.4', digest: D4, principal: pusher(3), at: 'PT2M' },
    ];
    const out = await runInline(s);
    assertClosed(out);
    assert.deepEqual(
      deploys(out, 'prod').map((d) => d.digest),
      [D4],
    );
    assert.deepEqual(
      deploys(out, 'staging').map((d) => d.digest),
      [D4],
    );
    assert.equal(stageOf(out, D3, 'dev').status, 'SUPERSEDED', 'the middle digest was overtaken while it queued for dev');
    assert.deepEqual(
      releaseOf(out, D3).stages.map((x) => x.status),
      ['SUPERSEDED', 'SUPERSEDED', 'SUPERSEDED'],
    );
    assert.equal(stageOf(out, D2, 'staging').status, 'SUPERSEDED');
    assert.deepEqual(out.releases.map((r) => r.status).sort(), ['BLOCKED', 'BLOCKED', 'SUCCEEDED']);
    for (const stage of ['dev', 'staging', 'prod']) assert.equal(out.stages[`payments/${stage}`]?.running, D4);
  });
});

describe('operator rollbacks come first', () => {
  it('stops the release baking in prod at minute 7 and rolls prod back within the minute', async () => {
    const s = scenario('2026-11-24T10:00:00Z');
    s.triggers = [
      { type: 'ecr-push', repository: 'payments-api', tag: 'v1.4.2', digest: D2, principal: pusher(1) },
      // dev 10:00–10:11, staging 10:11–10:27, prod deployed 10:27–10:28, bake from 10:28: minute 7 is 10:35.
      { type: 'rollback', principal: carol, input: { service: 'payments', stage: 'prod', digest: D1, reason: 'INC-5120 checkout errors' }, at: 'PT35M' },
    ];
    const out = await runInline(s);
    assertClosed(out);
    const release = releaseOf(out, D2);
    const prod = stageOf(out, D2, 'prod');
    assert.equal(release.status, 'ROLLED_BACK');
    assert.equal(prod.status, 'ROLLED_BACK');
    assert.match(prod.reason ?? '', /preempted: operator rollback .* of prod requested by .*carol: INC-5120 checkout errors/);
    const bake = prod.gates.find((g) => g.gate === 'bake');
    assert.equal(bake?.result, 'FAIL');
    assert.match(bake?.reason ?? '', /bake stopped: operator rollback/);
    const rollback = deploys(out, 'prod', 'rollback');
    assert.equal(rollback.length, 1, "one rollback deploy: the operator's (the release does not roll back too)");
    assert.ok(Date.parse(rollback[0]?.startedAt ?? '') - Date.parse('2026-11-24T10:35:00Z') < 60_000, `rollback started at ${rollback[0]?.startedAt}`);
    assert.equal(out.stages['payments/prod']?.running, D1);
    assert.equal(out.stages['payments/prod']?.lastKnownGood, D1);
  });

  it('takes prod from a release waiting for its approval; that release ends BLOCKED with nothing deployed there', async () => {
    const s = scenario('2026-11-24T10:00:00Z', { approval: true });
    s.triggers = [
      { type: 'ecr-push', repository: 'payments-api', tag: 'v1.4.2', digest: D2, principal: pusher(1) },
      { type: 'rollback', principal: carol, input: { service: 'payments', stage: 'prod', digest: D1, reason: 'INC-5121' }, at: 'PT2H' },
    ];
    s.stages['payments/prod'] = { running: D3, lastKnownGood: D3, promoted: [D1, D3] };
    s.ecr['payments-api'].images.find((i: { digest: string }) => i.digest === D3).pushedAt = '2026-11-20T10:00:00Z';
    const out = await runInline(s);
    assertClosed(out);
    const prod = stageOf(out, D2, 'prod');
    assert.equal(prod.status, 'BLOCKED');
    assert.match(prod.reason ?? '', /preempted before deploying: operator rollback .* requested by .*carol: INC-5121/);
    assert.equal(releaseOf(out, D2).status, 'BLOCKED');
    assert.deepEqual(
      out.deployments.filter((d) => d.stage === 'prod').map((d) => d.kind),
      ['rollback'],
    );
    assert.ok(Date.parse(deploys(out, 'prod', 'rollback')[0]?.startedAt ?? '') - Date.parse('2026-11-24T12:00:00Z') < 60_000);
    assert.equal(out.stages['payments/prod']?.running, D1);
  });
});

describe('fail safe after a deploy', () => {
  it('rolls the stage back, with the error recorded, when recording the deploy fails (never an unbaked digest left running)', async () => {
    const s = scenario('2026-11-24T10:00:00Z');
    // The Stage Deployed notice cannot be published once, right after staging's driver run: record-step fails after the deploy.
    s.script = [
      { when: { service: 'payments', stage: 'staging', phase: 'deploy' }, fault: { service: 'eventbridge', operation: 'PutEvents', error: 'AccessDeniedException', count: 1 } },
    ];
    const out = await runInline(s);
    assertClosed(out);
    const staging = stageOf(out, D2, 'staging');
    assert.equal(releaseOf(out, D2).status, 'ROLLED_BACK');
    assert.equal(staging.status, 'ROLLED_BACK');
    assert.match(String(staging.rollback?.reason ?? ''), /^rolled back to be safe: internal error AccessDeniedException .* after the deploy$/);
    assert.deepEqual(
      deploys(out, 'staging', 'rollback').map((d) => d.digest),
      [D1],
    );
    assert.equal(out.stages['payments/staging']?.running, D1);
    assert.equal(stageOf(out, D2, 'prod').status, 'NOT_STARTED');
  });
});

describe('an operator rollback checks its target', () => {
  const critical = (s: ReturnType<typeof scenario>) => {
    s.ecr['payments-api'].images[0].scan = { status: 'COMPLETE', findings: [{ id: 'CVE-2026-9999', severity: 'CRITICAL', package: 'openssl' }] };
    s.stages['payments/prod'] = { running: D2, lastKnownGood: D2, promoted: [D1, D2] };
  };
  const rollbackTo = (force?: string) => ({
    type: 'rollback',
    principal: carol,
    input: { service: 'payments', stage: 'prod', digest: D1, reason: 'INC-6001', ...(force ? { force: { reason: force } } : {}) },
  });

  it('refuses a target that now has a CRITICAL finding, deploying nothing', async () => {
    const s = scenario('2026-11-24T10:00:00Z');
    critical(s);
    s.triggers = [rollbackTo()];
    const out = await runInline(s);
    assertClosed(out);
    const rb = out.releases[0];
    assert.equal(rb?.status, 'BLOCKED');
    assert.match(rb?.stages[0]?.reason ?? '', /image\.scan: .*CRITICAL/);
    assert.deepEqual(out.deployments, []);
    assert.equal(out.stages['payments/prod']?.running, D2);
  });

  it('deploys it with force, recording the overridden gate as a WARN naming the operator and the reason', async () => {
    const s = scenario('2026-11-24T10:00:00Z');
    critical(s);
    s.triggers = [rollbackTo('INC-6001: v1.4.2 corrupts ledgers; the CVE is not reachable')];
    const out = await runInline(s);
    assertClosed(out);
    const rb = out.releases[0];
    assert.equal(rb?.status, 'ROLLED_BACK');
    const scan = rb?.stages[0]?.gates.find((g) => g.gate === 'image.scan');
    assert.equal(scan?.result, 'WARN');
    assert.match(scan?.reason ?? '', /^FAIL overridden by --force \(.*Operators\/carol: INC-6001: v1\.4\.2 corrupts ledgers; the CVE is not reachable\): .*CRITICAL/);
    assert.equal(out.stages['payments/prod']?.running, D1);
  });

  it('asks the stage approvers before a forced rollback of a stage that requires approval, and deploys once approved', async () => {
    const s = scenario('2026-11-24T10:00:00Z', { approval: true });
    critical(s);
    s.triggers = [rollbackTo('INC-6001')];
    s.script = [approveProd('PT10M')];
    const out = await runInline(s);
    assertClosed(out);
    const rb = out.releases[0];
    assert.equal(rb?.status, 'ROLLED_BACK');
    assert.equal(rb?.stages[0]?.approval?.decision, 'APPROVED');
    assert.equal(deploys(out, 'prod', 'rollback')[0]?.startedAt, '2026-11-24T10:10:00.000Z');
  });
});
