/**
 * Waves of clusters through the real workflows (decision 044): which clusters were deployed to and rolled back (the
 * local cloud's driver runs and Deployments), what the ledger says per cluster and per wave, and that a stage without
 * waves runs exactly the states it always ran.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { loadScenario, loadScenarioFile } from '../../local/scenario';
import { simulate } from '../../local/simulate';
import { stageStep } from '../../lambdas/domain/step-keys';
import { D1, D2, ROOT } from './helpers';
import { releaseStatus } from '../../cli/render/status-view';
import { auditRelease } from '../../lambdas/domain/audit/report-model';
import { renderAudit } from '../../cli/render/render';

const file = (name: string) => join(ROOT, 'examples', 'scenarios', `${name}.json`);
const raw = (name: string): any => JSON.parse(readFileSync(file(name), 'utf8'));
const runFile = (name: string) => simulate(loadScenarioFile(file(name)));
const runRaw = (s: unknown) => simulate(loadScenario(s, join(ROOT, 'examples', 'scenarios')));

/** `kind:cluster:result` of every driver run in prod, in order. */
const prodRuns = (deployments: Array<{ stage: string; kind: string; cluster?: string; result?: string }>) =>
  deployments.filter((d) => d.stage === 'prod').map((d) => `${d.kind}:${d.cluster}:${d.result}`);
/** The image the prod Deployment's container runs, per cluster. */
const images = (workloads: Array<{ cluster: string; containers: Record<string, string> }>) =>
  Object.fromEntries(workloads.filter((w) => w.cluster.startsWith('prod-')).map((w) => [w.cluster, String(w.containers.api).split('@')[1]]));

