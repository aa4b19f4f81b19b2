/**
 * The native Kubernetes driver through the real workflows: eks:call GET then PUT of the Deployment (a 409 Conflict
 * retried from the GET), the rollout watch,
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
import { D1, D2, ROOT } from '../../test/workflow/helpers';

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

  it('PUTs the Deployment of the stage through eks:call with the image pinned by digest and every other field as read', () => {
    const patches = calls.filter((c) => c.Method === 'PUT');
    assert.deepEqual(
      patches.map((p) => p.ClusterName),
      ['dev-eks', 'prod-eks'],
    );
    const p = patches[1];
    assert.ok(p);
    assert.equal(p.Path, '/apis/apps/v1/namespaces/payments/deployments/payments-api');
    assert.match(String(p.Endpoint), /^https:\/\/[A-Z0-9]+\.gr7\.eu-west-2\.eks\.amazonaws\.com$/);
    assert.ok(typeof p.CertificateAuthority === 'string' && p.CertificateAuthority.length > 0);
    const body = p.RequestBody as {
      apiVersion: string;
      kind: string;
      metadata: { name: string; namespace: string; resourceVersion: string; annotations: Record<string, string> };
      spec: { replicas: number; template: { spec: { containers: Array<{ name: string; image: string }> } } };
      status?: unknown;
    };
    assert.deepEqual([body.apiVersion, body.kind, body.metadata.namespace, body.metadata.name], ['apps/v1', 'Deployment', 'payments', 'payments-api']);
    assert.deepEqual(body.spec.template.spec.containers, [{ name: 'api', image: image(D2) }]);
    assert.equal(body.spec.replicas, 3);
    assert.equal(body.status, undefined);
    assert.deepEqual(body.metadata.annotations, {
      'gantry.dev/release': success.output.releases[0]?.releaseId,
      'gantry.dev/kind': 'deploy',
      'gantry.dev/stage': 'prod',
      'gantry.dev/digest': D2,
    });
    assert.match(body.metadata.resourceVersion, /^\d+$/);
  });

  it('reads the Deployment before replacing it and then every pollSeconds until the rollout is done', () => {
    const prod = calls.filter((c) => c.ClusterName === 'prod-eks').map((c) => c.Method);
    // read, put, then 15-second polls over the 60-second rollout: 4 reads
    assert.deepEqual(prod, ['GET', 'PUT', 'GET', 'GET', 'GET', 'GET']);
    for (const c of calls)
      assert.deepEqual(Object.keys(c).sort(), ['CertificateAuthority', 'ClusterName', 'Endpoint', 'Method', 'Path', ...(c.Method === 'PUT' ? ['RequestBody'] : [])].sort());
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
    assert.match(
      String(prod?.rollback?.reason),
      /deploy failed: deployment payments\/payments-api exceeded its progress deadline: ReplicaSet "payments-api-7d9c" has timed out progressing\./,
    );
    assert.deepEqual(deploysOf(out, 'prod'), ['deploy:D2:FAILED', 'rollback:D1:SUCCEEDED']);
    assert.deepEqual(out.stages['payments/prod'], { running: D1, lastKnownGood: D1 });
    assert.equal(workload(out, 'prod')?.containers.api, image(D1));
    const failed = ledgerEvents.find((e) => e.type === 'deploy.finished' && e.stage === 'prod' && e.data.kind === 'deploy');
    const condition = (failed?.data.evidence as { kubernetes?: { condition?: { reason?: string } } })?.kubernetes?.condition;
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

  it('fails the deploy with the API server 404 when the stage has no such Deployment, and writes nothing', async () => {
    const s = deploy();
    delete s.stages['payments/dev'];
    const { result, calls: seen } = await recordingEksCalls(() => runRaw(s));
    const out = result.output;
    assertClosed(out);
    assert.equal(out.releases[0]?.status, 'FAILED');
    const dev = out.releases[0]?.stages.find((x) => x.name === 'dev');
    assert.match(String(dev?.reason), /deploy failed: .*404/);
    assert.match(String(dev?.reason), /nothing to roll back to/);
    assert.deepEqual(
      seen.filter((c) => c.Method === 'PUT'),
      [],
    );
    assert.deepEqual(out.deployments, []);
  });
});

/**
 * Runs `fn` with someone else writing the prod Deployment (an annotation, as `kubectl annotate` would) right
 * before each of Gantry's first `concurrent` PUTs to it: those PUTs carry a resourceVersion the write made stale.
 */
