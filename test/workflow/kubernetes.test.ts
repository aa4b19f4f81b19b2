/**
 * The native Kubernetes driver through the real workflows: eks:call PATCH of the Deployment, the rollout watch,
 * and every way a Kubernetes deploy ends (done, stalled, timed out, rollback failed, operator rollback).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, it } from 'vitest';
import type { LedgerEvent } from '../../lambdas/domain/ledger';
import { type EksCallRequest, LocalKube } from '../../local/kube';
import { loadScenario, loadScenarioFile } from '../../local/scenario';
import { type SimulationOutput, simulate } from '../../local/simulate';
import { D1, D2, ROOT } from './helpers';

const REGISTRY = '000000000000.dkr.ecr.local.amazonaws.com';
const image = (digest: string) => `${REGISTRY}/payments-api@${digest}`;
const carol = 'arn:aws:sts::111122223333:assumed-role/Operators/carol';
const scenarioFile = (name: string) => join(ROOT, 'examples', 'scenarios', `${name}.json`);
const stalls = () => JSON.parse(readFileSync(scenarioFile('kubernetes-rollout-stalls'), 'utf8'));
const deploy = () => JSON.parse(readFileSync(scenarioFile('kubernetes-deploy'), 'utf8'));

/** Every eks:call request the local clusters receive while `fn` runs. */
async function recordingEksCalls<T>(fn: () => Promise<T>): Promise<{ result: T; calls: EksCallRequest[] }> {
  const calls: EksCallRequest[] = [];
  const original = LocalKube.prototype.eksCall;
  LocalKube.prototype.eksCall = function (this: LocalKube, req, options) {
    calls.push(structuredClone(req));
    return original.call(this, req, options);
  };
  try {
    return { result: await fn(), calls };
  } finally {
    LocalKube.prototype.eksCall = original;
  }
}

async function runRaw(raw: unknown): Promise<{ output: SimulationOutput; ledgerEvents: LedgerEvent[] }> {
  return simulate(loadScenario(raw, join(ROOT, 'examples', 'scenarios')));
}

function assertClosed(out: SimulationOutput): void {
  for (const r of out.releases) assert.equal(r.audit.verified, true, `${r.releaseId} chain`);
  assert.deepEqual(out.leasesHeld, []);
  assert.deepEqual(out.warnings, []);
  assert.deepEqual(out.unused, []);
}

const workload = (out: SimulationOutput, cluster: string) => out.workloads.find((w) => w.cluster === cluster && w.namespace === 'payments' && w.name === 'payments-api');
const deploysOf = (out: SimulationOutput, stage: string) => out.deployments.filter((d) => d.stage === stage).map((d) => `${d.kind}:${d.digest === D1 ? 'D1' : 'D2'}:${d.result}`);

