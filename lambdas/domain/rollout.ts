/**
 * The native Kubernetes driver (`deploy.driver: "kubernetes"`): what the workflow writes (GET, then PUT), with which body, and
 * whether a Deployment's rollout is done, still progressing or failed. Pure: no AWS SDK, the clock is an argument.
 *
 * The workflow reaches the cluster through Step Functions `eks:call`; this module only decides. Every value that
 * ends up in a request (cluster, namespace, Deployment, container, image) comes from the validated config and the
 * digest pattern, and is checked again here before it is used.
 */
import type { GantryConfig, StageConfig } from './config';
import { clusterScope, taskRoleArn } from './cluster-scope';
import { DIGEST_PATTERN, K8S_NAME_PATTERN, stageClusters } from './config';

/** A value that must not reach a Kubernetes request, or a stage that is not a Kubernetes stage. */
export class KubernetesDriverError extends Error {
  override readonly name = 'KubernetesDriverError';
}

/** A registry host such as `111122223333.dkr.ecr.eu-west-2.amazonaws.com` (optionally with a port). */
export const REGISTRY_PATTERN = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?(:[0-9]{1,5})?$/;
const CLUSTER_NAME_PATTERN = /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;
const REPOSITORY_PATTERN = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

/** The annotations Gantry sets on the Deployment it updates (metadata only: they do not start a rollout). */
export const ANNOTATIONS = {
  release: 'gantry.dev/release',
  kind: 'gantry.dev/kind',
  stage: 'gantry.dev/stage',
  digest: 'gantry.dev/digest',
} as const;

export type RolloutKind = 'deploy' | 'rollback';

/** Everything the workflow needs to update one Deployment and watch its rollout. */
export interface RolloutTarget {
  readonly releaseId: string;
  readonly kind: RolloutKind;
  readonly service: string;
  readonly stage: string;
  /** The EKS cluster name (`clusters.<key>.name`): eks:DescribeCluster's Name and eks:call's ClusterName. */
  readonly clusterName: string;
  readonly region: string;
  /** The config key of the cluster (`stages[].cluster`). */
  readonly cluster: string;
  /** The cluster's account when it is not Gantry's own (issue 18). */
  readonly account?: string;
  /**
   * The role every eks:call of this target runs with (the task's `Credentials.RoleArn`): the cluster's `roleArn`,
   * else the stack's ClusterAccessRole (decision 045).
   */
  readonly roleArn: string;
  readonly namespace: string;
  readonly deployment: string;
  readonly container: string;
  readonly digest: string;
  /** `<registry>/<repository>@<digest>`: the container image, always by digest. */
  readonly image: string;
  /** `/apis/apps/v1/namespaces/<namespace>/deployments/<deployment>` */
  readonly path: string;
  readonly pollSeconds: number;
  /** deploy.timeoutMinutes in seconds: a rollout not done by then is a failed deploy. */
  readonly timeoutSeconds: number;
}

function check(pattern: RegExp, value: string, what: string): string {
  if (!pattern.test(value)) throw new KubernetesDriverError(`refusing to use ${what} ${JSON.stringify(value)} in a Kubernetes request (expected ${pattern.source})`);
  return value;
}

/** The apps/v1 path of a Deployment; both names must be Kubernetes DNS labels. */
export function deploymentPath(namespace: string, deployment: string): string {
  return `/apis/apps/v1/namespaces/${check(K8S_NAME_PATTERN, namespace, 'namespace')}/deployments/${check(K8S_NAME_PATTERN, deployment, 'Deployment name')}`;
}

/** `<registry>/<repository>@<digest>`, each part checked. */
export function imageByDigest(registry: string, repository: string, digest: string): string {
  return `${check(REGISTRY_PATTERN, registry, 'registry')}/${check(REPOSITORY_PATTERN, repository, 'repository')}@${check(DIGEST_PATTERN, digest, 'digest')}`;
}

