/**
 * The release workflow end to end: real ASL, real handlers, in-memory DynamoDB ledger, local cloud, virtual clock.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import type { SimulationOutput } from '../../local/simulate';
import { D1, D2, ROOT, runExample, runInline } from './helpers';

/** What must hold after any scenario: nothing left RUNNING, no lease held, every chain verifies. */
function assertClosed(out: SimulationOutput): void {
  for (const r of out.releases) {
    assert.notEqual(r.status, 'RUNNING', `${r.releaseId} left RUNNING`);
    assert.equal(r.audit.verified, true, `${r.releaseId} chain: ${r.audit.problems?.join('; ')}`);
  }
  assert.deepEqual(out.leasesHeld, []);
  assert.deepEqual(out.warnings, []);
  assert.equal(out.simulated, true);
}

const stage = (out: SimulationOutput, name: string, i = 0) => {
  const s = out.releases[i]?.stages.find((x) => x.name === name);
  assert.ok(s, `stage ${name} missing`);
  return s;
};

describe('release workflow scenarios', () => {
  it('promotes a pushed image through dev, staging and prod and records every gate in order', async () => {
    const out = await runExample('demo');
    assertClosed(out);
    assert.equal(out.releases.length, 1);
    const r = out.releases[0];
    assert.ok(r);
    assert.equal(r.status, 'SUCCEEDED');
    assert.equal(r.digest, D2);
    assert.equal(r.tag, 'v1.4.2');
    assert.equal(r.initiator, 'arn:aws:sts::111122223333:assumed-role/ci-pusher/build-42');
    assert.deepEqual(
      r.stages.map((s) => [s.name, s.status, s.deployedDigest]),
      [
        ['dev', 'PROMOTED', D2],
        ['staging', 'PROMOTED', D2],
        ['prod', 'PROMOTED', D2],
      ],
    );
    for (const s of r.stages) {
      assert.deepEqual(
        s.gates.map((g) => `${g.gate}:${g.result}`),
        [
          'window:PASS',
          'image.exists:PASS',
          'image.immutable-tag:PASS',
          'image.scan:PASS',
          'image.labels:PASS',
          'image.age:PASS',
          'window:PASS', // checked again at the point of action, right before the deploy
          'alarms.pre-deploy:PASS',
          'bake:PASS',
        ],
      );
    }
    assert.match(stage(out, 'dev').gates.find((g) => g.gate === 'image.scan')?.reason ?? '', /1 allowed until 2027-01-01: CVE-2024-1234/);
    assert.deepEqual(out.stages['payments/prod'], { running: D2, lastKnownGood: D2 });
    assert.deepEqual(
      out.deployments.map((d) => `${d.stage}:${d.kind}:${d.digest === D2}`),
      ['dev:deploy:true', 'staging:deploy:true', 'prod:deploy:true'],
    );
    // The scan completed three virtual minutes after the push; dev's deploy waited for it.
    assert.equal(out.deployments[0]?.startedAt, '2026-11-24T10:03:00.000Z');
    assert.equal(out.clock.end, '2026-11-24T11:01:00.000Z');
  });

  it('rolls staging back when its deploy fails and never starts prod', async () => {
    const out = await runExample('staging-deploy-failure');
    assertClosed(out);
    const r = out.releases[0];
    assert.equal(r?.status, 'ROLLED_BACK');
    const staging = stage(out, 'staging');
    assert.equal(staging.status, 'ROLLED_BACK');
    assert.equal(staging.rollback?.toDigest, D1);
    assert.equal(staging.rollback?.result, 'SUCCEEDED');
    assert.match(String(staging.rollback?.reason), /deploy failed: UPGRADE FAILED: context deadline exceeded/);
    assert.equal(stage(out, 'prod').status, 'NOT_STARTED');
    assert.equal(out.deployments.filter((d) => d.stage === 'prod').length, 0);
    assert.deepEqual(out.stages['payments/staging'], { running: D1, lastKnownGood: D1 });
    assert.deepEqual(out.stages['payments/prod'], { running: D1, lastKnownGood: D1 });
  });

  it('fails the dev bake at the minute the alarm fires and rolls dev back', async () => {
    const out = await runExample('alarm-in-dev-bake');
    assertClosed(out);
    assert.equal(out.releases[0]?.status, 'ROLLED_BACK');
    const dev = stage(out, 'dev');
    assert.equal(dev.status, 'ROLLED_BACK');
    assert.equal(dev.rollback?.reason, 'alarm payments-dev-5xx in ALARM at bake minute 7');
    assert.equal(dev.rollback?.detectedAt, '2026-11-24T10:08:00.000Z');
    // The bake failed; then the rollback recorded the window as it stood when it acted (never blocking it).
    assert.deepEqual(
      dev.gates.slice(-2).map((g) => `${g.gate}:${g.result}`),
      ['bake:FAIL', 'window:PASS'],
    );
    assert.deepEqual(
      out.deployments.map((d) => `${d.stage}:${d.kind}`),
      ['dev:deploy', 'dev:rollback'],
    );
    assert.equal(stage(out, 'staging').status, 'NOT_STARTED');
  });

  it('starts one release for five copies of one push', async () => {
    const out = await runExample('duplicate-push');
    assertClosed(out);
    assert.equal(out.releases.length, 1);
    assert.equal(out.releases[0]?.status, 'SUCCEEDED');
    assert.equal(out.deployments.filter((d) => d.stage === 'dev').length, 1);
    assert.equal(out.executions.length, 1);
  });

  it('records a push with a non-matching tag, or of an unowned repository, as skipped and releases nothing', async () => {
    const out = await runExample('skipped-tag');
    assertClosed(out);
    assert.equal(out.releases.length, 0);
    assert.equal(out.deployments.length, 0);
    assert.deepEqual(out.skipped.map((s) => [s.repository, s.tag]).sort(), [
      ['payments-api', 'latest'],
      ['unowned-repo', 'v9.9.9'],
    ]);
    assert.match(out.skipped.find((s) => s.tag === 'latest')?.reason ?? '', /tag latest does not match \^v\[0-9\]/);
  });

  it('ends a first release FAILED when its deploy fails and there is nothing to roll back to', async () => {
    const out = await runExample('first-release-deploy-failure');
    assertClosed(out);
    const r = out.releases[0];
    assert.equal(r?.status, 'FAILED');
    assert.match(r?.reason ?? '', /nothing to roll back to/);
    assert.equal(stage(out, 'dev').status, 'FAILED');
    assert.deepEqual(
      out.deployments.map((d) => `${d.stage}:${d.kind}:${d.result}`),
      ['dev:deploy:FAILED'],
    );
    assert.equal(out.stages['payments/dev'], undefined);
  });

  it('still succeeds when ECR throttles DescribeImages twice', async () => {
    const out = await runExample('ecr-throttled');
    assertClosed(out);
    assert.equal(out.releases[0]?.status, 'SUCCEEDED');
    assert.equal(out.timeline.filter((t) => t.event === 'Fault Injected').length, 2);
  });

  it('blocks prod before deploying when a prod alarm is already in ALARM', async () => {
    const out = await runExample('prod-alarm-blocks');
    assertClosed(out);
    assert.equal(out.releases[0]?.status, 'BLOCKED');
    const prod = stage(out, 'prod');
    assert.equal(prod.status, 'BLOCKED');
    assert.deepEqual(prod.gates.at(-1)?.gate, 'alarms.pre-deploy');
    assert.deepEqual(
      prod.gates.filter((g) => g.result === 'FAIL').map((g) => g.gate),
      ['alarms.pre-deploy'],
    );
    assert.match(prod.gates.at(-1)?.reason ?? '', /payments-prod-5xx is in ALARM/);
    assert.equal(out.deployments.filter((d) => d.stage === 'prod').length, 0);
    assert.equal(out.stages['payments/prod']?.running, D1);
  });

  it('rolls prod back when an alarm fires during the prod bake of an operator-started release', async () => {
    const out = await runExample('prod-alarm-during-bake');
    assertClosed(out);
    const r = out.releases[0];
    assert.equal(r?.initiator, 'arn:aws:sts::111122223333:assumed-role/Deployers/alice');
    assert.equal(r?.digest, D2, 'the tag was resolved to its digest once');
    assert.equal(r?.status, 'ROLLED_BACK');
    assert.equal(stage(out, 'prod').rollback?.reason, 'alarm payments-prod-5xx in ALARM at bake minute 7');
    assert.deepEqual(out.stages['payments/prod'], { running: D1, lastKnownGood: D1 });
    assert.deepEqual(out.stages['payments/staging'], { running: D2, lastKnownGood: D2 });
  });

  it('closes an aborted release as ABORTED and frees its lease through the reconciler', async () => {
    const out = await runExample('abort-during-bake');
    assertClosed(out);
    assert.equal(out.releases[0]?.status, 'ABORTED');
    assert.equal(stage(out, 'staging').status, 'ABORTED');
    assert.equal(out.executions[0]?.status, 'ABORTED');
  });
});

