/**
 * Bake and automated rollback (issue 5) through the real workflow: event-driven and polling bakes,
 * missing data, flapping alarms, failed rollbacks, and two services baking at once.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import type { SimulationOutput } from '../../local/simulate';
import { D1, D2, ROOT, runInline } from './helpers';

const demo = () => JSON.parse(readFileSync(join(ROOT, 'examples', 'scenarios', 'demo.json'), 'utf8'));
const withConfig = (mutate: (cfg: Record<string, any>) => void) => {
  const s = demo();
  const cfg = JSON.parse(readFileSync(join(ROOT, 'examples', 'gantry.config.json'), 'utf8'));
  mutate(cfg);
  s.config = cfg;
  return s;
};
const stageOf = (out: SimulationOutput, name: string, release = 0) => {
  const st = out.releases[release]?.stages.find((x) => x.name === name);
  assert.ok(st, `no stage ${name}`);
  return st;
};
const closed = (out: SimulationOutput) => {
  assert.deepEqual(out.warnings, []);
  for (const r of out.releases) assert.notEqual(r.status, 'RUNNING');
};

describe('bake and rollback', () => {
  it('rolls prod back at minute 7 of a 30-minute bake, records detection and recovery times, and checks recovery', async () => {
    const s = demo();
    s.script = [{ when: { service: 'payments', stage: 'prod', phase: 'bake', after: 'PT7M' }, alarm: { name: 'payments-prod-5xx', state: 'ALARM' } }];
    const out = await runInline(s);
    closed(out);
    const prod = stageOf(out, 'prod');
    assert.equal(prod.status, 'ROLLED_BACK');
    const rb = prod.rollback as Record<string, any>;
    // prod bake starts 10:31 (scan 3 min, two 1-minute deploys, 10 + 15 minute bakes): alarm at 10:38.
    assert.equal(rb.detectedAt, '2026-11-24T10:38:00.000Z');
    assert.equal(rb.startedAt, '2026-11-24T10:38:00.000Z', 'rollback starts in the same virtual second as the alarm');
    assert.equal(rb.endedAt, '2026-11-24T10:39:00.000Z', 'recovery ends when the rollback deploy ends, not after the recovery window');
    // The alarm is still in ALARM five minutes later: the rollback succeeded but the stage did not recover.
    assert.equal(rb.recovery.recovered, false);
    assert.match(prod.reason ?? '', /not recovered 5 minutes after the rollback/);
    assert.equal(out.releases[0]?.status, 'ROLLED_BACK');
  });

  it('records recovery when the alarm clears within the recovery window', async () => {
    const s = demo();
    s.script = [
      { when: { service: 'payments', stage: 'dev', phase: 'bake', after: 'PT2M' }, alarm: { name: 'payments-dev-5xx', state: 'ALARM' } },
      { when: { service: 'payments', stage: 'dev', phase: 'rollback', after: 'PT2M' }, alarm: { name: 'payments-dev-5xx', state: 'OK' } },
    ];
    const out = await runInline(s);
    closed(out);
    const rb = stageOf(out, 'dev').rollback as Record<string, any>;
    assert.equal(rb.recovery.recovered, true);
    assert.deepEqual(out.unused, []);
  });

  it('still fails the bake when an alarm flaps ALARM then OK', async () => {
    const s = demo();
    s.script = [
      { when: { service: 'payments', stage: 'staging', phase: 'bake', after: 'PT4M' }, alarm: { name: 'payments-staging-5xx', state: 'ALARM' } },
      { when: { service: 'payments', stage: 'staging', phase: 'bake', after: 'PT4M30S' }, alarm: { name: 'payments-staging-5xx', state: 'OK' } },
    ];
    const out = await runInline(s);
    closed(out);
    assert.equal(stageOf(out, 'staging').status, 'ROLLED_BACK');
    assert.equal(stageOf(out, 'prod').status, 'NOT_STARTED');
  });

  it('ends ROLLBACK_FAILED when the rollback deploy fails, after Rollback Started', async () => {
    const s = demo();
    s.script = [
      { when: { service: 'payments', stage: 'dev', phase: 'bake', after: 'PT1M' }, alarm: { name: 'payments-dev-5xx', state: 'ALARM' } },
      { when: { service: 'payments', stage: 'dev', phase: 'rollback' }, deploy: { result: 'FAILED', message: 'UPGRADE FAILED: another operation is in progress' } },
    ];
    const out = await runInline(s);
    closed(out);
    assert.equal(out.releases[0]?.status, 'ROLLBACK_FAILED');
    const dev = stageOf(out, 'dev');
    assert.equal(dev.status, 'ROLLBACK_FAILED');
    assert.equal((dev.rollback as Record<string, any>).result, 'FAILED');
    const events = out.timeline.filter((t) => t.release === out.releases[0]?.releaseId).map((t) => t.event);
    assert.ok(events.indexOf('Rollback Started') < events.indexOf('Release Finished'));
    assert.equal(out.stages['payments/dev']?.running, D2, 'the failed rollback left the new digest running');
  });

  it('blocks a stage whose alarm does not exist, naming it', async () => {
    const s = demo();
    s.alarms['payments-staging-latency-p99'] = 'MISSING';
    const out = await runInline(s);
    closed(out);
    const staging = stageOf(out, 'staging');
    assert.equal(staging.status, 'BLOCKED');
    assert.match(staging.gates.at(-1)?.reason ?? '', /alarm payments-staging-latency-p99 does not exist/);
  });

  it('treats INSUFFICIENT_DATA by policy: ignore passes with a warning, fail blocks', async () => {
    const s = demo();
    s.alarms['payments-dev-5xx'] = 'INSUFFICIENT_DATA'; // dev: ignore
    s.alarms['payments-prod-latency-p99'] = 'INSUFFICIENT_DATA'; // prod: fail
    const out = await runInline(s);
    closed(out);
    const dev = stageOf(out, 'dev');
    assert.equal(dev.status, 'PROMOTED');
    assert.equal(dev.gates.find((g) => g.gate === 'alarms.pre-deploy')?.result, 'WARN');
    const prod = stageOf(out, 'prod');
    assert.equal(prod.status, 'BLOCKED');
    assert.match(prod.gates.at(-1)?.reason ?? '', /INSUFFICIENT_DATA \(policy: fail\)/);
  });

  it('fails a bake whose alarm stays INSUFFICIENT_DATA through the bake under policy fail', async () => {
    const s = demo();
    s.script = [{ when: { service: 'payments', stage: 'prod', phase: 'bake', after: 'PT1M' }, alarm: { name: 'payments-prod-latency-p99', state: 'INSUFFICIENT_DATA' } }];
    const out = await runInline(s);
    closed(out);
    const prod = stageOf(out, 'prod');
    assert.equal(prod.status, 'ROLLED_BACK');
    assert.match(String((prod.rollback as Record<string, any>).reason), /INSUFFICIENT_DATA \(policy: fail\)/);
  });

  it('ignores an alarm of another service during the bake', async () => {
    const s = demo();
    s.script = [{ when: { service: 'payments', stage: 'prod', phase: 'bake', after: 'PT5M' }, alarm: { name: 'ledger-prod-errors', state: 'ALARM' } }];
    const out = await runInline(s);
    closed(out);
    assert.equal(out.releases[0]?.status, 'SUCCEEDED');
  });

  it('rolls back only the release whose alarm fires when two services bake at once', async () => {
    const s = demo();
    s.ecr['ledger-service'] = {
      tagMutability: 'IMMUTABLE',
      images: [
        {
          digest: `sha256:${'4'.repeat(64)}`,
          tags: ['release-20261124.1'],
          pushedAt: '2026-11-24T09:00:00Z',
          labels: { 'org.opencontainers.image.revision': 'abc1234' },
          scan: { status: 'COMPLETE', findings: [] },
        },
      ],
    };
    s.stages['ledger/dev'] = { running: `sha256:${'5'.repeat(64)}`, lastKnownGood: `sha256:${'5'.repeat(64)}` };
    s.triggers.push({
      type: 'ecr-push',
      repository: 'ledger-service',
      tag: 'release-20261124.1',
      digest: `sha256:${'4'.repeat(64)}`,
      principal: 'arn:aws:sts::111122223333:assumed-role/ci-pusher/build-77',
      at: 'PT3M',
    });
    s.script = [{ when: { service: 'ledger', stage: 'dev', phase: 'bake', after: 'PT2M' }, alarm: { name: 'ledger-dev-errors', state: 'ALARM' } }];
    const out = await runInline(s);
    closed(out);
    const byService = Object.fromEntries(out.releases.map((r) => [r.service, r]));
    assert.equal(byService.payments?.status, 'SUCCEEDED');
    assert.equal(byService.ledger?.status, 'ROLLED_BACK');
    assert.ok(out.deployments.some((d) => d.service === 'ledger' && d.kind === 'rollback'));
    assert.ok(!out.deployments.some((d) => d.service === 'payments' && d.kind === 'rollback'));
  });

  it('detects an alarm with a polling bake at the next poll, not at once', async () => {
    const s = withConfig((cfg) => {
      cfg.services.payments.stages[2].bake = { mode: 'poll', intervalSeconds: 60 };
    });
    s.script = [{ when: { service: 'payments', stage: 'prod', phase: 'bake', after: 'PT7M10S' }, alarm: { name: 'payments-prod-5xx', state: 'ALARM' } }];
    const out = await runInline(s);
    closed(out);
    const rb = stageOf(out, 'prod').rollback as Record<string, any>;
    assert.equal(rb.detectedAt, '2026-11-24T10:38:10.000Z');
    assert.equal(rb.startedAt, '2026-11-24T10:39:00.000Z', 'the next poll, 50 s after the transition');
    assert.equal(out.stages['payments/prod']?.running, D1);
  });

  it('promotes through a polling bake that sees no alarm', async () => {
    const s = withConfig((cfg) => {
      for (const st of cfg.services.payments.stages) st.bake = { mode: 'poll', intervalSeconds: 30 };
    });
    const out = await runInline(s);
    closed(out);
    assert.equal(out.releases[0]?.status, 'SUCCEEDED');
    assert.equal(out.clock.end, '2026-11-24T11:01:00.000Z', 'polling ends the bake on time');
  });
});
