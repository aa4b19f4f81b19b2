/** The Kubernetes driver's decisions (lambdas/domain/rollout.ts): the target, the PUT body, and DONE / PROGRESSING / FAILED. */
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { parseConfig } from '../../lambdas/domain/config';
import { type DeploymentView, decideRollout, deploymentPath, KubernetesDriverError, planUpdate, type RolloutTarget, rolloutTarget } from '../../lambdas/domain/rollout';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const REGISTRY = '111122223333.dkr.ecr.eu-west-2.amazonaws.com';
const IMAGE1 = `${REGISTRY}/payments-api@${D1}`;
const IMAGE2 = `${REGISTRY}/payments-api@${D2}`;
const NOW = new Date('2026-11-24T10:00:00Z');

const rawConfig = {
  services: {
    payments: {
      repository: 'payments-api',
      stages: [
        {
          name: 'prod',
          cluster: 'prod',
          namespace: 'payments',
          deploy: { driver: 'kubernetes', deployment: 'payments-api', container: 'api', timeoutMinutes: 10, pollSeconds: 15 },
        },
        { name: 'dev', cluster: 'prod', namespace: 'payments', deploy: { driver: 'helm', release: 'payments', chart: 'repo/payments', version: '1.0.0' } },
      ],
    },
  },
  clusters: { prod: { name: 'prod-eks', region: 'eu-west-2' } },
};
const config = parseConfig(rawConfig, 'test');
const prod = config.services.payments?.stages[0];
assert.ok(prod);

const ACCESS_ROLE = 'arn:aws:iam::111122223333:role/gantry-cluster-access';
const target = (): RolloutTarget =>
  rolloutTarget({
    config,
    service: 'payments',
    stage: prod,
    digest: D2,
    registry: REGISTRY,
    releaseId: 'payments-2222222222222222',
    kind: 'deploy',
    clusterAccessRoleArn: ACCESS_ROLE,
  });

/** A Deployment as read, by default fully rolled out on `image` at generation 4. */
function deployment(
  over: {
    image?: string;
    generation?: number;
    observed?: number;
    replicas?: number;
    updated?: number;
    available?: number;
    total?: number;
    progressing?: { reason: string; status?: string; message?: string };
  } = {},
): DeploymentView {
  const replicas = over.replicas ?? 3;
  return {
    generation: over.generation ?? 4,
    resourceVersion: '8841',
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'payments-api',
      namespace: 'payments',
      generation: over.generation ?? 4,
      resourceVersion: '8841',
      labels: { app: 'payments-api' },
      annotations: { 'deployment.kubernetes.io/revision': '4' },
      managedFields: [{ manager: 'kubectl', operation: 'Update' }],
    },
    spec: {
      replicas,
      template: {
        spec: {
          containers: [
            { name: 'api', image: over.image ?? IMAGE2, ports: [{ containerPort: 8080 }], env: [{ name: 'MODE', value: 'live' }] },
            { name: 'envoy', image: 'public.ecr.aws/envoy:v1.31' },
          ],
        },
      },
    },
    status: {
      observedGeneration: over.observed ?? over.generation ?? 4,
      replicas: over.total ?? replicas,
      updatedReplicas: over.updated ?? replicas,
      availableReplicas: over.available ?? replicas,
      readyReplicas: over.available ?? replicas,
      conditions: [
        { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' },
        {
          type: 'Progressing',
          status: over.progressing?.status ?? 'True',
          reason: over.progressing?.reason ?? 'NewReplicaSetAvailable',
          ...(over.progressing?.message ? { message: over.progressing.message } : {}),
        },
      ],
    },
  };
}

const DEADLINE = '2026-11-24T10:10:00.000Z';
const decide = (d: DeploymentView, now = NOW) => decideRollout({ target: target(), deployment: d, deadline: DEADLINE, now });

