/** The local clusters behind eks:call (local/kube.ts): GET and PUT (with resourceVersion) of Deployments, rollouts in virtual time. */
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
  kube.seed('prod', 'payments', 'payments-api', [
    { name: 'api', image: OLD, ports: [{ containerPort: 8080 }] },
    { name: 'envoy', image: 'envoy:v1' },
  ]);
  const call = (req: Partial<EksCallRequest>, rollout?: { durationMs: number; result: 'SUCCEEDED' | 'FAILED'; message?: string }) =>
    kube.eksCall({ ClusterName: 'prod-eks', Method: 'GET', Path: PATH, ...req } as EksCallRequest, { cluster: 'prod', ...(rollout ? { rollout } : {}) });
  return { clock, kube, call };
}
type Body = {
  metadata: { name: string; namespace: string; generation: number; resourceVersion: string; annotations?: Record<string, string> };
  spec: { replicas: number; template: { spec: { containers: Array<Record<string, unknown>> } } };
  status: { observedGeneration: number; updatedReplicas: number; conditions: Array<{ type: string; reason: string; message: string }> };
};
const body = (r: { ResponseBody: unknown }) => r.ResponseBody as Body;
const progressing = (r: { ResponseBody: unknown }) => body(r).status.conditions.find((c) => c.type === 'Progressing');
/** A PUT of the Deployment as `read` returned it, with the api container's image set (what the driver sends). */
const putImage = (read: Body, image: string, over: { resourceVersion?: string | null; annotations?: Record<string, string> } = {}) => {
  const { resourceVersion: rv, ...metadata } = read.metadata;
  const resourceVersion = over.resourceVersion === undefined ? rv : over.resourceVersion;
  return {
    Method: 'PUT' as const,
    RequestBody: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        ...metadata,
        ...(resourceVersion === null ? {} : { resourceVersion }),
        annotations: { ...(read.metadata.annotations ?? {}), 'gantry.dev/stage': 'prod', ...over.annotations },
      },
      spec: { ...read.spec, template: { spec: { containers: read.spec.template.spec.containers.map((c) => (c.name === 'api' ? { ...c, image } : c)) } } },
    },
  };
};

describe('the local cluster API', () => {
  it('answers a GET of a Deployment that does not exist with 404 and a Kubernetes Status body', () => {
    const { call } = setUp();
    const r = call({ Path: '/apis/apps/v1/namespaces/payments/deployments/ledger' });
    assert.equal(r.StatusCode, 404);
    assert.deepEqual(
      { ...(r.ResponseBody as Record<string, unknown>), details: undefined },
      { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'deployments.apps "ledger" not found', reason: 'NotFound', code: 404, details: undefined },
    );
  });

  it('replaces the Deployment with a PUT of the object as read with a new image: other fields and containers kept, generation bumped, a rollout started', () => {
    const { call } = setUp();
    const before = body(call({}));
    const r = call(putImage(before, NEW));
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
    call(putImage(body(call({})), NEW), { durationMs: 60_000, result: 'SUCCEEDED' });
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
    call(putImage(body(call({})), NEW), { durationMs: 120_000, result: 'FAILED', message: 'ImagePullBackOff' });
    let p: ReturnType<typeof progressing>;
    clock.schedule(clock.nowMs() + 120_000, () => {
      p = progressing(call({}));
    });
    await clock.run();
    assert.equal(p?.reason, 'ProgressDeadlineExceeded');
    assert.equal(p?.message, 'ImagePullBackOff');
  });

  it('refuses a PUT whose resourceVersion is not the current one with 409 Conflict, changing nothing', () => {
    const { call, kube } = setUp();
    const r = call(putImage(body(call({})), NEW, { resourceVersion: '999' }));
    assert.equal(r.StatusCode, 409);
    assert.equal((r.ResponseBody as { reason: string }).reason, 'Conflict');
    assert.equal(kube.runningImage('prod', 'payments', 'payments-api', 'api'), OLD);
  });

  it('starts no rollout when a PUT leaves the pod template as it is, but still moves the resourceVersion', () => {
    const { call } = setUp();
    const before = body(call({}));
    const r = call(putImage(before, OLD));
    assert.equal(body(r).metadata.generation, 1);
    assert.equal(Number(body(r).metadata.resourceVersion), Number(before.metadata.resourceVersion) + 1);
    assert.equal(progressing(r)?.reason, 'NewReplicaSetAvailable');
  });

  it('answers 409 to a PUT built from a read that a concurrent write made stale, and accepts it built from a new read', () => {
    const { call, kube } = setUp();
    const read = body(call({}));
    // Someone else writes between our GET and our PUT (an annotation, as kubectl annotate would).
    assert.equal(call(putImage(read, OLD, { annotations: { 'team.example/owner': 'payments' } })).StatusCode, 200);

    const stale = call(putImage(read, NEW));
    assert.equal(stale.StatusCode, 409);
    assert.equal(kube.runningImage('prod', 'payments', 'payments-api', 'api'), OLD);

    const again = body(call({}));
    const r = call(putImage(again, NEW));
    assert.equal(r.StatusCode, 200);
    assert.equal(kube.get('prod', 'payments', 'payments-api')?.annotations['team.example/owner'], 'payments', 'the concurrent write is kept');
    assert.equal(body(r).spec.template.spec.containers[0]?.image, NEW);
  });

  it('accepts a PUT without resourceVersion as an unconditional update, as the API server does for Deployments', () => {
    const { call } = setUp();
    assert.equal(call(putImage(body(call({})), NEW, { resourceVersion: null })).StatusCode, 200);
  });

  it('refuses a PUT of another object than the path names, a PUT without containers, and a PATCH', () => {
    const { call } = setUp();
    const read = body(call({}));
    const other = putImage({ ...read, metadata: { ...read.metadata, name: 'ledger' } }, NEW);
    assert.equal(call(other).StatusCode, 400);
    assert.equal(call({ Method: 'PUT', RequestBody: { metadata: { name: 'payments-api' }, spec: {} } }).StatusCode, 422);
    assert.equal(call({ Method: 'PATCH', RequestBody: { spec: {} } }).StatusCode, 405);
  });
});
