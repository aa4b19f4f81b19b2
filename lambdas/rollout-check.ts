/**
 * The native Kubernetes driver's decisions, for the workflow's `eks:call` tasks (statemachines/*.asl.json):
 * - `plan`: the validated rollout target of a Kubernetes stage (cluster, namespace, Deployment, container, image by
 *   digest, poll interval, timeout, the role eks:call runs with), from the config and the ledger: the digest of the
 *   release, or the rollback target recorded by `plan-rollback`. Nothing the workflow sends to the cluster comes from
 *   anywhere else. It also reads the cluster's endpoint and CA (eks:DescribeCluster in the cluster's region, with the
 *   cluster's role in another account: `$.kube.cluster`); a cluster it cannot describe fails with ClusterAccessError.
 * - `update`: the PUT body, from the Deployment as just read (lambdas/domain/rollout.ts `planUpdate`).
 * - `check`: DONE / PROGRESSING / FAILED from the Deployment as just read (`decideRollout`), with the evidence.
 * Canary stages (`deploy.rollout`, lambdas/domain/canary.ts, docs/decisions/043-canary-steps.md):
 * - `plan` adds `target.canary` (the canary Deployment as a target, the steps, the route) and `canaryStep: { index: 0 }`;
 * - `canary-update`: the canary Deployment's PUT for a step (the release's image, the step's replicas);
 * - `scale`: a Deployment's PUT with only its replicas changed (the canary scaled to 0);
 * - `route`: the HTTPRoute's PUT with the stable/canary backendRefs weighed `100 − w` / `w`.
 * These three throw CanaryStepError (a refused step) rather than answer FAILED: the workflow's Catch aborts the canary.
 */
import * as z from 'zod';
import { ACCOUNT_PATTERN, DIGEST_PATTERN, K8S_NAME_PATTERN, ROLE_ARN_PATTERN } from './domain/config';
import { roleSessionName } from './domain/cluster-scope';
import { describeClusterOf } from './shared/clusters';
import { type DeploymentView, decideRollout, deploymentPath, planUpdate, type RolloutTarget, rolloutTarget } from './domain/rollout';
import { parseWith } from './domain/validation';
import type { Deps } from './ports';
import { lambdaHandler } from './shared/middleware';
import { loadRelease, stageConfigOf } from './shared/recorder';
import { stageStep } from './domain/step-keys';
import { canaryTarget, type CanaryRouteTarget, httpRoutePath, type HttpRouteView, planCanaryUpdate, planRouteWeights, planScale } from './domain/canary';

/** The rollback target is gone from the ledger, or the release has no digest: nothing may be updated. */
export class RolloutTargetError extends Error {
  override readonly name = 'RolloutTargetError';
}

const k8sName = z.string().regex(K8S_NAME_PATTERN);
const kind = z.enum(['deploy', 'rollback']);

/** A target as `plan` produced it, checked again (it travelled through the workflow state). */
const targetSchema = z
  .object({
    releaseId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$/),
    kind,
    service: z.string().regex(/^[a-z][a-z0-9-]{0,39}$/),
    stage: k8sName,
    clusterName: z.string().regex(/^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/),
    region: z.string(),
    cluster: z.string().min(1),
    account: z.string().regex(ACCOUNT_PATTERN).optional(),
    roleArn: z.string().regex(ROLE_ARN_PATTERN),
    namespace: k8sName,
    deployment: k8sName,
    container: k8sName,
    digest: z.string().regex(DIGEST_PATTERN),
    image: z.string().min(1),
    path: z.string(),
    pollSeconds: z.number().int().min(1),
    timeoutSeconds: z.number().int().min(1),
  })
  .superRefine((t, ctx) => {
    let expected: string | undefined;
    try {
      expected = deploymentPath(t.namespace, t.deployment);
    } catch {
      expected = undefined; // the names themselves are reported by their own patterns
    }
    if (t.path !== expected) ctx.addIssue({ code: 'custom', path: ['path'], message: 'expected the apps/v1 path of the Deployment' });
    if (!t.image.endsWith(`@${t.digest}`)) ctx.addIssue({ code: 'custom', path: ['image'], message: 'expected an image pinned to the target digest' });
  });

const condition = z.object({ type: z.string(), status: z.string(), reason: z.string().optional(), message: z.string().optional() }).passthrough();
/** The Deployment as the workflow selected it from the eks:call GET response. Containers keep every field. */
const deploymentSchema = z.object({
  generation: z.number().int(),
  resourceVersion: z.string().optional(),
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: z
    .object({ name: z.string().optional(), namespace: z.string().optional(), annotations: z.record(z.string(), z.string()).optional() })
    .passthrough()
    .optional(),
  spec: z
    .object({
      replicas: z.number().int().min(0).optional(),
      template: z
        .object({
          spec: z
            .object({ containers: z.array(z.object({ name: z.string(), image: z.string().optional() }).passthrough()).optional() })
            .passthrough()
            .optional(),
        })
        .passthrough()
        .optional(),
    })
    .passthrough(),
  status: z
    .object({
      observedGeneration: z.number().int().optional(),
      replicas: z.number().int().optional(),
      updatedReplicas: z.number().int().optional(),
      readyReplicas: z.number().int().optional(),
      availableReplicas: z.number().int().optional(),
      unavailableReplicas: z.number().int().optional(),
      conditions: z.array(condition).optional(),
    })
    .passthrough(),
});