/** The rollout target of a Kubernetes stage, from the validated config. Throws KubernetesDriverError for any other stage. */
export function rolloutTarget(args: {
  config: GantryConfig;
  service: string;
  stage: StageConfig;
  digest: string;
  registry: string;
  releaseId: string;
  kind: RolloutKind;
  /** A wave stage's run (decision 044): one of the stage's cluster keys. Default: the stage's cluster. */
  cluster?: string;
  /** The stack's ClusterAccessRole (GANTRY_CLUSTER_ACCESS_ROLE_ARN): the role for a cluster of Gantry's own account. */
  clusterAccessRoleArn?: string;
}): RolloutTarget {
  const { config, service, stage, digest, registry, releaseId, kind } = args;
  if (stage.deploy.driver !== 'kubernetes') throw new KubernetesDriverError(`stage ${service}/${stage.name} deploys with ${stage.deploy.driver}, not kubernetes`);
  const svc = config.services[service];
  const key = args.cluster ?? stage.cluster;
  if (!stageClusters(stage).includes(key)) throw new KubernetesDriverError(`cluster ${key} is not a cluster of stage ${service}/${stage.name}`);
  const cluster = Object.hasOwn(config.clusters, key) ? config.clusters[key] : undefined;
  if (!svc || !cluster) throw new KubernetesDriverError(`unknown service or cluster for ${service}/${stage.name}`);
  const scope = clusterScope(config, key);
  const roleOf = (): string => {
    try {
      return taskRoleArn(scope, args.clusterAccessRoleArn);
    } catch (e) {
      throw new KubernetesDriverError((e as Error).message);
    }
  };
  // The role is resolved after every value of the request is checked (a bad digest is named before a missing role).
  return {
    releaseId: check(/^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$/, releaseId, 'release id'),
    kind,
    service,
    stage: check(K8S_NAME_PATTERN, stage.name, 'stage name'),
    clusterName: check(CLUSTER_NAME_PATTERN, cluster.name, 'cluster name'),
    region: cluster.region,
    cluster: key,
    ...(scope.account !== undefined ? { account: scope.account } : {}),
    namespace: stage.namespace,
    deployment: check(K8S_NAME_PATTERN, stage.deploy.deployment, 'Deployment name'),
    container: check(K8S_NAME_PATTERN, stage.deploy.container, 'container name'),
    digest,
    image: imageByDigest(registry, svc.repository, digest),
    path: deploymentPath(stage.namespace, stage.deploy.deployment),
    pollSeconds: stage.deploy.pollSeconds,
    timeoutSeconds: stage.deploy.timeoutMinutes * 60,
    roleArn: roleOf(),
  };
}

// ---------------------------------------------------------------- the Deployment as read

export interface RolloutCondition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
}

/** What the workflow selects from an apps/v1 Deployment (`eks:call` GET, ResultSelector). Containers keep every field. */
export interface DeploymentView {
  readonly generation: number;
  readonly resourceVersion?: string;
  /** The read before the write selects the whole object: the PUT sends it back. */
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly annotations?: Record<string, string>;
    readonly managedFields?: unknown;
    readonly [field: string]: unknown;
  };
  readonly spec: {
    readonly replicas?: number;
    readonly template?: { readonly spec?: { readonly containers?: ReadonlyArray<{ readonly name: string; readonly image?: string } & Record<string, unknown>> } };
  };
  readonly status: {
    readonly observedGeneration?: number;
    readonly replicas?: number;
    readonly updatedReplicas?: number;
    readonly readyReplicas?: number;
    readonly availableReplicas?: number;
    readonly unavailableReplicas?: number;
    readonly conditions?: readonly RolloutCondition[];
  };
}

/** The rollout evidence recorded in the ledger with the deploy's result. */
export interface RolloutEvidence {
  readonly driver: 'kubernetes';
  readonly cluster: string;
  /** Where the cluster is and the role the workflow reached it with (issue 18): region, account (another account only), role. */
  readonly region?: string;
  readonly account?: string;
  readonly roleArn?: string;
  readonly namespace: string;
  readonly deployment: string;
  readonly container: string;
  /** The image the update set (what this release asked for). */
  readonly image: string;
  /** The image the container ran before the update (set by the update step). */
  readonly previousImage?: string | null;
  /** The container's image as last read (another writer may have changed it). */
  readonly observedImage?: string | null;
  readonly generation: number;
  readonly observedGeneration: number | null;
  readonly replicas: number;
  readonly updatedReplicas: number;
  readonly availableReplicas: number;
  readonly readyReplicas: number;
  /** The Deployment's `Progressing` condition when the decision was taken. */
  readonly condition: RolloutCondition | null;
}

const containersOf = (d: DeploymentView) => d.spec.template?.spec?.containers ?? [];
const progressingOf = (d: DeploymentView) => d.status.conditions?.find((c) => c.type === 'Progressing');