describe('the rollout target', () => {
  it('names the cluster, the Deployment path, the container and the image pinned to the digest, from the config', () => {
    const t = target();
    assert.equal(t.clusterName, 'prod-eks');
    assert.equal(t.path, '/apis/apps/v1/namespaces/payments/deployments/payments-api');
    assert.equal(t.container, 'api');
    assert.equal(t.image, IMAGE2);
    assert.equal(t.pollSeconds, 15);
    assert.equal(t.timeoutSeconds, 600);
    assert.equal(t.cluster, 'prod');
    assert.equal(t.account, undefined, 'a cluster of the own account names no account');
    assert.equal(t.roleArn, ACCESS_ROLE, "an own-account cluster is reached with the stack's ClusterAccessRole");
  });

  it("runs eks:call with the cluster's roleArn in another account, and names the account and region in the evidence", () => {
    const other = parseConfig(
      {
        ...structuredClone(rawConfig),
        clusters: { prod: { name: 'prod-eks', region: 'eu-central-1', account: '222222222222', roleArn: 'arn:aws:iam::222222222222:role/gantry-target' } },
      },
      'test',
    );
    const st = other.services.payments?.stages[0];
    assert.ok(st);
    const t = rolloutTarget({ config: other, service: 'payments', stage: st, digest: D2, registry: REGISTRY, releaseId: 'r1', kind: 'deploy', clusterAccessRoleArn: ACCESS_ROLE });
    assert.deepEqual([t.account, t.region, t.roleArn], ['222222222222', 'eu-central-1', 'arn:aws:iam::222222222222:role/gantry-target']);
    const ev = planUpdate(t, deployment({ image: IMAGE1 }), NOW).evidence;
    assert.deepEqual([ev.account, ev.region, ev.roleArn], ['222222222222', 'eu-central-1', 'arn:aws:iam::222222222222:role/gantry-target']);
  });

  it('refuses an own-account cluster when no ClusterAccessRole is known, naming the variable', () => {
    assert.throws(
      () => rolloutTarget({ config, service: 'payments', stage: prod, digest: D2, registry: REGISTRY, releaseId: 'r1', kind: 'deploy' }),
      (e: Error) => e instanceof KubernetesDriverError && /GANTRY_CLUSTER_ACCESS_ROLE_ARN/.test(e.message),
    );
  });

  it('refuses a stage that does not deploy with the kubernetes driver', () => {
    const dev = config.services.payments?.stages[1];
    assert.ok(dev);
    assert.throws(() => rolloutTarget({ config, service: 'payments', stage: dev, digest: D2, registry: REGISTRY, releaseId: 'r1', kind: 'deploy' }), KubernetesDriverError);
  });

  it('refuses a digest or a registry that is not what it claims to be, before any request is built', () => {
    assert.throws(() => rolloutTarget({ config, service: 'payments', stage: prod, digest: 'sha256:abc', registry: REGISTRY, releaseId: 'r1', kind: 'deploy' }), /digest/);
    assert.throws(() => rolloutTarget({ config, service: 'payments', stage: prod, digest: D2, registry: 'evil.example/$(id)', releaseId: 'r1', kind: 'deploy' }), /registry/);
    assert.throws(() => deploymentPath('payments', '../secrets'), KubernetesDriverError);
  });
});

describe('the update (GET, then PUT)', () => {
  it('PUTs the Deployment as read with the named container image set, Gantry annotations added and its resourceVersion', () => {
    const plan = planUpdate(target(), deployment({ image: IMAGE1 }), NOW);
    assert.ok(plan.decision === 'PUT');
    assert.deepEqual(plan.requestBody, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: 'payments-api',
        namespace: 'payments',
        generation: 4,
        resourceVersion: '8841',
        labels: { app: 'payments-api' },
        annotations: {
          'deployment.kubernetes.io/revision': '4',
          'gantry.dev/release': 'payments-2222222222222222',
          'gantry.dev/kind': 'deploy',
          'gantry.dev/stage': 'prod',
          'gantry.dev/digest': D2,
        },
      },
      spec: {
        replicas: 3,
        template: {
          spec: {
            containers: [
              { name: 'api', image: IMAGE2, ports: [{ containerPort: 8080 }], env: [{ name: 'MODE', value: 'live' }] },
              { name: 'envoy', image: 'public.ecr.aws/envoy:v1.31' },
            ],
          },
        },
      },
    });
    assert.equal(plan.evidence.previousImage, IMAGE1);
  });

  it('sends no status and no managedFields back', () => {
    const plan = planUpdate(target(), deployment({ image: IMAGE1 }), NOW);
    assert.ok(plan.decision === 'PUT');
    assert.equal('status' in plan.requestBody, false);
    assert.equal('managedFields' in (plan.requestBody.metadata as Record<string, unknown>), false);
  });

  it('sets the rollout deadline to deploy.timeoutMinutes after the update', () => {
    assert.equal(planUpdate(target(), deployment({ image: IMAGE1 }), NOW).deadline, DEADLINE);
  });

  it('refuses a Deployment without the named container, naming the containers it has', () => {
    const d = deployment();
    const noApi: DeploymentView = { ...d, spec: { ...d.spec, template: { spec: { containers: [{ name: 'web', image: IMAGE1 }] } } } };
    const plan = planUpdate(target(), noApi, NOW);
    assert.equal(plan.decision, 'FAILED');
    assert.match(plan.reason, /has no container api \(containers: web\)/);
  });

  it('refuses an object that is not the target Deployment (or was read without its metadata)', () => {
    const d = deployment({ image: IMAGE1 });
    assert.match(planUpdate(target(), { ...d, metadata: { ...d.metadata, name: 'other' } }, NOW).reason, /not deployment payments\/payments-api \(got payments\/other\)/);
    assert.equal(planUpdate(target(), { ...d, metadata: undefined }, NOW).decision, 'FAILED');
  });
});

