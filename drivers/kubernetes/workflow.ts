/**
 * The Kubernetes driver: the Deployment is changed through the Kubernetes API (`eks:call`) by the
 * state machine itself, and its rollout is followed until done, failed or past the deadline.
 */
import { MAX_UPDATE_ATTEMPTS } from '../../lambdas/domain/rollout';
import { EKS_CALL_READ_RETRY, EKS_CALL_WRITE_RETRY, catchAll, catchOn, eksCallTask, lambdaTask, type State, type States } from '../../workflows/builder';
import type { DeployChain, DriverWorkflow } from '../../workflows/fragments/deploy';
import { CANARY_STATE_NAMES, canaryStates } from './canary-workflow';

export interface KubernetesStateNames {
  readonly plan: string;
  readonly read: string;
  readonly prepare: string;
  readonly isReady: string;
  readonly write: string;
  readonly countConflict: string;
  readonly isConflictRetryable: string;
  readonly conflictFailed: string;
  readonly waitForRollout: string;
  readonly readRollout: string;
  readonly checkRollout: string;
  readonly verdict: string;
  readonly failed: string;
}

/** The state names of the chain in the release workflow's deploy and in every stage rollback. */
export const KUBERNETES_STATE_NAMES: Readonly<Record<DeployChain['kind'], KubernetesStateNames>> = {
  deploy: {
    plan: 'PlanKubernetesDeploy',
    read: 'ReadDeployment',
    prepare: 'PrepareDeploymentUpdate',
    isReady: 'IsDeploymentUpdateReady',
    write: 'ReplaceDeployment',
    countConflict: 'CountDeploymentConflict',
    isConflictRetryable: 'IsDeploymentConflictRetryable',
    conflictFailed: 'KubernetesDeployConflict',
    waitForRollout: 'WaitForRollout',
    readRollout: 'ReadRollout',
    checkRollout: 'CheckRollout',
    verdict: 'RolloutVerdict',
    failed: 'KubernetesDeployFailed',
  },
  rollback: {
    plan: 'PlanKubernetesRollback',
    read: 'ReadRollbackDeployment',
    prepare: 'PrepareRollbackUpdate',
    isReady: 'IsRollbackUpdateReady',
    write: 'ReplaceRollbackDeployment',
    countConflict: 'CountRollbackConflict',
    isConflictRetryable: 'IsRollbackConflictRetryable',
    conflictFailed: 'KubernetesRollbackConflict',
    waitForRollout: 'WaitForRollbackRollout',
    readRollout: 'ReadRollbackRollout',
    checkRollout: 'CheckRollbackRollout',
    verdict: 'RollbackRolloutVerdict',
    failed: 'KubernetesRollbackFailed',
  },
};

/** The eks:call connection fields, from the plan: the target (`$.kube.target`) and the cluster's endpoint and CA (`$.kube.cluster`). */
const CONNECTION = {
  'ClusterName.$': '$.kube.target.clusterName',
  'CertificateAuthority.$': '$.kube.cluster.certificateAuthority',
  'Endpoint.$': '$.kube.cluster.endpoint',
  'Path.$': '$.kube.target.path',
};

/** What the rollout check needs from a GET of the Deployment. */
const ROLLOUT_FIELDS = {
  'generation.$': '$.ResponseBody.metadata.generation',
  'resourceVersion.$': '$.ResponseBody.metadata.resourceVersion',
  'spec.$': '$.ResponseBody.spec',
  'status.$': '$.ResponseBody.status',
};
/** The read before the write also keeps the object's identity and metadata: the PUT sends them back. */
const OBJECT_FIELDS = { 'apiVersion.$': '$.ResponseBody.apiVersion', 'kind.$': '$.ResponseBody.kind', 'metadata.$': '$.ResponseBody.metadata' };

