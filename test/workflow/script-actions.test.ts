/**
 * Script lines (docs/scenarios.md): every action — alarm, approve, reject, deploy, fault, abort, event — on
 * either `when`: `{ at }` from the start, or `{ service, stage, phase, after }` from that phase's start.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { ValidationError } from '../../lambdas/domain/validation';
import { loadScenario } from '../../local/scenario';
import type { SimulationOutput } from '../../local/simulate';
import { ROOT, runInline } from './helpers';

const bob = 'arn:aws:sts::111122223333:assumed-role/ReleaseApprovers/bob';

/** demo.json with prod behind an approval: dev bake 10:04–10:14, staging 10:15–10:30, prod approval from 10:30. */
function scenario(script: unknown[], mutate: (cfg: Record<string, any>) => void = () => undefined) {
  const s = JSON.parse(readFileSync(join(ROOT, 'examples', 'scenarios', 'demo.json'), 'utf8'));
  const cfg = JSON.parse(readFileSync(join(ROOT, 'examples', 'gantry.config.json'), 'utf8'));
  cfg.services.payments.stages[2].approval = { approvers: ['arn:aws:iam::111122223333:role/ReleaseApprovers'], timeoutMinutes: 60 };
  mutate(cfg);
  s.config = cfg;
  s.script = script;
  return s;
}
const stageOf = (out: SimulationOutput, name: string) => {
  const st = out.releases[0]?.stages.find((x) => x.name === name);
  assert.ok(st, `no stage ${name}`);
  return st;
};
const problemsOf = (raw: unknown): string[] => {
  try {
    loadScenario(raw, join(ROOT, 'examples', 'scenarios'));
  } catch (e) {
    assert.ok(e instanceof ValidationError, String(e));
    return e.problems;
  }
  return [];
};

describe('script actions on a phase', () => {
  it('aborts the release ten minutes into its prod approval: ABORTED, nothing deployed to prod, the lease freed', async () => {
    const out = await runInline(scenario([{ when: { service: 'payments', stage: 'prod', phase: 'approval', after: 'PT10M' }, abort: { service: 'payments' } }]));
    assert.deepEqual(out.warnings, []);
    assert.deepEqual(out.unused, []);
    const aborted = out.timeline.find((t) => t.event === 'Execution Aborted');
    assert.equal(aborted?.at, '2026-11-24T10:40:00.000Z', 'the approval began at 10:30');
    assert.equal(out.releases[0]?.status, 'ABORTED');
    assert.equal(stageOf(out, 'prod').status, 'ABORTED');
    assert.equal(stageOf(out, 'staging').status, 'PROMOTED');
    assert.deepEqual(
      out.deployments.filter((d) => d.stage === 'prod'),
      [],
    );
    assert.deepEqual(out.leasesHeld, []);
    assert.equal(out.executions[0]?.status, 'ABORTED');
  });

  it('injects a fault five minutes into a bake: a polling bake reads its alarms every minute until then, and fails at that poll', async () => {
    const out = await runInline(
      scenario(
        [
          {
            when: { service: 'payments', stage: 'dev', phase: 'bake', after: 'PT5M' },
            fault: { service: 'cloudwatch', operation: 'DescribeAlarms', error: 'AccessDeniedException', count: 1 },
          },
        ],
        (cfg) => {
          cfg.services.payments.stages[0].bake = { mode: 'poll', intervalSeconds: 60 };
        },
      ),
    );
    assert.deepEqual(out.warnings, []);
    const injected = out.timeline.filter((t) => t.event === 'Fault Injected');
    assert.deepEqual(
      injected.map((t) => t.at),
      ['2026-11-24T10:09:00.000Z'],
      'dev bake began at 10:04',
    );
    const bake = stageOf(out, 'dev').gates.find((g) => g.gate === 'bake');
    assert.match(bake?.reason ?? '', /^poll at bake minute 5: could not read alarm payments-dev-5xx: AccessDeniedException/);
    assert.equal(stageOf(out, 'dev').status, 'ROLLED_BACK');
  });

  it('refuses an abort on a phase that names another service or stage, naming the field', () => {
    const problems = problemsOf(scenario([{ when: { service: 'payments', stage: 'prod', phase: 'approval' }, abort: { service: 'billing', stage: 'dev' } }]));
    assert.deepEqual(problems, [
      'script[0].abort.service: expected "payments" (the service of when), got "billing"',
      'script[0].abort.stage: expected "prod" (the stage of when) or no stage, got "dev"',
    ]);
  });
});

