/**
 * Fail closed, promptly, on AWS errors reading alarms (issue 13; decision 018), through the real
 * workflows: DescribeAlarms denied, throttled or failing at the bake's end, at its start, in a polling
 * bake, in the pre-deploy gate and in the recovery check after a rollback; and the bake's safety timeout.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import type { SimulationOutput } from '../../local/simulate';
import { D1, D2, ROOT, runInline } from './helpers';

const bob = 'arn:aws:sts::111122223333:assumed-role/ReleaseApprovers/bob';

/** demo.json (dev bake 10:04–10:14, staging 10:15–10:30, prod gates at 10:30) with its config inline, changed by `mutate`. */
function scenario(script: unknown[], mutate: (cfg: Record<string, any>) => void = () => undefined) {
  const s = JSON.parse(readFileSync(join(ROOT, 'examples', 'scenarios', 'demo.json'), 'utf8'));
  const cfg = JSON.parse(readFileSync(join(ROOT, 'examples', 'gantry.config.json'), 'utf8'));
  mutate(cfg);
  s.config = cfg;
  s.script = script;
  return s;
}
const fault = (when: Record<string, unknown>, service: string, operation: string, error: string, count = 1) => ({ when, fault: { service, operation, error, count } });
const onPhase = (stage: string, phase: string, after: string) => ({ service: 'payments', stage, phase, after });
const stageOf = (out: SimulationOutput, name: string) => {
  const st = out.releases[0]?.stages.find((x) => x.name === name);
  assert.ok(st, `no stage ${name}`);
  return st;
};
const gate = (out: SimulationOutput, stage: string, name: string) => stageOf(out, stage).gates.find((g) => g.gate === name);
const faultsInjected = (out: SimulationOutput, operation: string) => out.timeline.filter((t) => t.event === 'Fault Injected' && String(t.reason).includes(operation));

describe('an error reading alarms at the end of a bake', () => {
  it('fails the bake in the same second, naming the alarm and the error, and rolls the stage back', async () => {
    const out = await runInline(scenario([fault(onPhase('dev', 'bake', 'PT9M'), 'cloudwatch', 'DescribeAlarms', 'AccessDeniedException')]));
    assert.deepEqual(out.warnings, []);
    assert.equal(out.releases[0]?.status, 'ROLLED_BACK');
    const dev = stageOf(out, 'dev');
    assert.equal(dev.status, 'ROLLED_BACK');
    assert.match(
      gate(out, 'dev', 'bake')?.reason ?? '',
      /^final check after 10 minutes: could not read alarm payments-dev-5xx: AccessDeniedException: (injected by the scenario|DescribeAlarms failed)/,
    );
    const rb = dev.rollback as Record<string, any>;
    assert.match(rb.reason, /could not read alarm payments-dev-5xx: AccessDeniedException/);
    assert.equal(rb.detectedAt, '2026-11-24T10:14:00.000Z', 'detected at the bake end, not on the safety timeout 15 minutes later');
    assert.equal(rb.startedAt, '2026-11-24T10:14:00.000Z');
    assert.equal(rb.result, 'SUCCEEDED');
    assert.equal(rb.recovery.recovered, true, 'the one denial was spent: the recovery check read the alarms');
    assert.equal(faultsInjected(out, 'DescribeAlarms').length, 1, 'AccessDenied is not retried');
    assert.equal(stageOf(out, 'staging').status, 'NOT_STARTED');
    assert.deepEqual(out.stages['payments/dev'], { running: D1, lastKnownGood: D1 });
  });

  it('ends ROLLED_BACK with its rollback result and "recovery unknown" when the denial lasts through the recovery check', async () => {
    const out = await runInline(scenario([fault(onPhase('dev', 'bake', 'PT9M'), 'cloudwatch', 'DescribeAlarms', 'AccessDeniedException', 100)]));
    assert.deepEqual(out.warnings, [], 'no internal error');
    assert.equal(out.releases[0]?.status, 'ROLLED_BACK');
    const dev = stageOf(out, 'dev');
    const rb = dev.rollback as Record<string, any>;
    assert.equal(rb.result, 'SUCCEEDED');
    assert.equal(rb.toDigest, D1);
    assert.equal(rb.recovery.recovered, null);
    assert.match(rb.recovery.reason, /^recovery unknown: could not read alarm payments-dev-5xx: AccessDeniedException/);
    assert.match(dev.reason ?? '', /rolled back to sha256:1{64}; recovery unknown: could not read alarm payments-dev-5xx/);
  });

  it('retries throttling by the SDK policy: two throttled attempts are absorbed and the bake passes', async () => {
    const out = await runInline(scenario([fault(onPhase('dev', 'bake', 'PT9M'), 'cloudwatch', 'DescribeAlarms', 'ThrottlingException', 2)]));
    assert.deepEqual(out.warnings, []);
    assert.equal(gate(out, 'dev', 'bake')?.result, 'PASS');
    assert.equal(out.releases[0]?.status, 'SUCCEEDED');
  });

  it('fails the bake when throttling outlasts the SDK attempts, naming ThrottlingException', async () => {
    const out = await runInline(scenario([fault(onPhase('dev', 'bake', 'PT9M'), 'cloudwatch', 'DescribeAlarms', 'ThrottlingException', 3)]));
    assert.deepEqual(out.warnings, []);
    assert.equal(faultsInjected(out, 'DescribeAlarms').length, 3, 'three attempts, the SDK standard mode');
    assert.match(gate(out, 'dev', 'bake')?.reason ?? '', /could not read alarm payments-dev-5xx: ThrottlingException/);
    assert.equal(stageOf(out, 'dev').status, 'ROLLED_BACK');
    assert.equal((stageOf(out, 'dev').rollback as Record<string, any>).detectedAt, '2026-11-24T10:14:00.000Z');
  });
});

