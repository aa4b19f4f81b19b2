/**
 * Canary steps of a Kubernetes stage (docs/decisions/043-canary-steps.md): the `rollout` config and its refusals, the
 * pure decisions (replicas, HTTPRoute weights, analysis), and the scenarios through the real release workflow in the
 * local runtime: promoted through three steps, aborted at step 2 by a canary alarm, an analysis failing on ratio and
 * one refusing for lack of samples, and `replicas` mode.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, it } from 'vitest';
import { parseConfig } from '../../lambdas/domain/config';
import { canaryReplicas, CanaryStepError, decideAnalysis, planRouteWeights, replicasShare } from '../../lambdas/domain/canary';
import type { LedgerEvent } from '../../lambdas/domain/ledger';
import { worstCaseHistory } from '../../lambdas/domain/history-budget';
import { ValidationError } from '../../lambdas/domain/validation';
import type { LocalCloud } from '../../local/cloud';
import { loadScenario, loadScenarioFile } from '../../local/scenario';
import { type SimulationOutput, simulate } from '../../local/simulate';
import { D1, D2, ROOT } from '../../test/workflow/helpers';
import { auditRelease } from '../../lambdas/domain/audit/report-model';
import { renderAudit } from '../../cli/render/render';
import { renderReleaseReport } from '../../cli/render/report-html';

const REGISTRY = '000000000000.dkr.ecr.local.amazonaws.com';
const image = (digest: string) => `${REGISTRY}/payments-api@${digest}`;
const file = (name: string) => join(ROOT, 'examples', 'scenarios', `${name}.json`);
const rawConfig = (): any => JSON.parse(readFileSync(file('canary-promoted'), 'utf8')).config;

interface Run {
  output: SimulationOutput;
  events: LedgerEvent[];
  cloud: LocalCloud;
}
async function run(name: string): Promise<Run> {
  let cloud: LocalCloud | undefined;
  const r = await simulate(loadScenarioFile(file(name)), { prepareCloud: (c) => (cloud = c) });
  assert.ok(cloud);
  return { output: r.output, events: r.ledgerEvents, cloud };
}
const steps = (r: Run) =>
  r.events.filter((e) => e.type === 'canary.step' && e.stage === 'prod').map((e) => `${String(e.data.step)}:${String(e.data.weight)}:${String(e.data.status)}`);
const prodStage = (r: Run) => r.output.releases[0]?.stages.find((s) => s.name === 'prod');
const stable = (r: Run) => r.cloud.kube.get('prod', 'payments', 'payments-api');
const canary = (r: Run) => r.cloud.kube.get('prod', 'payments', 'payments-api-canary');
const routeWeights = (r: Run) => r.output.traffic?.changes.map((c) => `${c.weights['payments-api']}/${c.weights['payments-api-canary']}`);
function assertClosed(out: SimulationOutput): void {
  for (const r of out.releases) assert.equal(r.audit.verified, true, `${r.releaseId} chain`);
  assert.deepEqual(out.leasesHeld, []);
  assert.deepEqual(out.warnings, []);
  assert.deepEqual(out.unused, []);
}

function problems(edit: (rollout: any, cfg: any) => void): string[] {
  const cfg = rawConfig();
  edit(cfg.services.payments.stages[1].deploy.rollout, cfg);
  try {
    parseConfig(cfg);
  } catch (e) {
    assert.ok(e instanceof ValidationError, String(e));
    return e.problems;
  }
  return [];
}

describe('the canary config (deploy.rollout)', () => {
  const at = 'services.payments.stages[1].deploy.rollout';
  it('accepts the example canary', () =>
    assert.deepEqual(
      problems(() => undefined),
      [],
    ));
  it('refuses weights that do not strictly increase, naming the step', () => {
    const p = problems((r) => (r.steps = [{ weight: 25, bakeMinutes: 5 }, { weight: 25 }, { weight: 100 }]));
    assert.ok(
      p.some((x) => x.startsWith(`${at}.steps[1].weight`) && x.includes('strictly increase')),
      p.join('\n'),
    );
  });
  it('refuses a last step below 100 and a weight outside 1..100', () => {
    assert.ok(problems((r) => (r.steps = [{ weight: 5 }, { weight: 50 }])).some((x) => x.startsWith(`${at}.steps[1].weight`) && x.includes('weight 100')));
    assert.ok(problems((r) => (r.steps = [{ weight: 0 }, { weight: 100 }])).some((x) => x.startsWith(`${at}.steps[0].weight`) && x.includes('from 1 to 100')));
    assert.ok(problems((r) => (r.steps = [{ weight: 5 }, { weight: 101 }])).some((x) => x.startsWith(`${at}.steps[1].weight`)));
  });
  it('refuses gateway-api without a route, and a route with replicas', () => {
    assert.ok(problems((r) => delete r.route).some((x) => x.startsWith(`${at}.route`) && x.includes('gateway-api')));
    assert.ok(problems((r) => (r.traffic = 'replicas')).some((x) => x.startsWith(`${at}.route`) && x.includes('replicas')));
  });
  it('refuses an unknown traffic, strategy or field, naming what is allowed', () => {
    assert.ok(problems((r) => (r.traffic = 'istio')).some((x) => x.startsWith(`${at}.traffic`) && x.includes('gateway-api, replicas')));
    assert.ok(problems((r) => (r.strategy = 'blue-green')).some((x) => x.startsWith(`${at}.strategy`) && x.includes('canary')));
    assert.ok(problems((r) => (r.stepz = [])).some((x) => x.includes('stepz')));
  });
  it('refuses an analysis without a baked step, and a canary Deployment named like the stable', () => {
    const analysis = { metric: { namespace: 'P', name: 'M', stat: 'Average' }, stableDimensions: { D: 'a' }, canaryDimensions: { D: 'b' }, maxRatio: 1.5, minSamples: 3 };
    assert.ok(problems((r) => ((r.steps = [{ weight: 50 }, { weight: 100 }]), (r.analysis = analysis))).some((x) => x.startsWith(`${at}.analysis`)));
    assert.ok(problems((r) => (r.analysis = { ...analysis, maxRatio: 0.5 })).some((x) => x.startsWith(`${at}.analysis.maxRatio`)));
    assert.ok(problems((r) => (r.canaryDeployment = 'payments-api')).some((x) => x.startsWith(`${at}.canaryDeployment`)));
  });
  it('counts a canary stage in the history budget: more steps, more events', () => {
    const cfg = parseConfig(rawConfig());
    const few = worstCaseHistory(cfg.services.payments!).total;
    const raw = rawConfig();
    raw.services.payments.stages[1].deploy.rollout.steps = [10, 20, 30, 40, 50, 100].map((weight) => ({ weight, bakeMinutes: 5 }));
    const many = worstCaseHistory(parseConfig(raw).services.payments!).total;
    assert.ok(many > few, `${many} > ${few}`);
    const plain = rawConfig();
    delete plain.services.payments.stages[1].deploy.rollout;
    assert.ok(worstCaseHistory(parseConfig(plain).services.payments!).total < few);
  });
});

describe('canary decisions (lambdas/domain/canary.ts)', () => {
  it('scales the canary to ceil(stable × weight / 100), at least 1, and says the share it really gets', () => {
    assert.deepEqual(
      [5, 25, 50, 100].map((w) => canaryReplicas(4, w)),
      [1, 1, 2, 4],
    );
    assert.equal(canaryReplicas(0, 50), 1);
    assert.equal(replicasShare(4, 1), 20);
    assert.equal(replicasShare(3, 3), 50);
  });
  const route = { namespace: 'payments', name: 'web', path: '/x', rule: 0, stableService: 'api', canaryService: 'api-canary' };
  const read = {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'web', namespace: 'payments', resourceVersion: '7', managedFields: [{}] },
    spec: {
      parentRefs: [{ name: 'gw' }],
      rules: [
        {
          matches: [{ path: { value: '/' } }],
          backendRefs: [
            { name: 'api', port: 80, weight: 100 },
            { name: 'api-canary', port: 80, weight: 0 },
            { name: 'other', weight: 1 },
          ],
        },
      ],
    },
  };
  it('weighs the two backendRefs 100 − w / w and keeps everything else, resourceVersion included', () => {
    const { requestBody } = planRouteWeights(route, read, 25) as { requestBody: any };
    assert.deepEqual(requestBody.spec.rules[0].backendRefs, [
      { name: 'api', port: 80, weight: 75 },
      { name: 'api-canary', port: 80, weight: 25 },
      { name: 'other', weight: 1 },
    ]);
    assert.equal(requestBody.metadata.resourceVersion, '7');
    assert.equal(requestBody.metadata.managedFields, undefined);
    assert.deepEqual(requestBody.spec.parentRefs, [{ name: 'gw' }]);
    assert.deepEqual(requestBody.spec.rules[0].matches, read.spec.rules[0]?.matches);
  });
  it('refuses a route without a backendRef to either Service, or without the rule', () => {
    const noCanary = { ...read, spec: { rules: [{ backendRefs: [{ name: 'api', weight: 100 }] }] } };
    assert.throws(
      () => planRouteWeights(route, noCanary, 5),
      (e: Error) => e instanceof CanaryStepError && /no backendRef to Service api-canary/.test(e.message),
    );
    assert.throws(() => planRouteWeights({ ...route, rule: 2 }, read, 5), /has no rule 2/);
    assert.throws(() => planRouteWeights({ ...route, name: 'other' }, read, 5), /not httproute payments\/other/);
  });
  it('analysis: FAIL above stable × maxRatio, FAIL without minSamples on either side, PASS otherwise', () => {
    const s = { maxRatio: 1.5, minSamples: 3 };
    const fail = decideAnalysis(s, [1, 1, 1], [2, 2, 1.9]);
    assert.equal(fail.result, 'FAIL');
    assert.match(fail.reason, /canary 1\.9667 > stable 1 × 1\.5/);
    assert.equal(fail.ratio, 1.9667);
    assert.equal(decideAnalysis(s, [1, 1, 1], [1.5, 1.5, 1.5]).result, 'PASS');
    const few = decideAnalysis(s, [1, 1, 1], [0, 0]);
    assert.equal(few.result, 'FAIL');
    assert.match(few.reason, /not enough samples: stable 3, canary 2, at least 3/);
    assert.equal(decideAnalysis(s, [], []).result, 'FAIL');
    assert.equal(decideAnalysis(s, [0, 0, 0], [0.1, 0, 0]).result, 'FAIL', 'a stable of 0 makes any canary above 0 a FAIL');
    assert.equal(decideAnalysis(s, [0, 0, 0], [0, 0, 0]).result, 'PASS');
  });
});

describe('a canary promoted through three steps (gateway-api)', () => {
  let r: Run;
  beforeAll(async () => {
    r = await run('canary-promoted');
  });
  it('records every step started and passed, then promotes the stage', () => {
    assertClosed(r.output);
    assert.equal(r.output.releases[0]?.status, 'SUCCEEDED');
    assert.deepEqual(steps(r), ['1:5:started', '1:5:passed', '2:25:started', '2:25:passed', '3:100:started', '3:100:passed']);
    assert.equal(prodStage(r)?.status, 'PROMOTED');
    const phases = r.events.filter((e) => e.type === 'bake.finished' && e.stage === 'prod').map((e) => `${String(e.data.phase ?? 'stage')}:${String(e.data.result)}`);
    assert.deepEqual(phases, ['canary-1:PASS', 'canary-2:PASS', 'stage:PASS']);
  });
  it('moves the HTTPRoute 95/5, 75/25, 0/100 and back to 100/0, and scales the canary to 0 at the end', () => {
    assert.deepEqual(routeWeights(r), ['95/5', '75/25', '0/100', '100/0']);
    assert.equal(canary(r)?.replicas, 0);
    assert.equal(canary(r)?.containers[0]?.image, image(D2));
  });
  it('gives the stable Deployment the digest after the last step, before the traffic goes back to it', () => {
    assert.equal(stable(r)?.containers[0]?.image, image(D2));
    const promoted = r.output.deployments.find((d) => d.stage === 'prod' && d.digest === D2 && d.kind === 'deploy' && d.result === 'SUCCEEDED');
    assert.ok(promoted);
    const back = r.output.traffic?.changes.at(-1);
    const lastStep = r.events.find((e) => e.type === 'canary.step' && e.data.step === 3 && e.data.status === 'passed');
    assert.ok(back && lastStep && back.at >= lastStep.at);
    assert.deepEqual(r.output.stages['payments/prod'], { running: D2, lastKnownGood: D2 });
  });
});

describe('a canary aborted at its second step by a canary alarm', () => {
  let r: Run;
  beforeAll(async () => {
    r = await run('canary-aborted');
  });
  it('ends the stage ROLLED_BACK naming the step, and records the step aborted', () => {
    assertClosed(r.output);
    const st = prodStage(r);
    assert.equal(st?.status, 'ROLLED_BACK');
    assert.match(st?.reason ?? '', /^canary aborted at step 2 \(25 %\): alarm payments-prod-canary-5xx in ALARM/);
    assert.deepEqual(steps(r), ['1:5:started', '1:5:passed', '2:25:started', '2:25:aborted']);
    assert.equal(r.output.releases[0]?.status, 'ROLLED_BACK');
  });
  it('sends the traffic back to the stable within seconds of the alarm (virtual time), and scales the canary to 0', () => {
    const breach = r.events.find((e) => e.type === 'bake.finished' && e.data.phase === 'canary-2');
    assert.equal(breach?.data.result, 'FAIL');
    const back = r.output.traffic?.changes.at(-1);
    assert.deepEqual(routeWeights(r), ['95/5', '75/25', '100/0']);
    const lag = Date.parse(back?.at ?? '') - Date.parse(breach?.at ?? '');
    assert.ok(lag >= 0 && lag <= 5_000, `traffic back ${lag} ms after the alarm`);
    assert.equal(canary(r)?.replicas, 0);
    const scaledDown = r.output.traffic?.scales.filter((s) => s.name === 'payments-api-canary').at(-1);
    assert.ok(scaledDown && scaledDown.replicas === 0 && Date.parse(scaledDown.at) - Date.parse(breach?.at ?? '') <= 5_000);
  });
  it('shows every step in `audit show` and the HTML report', () => {
    const mine = r.events.filter((e) => e.releaseId === r.output.releases[0]?.releaseId);
    const audit = auditRelease(mine);
    assert.ok(audit);
    const text = renderAudit(audit, undefined);
    for (const line of ['step 1 (5 %) started', 'step 1 (5 %) passed', 'step 2 (25 %) started', 'step 2 (25 %) aborted: alarm payments-prod-canary-5xx'])
      assert.ok(text.includes(line), line);
    const html = renderReleaseReport(mine);
    assert.match(html, /<h3 id="h-canary">Canary steps<\/h3>/);
    assert.equal((html.match(/<td>step 2<\/td>/g) ?? []).length, 2);
  });
  it('never changes the stable Deployment: still D1, never written, and the stage pointer still on D1', () => {
    assert.equal(stable(r)?.containers[0]?.image, image(D1));
    assert.equal(stable(r)?.generation, 1);
    assert.equal(stable(r)?.resourceVersion, 1);
    assert.deepEqual(r.output.stages['payments/prod']?.running, D1);
    assert.equal(r.output.deployments.filter((d) => d.stage === 'prod' && d.kind === 'rollback').length, 0);
  });
});

describe('canary analysis', () => {
  it('fails on ratio, recorded as gate canary.analysis with the figures, and aborts the canary at step 1', async () => {
    const r = await run('canary-analysis-fails');
    assertClosed(r.output);
    const gate = r.events.find((e) => e.type === 'gate.evaluated' && e.data.gate === 'canary.analysis');
    assert.equal(gate?.data.result, 'FAIL');
    const ev = gate?.data.evidence as any;
    assert.deepEqual([ev.stable.value, ev.canary.value, ev.ratio, ev.maxRatio], [1, 2, 2, 1.5]);
    assert.equal(ev.stable.samples, 10);
    assert.match(prodStage(r)?.reason ?? '', /^canary aborted at step 1 \(5 %\): canary\.analysis FAIL: canary 2 > stable 1 × 1\.5/);
    assert.deepEqual(routeWeights(r), ['95/5', '100/0']);
    assert.equal(stable(r)?.containers[0]?.image, image(D1));
  });
  it('refuses to pass without samples, however healthy the canary looks', async () => {
    const r = await run('canary-analysis-no-samples');
    assertClosed(r.output);
    const gate = r.events.find((e) => e.type === 'gate.evaluated' && e.data.gate === 'canary.analysis');
    assert.equal(gate?.data.result, 'FAIL');
    assert.match(String(gate?.data.reason), /not enough samples: stable 10, canary 0, at least 5/);
    assert.equal(prodStage(r)?.status, 'ROLLED_BACK');
  });
});

describe('a canary whose own rollout fails', () => {
  it('aborts at step 1 (the canary stalls with ProgressDeadlineExceeded), lists the canary writes as such, and never writes the stable', async () => {
    const raw = JSON.parse(readFileSync(file('canary-promoted'), 'utf8'));
    raw.script = [{ when: { service: 'payments', stage: 'prod', phase: 'deploy' }, deploy: { result: 'FAILED', duration: 'PT3M', message: 'canary pods crash-loop' } }];
    let cloud: LocalCloud | undefined;
    const res = await simulate(loadScenario(raw, join(ROOT, 'examples', 'scenarios')), { prepareCloud: (c) => (cloud = c) });
    assert.ok(cloud);
    const r: Run = { output: res.output, events: res.ledgerEvents, cloud };
    assertClosed(r.output);
    assert.equal(prodStage(r)?.status, 'ROLLED_BACK');
    assert.match(prodStage(r)?.reason ?? '', /^canary aborted at step 1 \(5 %\): KubernetesRolloutFailed: .*canary pods crash-loop/);
    assert.deepEqual(steps(r), ['1:5:started', '1:5:aborted']);
    assert.equal(stable(r)?.generation, 1);
    assert.equal(canary(r)?.replicas, 0);
    assert.deepEqual(
      r.output.deployments.filter((d) => d.stage === 'prod').map((d) => d.kind),
      ['canary', 'canary'],
    );
    assert.equal(r.output.traffic?.changes.length, 1, 'the route was never weighed for step 1, only set back to 100/0');
  });
});

describe('a canary whose HTTPRoute lacks the canary backendRef', () => {
  it('refuses step 1, cannot set the route back either, scales the canary to 0 and ends ROLLBACK_FAILED naming both', async () => {
    let cloud: LocalCloud | undefined;
    const res = await simulate(loadScenarioFile(file('canary-promoted')), {
      prepareCloud: (c) => {
        cloud = c;
        c.kube.seedRoute('prod', 'payments', 'payments-api', { 'payments-api': 100 });
      },
    });
    assert.ok(cloud);
    const r: Run = { output: res.output, events: res.ledgerEvents, cloud };
    const st = prodStage(r);
    assert.equal(st?.status, 'ROLLBACK_FAILED');
    assert.match(st?.reason ?? '', /^canary aborted at step 1 \(5 %\): CanaryStepError: .*no backendRef to Service payments-api-canary/);
    assert.match(st?.reason ?? '', /taking the canary's traffic and replicas back failed/);
    assert.deepEqual(r.output.traffic?.changes, []);
    assert.equal(canary(r)?.replicas, 0, 'the canary is scaled down although the route could not be set back');
    assert.equal(stable(r)?.generation, 1);
    assert.deepEqual(r.output.leasesHeld, []);
  });
});

describe('a canary in replicas mode', () => {
  it('scales the canary 1, 2, 3 (ceil of its share of 3 stable replicas) then 0, with no route, analysis passing, and promotes', async () => {
    const r = await run('canary-replicas');
    assertClosed(r.output);
    assert.equal(r.output.releases[0]?.status, 'SUCCEEDED');
    assert.deepEqual(r.output.traffic?.routes, []);
    assert.deepEqual(
      r.output.traffic?.scales.filter((s) => s.name === 'payments-api-canary').map((s) => s.replicas),
      [1, 2, 3, 0],
    );
    const started = r.events.filter((e) => e.type === 'canary.step' && e.data.status === 'started').map((e) => e.data.replicasShare);
    assert.deepEqual(started, [25, 40, 50]);
    assert.deepEqual(
      r.events.filter((e) => e.type === 'gate.evaluated' && e.data.gate === 'canary.analysis').map((e) => e.data.result),
      ['PASS', 'PASS'],
    );
    assert.equal(stable(r)?.containers[0]?.image, image(D2));
  });
});

describe('a freeze that begins while a canary step bakes (the window at each raise of the traffic)', () => {
  it('takes the canary back before step 2 instead of raising its traffic: ROLLED_BACK, the window gate FAIL at canary-2, the stable never written', async () => {
    const raw = JSON.parse(readFileSync(file('canary-promoted'), 'utf8'));
    // Step 1 bakes 10:12–10:22; the freeze goes on at 10:15.
    raw.triggers.push({ type: 'freeze', state: 'on', reason: 'quarter-end close', principal: 'arn:aws:sts::111122223333:assumed-role/release-managers/maria', at: 'PT15M' });
    let cloud: LocalCloud | undefined;
    const out = await simulate(loadScenario(raw, join(ROOT, 'examples', 'scenarios')), { prepareCloud: (c) => (cloud = c) });
    assert.ok(cloud);
    const r: Run = { output: out.output, events: out.ledgerEvents, cloud };

    assertClosed(r.output);
    const st = prodStage(r);
    assert.equal(st?.status, 'ROLLED_BACK');
    assert.match(st?.reason ?? '', /^canary aborted at step 2 \(25 %\): .*freeze/);
    assert.deepEqual(steps(r), ['1:5:started', '1:5:passed', '2:25:aborted']);
    const gate = r.events.find((e) => e.type === 'gate.evaluated' && e.data.gate === 'window' && e.data.checkpoint === 'canary-2');
    assert.equal(gate?.data.result, 'FAIL');
    assert.match(String(gate?.data.reason), /^before step 2 \(25 %\): .*freeze.*the canary is taken back to the stable$/);
    assert.deepEqual(routeWeights(r), ['95/5', '100/0'], 'never raised to 25 %, back to the stable');
    assert.equal(canary(r)?.replicas, 0);
    assert.equal(stable(r)?.generation, 1, 'the stable Deployment was never written');
    assert.equal(r.output.stages['payments/prod']?.running, D1);
  });
});