describe('script actions at a time', () => {
  it('sets an alarm at a time: ALARM at 10:08 fails the dev bake at bake minute 4', async () => {
    const out = await runInline(scenario([{ when: { at: 'PT8M' }, alarm: { name: 'payments-dev-5xx', state: 'ALARM' } }]));
    assert.deepEqual(out.warnings, []);
    const dev = stageOf(out, 'dev');
    assert.equal(dev.status, 'ROLLED_BACK');
    assert.equal((dev.rollback as Record<string, any>).detectedAt, '2026-11-24T10:08:00.000Z');
    assert.match(String((dev.rollback as Record<string, any>).reason), /alarm payments-dev-5xx in ALARM at bake minute 4/);
  });

  it('approves at a time the approval that is waiting then', async () => {
    const out = await runInline(scenario([{ when: { at: 'PT35M' }, approve: { principal: bob, comment: 'ok' } }]));
    assert.deepEqual(out.warnings, []);
    assert.deepEqual(out.unused, []);
    const prod = stageOf(out, 'prod');
    assert.equal(prod.approval?.decision, 'APPROVED');
    assert.equal(prod.approval?.principal, bob);
    assert.equal(prod.approval?.at, '2026-11-24T10:35:00.000Z');
    assert.equal(out.releases[0]?.status, 'SUCCEEDED');
  });

  it('reports a rejection at a time when no approval is waiting as unused, and decides nothing', async () => {
    const out = await runInline(
      scenario([
        { when: { at: 'PT5M' }, reject: { principal: bob } },
        { when: { at: 'PT35M' }, approve: { principal: bob } },
      ]),
    );
    assert.deepEqual(
      out.unused.map((u) => [u.index, u.reason]),
      [[0, 'no release was waiting for an approval at that time']],
    );
    assert.equal(out.releases[0]?.status, 'SUCCEEDED');
  });

  it('scripts the first driver run that starts after the time: a deploy line at 10:10 fails the staging deploy at 10:14', async () => {
    const out = await runInline(scenario([{ when: { at: 'PT10M' }, deploy: { result: 'FAILED', message: 'UPGRADE FAILED: timed out' } }]));
    assert.deepEqual(out.warnings, []);
    assert.equal(stageOf(out, 'dev').status, 'PROMOTED');
    const staging = stageOf(out, 'staging');
    assert.equal(staging.status, 'ROLLED_BACK');
    assert.match(String((staging.rollback as Record<string, any>).reason), /UPGRADE FAILED: timed out/);
    assert.deepEqual(out.unused, []);
  });

  it('aborts at a time only the executions in the stage it names: none is in prod at 10:05, so the release goes on', async () => {
    const out = await runInline(
      scenario([
        { when: { at: 'PT5M' }, abort: { service: 'payments', stage: 'prod' } },
        { when: { at: 'PT35M' }, approve: { principal: bob } },
      ]),
    );
    assert.deepEqual(
      out.unused.map((u) => [u.index, u.reason]),
      [[0, 'no execution of payments in stage prod was running']],
    );
    assert.equal(out.releases[0]?.status, 'SUCCEEDED');
  });

  it('refuses an abort at a time of a service or stage the config does not have', () => {
    assert.deepEqual(problemsOf(scenario([{ when: { at: 'PT1M' }, abort: { service: 'billing' } }])), ['script[0].abort.service: expected one of payments, ledger, got "billing"']);
    assert.deepEqual(problemsOf(scenario([{ when: { at: 'PT1M' }, abort: { service: 'payments', stage: 'qa' } }])), [
      'script[0].abort.stage: expected one of dev, staging, prod, got "qa"',
    ]);
  });
});