async function withConcurrentWrites<T>(concurrent: number, fn: () => Promise<T>): Promise<{ result: T; calls: Array<{ method: string; status: number }> }> {
  const calls: Array<{ method: string; status: number }> = [];
  const original = LocalKube.prototype.eksCall;
  let writes = 0;
  LocalKube.prototype.eksCall = function (this: LocalKube, req, options) {
    if (req.ClusterName === 'prod-eks' && req.Method === 'PUT' && writes < concurrent) {
      writes++;
      const current = original.call(this, { ...req, Method: 'GET' }, options).ResponseBody as { metadata: Record<string, unknown> & { annotations?: Record<string, string> } };
      const other = { ...current, metadata: { ...current.metadata, annotations: { ...current.metadata.annotations, 'team.example/touched': String(writes) } } };
      assert.equal(
        original.call(this, { ...req, Method: 'PUT', RequestBody: other }, { ...(options?.cluster ? { cluster: options.cluster } : {}) }).StatusCode,
        200,
        'the concurrent write',
      );
    }
    const res = original.call(this, req, options);
    if (req.ClusterName === 'prod-eks') calls.push({ method: req.Method, status: res.StatusCode });
    return res;
  };
  try {
    return { result: await fn(), calls };
  } finally {
    LocalKube.prototype.eksCall = original;
  }
}

describe('a concurrent change between the GET and the PUT (409 Conflict)', () => {
  it("reads the Deployment again and PUTs anew, and the release succeeds keeping the other writer's change", async () => {
    const { result, calls } = await withConcurrentWrites(2, () => simulate(loadScenarioFile(scenarioFile('kubernetes-deploy'))));
    const out = result.output;
    assertClosed(out);
    assert.equal(out.releases[0]?.status, 'SUCCEEDED');
    assert.deepEqual(calls.slice(0, 6), [
      { method: 'GET', status: 200 },
      { method: 'PUT', status: 409 },
      { method: 'GET', status: 200 },
      { method: 'PUT', status: 409 },
      { method: 'GET', status: 200 },
      { method: 'PUT', status: 200 },
    ]);
    assert.deepEqual(deploysOf(out, 'prod'), ['deploy:D2:SUCCEEDED'], 'a refused PUT is no driver run');
    assert.equal(workload(out, 'prod')?.containers.api, image(D2));
    assert.equal(workload(out, 'prod')?.annotations['team.example/touched'], '2');
  });

  it('fails the deploy as KubernetesUpdateConflict after three PUTs met a concurrent change, on the failed-deploy path', async () => {
    const { result, calls } = await withConcurrentWrites(3, () => simulate(loadScenarioFile(scenarioFile('kubernetes-deploy'))));
    const out = result.output;
    assertClosed(out);
    assert.equal(out.releases[0]?.status, 'ROLLED_BACK');
    assert.deepEqual(
      calls
        .filter((c) => c.method === 'PUT')
        .slice(0, 3)
        .map((c) => c.status),
      [409, 409, 409],
    );
    const prod = out.releases[0]?.stages.find((x) => x.name === 'prod');
    assert.match(String(prod?.reason), /KubernetesUpdateConflict|409 Conflict, 3 attempts/);
    const failed = result.ledgerEvents.find((e) => e.type === 'deploy.finished' && e.stage === 'prod');
    assert.match(JSON.stringify(failed?.data), /KubernetesUpdateConflict/);
  });
});

describe('the Kubernetes workflow states', () => {
  const states = (file: string) => JSON.parse(readFileSync(join(ROOT, 'statemachines', file), 'utf8')).States as Record<string, Record<string, unknown>>;

  for (const [file, patch, read, result, conflict] of [
    ['release.asl.json', 'ReplaceDeployment', 'ReadRollout', '$.deploy', 'CountDeploymentConflict'],
    ['release.asl.json', 'ReplaceRollbackDeployment', 'ReadRollbackRollout', '$.rollbackDeploy', 'CountRollbackConflict'],
    ['rollback.asl.json', 'ReplaceRollbackDeployment', 'ReadRollbackRollout', '$.rollbackDeploy', 'CountRollbackConflict'],
  ] as const) {
    it(`${file} ${patch} sends a PUT of the Deployment path with the body the update step built, to the described cluster, and catches EKS.409 first`, () => {
      const st = states(file);
      assert.equal(st[patch]?.Resource, 'arn:aws:states:::eks:call');
      assert.deepEqual(st[patch]?.Parameters, {
        'ClusterName.$': '$.kube.target.clusterName',
        'CertificateAuthority.$': '$.kube.cluster.certificateAuthority',
        'Endpoint.$': '$.kube.cluster.endpoint',
        'Path.$': '$.kube.target.path',
        Method: 'PUT',
        'RequestBody.$': `${result}.requestBody`,
      });
      assert.equal((st[read]?.Parameters as Record<string, unknown>).Method, 'GET');
      const catches = st[patch]?.Catch as Array<{ ErrorEquals: string[]; Next: string }>;
      assert.deepEqual(catches[0], { ErrorEquals: ['EKS.409'], ResultPath: '$.kube.conflict', Next: conflict });
      assert.equal(catches.at(-1)?.ErrorEquals[0], 'States.ALL');
      assert.equal(JSON.stringify(st).includes('"Method":"PATCH"'), false, 'no PATCH left');
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