describe('the Kubernetes driver', () => {
  let success: { output: SimulationOutput; ledgerEvents: LedgerEvent[] };
  let calls: EksCallRequest[];
  beforeAll(async () => {
    const r = await recordingEksCalls(() => simulate(loadScenarioFile(scenarioFile('kubernetes-deploy'))));
    success = r.result;
    calls = r.calls;
  });

  it('promotes through Kubernetes and Helm stages, and each cluster ends up running the released digest', () => {
    const out = success.output;
    assertClosed(out);
    assert.equal(out.releases[0]?.status, 'SUCCEEDED');
    assert.deepEqual(out.stages['payments/prod'], { running: D2, lastKnownGood: D2 });
    assert.deepEqual(deploysOf(out, 'dev'), ['deploy:D2:SUCCEEDED']);
    assert.deepEqual(deploysOf(out, 'prod'), ['deploy:D2:SUCCEEDED']);
    for (const cluster of ['dev', 'staging', 'prod']) assert.equal(workload(out, cluster)?.containers.api, image(D2), cluster);
    assert.equal(workload(out, 'prod')?.annotations['gantry.dev/release'], out.releases[0]?.releaseId);
  });

  it('takes the deploy time of the rollout itself (PT1M by default), not a build start-up', () => {
    const dev = success.output.deployments.find((d) => d.stage === 'dev');
    assert.equal(dev?.startedAt, '2026-11-24T10:00:00.000Z');
    assert.equal(dev?.endedAt, '2026-11-24T10:01:00.000Z');
  });

  it('patches the Deployment of the stage through eks:call with the image pinned by digest and every other field as read', () => {
    const patches = calls.filter((c) => c.Method === 'PATCH');
    assert.deepEqual(patches.map((p) => p.ClusterName), ['dev-eks', 'prod-eks']);
    const p = patches[1];
    assert.ok(p);
    assert.equal(p.Path, '/apis/apps/v1/namespaces/payments/deployments/payments-api');
    assert.match(String(p.Endpoint), /^https:\/\/[A-Z0-9]+\.gr7\.eu-west-2\.eks\.amazonaws\.com$/);
    assert.ok(typeof p.CertificateAuthority === 'string' && p.CertificateAuthority.length > 0);
    const body = p.RequestBody as { metadata: { resourceVersion: string; annotations: Record<string, string> }; spec: { template: { spec: { containers: Array<{ name: string; image: string }> } } } };
    assert.deepEqual(body.spec.template.spec.containers, [{ name: 'api', image: image(D2) }]);
    assert.deepEqual(body.metadata.annotations, { 'gantry.dev/release': success.output.releases[0]?.releaseId, 'gantry.dev/kind': 'deploy', 'gantry.dev/stage': 'prod', 'gantry.dev/digest': D2 });
    assert.match(body.metadata.resourceVersion, /^\d+$/);
  });

  it('reads the Deployment before patching it and then every pollSeconds until the rollout is done', () => {
    const prod = calls.filter((c) => c.ClusterName === 'prod-eks').map((c) => c.Method);
    // read, patch, then 15-second polls over the 60-second rollout: 4 reads
    assert.deepEqual(prod, ['GET', 'PATCH', 'GET', 'GET', 'GET', 'GET']);
    for (const c of calls) assert.deepEqual(Object.keys(c).sort(), ['CertificateAuthority', 'ClusterName', 'Endpoint', 'Method', 'Path', ...(c.Method === 'PATCH' ? ['RequestBody'] : [])].sort());
  });

  it('records the rollout evidence with the deploy: generation, observed generation, replicas, image and the final condition', () => {
    const finished = success.ledgerEvents.find((e) => e.type === 'deploy.finished' && e.stage === 'prod');
    const evidence = (finished?.data.evidence as { kubernetes?: Record<string, unknown> } | undefined)?.kubernetes;
    assert.ok(evidence, JSON.stringify(finished?.data));
    assert.equal(evidence.image, image(D2));
    assert.equal(evidence.previousImage, image(D1));
    assert.equal(evidence.generation, 2);
    assert.equal(evidence.observedGeneration, 2);
    assert.equal(evidence.replicas, 3);
    assert.equal(evidence.availableReplicas, 3);
    assert.deepEqual((evidence.condition as { reason: string }).reason, 'NewReplicaSetAvailable');
    assert.equal(finished?.data.buildId, 'prod-eks:payments-payments-api-generation-2');
  });

  it('rolls a stalled rollout (ProgressDeadlineExceeded) back to the last known good digest with the same driver', async () => {
    const { output: out, ledgerEvents } = await simulate(loadScenarioFile(scenarioFile('kubernetes-rollout-stalls')));
    assertClosed(out);
    assert.equal(out.releases[0]?.status, 'ROLLED_BACK');
    const prod = out.releases[0]?.stages.find((s) => s.name === 'prod');
    assert.match(String(prod?.rollback?.reason), /deploy failed: deployment payments\/payments-api exceeded its progress deadline: ReplicaSet "payments-api-7d9c" has timed out progressing\./);
    assert.deepEqual(deploysOf(out, 'prod'), ['deploy:D2:FAILED', 'rollback:D1:SUCCEEDED']);
    assert.deepEqual(out.stages['payments/prod'], { running: D1, lastKnownGood: D1 });
    assert.equal(workload(out, 'prod')?.containers.api, image(D1));
    const failed = ledgerEvents.find((e) => e.type === 'deploy.finished' && e.stage === 'prod' && e.data.kind === 'deploy');
    const condition = ((failed?.data.evidence as { kubernetes?: { condition?: { reason?: string } } })?.kubernetes)?.condition;
    assert.equal(condition?.reason, 'ProgressDeadlineExceeded');
  });

  it('treats a rollout still progressing after deploy.timeoutMinutes as a failed deploy and rolls back', async () => {
    const s = stalls();
    // prod's timeoutMinutes is 10; this rollout would take 45 minutes.
    s.script = [{ when: { service: 'payments', stage: 'prod', phase: 'deploy' }, deploy: { result: 'SUCCEEDED', duration: 'PT45M' } }];
    const { output: out } = await runRaw(s);
    assertClosed(out);
    assert.equal(out.releases[0]?.status, 'ROLLED_BACK');
    const prod = out.releases[0]?.stages.find((x) => x.name === 'prod');
    assert.match(String(prod?.rollback?.reason), /did not finish rolling out within 10 minutes \(deploy\.timeoutMinutes\): 1 of 3 new replicas updated/);
    const d = out.deployments.find((x) => x.stage === 'prod' && x.kind === 'deploy');
    assert.equal(d?.result, 'FAILED');
    assert.equal(d?.startedAt, '2026-11-24T10:27:00.000Z');
    assert.equal(d?.endedAt, '2026-11-24T10:37:00.000Z', 'replaced by the rollback patch once the deadline passed');
    assert.equal(workload(out, 'prod')?.containers.api, image(D1));
  });

  it('ends ROLLBACK_FAILED when the rollback rollout stalls too', async () => {
    const s = stalls();
    s.script.push({ when: { service: 'payments', stage: 'prod', phase: 'rollback' }, deploy: { result: 'FAILED', message: 'ImagePullBackOff' } });
    const { output: out } = await runRaw(s);
    assertClosed(out);
    assert.equal(out.releases[0]?.status, 'ROLLBACK_FAILED');
    const prod = out.releases[0]?.stages.find((x) => x.name === 'prod');
    assert.equal(prod?.status, 'ROLLBACK_FAILED');
    assert.match(String(prod?.reason), /rollback to sha256:1{64} failed: deployment payments\/payments-api exceeded its progress deadline: ImagePullBackOff/);
    assert.deepEqual(deploysOf(out, 'prod'), ['deploy:D2:FAILED', 'rollback:D1:FAILED']);
  });

  it('returns a Kubernetes stage to the previous digest on an operator rollback, recording who asked and why', async () => {
    const s = deploy();
    s.triggers.push({ type: 'rollback', principal: carol, input: { service: 'payments', stage: 'prod', reason: 'INC-5120' }, at: 'PT3H' });
    const { output: out } = await runRaw(s);
    assertClosed(out);
    const rb = out.releases.find((r) => r.kind === 'rollback');
    assert.equal(rb?.status, 'ROLLED_BACK');
    assert.equal(rb?.initiator, carol);
    assert.match(String(rb?.stages[0]?.rollback?.reason), /operator rollback: INC-5120/);
    assert.deepEqual(out.stages['payments/prod'], { running: D1, lastKnownGood: D1 });
    assert.deepEqual(deploysOf(out, 'prod'), ['deploy:D2:SUCCEEDED', 'rollback:D1:SUCCEEDED']);
    assert.equal(workload(out, 'prod')?.containers.api, image(D1));
    assert.equal(workload(out, 'prod')?.annotations['gantry.dev/kind'], 'rollback');
  });

  it('fails the deploy with the API server 404 when the stage has no such Deployment, and patches nothing', async () => {
    const s = deploy();
    delete s.stages['payments/dev'];
    const { result, calls: seen } = await recordingEksCalls(() => runRaw(s));
    const out = result.output;
    assertClosed(out);
    assert.equal(out.releases[0]?.status, 'FAILED');
    const dev = out.releases[0]?.stages.find((x) => x.name === 'dev');
    assert.match(String(dev?.reason), /deploy failed: .*404/);
    assert.match(String(dev?.reason), /nothing to roll back to/);
    assert.deepEqual(seen.filter((c) => c.Method === 'PATCH'), []);
    assert.deepEqual(out.deployments, []);
  });
});