describe('an error reading alarms elsewhere', () => {
  it('fails the bake at its start when a 5xx outlasts the SDK attempts of the registration alarm check', async () => {
    const out = await runInline(scenario([fault(onPhase('dev', 'deploy', 'PT30S'), 'cloudwatch', 'DescribeAlarms', 'InternalServiceFault', 3)]));
    assert.deepEqual(out.warnings, []);
    assert.match(gate(out, 'dev', 'bake')?.reason ?? '', /^at bake start: could not read alarm payments-dev-5xx: InternalServiceFault/);
    const rb = stageOf(out, 'dev').rollback as Record<string, any>;
    assert.equal(rb.detectedAt, '2026-11-24T10:04:00.000Z');
    assert.equal(out.releases[0]?.status, 'ROLLED_BACK');
  });

  it('fails the bake at its start when its end cannot be scheduled, instead of leaving the deploy unbaked', async () => {
    const out = await runInline(scenario([fault(onPhase('dev', 'deploy', 'PT30S'), 'scheduler', 'CreateSchedule', 'AccessDeniedException')]));
    assert.deepEqual(out.warnings, []);
    assert.match(gate(out, 'dev', 'bake')?.reason ?? '', /^at bake start: could not schedule the end of the bake: AccessDeniedException/);
    assert.equal(out.releases[0]?.status, 'ROLLED_BACK');
    assert.deepEqual(out.stages['payments/dev'], { running: D1, lastKnownGood: D1 }, 'the unbaked digest does not stay in the stage');
  });

  it('blocks the stage in the pre-deploy gate, naming every alarm and the error, and deploys nothing there', async () => {
    const out = await runInline(
      scenario(
        [
          fault(onPhase('prod', 'approval', 'PT1M'), 'cloudwatch', 'DescribeAlarms', 'AccessDeniedException'),
          { when: onPhase('prod', 'approval', 'PT2M'), approve: { principal: bob } },
        ],
        (cfg) => {
          cfg.services.payments.stages[2].approval = { approvers: ['arn:aws:iam::111122223333:role/ReleaseApprovers'], timeoutMinutes: 60 };
        },
      ),
    );
    assert.deepEqual(out.warnings, []);
    const prod = stageOf(out, 'prod');
    assert.equal(prod.status, 'BLOCKED');
    const g = gate(out, 'prod', 'alarms.pre-deploy');
    assert.equal(g?.result, 'FAIL');
    assert.match(g?.reason ?? '', /^could not read alarms payments-prod-5xx, payments-prod-latency-p99: AccessDeniedException: /);
    assert.match(prod.reason ?? '', /alarms\.pre-deploy: could not read alarms/);
    assert.equal(out.releases[0]?.status, 'BLOCKED');
    assert.deepEqual(
      out.deployments.filter((d) => d.stage === 'prod'),
      [],
    );
    assert.ok(out.lifecycle.some((e) => e.detailType === 'Stage Gate Failed' && e.detail.stage === 'prod' && e.detail.gate === 'alarms.pre-deploy'));
  });

  it('fails a polling bake at the poll that could not read the alarms, and rolls back at once', async () => {
    const out = await runInline(
      scenario([fault(onPhase('dev', 'bake', 'PT5M'), 'cloudwatch', 'DescribeAlarms', 'AccessDeniedException')], (cfg) => {
        cfg.services.payments.stages[0].bake = { mode: 'poll', intervalSeconds: 60 };
      }),
    );
    assert.deepEqual(out.warnings, []);
    assert.match(gate(out, 'dev', 'bake')?.reason ?? '', /^poll at bake minute 5: could not read alarm payments-dev-5xx: AccessDeniedException/);
    const rb = stageOf(out, 'dev').rollback as Record<string, any>;
    assert.equal(rb.detectedAt, '2026-11-24T10:09:00.000Z');
    assert.equal(rb.startedAt, '2026-11-24T10:09:00.000Z');
    assert.equal(out.releases[0]?.status, 'ROLLED_BACK');
  });
});

