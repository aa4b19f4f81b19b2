/** The local clusters behind eks:call (local/kube.ts): GET and PATCH of Deployments, rollouts in virtual time. */
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { VirtualClock } from '../../local/clock';
import { type EksCallRequest, LocalKube } from '../../local/kube';

const PATH = '/apis/apps/v1/namespaces/payments/deployments/payments-api';
const OLD = 'registry.local/payments-api@sha256:' + '1'.repeat(64);
const NEW = 'registry.local/payments-api@sha256:' + '2'.repeat(64);

function setUp() {
  const clock = new VirtualClock(new Date('2026-11-24T10:00:00Z'));
  const kube = new LocalKube(clock);
  kube.seed('prod', 'payments', 'payments-api', [{ name: 'api', image: OLD, ports: [{ containerPort: 8080 }] }, { name: 'envoy', image: 'envoy:v1' }]);
  const call = (req: Partial<EksCallRequest>, rollout?: { durationMs: number; result: 'SUCCEEDED' | 'FAILED'; message?: string }) =>
    kube.eksCall({ ClusterName: 'prod-eks', Method: 'GET', Path: PATH, ...req } as EksCallRequest, { cluster: 'prod', ...(rollout ? { rollout } : {}) });
  return { clock, kube, call };
}
type Body = { metadata: { generation: number; resourceVersion: string }; spec: { template: { spec: { containers: Array<Record<string, unknown>> } } }; status: { observedGeneration: number; updatedReplicas: number; conditions: Array<{ type: string; reason: string; message: string }> } };
const body = (r: { ResponseBody: unknown }) => r.ResponseBody as Body;
const progressing = (r: { ResponseBody: unknown }) => body(r).status.conditions.find((c) => c.type === 'Progressing');
const patchImage = (image: string, resourceVersion?: string) => ({
  Method: 'PATCH' as const,
  RequestBody: { metadata: { ...(resourceVersion ? { resourceVersion } : {}), annotations: { 'gantry.dev/stage': 'prod' } }, spec: { template: { spec: { containers: [{ name: 'api', image }] } } } },
});

describe('the local cluster API', () => {
  it('answers a GET of a Deployment that does not exist with 404 and a Kubernetes Status body', () => {
    const { call } = setUp();
    const r = call({ Path: '/apis/apps/v1/namespaces/payments/deployments/ledger' });
    assert.equal(r.StatusCode, 404);
    assert.deepEqual({ ...(r.ResponseBody as Record<string, unknown>), details: undefined }, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'deployments.apps "ledger" not found', reason: 'NotFound', code: 404, details: undefined });
  });

  it('merges a PATCH into the named container, keeps the other fields and containers, bumps the generation and starts a rollout', () => {
    const { call } = setUp();
    const before = body(call({}));
    const r = call(patchImage(NEW, before.metadata.resourceVersion));
    assert.equal(r.StatusCode, 200);
    assert.equal(body(r).metadata.generation, 2);
    assert.deepEqual(body(r).spec.template.spec.containers, [
      { name: 'api', image: NEW, ports: [{ containerPort: 8080 }] },
      { name: 'envoy', image: 'envoy:v1' },
    ]);
    assert.equal(progressing(r)?.reason, 'ReplicaSetUpdated');
    assert.equal(body(r).status.updatedReplicas, 1);
  });

  it('completes the rollout once its duration has passed in virtual time', async () => {
    const { clock, call, kube } = setUp();
    call(patchImage(NEW), { durationMs: 60_000, result: 'SUCCEEDED' });
    const seen: Array<string | undefined> = [];
    clock.schedule(clock.nowMs() + 59_000, () => seen.push(progressing(call({}))?.reason));
    clock.schedule(clock.nowMs() + 60_000, () => seen.push(progressing(call({}))?.reason));
    await clock.run();
    assert.deepEqual(seen, ['ReplicaSetUpdated', 'NewReplicaSetAvailable']);
    assert.equal(body(call({})).status.updatedReplicas, 3);
    assert.equal(kube.runningImage('prod', 'payments', 'payments-api', 'api'), NEW);
  });

  it('stalls a rollout the scenario fails with ProgressDeadlineExceeded and the scripted message', async () => {
    const { clock, call } = setUp();
    call(patchImage(NEW), { durationMs: 120_000, result: 'FAILED', message: 'ImagePullBackOff' });
    let p: ReturnType<typeof progressing>;
    clock.schedule(clock.nowMs() + 120_000, () => {
      p = progressing(call({}));
    });
    await clock.run();
    assert.equal(p?.reason, 'ProgressDeadlineExceeded');
    assert.equal(p?.message, 'ImagePullBackOff');
  });

  it('refuses a PATCH whose resourceVersion is not the current one with 409 Conflict, changing nothing', () => {
    const { call, kube } = setUp();
    const r = call(patchImage(NEW, '999'));
    assert.equal(r.StatusCode, 409);
    assert.equal((r.ResponseBody as { reason: string }).reason, 'Conflict');
    assert.equal(kube.runningImage('prod', 'payments', 'payments-api', 'api'), OLD);
  });

  it('starts no rollout when a PATCH leaves the pod template as it is', () => {
    const { call } = setUp();
    const r = call(patchImage(OLD));
    assert.equal(body(r).metadata.generation, 1);
    assert.equal(progressing(r)?.reason, 'NewReplicaSetAvailable');
  });
});
