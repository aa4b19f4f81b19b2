/** Governance controls through the real workflow: windows, blackouts, break-glass, freeze, leases and ordering. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import type { SimulationOutput } from '../../local/simulate';
import { D1, D2, ROOT, runInline } from './helpers';

const alice = 'arn:aws:sts::111122223333:assumed-role/Deployers/alice';
const prodWindows = {
  timezone: 'Europe/London',
  allow: [{ days: ['Mon', 'Tue', 'Wed', 'Thu'], from: '09:00', to: '16:00' }],
  outside: 'wait',
  blackouts: [{ from: '2026-12-20T00:00', to: '2027-01-04T00:00', reason: 'holiday freeze' }],
};

function scenario(clock: string, windows?: Record<string, unknown>) {
  const s = JSON.parse(readFileSync(join(ROOT, 'examples', 'scenarios', 'demo.json'), 'utf8'));
  const cfg = JSON.parse(readFileSync(join(ROOT, 'examples', 'gantry.config.json'), 'utf8'));
  if (windows) cfg.services.payments.stages[2].windows = windows;
  s.config = cfg;
  s.clock = clock;
  s.ecr['payments-api'].images[1].scan = { status: 'COMPLETE', findings: [] };
  s.ecr['payments-api'].images[0].pushedAt = new Date(Date.parse(clock) - 7 * 86_400_000).toISOString();
  s.ecr['payments-api'].images[1].pushedAt = new Date(Date.parse(clock) - 60_000).toISOString();
  return s;
}
const prodOf = (out: SimulationOutput) => out.releases[0]?.stages.find((s) => s.name === 'prod');
const prodDeploy = (out: SimulationOutput) => out.deployments.find((d) => d.stage === 'prod' && d.kind === 'deploy');
const closed = (out: SimulationOutput) => {
  assert.deepEqual(out.warnings, []);
  assert.deepEqual(out.leasesHeld, []);
  for (const r of out.releases) assert.notEqual(r.status, 'RUNNING');
};

describe('release windows', () => {
  it('makes a Saturday push wait for prod until Monday 09:00 London, then promotes', async () => {
    const out = await runInline(scenario('2026-11-28T10:00:00Z', prodWindows));
    closed(out);
    assert.equal(out.releases[0]?.status, 'SUCCEEDED');
    assert.equal(prodDeploy(out)?.startedAt, '2026-11-30T09:00:00.000Z');
    assert.ok(out.timeline.some((t) => t.event === 'Waiting for window' && /Mon 30 Nov 2026 09:00/.test(t.reason ?? '')));
  });

  it('opens on the Monday after the spring-forward change at 09:00 BST (08:00 UTC)', async () => {
    const out = await runInline(scenario('2026-03-28T10:00:00Z', prodWindows));
    closed(out);
    assert.equal(prodDeploy(out)?.startedAt, '2026-03-30T08:00:00.000Z');
  });

  it('blocks prod in a blackout when the stage says block, naming the blackout', async () => {
    const out = await runInline(scenario('2026-12-22T10:00:00Z', { ...prodWindows, outside: 'block' }));
    closed(out);
    assert.equal(out.releases[0]?.status, 'BLOCKED');
    const prod = prodOf(out);
    assert.equal(prod?.gates.at(-1)?.gate, 'window');
    assert.match(prod?.gates.at(-1)?.reason ?? '', /blackout "holiday freeze"/);
    assert.equal(prodDeploy(out), undefined);
  });

  it('lets break-glass deploy during a blackout, flagged in the ledger', async () => {
    const s = scenario('2026-12-22T10:00:00Z', { ...prodWindows, outside: 'block' });
    s.triggers = [{ type: 'start', principal: alice, input: { service: 'payments', image: { tag: 'v1.4.2' }, breakGlass: { reason: 'INC-7 card payments failing' } } }];
    const out = await runInline(s);
    closed(out);
    assert.equal(out.releases[0]?.status, 'SUCCEEDED');
    const gate = prodOf(out)?.gates.find((g) => g.gate === 'window');
    assert.equal(gate?.result, 'WARN');
    // Tuesday 10:00 London is inside the allow window: only the blackout was bypassed, and the record names it.
    assert.equal(gate?.reason, 'break-glass: INC-7 card payments failing; blackout "holiday freeze" from 2026-12-20T00:00 to 2027-01-04T00:00 (Europe/London) bypassed');
  });

  it('does not let break-glass bypass an alarm', async () => {
    const s = scenario('2026-12-22T10:00:00Z', { ...prodWindows, outside: 'block' });
    s.alarms['payments-prod-5xx'] = 'ALARM';
    s.triggers = [{ type: 'start', principal: alice, input: { service: 'payments', image: { tag: 'v1.4.2' }, breakGlass: { reason: 'INC-7' } } }];
    const out = await runInline(s);
    closed(out);
    assert.equal(out.releases[0]?.status, 'BLOCKED');
    assert.equal(prodOf(out)?.gates.at(-1)?.gate, 'alarms.pre-deploy');
  });
});

describe('global freeze', () => {
  it('blocks every stage while on, and lets the next release through once off', async () => {
    const s = scenario('2026-11-24T10:00:00Z');
    s.triggers = [
      { type: 'freeze', state: 'on', reason: 'quarter-end close', principal: 'arn:aws:sts::111122223333:assumed-role/ChangeBoard/dana' },
      { type: 'start', principal: alice, input: { service: 'payments', image: { tag: 'v1.4.2' } }, at: 'PT1M' },
      { type: 'freeze', state: 'off', reason: 'close done', principal: 'arn:aws:sts::111122223333:assumed-role/ChangeBoard/dana', at: 'PT1H' },
      { type: 'start', principal: alice, input: { service: 'payments', image: { tag: 'v1.4.2' } }, at: 'PT2H' },
    ];
    const out = await runInline(s);
    closed(out);
    assert.deepEqual(
      out.releases.map((r) => r.status),
      ['BLOCKED', 'SUCCEEDED'],
    );
    assert.match(out.releases[0]?.stages[0]?.gates[0]?.reason ?? '', /global freeze .*quarter-end close/);
    assert.equal(out.deployments.filter((d) => d.releaseId === out.releases[0]?.releaseId).length, 0);
  });

  it('lets break-glass through a freeze', async () => {
    const s = scenario('2026-11-24T10:00:00Z');
    s.triggers = [
      { type: 'freeze', state: 'on', reason: 'quarter-end close', principal: 'arn:aws:sts::111122223333:assumed-role/ChangeBoard/dana' },
      { type: 'start', principal: alice, input: { service: 'payments', image: { tag: 'v1.4.2' }, breakGlass: { reason: 'INC-8' } }, at: 'PT1M' },
    ];
    const out = await runInline(s);
    closed(out);
    assert.equal(out.releases[0]?.status, 'SUCCEEDED');
    assert.match(
      out.releases[0]?.stages[0]?.gates[0]?.reason ?? '',
      /^break-glass: INC-8; global freeze bypassed \(declared by arn:aws:sts::111122223333:assumed-role\/ChangeBoard\/dana at \S+: quarter-end close\)$/,
    );
  });
});

describe('stage leases and ordering', () => {
  it('never overlaps deploys on a stage and lets the newest of two digests pushed a minute apart win everywhere', async () => {
    const s = scenario('2026-11-24T10:00:00Z');
    const D3 = `sha256:${'3'.repeat(64)}`;
    s.ecr['payments-api'].images.push({
      digest: D3,
      tags: ['v1.4.3'],
      pushedAt: '2026-11-24T10:01:00Z',
      labels: { 'org.opencontainers.image.revision': 'c0ffee1' },
      scan: { status: 'COMPLETE', findings: [] },
    });
    s.triggers = [
      { type: 'ecr-push', repository: 'payments-api', tag: 'v1.4.2', digest: D2, principal: 'arn:aws:sts::111122223333:assumed-role/ci-pusher/b-1' },
      { type: 'ecr-push', repository: 'payments-api', tag: 'v1.4.3', digest: D3, principal: 'arn:aws:sts::111122223333:assumed-role/ci-pusher/b-2', at: 'PT1M' },
    ];
    const out = await runInline(s);
    closed(out);
    for (const stage of ['dev', 'staging', 'prod']) assert.equal(out.stages[`payments/${stage}`]?.running, D3, `${stage} runs the newest digest`);
    // No two driver runs on one stage overlap in time.
    for (const stage of ['dev', 'staging', 'prod']) {
      const runs = out.deployments.filter((d) => d.stage === stage).sort((a, b) => a.startedAt.localeCompare(b.startedAt));
      for (let i = 1; i < runs.length; i++) assert.ok((runs[i - 1]?.endedAt ?? '') <= (runs[i]?.startedAt ?? ''), `${stage} deploys overlap`);
    }
    assert.ok(out.timeline.some((t) => t.event === 'Waiting for lease'));
  });

  it('ends an older release that finds a newer digest already in the stage, with the reason', async () => {
    const s = scenario('2026-11-24T10:00:00Z');
    const D3 = `sha256:${'3'.repeat(64)}`;
    s.ecr['payments-api'].images.push({
      digest: D3,
      tags: ['v1.4.3'],
      pushedAt: '2026-11-24T09:59:30Z',
      labels: { 'org.opencontainers.image.revision': 'c0ffee1' },
      scan: { status: 'COMPLETE', findings: [] },
    });
    s.stages['payments/dev'] = { running: D3, lastKnownGood: D3 };
    const out = await runInline(s);
    closed(out);
    assert.equal(out.releases[0]?.status, 'BLOCKED');
    assert.match(out.releases[0]?.reason ?? '', /superseded: dev already runs sha256:3{64} .* newer than sha256:2{64}/);
    assert.deepEqual(out.deployments, []);
    void D1;
    void D2;
  });

  it('closes a release aborted during a bake, frees its lease, and lets the next release pass', async () => {
    const s = scenario('2026-11-24T10:00:00Z');
    s.triggers.push({ type: 'start', principal: alice, input: { service: 'payments', image: { tag: 'v1.4.2' } }, at: 'PT2H' });
    s.script = [{ when: { at: 'PT5M' }, abort: { service: 'payments' } }];
    const out = await runInline(s);
    closed(out);
    assert.deepEqual(
      out.releases.map((r) => r.status),
      ['ABORTED', 'SUCCEEDED'],
    );
  });
});