/** GET the Deployment into `$.kube.current`. */
function readDeployment(comment: string, selector: Record<string, string>, next: string, onFailed: string): State {
  return eksCallTask('$.kube.target', [EKS_CALL_READ_RETRY], {
    Comment: comment,
    Parameters: { ...CONNECTION, Method: 'GET' },
    ResultSelector: selector,
    ResultPath: '$.kube.current',
    TimeoutSeconds: 60,
    Catch: [catchAll(onFailed, '$.deployError')],
    Next: next,
  });
}

/**
 * Plan, read, write, watch. The write is a GET then a PUT of the whole Deployment with its `resourceVersion`
 * (docs/decisions/029-eks-call-put.md): a 409 Conflict (someone changed it in between) goes back to the GET, at
 * most MAX_UPDATE_ATTEMPTS PUTs in all, then fails as `KubernetesUpdateConflict` on the chain's failure path.
 */
export function kubernetesDeploy(chain: DeployChain): States {
  // A wave stage's per-cluster chain (clusterPath) has no canary: a stage is a canary or waves (decision 044).
  const canaryChain = chain.kind === 'deploy' && chain.clusterPath === undefined;
  const n = KUBERNETES_STATE_NAMES[chain.kind];
  const r = chain.resultPath;
  const target = chain.kind === 'deploy' ? "image pinned to the release's digest" : 'image pinned to the rollback target digest';
  return {
    [n.plan]: lambdaTask('RolloutCheck', {
      Comment: `The Kubernetes driver, step 1: the validated target of this ${chain.kind} (cluster, namespace, Deployment, container, ${target}, poll interval, timeout, the role eks:call runs with), from the config and the ledger only; the cluster's endpoint and CA from eks:DescribeCluster, called as that role in the cluster's region.`,
      Parameters: {
        action: 'plan',
        'releaseId.$': '$.release.releaseId',
        'stage.$': '$.stage.name',
        kind: chain.kind,
        // A wave stage's run names its cluster (decision 044).
        ...(chain.clusterPath ? { 'cluster.$': chain.clusterPath } : {}),
      },
      ResultPath: '$.kube',
      Catch: [catchOn(['ClusterAccessError'], chain.onFailed, '$.deployError'), catchAll(chain.onInternalError)],
      Next: canaryChain ? CANARY_STATE_NAMES.choose : n.read,
    }),
    // A canary stage (deploy.rollout; deploys only) takes the canary chain; every other stage the chain below, unchanged.
    ...(canaryChain
      ? {
          [CANARY_STATE_NAMES.choose]: {
            Type: 'Choice',
            Comment: 'deploy.rollout (a canary in steps, docs/decisions/043-canary-steps.md): the canary chain; else the Deployment is replaced at once.',
            Choices: [{ Variable: '$.kube.target.canary', IsPresent: true, Next: CANARY_STATE_NAMES.readStable }],
            Default: n.read,
          },
          ...canaryStates(chain),
        }
      : {}),
    [n.read]: readDeployment(
      'Reads the Deployment before changing it: the PUT sends back the object as read, with its resourceVersion.',
      { ...OBJECT_FIELDS, ...ROLLOUT_FIELDS },
      n.prepare,
      chain.onFailed,
    ),
    [n.prepare]: lambdaTask('RolloutCheck', {
      Comment:
        "Builds the PUT body (the Deployment as read, the named container's image set to <registry>/<repository>@<digest>, Gantry's annotations added, its resourceVersion kept) and the rollout deadline (now + deploy.timeoutMinutes). A Deployment without that container is refused.",
      Parameters: { action: 'update', 'target.$': '$.kube.target', 'deployment.$': '$.kube.current' },
      ResultPath: r,
      Catch: [catchAll(chain.onFailed, '$.deployError')],
      Next: n.isReady,
    }),
    [n.isReady]: { Type: 'Choice', Choices: [{ Variable: `${r}.decision`, StringEquals: 'PUT', Next: n.write }], Default: n.failed },
    [n.write]: eksCallTask('$.kube.target', [EKS_CALL_WRITE_RETRY], {
      Comment:
        "Replaces the Deployment (PUT; Kubernetes API, as the access entry of the task's role allows — the ClusterAccessRole, or the cluster's roleArn in another account: get and update on deployments in the stage namespace). Its resourceVersion makes a change made since the read a 409 Conflict, not a silent overwrite.",
      Parameters: { ...CONNECTION, Method: 'PUT', 'RequestBody.$': `${r}.requestBody` },
      ResultSelector: { 'generation.$': '$.ResponseBody.metadata.generation', 'resourceVersion.$': '$.ResponseBody.metadata.resourceVersion' },
      ResultPath: '$.kube.written',
      TimeoutSeconds: 60,
      Catch: [catchOn(['EKS.409'], n.countConflict, '$.kube.conflict'), catchAll(chain.onFailed, '$.deployError')],
      Next: n.waitForRollout,
    }),
    [n.countConflict]: {
      Type: 'Pass',
      Comment: 'The Deployment changed between the read and the PUT (409 Conflict): count it.',
      Parameters: { 'count.$': 'States.MathAdd($.kube.conflicts.count, 1)' },
      ResultPath: '$.kube.conflicts',
      Next: n.isConflictRetryable,
    },
    [n.isConflictRetryable]: {
      Type: 'Choice',
      Comment: `Read the Deployment again and build the PUT anew, ${MAX_UPDATE_ATTEMPTS} PUTs at most.`,
      Choices: [{ Variable: '$.kube.conflicts.count', NumericLessThan: MAX_UPDATE_ATTEMPTS, Next: n.read }],
      Default: n.conflictFailed,
    },
    [n.conflictFailed]: {
      Type: 'Pass',
      Comment: `Every PUT (${MAX_UPDATE_ATTEMPTS}) met a concurrent change: the ${chain.kind} fails, on the same path as a failed ${chain.kind} build.`,
      Parameters: {
        Error: 'KubernetesUpdateConflict',
        Cause: `the Deployment changed between each read and PUT (409 Conflict, ${MAX_UPDATE_ATTEMPTS} attempts)`,
        'conflict.$': '$.kube.conflict',
      },
      ResultPath: '$.deployError',
      Next: chain.onFailed,
    },
    [n.waitForRollout]: { Type: 'Wait', Comment: 'deploy.pollSeconds between two reads of the rollout.', SecondsPath: '$.kube.target.pollSeconds', Next: n.readRollout },
    [n.readRollout]: readDeployment("Reads the Deployment's rollout status.", ROLLOUT_FIELDS, n.checkRollout, chain.onFailed),
    [n.checkRollout]: lambdaTask('RolloutCheck', {
      Comment:
        'DONE when the controller observed the new generation and every replica is updated and available; FAILED on ProgressDeadlineExceeded, on an image changed by someone else, or past the deadline (a driver timeout is a failed deploy).',
      Parameters: {
        action: 'check',
        'target.$': '$.kube.target',
        'deployment.$': '$.kube.current',
        'deadline.$': `${r}.deadline`,
        'previousImage.$': `${r}.evidence.previousImage`,
      },
      ResultPath: r,
      Catch: [catchAll(chain.onFailed, '$.deployError')],
      Next: n.verdict,
    }),
    [n.verdict]: {
      Type: 'Choice',
      Choices: [
        { Variable: `${r}.decision`, StringEquals: 'DONE', Next: chain.onDeployed },
        { Variable: `${r}.decision`, StringEquals: 'PROGRESSING', Next: n.waitForRollout },
      ],
      Default: n.failed,
    },
    [n.failed]: {
      Type: 'Pass',
      Comment: `A refused update or a failed rollout takes the same path as a failed ${chain.kind} build.`,
      Parameters: { Error: 'KubernetesRolloutFailed', 'Cause.$': `${r}.reason`, 'evidence.$': `${r}.evidence` },
      ResultPath: '$.deployError',
      Next: chain.onFailed,
    },
  };
}

export const workflow: DriverWorkflow = {
  entry: (kind) => KUBERNETES_STATE_NAMES[kind].plan,
  states: kubernetesDeploy,
};