function evidenceOf(target: RolloutTarget, d: DeploymentView, extra: { previousImage?: string | null } = {}): RolloutEvidence {
  const p = progressingOf(d);
  return {
    driver: 'kubernetes',
    cluster: target.clusterName,
    ...(target.region ? { region: target.region } : {}),
    ...(target.account !== undefined ? { account: target.account } : {}),
    ...(target.roleArn ? { roleArn: target.roleArn } : {}),
    namespace: target.namespace,
    deployment: target.deployment,
    container: target.container,
    image: target.image,
    ...(extra.previousImage !== undefined ? { previousImage: extra.previousImage } : {}),
    observedImage: containersOf(d).find((c) => c.name === target.container)?.image ?? null,
    generation: d.generation,
    observedGeneration: d.status.observedGeneration ?? null,
    replicas: d.spec.replicas ?? 1,
    updatedReplicas: d.status.updatedReplicas ?? 0,
    availableReplicas: d.status.availableReplicas ?? 0,
    readyReplicas: d.status.readyReplicas ?? 0,
    condition: p ? { type: p.type, status: p.status, ...(p.reason ? { reason: p.reason } : {}), ...(p.message ? { message: p.message } : {}) } : null,
  };
}

// ---------------------------------------------------------------- the update (GET, then PUT with resourceVersion)

/**
 * PUTs of one Deployment a deploy may try: a 409 Conflict (the Deployment changed between the GET and the PUT)
 * sends the workflow back to the GET; after this many PUTs all answered 409 the deploy fails
 * (`KubernetesUpdateConflict`). The workflow's conflict Choice is generated from this constant.
 */
export const MAX_UPDATE_ATTEMPTS = 3;

export type UpdatePlan =
  | {
      readonly decision: 'PUT';
      readonly reason: string;
      /** The eks:call PUT body: the Deployment as read, the target container's image and Gantry's annotations set. */
      readonly requestBody: Record<string, unknown>;
      /** When the rollout must be done: now + deploy.timeoutMinutes. */
      readonly deadline: string;
      readonly evidence: RolloutEvidence;
    }
  | { readonly decision: 'FAILED'; readonly reason: string; readonly deadline: string; readonly evidence: RolloutEvidence };

/**
 * The PUT that sets the target container's image, built from the Deployment as just read.
 *
 * Step Functions documents `eks:call` with GET, POST, PUT, DELETE, HEAD and PATCH, but not the Content-Type it sends
 * with a PATCH, and the Kubernetes API server answers 415 to a PATCH sent as plain `application/json`. A PUT of the
 * whole object is plain JSON by definition (docs/decisions/029-eks-call-put.md). The body is the Deployment as read
 * (`apiVersion`, `kind`, `metadata`, `spec`; `status` is ignored by a PUT and left out, and so is
 * `metadata.managedFields`, which a PUT without it leaves unchanged), with
 * - the named container's image set to `<registry>/<repository>@<digest>`, every other field and container as read;
 * - Gantry's annotations added to the ones it had;
 * - `metadata.resourceVersion` as read, so the API server refuses the PUT with 409 Conflict if the Deployment
 *   changed after the GET, instead of overwriting that change.
 * A Deployment without the named container, or an object that is not the target Deployment, is refused here.
 */