/** A canary route target as `plan` produced it, checked again. */
const routeTargetSchema = z
  .object({ namespace: k8sName, name: k8sName, path: z.string(), rule: z.number().int().min(0).max(15), stableService: k8sName, canaryService: k8sName })
  .superRefine((r, ctx) => {
    if (K8S_NAME_PATTERN.test(r.namespace) && K8S_NAME_PATTERN.test(r.name) && r.path !== httpRoutePath(r.namespace, r.name))
      ctx.addIssue({ code: 'custom', path: ['path'], message: 'expected the gateway.networking.k8s.io/v1 path of the HTTPRoute' });
  });
/** The HTTPRoute as the workflow selected it from the eks:call GET. */
const routeSchema = z
  .object({
    apiVersion: z.string().optional(),
    kind: z.string().optional(),
    metadata: z.object({ name: z.string().optional(), namespace: z.string().optional() }).passthrough().optional(),
    spec: z
      .object({ rules: z.array(z.object({ backendRefs: z.array(z.record(z.string(), z.unknown())).optional() }).passthrough()).optional() })
      .passthrough()
      .optional(),
  })
  .passthrough();
const replicas = z.number().int().min(0).max(10_000);

const eventSchema = z.discriminatedUnion('action', [
  // cluster: a wave stage's run (decision 044), one of the stage's cluster keys; absent: the stage's cluster.
  z.object({ action: z.literal('plan'), releaseId: z.string().min(1), stage: k8sName, kind, cluster: z.string().min(1).optional() }),
  z.object({ action: z.literal('update'), target: targetSchema, deployment: deploymentSchema }),
  z.object({
    action: z.literal('check'),
    target: targetSchema,
    deployment: deploymentSchema,
    deadline: z.iso.datetime(),
    previousImage: z.string().nullable().optional(),
  }),
  z.object({ action: z.literal('canary-update'), target: targetSchema, deployment: deploymentSchema, replicas: replicas.min(1) }),
  z.object({ action: z.literal('scale'), target: targetSchema, deployment: deploymentSchema, replicas }),
  z.object({ action: z.literal('route'), route: routeTargetSchema, object: routeSchema, weight: z.number().int().min(0).max(100) }),
]);

export async function run(event: unknown, deps: Deps): Promise<Record<string, unknown>> {
  const e = parseWith(eventSchema, event, 'task input');
  switch (e.action) {
    case 'plan': {
      const release = await loadRelease(deps, e.releaseId);
      const { st } = stageConfigOf(deps, release.service, e.stage);
      let digest = release.digest;
      if (e.kind === 'rollback') {
        const started = (await deps.ledger.events(e.releaseId)).find((ev) => ev.stepKey === stageStep.rollbackStarted(e.stage));
        digest = started?.data.toDigest as string | undefined;
      }
      if (!digest) throw new RolloutTargetError(`release ${e.releaseId} has no ${e.kind === 'rollback' ? 'rollback target' : 'digest'} for stage ${e.stage}`);
      const target: RolloutTarget = rolloutTarget({
        config: deps.config,
        service: release.service,
        stage: st,
        digest,
        registry: deps.runtime.ecrRegistry,
        releaseId: e.releaseId,
        kind: e.kind,
        ...(e.cluster !== undefined ? { cluster: e.cluster } : {}),
        ...(deps.runtime.clusterAccessRoleArn ? { clusterAccessRoleArn: deps.runtime.clusterAccessRoleArn } : {}),
      });
      // The endpoint and CA for eks:call, read here in the cluster's region (with its role in another account): the
      // aws-sdk:eks:describeCluster integration reaches only the workflow's own region (decision 045).
      const cluster = await describeClusterOf(deps, target.cluster, roleSessionName(e.releaseId));
      // conflicts: the PUTs answered 409 so far (the workflow counts them and re-reads, up to MAX_UPDATE_ATTEMPTS).
      // A canary (deploy only: a rollback replaces the stable Deployment as before) adds its part and starts at step 0.
      const canary = e.kind === 'deploy' ? canaryTarget(st, target) : undefined;
      if (canary) return { target: { ...target, canary }, cluster, conflicts: { count: 0 }, canaryStep: { index: 0 } };
      return { target, cluster, conflicts: { count: 0 } };
    }
    case 'update':
      return { ...planUpdate(e.target, e.deployment as DeploymentView, deps.now()) };
    case 'check':
      return { ...decideRollout({ target: e.target, deployment: e.deployment as DeploymentView, deadline: e.deadline, now: deps.now(), previousImage: e.previousImage }) };
    case 'canary-update':
      return planCanaryUpdate(e.target, e.deployment as DeploymentView, e.replicas, deps.now());
    case 'scale':
      return planScale(e.target, e.deployment as DeploymentView, e.replicas);
    case 'route':
      return planRouteWeights(e.route as CanaryRouteTarget, e.object as HttpRouteView, e.weight);
  }
}

export const handler = lambdaHandler(run);