describe('waves of clusters', () => {
  it('promotes a stage when every wave is: each cluster deployed once, wave by wave, each wave baked before the next', async () => {
    const { output, ledgerEvents } = await runFile('waves-promoted');
    assert.deepEqual(output.warnings, []);
    assert.equal(output.releases[0]?.status, 'SUCCEEDED');
    assert.deepEqual(prodRuns(output.deployments), ['deploy:prod-eu-1:SUCCEEDED', 'deploy:prod-eu-2:SUCCEEDED', 'deploy:prod-us-1:SUCCEEDED', 'deploy:prod-ap-1:SUCCEEDED']);
    assert.deepEqual(images(output.workloads), { 'prod-eu-1': D2, 'prod-eu-2': D2, 'prod-us-1': D2, 'prod-ap-1': D2 });
    const prod = ledgerEvents.filter((e) => e.stage === 'prod');
    // Wave k+1 starts only after wave k's bake passed.
    const at = (key: string) => prod.find((e) => e.stepKey === key)?.at ?? 'missing';
    assert.ok(at(stageStep.bakeFinished('prod', 'wave-1')) <= at(stageStep.cluster('prod', 'prod-eu-2', 'deploy.started')));
    assert.ok(at(stageStep.cluster('prod', 'prod-eu-1', 'deploy.finished')) < at(stageStep.cluster('prod', 'prod-eu-2', 'deploy.started')));
    assert.deepEqual(
      prod.filter((e) => e.type === 'wave.finished').map((e) => `${e.data.wave}:${e.data.result}:${(e.data.clusters as string[]).join('+')}`),
      ['1:SUCCEEDED:prod-eu-1', '2:SUCCEEDED:prod-eu-2+prod-us-1', '3:SUCCEEDED:prod-ap-1'],
    );
    // Two wave bakes (not after the last wave) and the stage's own bake.
    assert.deepEqual(
      prod.filter((e) => e.type === 'bake.finished').map((e) => `${e.data.phase ?? 'stage'}:${e.data.result}`),
      ['wave-1:PASS', 'wave-2:PASS', 'stage:PASS'],
    );
    const stage = output.releases[0]?.stages.find((s) => s.name === 'prod');
    assert.equal(stage?.status, 'PROMOTED');
    assert.deepEqual(
      stage?.clusters?.map((c) => `${c.cluster}:${c.wave}:${c.deploy?.result}:${c.deploy?.digest}`),
      ['prod-eu-1:1', 'prod-eu-2:2', 'prod-us-1:2', 'prod-ap-1:3'].map((x) => `${x}:SUCCEEDED:${D2}`),
    );
    assert.equal(output.stages['payments/prod']?.lastKnownGood, D2);
  });

  it('rolls back waves 1 and 2 when wave 2 alarms, in parallel, and never touches wave 3', async () => {
    const { output, ledgerEvents } = await runFile('waves-wave-2-alarms');
    assert.deepEqual(output.warnings, []);
    assert.equal(output.releases[0]?.status, 'ROLLED_BACK');
    assert.deepEqual(prodRuns(output.deployments), [
      'deploy:prod-eu-1:SUCCEEDED',
      'deploy:prod-eu-2:SUCCEEDED',
      'deploy:prod-us-1:SUCCEEDED',
      'rollback:prod-eu-1:SUCCEEDED',
      'rollback:prod-eu-2:SUCCEEDED',
      'rollback:prod-us-1:SUCCEEDED',
    ]);
    // prod-ap-1 still runs what it ran before the release; the others are back on it.
    assert.deepEqual(images(output.workloads), { 'prod-eu-1': D1, 'prod-eu-2': D1, 'prod-us-1': D1, 'prod-ap-1': D1 });
    assert.equal(ledgerEvents.filter((e) => e.data.cluster === 'prod-ap-1').length, 0, 'nothing is recorded for wave 3');
    const rollbacks = output.deployments.filter((d) => d.stage === 'prod' && d.kind === 'rollback');
    assert.equal(new Set(rollbacks.map((d) => d.startedAt)).size, 1, 'the touched clusters roll back at once');
    const prod = output.releases[0]?.stages.find((s) => s.name === 'prod');
    assert.match(String(prod?.reason), /^alarm payments-prod-5xx in ALARM/);
    const bake = ledgerEvents.find((e) => e.stepKey === stageStep.bakeFinished('prod', 'wave-2'));
    assert.equal(bake?.data.result, 'FAIL');
    const started = ledgerEvents.find((e) => e.stepKey === stageStep.rollbackDeployStarted('prod'));
    assert.deepEqual(started?.data.clusters, ['prod-eu-1', 'prod-eu-2', 'prod-us-1']);
    assert.equal(ledgerEvents.find((e) => e.stepKey === stageStep.rollbackStarted('prod'))?.data.fromDeployed, true);
    // The stage's deploy as a whole ends when the rollback starts: stopped after wave 2 of 3.
    const stageDeploy = ledgerEvents.find((e) => e.stepKey === stageStep.deployFinished('prod'));
    assert.equal(stageDeploy?.data.result, 'FAILED');
    assert.match(String(stageDeploy?.data.message), /^stopped after wave 2 of 3: alarm payments-prod-5xx in ALARM/);
  });

  it('says which cluster runs what in gantry status and audit show', async () => {
    const { ledgerEvents } = await runFile('waves-wave-2-alarms');
    const view = releaseStatus(ledgerEvents, { now: new Date('2026-11-24T12:00:00Z') });
    assert.deepEqual(view?.stages.find((s) => s.name === 'prod')?.clusters, [
      { cluster: 'prod-eu-1', wave: 1, deploy: 'SUCCEEDED', rollback: 'SUCCEEDED', runs: D1 },
      { cluster: 'prod-eu-2', wave: 2, deploy: 'SUCCEEDED', rollback: 'SUCCEEDED', runs: D1 },
      { cluster: 'prod-us-1', wave: 2, deploy: 'SUCCEEDED', rollback: 'SUCCEEDED', runs: D1 },
    ]);
    assert.equal(view?.stages.find((s) => s.name === 'dev')?.clusters, undefined);
    const audit = auditRelease(ledgerEvents);
    assert.ok(audit);
    const text = renderAudit(audit, undefined);
    assert.match(text, new RegExp(`deploy .* SUCCEEDED  ${D2}  on prod-us-1 \\(wave 2\\)`));
    assert.match(text, new RegExp(`rollback deploy .* SUCCEEDED  ${D1}  on prod-eu-1 \\(wave 1\\)`));
    assert.doesNotMatch(text, /prod-ap-1/);
  });

  it('rolls back both clusters of wave 1 when one fails its deploy and the other succeeded; wave 2 is never touched', async () => {
    const { output, ledgerEvents } = await runFile('waves-cluster-deploy-fails');
    assert.deepEqual(output.warnings, []);
    assert.equal(output.releases[0]?.status, 'ROLLED_BACK');
    assert.deepEqual(prodRuns(output.deployments), ['deploy:prod-eu-1:SUCCEEDED', 'deploy:prod-eu-2:FAILED', 'rollback:prod-eu-1:SUCCEEDED', 'rollback:prod-eu-2:SUCCEEDED']);
    const wave = ledgerEvents.find((e) => e.stepKey === stageStep.wave('prod', 1, 'finished'));
    assert.equal(wave?.data.result, 'FAILED');
    assert.deepEqual(wave?.data.failed, ['prod-eu-2']);
    assert.equal(
      ledgerEvents.find((e) => e.stepKey === stageStep.wave('prod', 2, 'finished')),
      undefined,
    );
    assert.equal(ledgerEvents.filter((e) => e.data.cluster === 'prod-us-1').length, 0);
    const prod = output.releases[0]?.stages.find((s) => s.name === 'prod');
    assert.match(String(prod?.reason), /wave 1 of 2 failed: cluster prod-eu-2: /);
    assert.deepEqual(images(output.workloads), { 'prod-eu-1': D1, 'prod-eu-2': D1, 'prod-us-1': D1 });
  });

  it('ends ROLLBACK_FAILED naming the cluster when one touched cluster fails its rollback', async () => {
    const s = raw('waves-cluster-deploy-fails');
    s.script.push({ when: { service: 'payments', stage: 'prod', phase: 'rollback' }, deploy: { result: 'FAILED', message: 'rollback stalled', cluster: 'prod-eu-1' } });
    const { output } = await runRaw(s);
    assert.equal(output.releases[0]?.status, 'ROLLBACK_FAILED');
    const prod = output.releases[0]?.stages.find((x) => x.name === 'prod');
    assert.match(String(prod?.reason), /rollback to sha256:1{64} failed: cluster prod-eu-1: /);
    assert.doesNotMatch(String(prod?.reason).split('; rollback to ')[1] ?? '', /prod-eu-2/, 'the cluster that rolled back is not blamed');
    assert.deepEqual(
      prod?.clusters?.map((c) => `${c.cluster}:${c.rollback?.result}`),
      ['prod-eu-1:FAILED', 'prod-eu-2:SUCCEEDED'],
    );
  });

  it('runs one CodeBuild build per cluster for a Helm stage with waves, each with its own cluster', async () => {
    const s = raw('waves-promoted');
    const prod = s.config.services.payments.stages[1];
    prod.deploy = { driver: 'helm', release: 'payments', chart: 'oci://111122223333.dkr.ecr.eu-west-2.amazonaws.com/charts/payments', version: '1.2.0', timeoutMinutes: 10 };
    prod.workload = { deployment: 'payments-api', container: 'api' };
    prod.waves = [['prod-eu-1', 'prod-eu-2'], ['prod-us-1']];
    delete s.config.clusters['prod-ap-1'];
    s.script = [
      {
        when: { service: 'payments', stage: 'prod', phase: 'deploy' },
        deploy: { result: 'FAILED', message: 'helm upgrade failed: timed out waiting for the condition', cluster: 'prod-eu-2' },
      },
    ];
    const { output, ledgerEvents } = await runRaw(s);
    assert.equal(output.releases[0]?.status, 'ROLLED_BACK');
    assert.deepEqual(prodRuns(output.deployments), ['deploy:prod-eu-1:SUCCEEDED', 'deploy:prod-eu-2:FAILED', 'rollback:prod-eu-1:SUCCEEDED', 'rollback:prod-eu-2:SUCCEEDED']);
    const builds = ledgerEvents.filter((e) => e.type === 'deploy.finished' && typeof e.data.cluster === 'string').map((e) => e.data.buildId);
    assert.equal(builds.length, 4);
    assert.ok(
      builds.every((b) => typeof b === 'string' && b.startsWith('gantry-helm')),
      JSON.stringify(builds),
    );
    assert.equal(new Set(builds).size, builds.length, 'each cluster run is a build of its own');
    assert.deepEqual(images(output.workloads), { 'prod-eu-1': D1, 'prod-eu-2': D1, 'prod-us-1': D1 });
  });

  it('rolls back every cluster of a wave stage in an operator rollback', async () => {
    const s = raw('waves-promoted');
    s.triggers.push({
      type: 'rollback',
      principal: 'arn:aws:sts::111122223333:assumed-role/Deployers/bob',
      input: { service: 'payments', stage: 'prod', reason: 'INC-7 latency' },
      at: 'PT2H',
    });
    const { output } = await runRaw(s);
    const rollback = output.releases.find((r) => r.kind === 'rollback');
    assert.equal(rollback?.status, 'ROLLED_BACK');
    assert.deepEqual(
      output.deployments.filter((d) => d.releaseId === rollback?.releaseId).map((d) => `${d.cluster}:${d.result}`),
      // All at once (one instant): listed by cluster key.
      ['prod-ap-1:SUCCEEDED', 'prod-eu-1:SUCCEEDED', 'prod-eu-2:SUCCEEDED', 'prod-us-1:SUCCEEDED'],
    );
    assert.deepEqual(images(output.workloads), { 'prod-eu-1': D1, 'prod-eu-2': D1, 'prod-us-1': D1, 'prod-ap-1': D1 });
    assert.equal(output.stages['payments/prod']?.running, D1);
  });

  it('checks drift on every cluster of a wave stage and names the cluster that drifted', async () => {
    const s = raw('waves-promoted');
    s.triggers.push(
      { type: 'kubectl-set-image', service: 'payments', stage: 'prod', cluster: 'prod-us-1', image: `000000000000.dkr.ecr.local.amazonaws.com/payments-api@${D1}`, at: 'PT2H' },
      { type: 'insight-check', at: 'PT3H' },
    );
    // The insight workflow reads clusters of its own region only: keep every prod cluster in eu-west-2 here.
    for (const c of Object.values(s.config.clusters) as Array<{ region: string }>) c.region = 'eu-west-2';
    const { output } = await runRaw(s);
    const check = output.insight.checks[0];
    assert.deepEqual(
      check?.drift.map((d) => `${d.stage}:${d.cluster}:${d.kind}`),
      ['prod:prod-us-1:other-digest'],
    );
    // dev and the three prod clusters that still run the promoted digest.
    assert.equal(check?.inSync, 4);
  });

  it('runs a stage without waves through exactly the states it always ran (no wave state is entered)', async () => {
    const { output } = await runFile('kubernetes-deploy');
    assert.equal(output.releases[0]?.status, 'SUCCEEDED');
    // 111 on main before waves (with the canary's Choice and without the DescribeCluster state, decisions 043 and 045;
    // docs/benchmarks.md): the wave branch adds no state to this path.
    assert.equal(output.executions[0]?.transitions, 111);
    assert.ok(output.deployments.every((d) => d.cluster === undefined || !d.cluster.startsWith('prod-')));
  });
});

describe('between two waves with waveBakeMinutes 0', () => {
  it("still checks the stage's alarms: an alarm firing while wave 1 deploys stops wave 2, and only wave 1 is rolled back", async () => {
    const s = raw('waves-promoted');
    const prod = s.config.services.payments.stages.find((st: { name: string }) => st.name === 'prod');
    delete prod.waveBakeMinutes;
    s.script = [
      { when: { service: 'payments', stage: 'prod', phase: 'deploy', after: 'PT30S' }, alarm: { name: 'payments-prod-5xx', state: 'ALARM', reason: '5xx rate 3% > 1%' } },
    ];
    const { output, ledgerEvents } = await runRaw(s);

    const waveBake = ledgerEvents.find((e) => e.type === 'bake.finished' && e.data.phase === 'wave-1');
    assert.equal(waveBake?.data.result, 'FAIL', 'the zero-minute wave bake read the alarm');
    assert.deepEqual(prodRuns(output.deployments), ['deploy:prod-eu-1:SUCCEEDED', 'rollback:prod-eu-1:SUCCEEDED']);
    assert.equal(output.releases[0]?.stages.find((st) => st.name === 'prod')?.status, 'ROLLED_BACK');
    assert.deepEqual(output.leasesHeld, []);
  });
});