describe('the Kubernetes workflow states', () => {
  const states = (file: string) => JSON.parse(readFileSync(join(ROOT, 'statemachines', file), 'utf8')).States as Record<string, Record<string, unknown>>;

  for (const [file, patch, read, result] of [
    ['release.asl.json', 'PatchDeployment', 'ReadRollout', '$.deploy'],
    ['release.asl.json', 'PatchRollbackDeployment', 'ReadRollbackRollout', '$.rollbackDeploy'],
    ['rollback.asl.json', 'PatchRollbackDeployment', 'ReadRollbackRollout', '$.rollbackDeploy'],
  ] as const) {
    it(`${file} ${patch} sends a PATCH of the Deployment path with the body the patch step built, to the described cluster`, () => {
      const st = states(file);
      assert.equal(st[patch]?.Resource, 'arn:aws:states:::eks:call');
      assert.deepEqual(st[patch]?.Parameters, {
        'ClusterName.$': '$.kube.target.clusterName',
        'CertificateAuthority.$': '$.kube.cluster.certificateAuthority',
        'Endpoint.$': '$.kube.cluster.endpoint',
        'Path.$': '$.kube.target.path',
        Method: 'PATCH',
        'RequestBody.$': `${result}.requestBody`,
      });
      assert.equal((st[read]?.Parameters as Record<string, unknown>).Method, 'GET');
    });
  }

  it('chooses the Kubernetes branch for a kubernetes stage in both workflows', () => {
    const release = states('release.asl.json');
    const rollback = states('rollback.asl.json');
    const target = (st: Record<string, unknown> | undefined) => (st?.Choices as Array<{ StringEquals?: string; Next: string }>).find((c) => c.StringEquals === 'kubernetes')?.Next;
    assert.equal(target(release.ChooseDeployDriver), 'PlanKubernetesDeploy');
    assert.equal(target(release.ChooseRollbackDriver), 'PlanKubernetesRollback');
    assert.equal(target(rollback.ChooseRollbackDriver), 'PlanKubernetesRollback');
  });
});