export function planUpdate(target: RolloutTarget, d: DeploymentView, now: Date): UpdatePlan {
  const deadline = new Date(now.getTime() + target.timeoutSeconds * 1000).toISOString();
  const containers = containersOf(d);
  const current = containers.find((c) => c.name === target.container);
  const failed = (reason: string): UpdatePlan => ({ decision: 'FAILED', reason, deadline, evidence: evidenceOf(target, d, { previousImage: current?.image ?? null }) });
  const metadata = d.metadata;
  if (!metadata || metadata.name !== target.deployment || metadata.namespace !== target.namespace) {
    return failed(`the object read is not deployment ${target.namespace}/${target.deployment} (got ${metadata?.namespace ?? '?'}/${metadata?.name ?? '?'})`);
  }
  if (!current) {
    const names = containers.map((c) => c.name).join(', ') || 'none';
    return failed(`deployment ${target.namespace}/${target.deployment} has no container ${target.container} (containers: ${names})`);
  }
  const { managedFields: _managedFields, ...keptMetadata } = metadata;
  const template = d.spec.template ?? {};
  const requestBody = {
    apiVersion: d.apiVersion ?? 'apps/v1',
    kind: d.kind ?? 'Deployment',
    metadata: {
      ...keptMetadata,
      ...(d.resourceVersion ? { resourceVersion: d.resourceVersion } : {}),
      annotations: {
        ...(metadata.annotations ?? {}),
        [ANNOTATIONS.release]: target.releaseId,
        [ANNOTATIONS.kind]: target.kind,
        [ANNOTATIONS.stage]: target.stage,
        [ANNOTATIONS.digest]: target.digest,
      },
    },
    spec: {
      ...d.spec,
      template: { ...template, spec: { ...(template.spec ?? {}), containers: containers.map((c) => (c.name === target.container ? { ...c, image: target.image } : { ...c })) } },
    },
  };
  const same = current.image === target.image;
  return {
    decision: 'PUT',
    reason: same ? `container ${target.container} already runs ${target.image}` : `container ${target.container}: ${current.image ?? '(no image)'} → ${target.image}`,
    requestBody,
    deadline,
    evidence: evidenceOf(target, d, { previousImage: current.image ?? null }),
  };
}

// ---------------------------------------------------------------- the rollout decision

export type RolloutDecision = 'DONE' | 'PROGRESSING' | 'FAILED';

export interface RolloutVerdict {
  readonly decision: RolloutDecision;
  readonly reason: string;
  /** Passed through, so the next check in the loop has it. */
  readonly deadline: string;
  /** An identifier of this driver run for the ledger's `buildId`: `<cluster>:<namespace>-<deployment>-generation-<n>`. */
  readonly buildId: string;
  readonly evidence: RolloutEvidence;
}

/**
 * DONE, PROGRESSING or FAILED, as `kubectl rollout status` decides it: the controller has observed the current
 * generation, every replica is updated, no old replica is left and every updated replica is available. A
 * `Progressing` condition with reason `ProgressDeadlineExceeded` is a failed rollout, and so is one still
 * progressing at the deadline (deploy.timeoutMinutes after the update). A container no longer running the image
 * this rollout set (another writer changed it) fails too: what runs is not what was released.
 */
export function decideRollout(args: { target: RolloutTarget; deployment: DeploymentView; deadline: string; now: Date; previousImage?: string | null }): RolloutVerdict {
  const { target, deployment: d, deadline, now } = args;
  const evidence = evidenceOf(target, d, args.previousImage !== undefined ? { previousImage: args.previousImage } : {});
  const name = `deployment ${target.namespace}/${target.deployment}`;
  const verdict = (decision: RolloutDecision, reason: string): RolloutVerdict => ({
    decision,
    reason,
    deadline,
    buildId: `${target.clusterName}:${target.namespace}-${target.deployment}-generation-${d.generation}`,
    evidence,
  });

  if (evidence.observedImage !== target.image) {
    return verdict('FAILED', `${name}: container ${target.container} runs ${evidence.observedImage ?? '(nothing)'}, not ${target.image} (changed outside this rollout?)`);
  }
  let waiting: string;
  const observed = d.status.observedGeneration ?? 0;
  if (observed >= d.generation) {
    const progressing = progressingOf(d);
    if (progressing?.reason === 'ProgressDeadlineExceeded') {
      return verdict('FAILED', `${name} exceeded its progress deadline${progressing.message ? `: ${progressing.message}` : ''}`);
    }
    const replicas = evidence.replicas;
    const updated = evidence.updatedReplicas;
    const total = d.status.replicas ?? 0;
    const available = evidence.availableReplicas;
    if (updated < replicas) waiting = `${updated} of ${replicas} new replicas updated`;
    else if (total > updated) waiting = `${total - updated} old replica(s) pending termination`;
    else if (available < updated) waiting = `${available} of ${updated} updated replicas available`;
    else return verdict('DONE', `${name} rolled out: ${replicas} replica(s) run ${target.image}`);
  } else {
    waiting = `waiting for the controller to observe generation ${d.generation} (observed ${observed})`;
  }
  if (now.getTime() >= Date.parse(deadline)) {
    return verdict('FAILED', `${name} did not finish rolling out within ${Math.round(target.timeoutSeconds / 60)} minutes (deploy.timeoutMinutes): ${waiting}`);
  }
  return verdict('PROGRESSING', waiting);
}
