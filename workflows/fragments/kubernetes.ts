/**
 * The Kubernetes driver: the Deployment is changed through the Kubernetes API (`eks:call`) by the
 * state machine itself, and its rollout is followed until done, failed or past the deadline.
 */
import { EKS_API_RETRY, EKS_CALL_READ_RETRY, EKS_CALL_WRITE_RETRY, catchAll, lambdaTask, serviceTask, type State, type States } from '../builder';
import type { DeployChain } from './deploy';

export interface KubernetesStateNames {
  readonly plan: string;
  readonly describeCluster: string;
  readonly read: string;
  readonly prepare: string;
  readonly isReady: string;
  readonly write: string;
  readonly waitForRollout: string;
  readonly readRollout: string;
  readonly checkRollout: string;
  readonly verdict: string;
  readonly failed: string;
}

/** The eks:call connection fields, from the plan (`$.kube.target`) and DescribeCluster (`$.kube.cluster`). */
const CONNECTION = {
  'ClusterName.$': '$.kube.target.clusterName',
  'CertificateAuthority.$': '$.kube.cluster.certificateAuthority',
  'Endpoint.$': '$.kube.cluster.endpoint',
  'Path.$': '$.kube.target.path',
};

/** GET the Deployment, keeping what the patch and the rollout check need. */
function readDeployment(comment: string, next: string, onFailed: string): State {
  return serviceTask('arn:aws:states:::eks:call', [EKS_CALL_READ_RETRY], {
    Comment: comment,
    Parameters: { ...CONNECTION, Method: 'GET' },
    ResultSelector: {
      'generation.$': '$.ResponseBody.metadata.generation',
      'resourceVersion.$': '$.ResponseBody.metadata.resourceVersion',
      'spec.$': '$.ResponseBody.spec',
      'status.$': '$.ResponseBody.status',
    },
    ResultPath: '$.kube.current',
    TimeoutSeconds: 60,
    Catch: [catchAll(onFailed, '$.deployError')],
    Next: next,
  });
}

export function kubernetesDeploy(chain: DeployChain): States {
  const n = chain.names.kubernetes;
  const r = chain.resultPath;
  const target = chain.kind === 'deploy' ? "image pinned to the release's digest" : 'image pinned to the rollback target digest';
  return {
    [n.plan]: lambdaTask('RolloutCheck', {
      Comment: `The Kubernetes driver, step 1: the validated target of this ${chain.kind} (cluster, namespace, Deployment, container, ${target}, poll interval, timeout), from the config and the ledger only.`,
      Parameters: { action: 'plan', 'releaseId.$': '$.release.releaseId', 'stage.$': '$.stage.name', kind: chain.kind },
      ResultPath: '$.kube',
      Catch: [catchAll(chain.onInternalError)],
      Next: n.describeCluster,
    }),
    [n.describeCluster]: serviceTask('arn:aws:states:::aws-sdk:eks:describeCluster', [EKS_API_RETRY], {
      Comment: "The cluster's API endpoint and certificate authority for eks:call (eks:DescribeCluster on the configured clusters only).",
      Parameters: { 'Name.$': '$.kube.target.clusterName' },
      ResultSelector: { 'endpoint.$': '$.Cluster.Endpoint', 'certificateAuthority.$': '$.Cluster.CertificateAuthority.Data' },
      ResultPath: '$.kube.cluster',
      TimeoutSeconds: 60,
      Catch: [catchAll(chain.onFailed, '$.deployError')],
      Next: n.read,
    }),
    [n.read]: readDeployment('Reads the Deployment before patching it: the patch carries its containers as read and its resourceVersion.', n.prepare, chain.onFailed),
    [n.prepare]: lambdaTask('RolloutCheck', {
      Comment:
        "Builds the PATCH body (the named container's image set to <registry>/<repository>@<digest>, every other field as read) and the rollout deadline (now + deploy.timeoutMinutes). A Deployment without that container is refused.",
      Parameters: { action: 'patch', 'target.$': '$.kube.target', 'deployment.$': '$.kube.current' },
      ResultPath: r,
      Catch: [catchAll(chain.onFailed, '$.deployError')],
      Next: n.isReady,
    }),
    [n.isReady]: { Type: 'Choice', Choices: [{ Variable: `${r}.decision`, StringEquals: 'PATCH', Next: n.write }], Default: n.failed },
    [n.write]: serviceTask('arn:aws:states:::eks:call', [EKS_CALL_WRITE_RETRY], {
      Comment:
        "Patches the Deployment (Kubernetes API, as the state machine role's EKS access entry allows: get and patch on deployments in the stage namespace). resourceVersion in the body makes a concurrent change a 409, not a silent overwrite.",
      Parameters: { ...CONNECTION, Method: 'PATCH', 'RequestBody.$': `${r}.requestBody` },
      ResultSelector: { 'generation.$': '$.ResponseBody.metadata.generation', 'resourceVersion.$': '$.ResponseBody.metadata.resourceVersion' },
      ResultPath: '$.kube.patched',
      TimeoutSeconds: 60,
      Catch: [catchAll(chain.onFailed, '$.deployError')],
      Next: n.waitForRollout,
    }),
    [n.waitForRollout]: {
      Type: 'Wait',
      Comment: 'deploy.pollSeconds between two reads of the rollout.',
      SecondsPath: '$.kube.target.pollSeconds',
      Next: n.readRollout,
    },
    [n.readRollout]: readDeployment("Reads the Deployment's rollout status.", n.checkRollout, chain.onFailed),
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
      Comment: `A refused patch or a failed rollout takes the same path as a failed ${chain.kind} build.`,
      Parameters: { Error: 'KubernetesRolloutFailed', 'Cause.$': `${r}.reason`, 'evidence.$': `${r}.evidence` },
      ResultPath: '$.deployError',
      Next: chain.onFailed,
    },
  };
}