describe('raw events and bad input', () => {
  it('rejects an operator start with a bad input at the operator API, naming the field, and starts and writes nothing', async () => {
    const s = JSON.parse(readFileSync(join(ROOT, 'examples', 'scenarios', 'demo.json'), 'utf8'));
    s.triggers = [{ type: 'start', principal: 'arn:aws:sts::111122223333:assumed-role/Deployers/alice', input: { service: 'payments', image: { digest: 'sha256:xyz' } } }];
    const out = await runInline(s);
    assert.equal(out.releases.length, 0);
    assert.equal(out.deployments.length, 0);
    assert.deepEqual(out.executions, [], 'the API refused it (400) before any execution started');
    const rejected = out.timeline.find((t) => t.event === 'Input Rejected');
    assert.match(rejected?.reason ?? '', /the release input is invalid; image\.digest: expected a digest sha256:<64 lowercase hex characters>, got "sha256:xyz"/);
  });

  const demo = () => JSON.parse(readFileSync(join(ROOT, 'examples', 'scenarios', 'demo.json'), 'utf8'));
  const rawAlarm = (name: string, value: string, at = '2026-11-24T10:18:00') => {
    const ev = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'aws-samples', 'cloudwatch-alarm-state-change-metric-alarm-to-alarm.json'), 'utf8'));
    ev.detail.alarmName = name;
    ev.resources = [`arn:aws:cloudwatch:eu-west-2:111122223333:alarm:${name}`];
    ev.detail.state.value = value;
    ev.detail.state.timestamp = `${at}.000+0000`;
    ev.time = `${at}Z`;
    return ev;
  };

  it('fails a bake from a raw CloudWatch Alarm State Change event through the deployed rule pattern', async () => {
    const s = demo();
    s.script = [{ when: { service: 'payments', stage: 'staging', phase: 'bake', after: 'PT3M' }, event: rawAlarm('payments-staging-latency-p99', 'ALARM') }];
    const out = await runInline(s);
    assertClosed(out);
    assert.equal(out.releases[0]?.status, 'ROLLED_BACK');
    assert.match(String(stage(out, 'staging').rollback?.reason), /payments-staging-latency-p99 in ALARM at bake minute 3/);
  });

  it('ignores alarm events of other stages and configuration changes', async () => {
    const s = demo();
    const config = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'aws-samples', 'cloudwatch-alarm-config-change-composite-create.json'), 'utf8'));
    s.script = [
      { when: { service: 'payments', stage: 'dev', phase: 'bake', after: 'PT2M' }, event: rawAlarm('ledger-prod-errors', 'ALARM') },
      { when: { service: 'payments', stage: 'dev', phase: 'bake', after: 'PT3M' }, event: config },
    ];
    const out = await runInline(s);
    assertClosed(out);
    assert.equal(out.releases[0]?.status, 'SUCCEEDED');
  });
});