describe('the rollout decision', () => {
  it('is DONE when the new generation is observed and every replica is updated and available', () => {
    const v = decide(deployment());
    assert.equal(v.decision, 'DONE');
    assert.equal(v.evidence.generation, 4);
    assert.equal(v.evidence.observedGeneration, 4);
    assert.equal(v.evidence.image, IMAGE2);
    assert.deepEqual(v.evidence.condition, { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' });
    assert.equal(v.buildId, 'prod-eks:payments-payments-api-generation-4');
  });

  it('is PROGRESSING while the controller has not observed the new generation', () => {
    const v = decide(deployment({ generation: 5, observed: 4 }));
    assert.equal(v.decision, 'PROGRESSING');
    assert.match(v.reason, /observe generation 5/);
  });

  it('is PROGRESSING while not every replica is updated', () => {
    assert.match(decide(deployment({ updated: 1, total: 4 })).reason, /1 of 3 new replicas updated/);
  });

  it('is PROGRESSING while old replicas are still terminating', () => {
    const v = decide(deployment({ total: 4 }));
    assert.equal(v.decision, 'PROGRESSING');
    assert.match(v.reason, /1 old replica\(s\) pending termination/);
  });

  it('is PROGRESSING while updated replicas are not yet available', () => {
    assert.match(decide(deployment({ available: 2 })).reason, /2 of 3 updated replicas available/);
  });

  it('is FAILED when the Progressing condition reports ProgressDeadlineExceeded', () => {
    const v = decide(
      deployment({
        updated: 1,
        total: 4,
        progressing: { reason: 'ProgressDeadlineExceeded', status: 'False', message: 'ReplicaSet "payments-api-7d9c" has timed out progressing.' },
      }),
    );
    assert.equal(v.decision, 'FAILED');
    assert.match(v.reason, /exceeded its progress deadline: ReplicaSet "payments-api-7d9c" has timed out progressing\./);
    assert.equal(v.evidence.condition?.reason, 'ProgressDeadlineExceeded');
  });

  it('is FAILED when the rollout is still progressing at the deadline (a driver timeout is a failed deploy)', () => {
    const v = decide(deployment({ updated: 1, total: 4 }), new Date(DEADLINE));
    assert.equal(v.decision, 'FAILED');
    assert.match(v.reason, /did not finish rolling out within 10 minutes/);
  });

  it('is DONE at the deadline when the rollout is complete by then', () => {
    assert.equal(decide(deployment(), new Date(DEADLINE)).decision, 'DONE');
  });

  it('is FAILED when the container no longer runs the image this rollout set', () => {
    const v = decide(deployment({ image: `${REGISTRY}/payments-api:latest` }));
    assert.equal(v.decision, 'FAILED');
    assert.match(v.reason, /runs .*payments-api:latest, not .*@sha256:2{64} \(changed outside this rollout\?\)/);
  });

  it('passes the deadline through so the next check in the loop has it', () => {
    assert.equal(decide(deployment({ available: 1 })).deadline, DEADLINE);
  });
});