describe("the bake's safety timeout", () => {
  it('rolls back with a reason that names the lost verdict, and ends ROLLED_BACK with the rollback result although the recovery check fails', async () => {
    // The bake's end is checked (PASS at 10:14) but SendTaskSuccess is denied to every attempt: the verdict never
    // reaches the workflow, and the bake task times out 15 minutes after the bake's time (10:29).
    const out = await runInline(
      scenario([
        fault(onPhase('dev', 'bake', 'PT9M'), 'sfn', 'SendTaskSuccess', 'AccessDeniedException', 3),
        fault(onPhase('dev', 'rollback', 'PT1M'), 'cloudwatch', 'DescribeAlarms', 'AccessDeniedException'),
      ]),
    );
    assert.equal(out.warnings.length, 1);
    assert.match(out.warnings[0] ?? '', /^event delivery to schedule bake-payments-2{16}-dev failed: AccessDeniedException/, 'the lost timer is reported');
    assert.equal(out.releases[0]?.status, 'ROLLED_BACK');
    const dev = stageOf(out, 'dev');
    assert.equal(dev.status, 'ROLLED_BACK');
    const rb = dev.rollback as Record<string, any>;
    assert.equal(rb.detectedAt, '2026-11-24T10:29:00.000Z');
    assert.match(rb.reason, /^bake did not end within its safety timeout: its verdict \(PASS at 2026-11-24T10:14:00.000Z\) was recorded but never reached the workflow/);
    assert.equal(rb.result, 'SUCCEEDED');
    assert.equal(rb.fromDigest, D2);
    assert.equal(rb.recovery.recovered, null);
    assert.match(rb.recovery.reason, /^recovery unknown: could not read alarm payments-dev-5xx: AccessDeniedException/);
  });
});
