/**
 * The canary chain of a Kubernetes `deploy` (`deploy.rollout`, docs/decisions/043-canary-steps.md). After the plan and
 * DescribeCluster, `IsCanaryRollout` sends a canary stage here; any other stage takes the driver's chain as before.
 *
 *   read the stable's replicas → for each step: record it, PUT the canary Deployment (the release's image, the step's
 *   replicas; GET then PUT with resourceVersion, 409 → GET again), watch its rollout, weigh the HTTPRoute (gateway-api),
 *   bake the step (BakeRegister, phase canary-<n>), analyse it (CanaryAnalysis), record it passed
 *   → promote: the stable takes the release's image (its rollout watched) → traffic back to the stable, canary to 0
 *   → chain.onDeployed (the stage's normal bake follows).
 *
 * Abort (an alarm, a FAILed analysis, a failed canary rollout, a refused write, an operator rollback, a timeout):
 * traffic back to the stable and the canary scaled to 0 FIRST, then `chain.onCanaryAborted` with `$.canaryAbort`
 * ({ step, error, cleanup }). The stable Deployment is never written by an abort. A failed promotion takes the
 * same clean-up and then `chain.onFailed` (the stable was written: the stage's normal rollback follows).
 *
 * Every eks:call goes through `eksCall` here (eksCallTask, like the driver's own), so a change to how a task reaches
 * the cluster (Credentials) is made in one place.
 */
import { MAX_UPDATE_ATTEMPTS } from '../../lambdas/domain/rollout';
import {
  EKS_CALL_READ_RETRY,
  EKS_CALL_WRITE_RETRY,
  type Catcher,
  catchAll,
  catchOn,
  callbackTask,
  eksCallTask,
  lambdaTask,
  type State,
  type States,
} from '../../workflows/builder';
import type { DeployChain } from '../../workflows/fragments/deploy';

/** The canary chain's state names (deploy chains only). */
export const CANARY_STATE_NAMES = {
  choose: 'IsCanaryRollout',
  readStable: 'ReadStableForCanary',
  beginStep: 'BeginCanaryStep',
  readCanary: 'ReadCanaryDeployment',
  prepareCanary: 'PrepareCanaryUpdate',
  writeCanary: 'ReplaceCanaryDeployment',
  countConflict: 'CountCanaryConflict',
  isConflictRetryable: 'IsCanaryConflictRetryable',
  countRouteConflict: 'CountCanaryRouteConflict',
  isRouteConflictRetryable: 'IsCanaryRouteConflictRetryable',
  conflictFailed: 'CanaryConflictFailed',
  waitRollout: 'WaitForCanaryRollout',
  readRollout: 'ReadCanaryRollout',
  checkRollout: 'CheckCanaryRollout',
  rolloutVerdict: 'CanaryRolloutVerdict',
  rolloutFailed: 'CanaryRolloutFailed',
  isRouted: 'IsCanaryRouted',
  readRoute: 'ReadCanaryRoute',
  prepareRoute: 'PrepareCanaryRoute',
  writeRoute: 'ReplaceCanaryRoute',
  doesBake: 'DoesCanaryStepBake',
  bake: 'BakeCanaryStep',
  hasAnalysis: 'HasCanaryAnalysis',
  analyse: 'AnalyseCanaryStep',
  analysisVerdict: 'CanaryAnalysisVerdict',
  analysisFailed: 'CanaryAnalysisFailed',
  stepPassed: 'RecordCanaryStepPassed',
  isLast: 'IsLastCanaryStep',
  readPromote: 'ReadStableForPromotion',
  preparePromote: 'PrepareStablePromotion',
  isPromoteReady: 'IsStablePromotionReady',
  writePromote: 'ReplaceStableDeployment',
  countPromoteConflict: 'CountPromotionConflict',
  isPromoteConflictRetryable: 'IsPromotionConflictRetryable',
  promoteConflictFailed: 'PromotionConflictFailed',
  waitPromote: 'WaitForPromotionRollout',
  readPromoteRollout: 'ReadPromotionRollout',
  checkPromote: 'CheckPromotionRollout',
  promoteVerdict: 'PromotionRolloutVerdict',
  promoteFailed: 'StablePromotionFailed',
  promoted: 'CanaryPromoted',
  promotionFailed: 'CanaryPromotionFailed',
  abort: 'AbortCanary',
  isRoutedAtEnd: 'IsCanaryRoutedAtEnd',
  readRouteEnd: 'ReadRouteToStable',
  prepareRouteEnd: 'PrepareRouteToStable',
  writeRouteEnd: 'ReplaceRouteToStable',
  countEndConflict: 'CountCanaryEndConflict',
  isRouteEndRetryable: 'IsRouteToStableRetryable',
  isScaleDownRetryable: 'IsCanaryScaleDownRetryable',
  endConflictFailed: 'CanaryEndConflictFailed',
  routeEndConflictFailed: 'RouteToStableConflictFailed',
  readScaleDown: 'ReadCanaryToScaleDown',
  prepareScaleDown: 'PrepareCanaryScaleDown',
  writeScaleDown: 'ScaleCanaryDown',
  outcome: 'CanaryOutcome',
  cleanupAfterPromotionFailed: 'CanaryCleanupAfterPromotionFailed',
  aborted: 'CanaryAborted',
  countScaleDownConflict: 'CountCanaryScaleDownConflict',
} as const;
const n = CANARY_STATE_NAMES;

/** The eks:call connection of the plan's cluster, to the object at `pathExpr` (a JSONPath into the state). */
const connection = (pathExpr: string) => ({
  'ClusterName.$': '$.kube.target.clusterName',
  'CertificateAuthority.$': '$.kube.cluster.certificateAuthority',
  'Endpoint.$': '$.kube.cluster.endpoint',
  'Path.$': pathExpr,
});

const STABLE_PATH = '$.kube.target.path';
const CANARY_PATH = '$.kube.target.canary.deployment.path';
const ROUTE_PATH = '$.kube.target.canary.route.path';
const DEPLOYMENT_FIELDS = {
  'apiVersion.$': '$.ResponseBody.apiVersion',
  'kind.$': '$.ResponseBody.kind',
  'metadata.$': '$.ResponseBody.metadata',
  'generation.$': '$.ResponseBody.metadata.generation',
  'resourceVersion.$': '$.ResponseBody.metadata.resourceVersion',
  'spec.$': '$.ResponseBody.spec',
  'status.$': '$.ResponseBody.status',
};
const ROUTE_FIELDS = { 'apiVersion.$': '$.ResponseBody.apiVersion', 'kind.$': '$.ResponseBody.kind', 'metadata.$': '$.ResponseBody.metadata', 'spec.$': '$.ResponseBody.spec' };

/** One eks:call: every call the canary makes goes through here (the one place its Credentials are set: eksCallTask). */
function eksCall(
  method: 'GET' | 'PUT',
  fields: { Comment: string; path: string; body?: string; ResultSelector: Record<string, string>; ResultPath: string; Catch: Catcher[]; Next: string },
): State {
  const { path, body, ...rest } = fields;
  // Run as the cluster's role (Credentials.RoleArn from the plan's target, decision 045).
  return eksCallTask('$.kube.target', [method === 'GET' ? EKS_CALL_READ_RETRY : EKS_CALL_WRITE_RETRY], {
    ...rest,
    Parameters: { ...connection(path), Method: method, ...(body ? { 'RequestBody.$': body } : {}) },
    TimeoutSeconds: 60,
  });
}

/** Count a 409 at `counter` and go back to `read`, MAX_UPDATE_ATTEMPTS PUTs in all, else to `exhausted`. */
function conflictStates(count: string, retryable: string, counter: string, read: string, exhausted: string, what: string): States {
  return {
    [count]: {
      Type: 'Pass',
      Comment: `${what} changed between the read and the PUT (409 Conflict): count it.`,
      Parameters: { 'count.$': `States.MathAdd(${counter}.count, 1)` },
      ResultPath: counter,
      Next: retryable,
    },
    [retryable]: {
      Type: 'Choice',
      Comment: `Read ${what} again and build the PUT anew, ${MAX_UPDATE_ATTEMPTS} conflicts at most.`,
      Choices: [{ Variable: `${counter}.count`, NumericLessThan: MAX_UPDATE_ATTEMPTS, Next: read }],
      Default: exhausted,
    },
  };
}

/** The canary chain (deploy chains only). Its entry is CANARY_STATE_NAMES.readStable. */
export function canaryStates(chain: DeployChain): States {
  const r = chain.resultPath;
  const abortOn = (next: string = n.abort) => catchAll(next, '$.kube.canaryError');
  const promoteFailedOn = catchAll(n.promotionFailed, '$.deployError');
  // Taking the canary back: a failure to set the route back still scales the canary down; a failed scale-down ends it.
  const routeBackFailedOn = catchAll(n.readScaleDown, '$.kube.canaryEnd.cleanup');
  const cleanupFailedOn = catchAll(n.outcome, '$.kube.canaryEnd.cleanup');
  const step = '$.kube.canaryStep';
  return {
    [n.readStable]: eksCall('GET', {
      Comment: "Canary: the stable Deployment's replica count (each step's canary replicas are its share of it). Nothing is written yet: a failure here is a failed deploy.",
      path: STABLE_PATH,
      ResultSelector: { 'replicas.$': '$.ResponseBody.spec.replicas', 'resourceVersion.$': '$.ResponseBody.metadata.resourceVersion' },
      ResultPath: '$.kube.stable',
      Catch: [catchAll(chain.onFailed, '$.deployError')],
      Next: n.beginStep,
    }),
    [n.beginStep]: lambdaTask('RecordStep', {
      Comment:
        'Records canary.step started (step, weight, replicas) and returns the step: its weight, bake, replicas (ceil(stable × weight / 100), at least 1) and the phase of its bake.',
      Parameters: {
        action: 'canary-step',
        status: 'started',
        'releaseId.$': '$.release.releaseId',
        'stage.$': '$.stage.name',
        'index.$': `${step}.index`,
        'stableReplicas.$': '$.kube.stable.replicas',
      },
      ResultPath: step,
      Catch: [abortOn()],
      Next: n.readCanary,
    }),
    [n.readCanary]: eksCall('GET', {
      Comment: 'Reads the canary Deployment before changing it (the PUT sends it back with its resourceVersion).',
      path: CANARY_PATH,
      ResultSelector: DEPLOYMENT_FIELDS,
      ResultPath: '$.kube.current',
      Catch: [abortOn()],
      Next: n.prepareCanary,
    }),
    [n.prepareCanary]: lambdaTask('RolloutCheck', {
      Comment:
        "The canary's PUT: the release's image (by digest) on its container and the step's replicas. A Deployment without the container is refused (CanaryStepError: abort).",
      Parameters: { action: 'canary-update', 'target.$': '$.kube.target.canary.deployment', 'deployment.$': '$.kube.current', 'replicas.$': `${step}.replicas` },
      ResultPath: '$.kube.canaryUpdate',
      Catch: [abortOn()],
      Next: n.writeCanary,
    }),
    [n.writeCanary]: eksCall('PUT', {
      Comment: 'Replaces the canary Deployment (PUT, resourceVersion kept: a change since the read is a 409 Conflict, read again).',
      path: CANARY_PATH,
      body: '$.kube.canaryUpdate.requestBody',
      ResultSelector: { 'generation.$': '$.ResponseBody.metadata.generation', 'resourceVersion.$': '$.ResponseBody.metadata.resourceVersion' },
      ResultPath: '$.kube.written',
      Catch: [catchOn(['EKS.409'], n.countConflict, '$.kube.conflict'), abortOn()],
      Next: n.waitRollout,
    }),
    ...conflictStates(n.countConflict, n.isConflictRetryable, `${step}.conflicts`, n.readCanary, n.conflictFailed, 'the canary Deployment'),
    ...conflictStates(n.countRouteConflict, n.isRouteConflictRetryable, `${step}.conflicts`, n.readRoute, n.conflictFailed, 'the HTTPRoute'),
    [n.conflictFailed]: {
      Type: 'Pass',
      Comment: `Every PUT of the step (${MAX_UPDATE_ATTEMPTS}) met a concurrent change: the canary is aborted.`,
      Parameters: { Error: 'KubernetesUpdateConflict', Cause: `the object changed between each read and PUT (409 Conflict, ${MAX_UPDATE_ATTEMPTS} attempts)` },
      ResultPath: '$.kube.canaryError',
      Next: n.abort,
    },
    [n.waitRollout]: { Type: 'Wait', Comment: 'deploy.pollSeconds between two reads of the canary rollout.', SecondsPath: '$.kube.target.pollSeconds', Next: n.readRollout },
    [n.readRollout]: eksCall('GET', {
      Comment: "Reads the canary Deployment's rollout status.",
      path: CANARY_PATH,
      ResultSelector: DEPLOYMENT_FIELDS,
      ResultPath: '$.kube.current',
      Catch: [abortOn()],
      Next: n.checkRollout,
    }),
    [n.checkRollout]: lambdaTask('RolloutCheck', {
      Comment: "The canary's rollout: DONE, PROGRESSING or FAILED (ProgressDeadlineExceeded, its image changed by someone else, past deploy.timeoutMinutes), as for the stable.",
      Parameters: {
        action: 'check',
        'target.$': '$.kube.target.canary.deployment',
        'deployment.$': '$.kube.current',
        'deadline.$': '$.kube.canaryUpdate.deadline',
      },
      ResultPath: '$.kube.canaryRollout',
      Catch: [abortOn()],
      Next: n.rolloutVerdict,
    }),
    [n.rolloutVerdict]: {
      Type: 'Choice',
      Choices: [
        { Variable: '$.kube.canaryRollout.decision', StringEquals: 'DONE', Next: n.isRouted },
        { Variable: '$.kube.canaryRollout.decision', StringEquals: 'PROGRESSING', Next: n.waitRollout },
      ],
      Default: n.rolloutFailed,
    },
    [n.rolloutFailed]: {
      Type: 'Pass',
      Comment: 'A failed canary rollout aborts the canary (the stable is untouched).',
      Parameters: { Error: 'KubernetesRolloutFailed', 'Cause.$': '$.kube.canaryRollout.reason' },
      ResultPath: '$.kube.canaryError',
      Next: n.abort,
    },
    [n.isRouted]: {
      Type: 'Choice',
      Comment: 'gateway-api: weigh the HTTPRoute; replicas: the replica counts are the split.',
      Choices: [{ Variable: '$.kube.target.canary.traffic', StringEquals: 'gateway-api', Next: n.readRoute }],
      Default: n.doesBake,
    },
    [n.readRoute]: eksCall('GET', {
      Comment: 'Reads the HTTPRoute (gateway.networking.k8s.io/v1) before weighing its backendRefs.',
      path: ROUTE_PATH,
      ResultSelector: ROUTE_FIELDS,
      ResultPath: '$.kube.route',
      Catch: [abortOn()],
      Next: n.prepareRoute,
    }),
    [n.prepareRoute]: lambdaTask('RolloutCheck', {
      Comment: "The HTTPRoute's PUT: the rule's stable and canary backendRefs weighed 100 − w and w, everything else as read. A route without both backendRefs is refused (abort).",
      Parameters: { action: 'route', 'route.$': '$.kube.target.canary.route', 'object.$': '$.kube.route', 'weight.$': `${step}.weight` },
      ResultPath: '$.kube.routeUpdate',
      Catch: [abortOn()],
      Next: n.writeRoute,
    }),
    [n.writeRoute]: eksCall('PUT', {
      Comment: 'Replaces the HTTPRoute (PUT, resourceVersion kept: a 409 reads it again).',
      path: ROUTE_PATH,
      body: '$.kube.routeUpdate.requestBody',
      ResultSelector: { 'resourceVersion.$': '$.ResponseBody.metadata.resourceVersion' },
      ResultPath: '$.kube.written',
      Catch: [catchOn(['EKS.409'], n.countRouteConflict, '$.kube.conflict'), abortOn()],
      Next: n.doesBake,
    }),
    [n.doesBake]: {
      Type: 'Choice',
      Comment: 'A step without bakeMinutes neither bakes nor is analysed.',
      Choices: [{ Variable: `${step}.bakeMinutes`, NumericGreaterThan: 0, Next: n.bake }],
      Default: n.stepPassed,
    },
    [n.bake]: callbackTask('BakeRegister', {
      Comment:
        "The step's bake: the phased bake (phase canary-<n>) on the stage's alarms plus rollout.canaryAlarms, event-driven, for the step's bakeMinutes. An alarm, a failed read, an operator rollback or the timeout aborts the canary.",
      TimeoutSecondsPath: `${step}.bakeTimeoutSeconds`,
      ResultPath: null,
      Catch: [catchOn(['AlarmBreached', 'BakeFailed', 'States.Timeout', 'OperatorRollback'], n.abort, '$.kube.canaryError'), abortOn()],
      Next: n.hasAnalysis,
      Payload: { 'releaseId.$': '$.release.releaseId', 'stage.$': '$.stage.name', 'timeoutSeconds.$': `${step}.bakeTimeoutSeconds`, 'phase.$': `${step}.phase` },
    }),
    [n.hasAnalysis]: {
      Type: 'Choice',
      Choices: [{ Variable: '$.kube.target.canary.analysis', BooleanEquals: true, Next: n.analyse }],
      Default: n.stepPassed,
    },
    [n.analyse]: lambdaTask('CanaryAnalysis', {
      Comment:
        "rollout.analysis: the canary's metric against the stable's over the step's bake (GetMetricData); FAIL above stable × maxRatio, or with fewer than minSamples on either side. Recorded as gate canary.analysis.",
      Parameters: { 'releaseId.$': '$.release.releaseId', 'stage.$': '$.stage.name', 'step.$': `${step}.number`, 'weight.$': `${step}.weight` },
      ResultPath: '$.kube.analysis',
      Catch: [abortOn()],
      Next: n.analysisVerdict,
    }),
    [n.analysisVerdict]: { Type: 'Choice', Choices: [{ Variable: '$.kube.analysis.verdict', StringEquals: 'PASS', Next: n.stepPassed }], Default: n.analysisFailed },
    [n.analysisFailed]: {
      Type: 'Pass',
      Parameters: { Error: 'CanaryAnalysisFailed', 'Cause.$': '$.kube.analysis.reason' },
      ResultPath: '$.kube.canaryError',
      Next: n.abort,
    },
    [n.stepPassed]: lambdaTask('RecordStep', {
      Comment: 'Records canary.step passed; returns the next step index and whether this was the last (weight 100).',
      Parameters: { action: 'canary-step', status: 'passed', 'releaseId.$': '$.release.releaseId', 'stage.$': '$.stage.name', 'index.$': `${step}.index` },
      ResultPath: step,
      Catch: [abortOn()],
      Next: n.isLast,
    }),
    [n.isLast]: { Type: 'Choice', Choices: [{ Variable: `${step}.last`, BooleanEquals: true, Next: n.readPromote }], Default: n.beginStep },

    // ---- promotion: the stable takes the release's image, exactly as a non-canary deploy replaces it.
    [n.readPromote]: eksCall('GET', {
      Comment: 'Promotion: reads the stable Deployment before giving it the release image.',
      path: STABLE_PATH,
      ResultSelector: DEPLOYMENT_FIELDS,
      ResultPath: '$.kube.current',
      Catch: [promoteFailedOn],
      Next: n.preparePromote,
    }),
    [n.preparePromote]: lambdaTask('RolloutCheck', {
      Comment: "The stable's PUT (the driver's update: the release image on the container, Gantry's annotations, resourceVersion kept).",
      Parameters: { action: 'update', 'target.$': '$.kube.target', 'deployment.$': '$.kube.current' },
      ResultPath: r,
      Catch: [promoteFailedOn],
      Next: n.isPromoteReady,
    }),
    [n.isPromoteReady]: { Type: 'Choice', Choices: [{ Variable: `${r}.decision`, StringEquals: 'PUT', Next: n.writePromote }], Default: n.promoteFailed },
    [n.writePromote]: eksCall('PUT', {
      Comment: 'Replaces the stable Deployment with the release image (a 409 reads it again).',
      path: STABLE_PATH,
      body: `${r}.requestBody`,
      ResultSelector: { 'generation.$': '$.ResponseBody.metadata.generation', 'resourceVersion.$': '$.ResponseBody.metadata.resourceVersion' },
      ResultPath: '$.kube.written',
      Catch: [catchOn(['EKS.409'], n.countPromoteConflict, '$.kube.conflict'), promoteFailedOn],
      Next: n.waitPromote,
    }),
    ...conflictStates(n.countPromoteConflict, n.isPromoteConflictRetryable, '$.kube.conflicts', n.readPromote, n.promoteConflictFailed, 'the stable Deployment'),
    [n.promoteConflictFailed]: {
      Type: 'Pass',
      Parameters: { Error: 'KubernetesUpdateConflict', Cause: `the Deployment changed between each read and PUT (409 Conflict, ${MAX_UPDATE_ATTEMPTS} attempts)` },
      ResultPath: '$.deployError',
      Next: n.promotionFailed,
    },
    [n.waitPromote]: { Type: 'Wait', SecondsPath: '$.kube.target.pollSeconds', Next: n.readPromoteRollout },
    [n.readPromoteRollout]: eksCall('GET', {
      Comment: "Reads the stable Deployment's rollout status.",
      path: STABLE_PATH,
      ResultSelector: DEPLOYMENT_FIELDS,
      ResultPath: '$.kube.current',
      Catch: [promoteFailedOn],
      Next: n.checkPromote,
    }),
    [n.checkPromote]: lambdaTask('RolloutCheck', {
      Parameters: {
        action: 'check',
        'target.$': '$.kube.target',
        'deployment.$': '$.kube.current',
        'deadline.$': `${r}.deadline`,
        'previousImage.$': `${r}.evidence.previousImage`,
      },
      ResultPath: r,
      Catch: [promoteFailedOn],
      Next: n.promoteVerdict,
    }),
    [n.promoteVerdict]: {
      Type: 'Choice',
      Choices: [
        { Variable: `${r}.decision`, StringEquals: 'DONE', Next: n.promoted },
        { Variable: `${r}.decision`, StringEquals: 'PROGRESSING', Next: n.waitPromote },
      ],
      Default: n.promoteFailed,
    },
    [n.promoteFailed]: {
      Type: 'Pass',
      Parameters: { Error: 'KubernetesRolloutFailed', 'Cause.$': `${r}.reason`, 'evidence.$': `${r}.evidence` },
      ResultPath: '$.deployError',
      Next: n.promotionFailed,
    },

    // ---- the end of every canary: traffic back to the stable, the canary to 0 replicas, then out.
    [n.promoted]: {
      Type: 'Pass',
      Comment: 'Promoted: the stable runs the release; send its traffic back and scale the canary down.',
      Parameters: { outcome: 'PROMOTED', conflicts: { count: 0 }, cleanup: {} },
      ResultPath: '$.kube.canaryEnd',
      Next: n.isRoutedAtEnd,
    },
    [n.promotionFailed]: {
      Type: 'Pass',
      Comment: 'The promotion failed (the stable was written): take the canary back, then the stage rolls back as after any failed deploy.',
      Parameters: { outcome: 'PROMOTION_FAILED', conflicts: { count: 0 }, cleanup: {} },
      ResultPath: '$.kube.canaryEnd',
      Next: n.isRoutedAtEnd,
    },
    [n.abort]: {
      Type: 'Pass',
      Comment: 'Abort: traffic back to the stable and the canary scaled to 0 before anything is recorded. The stable Deployment is not written.',
      Parameters: { outcome: 'ABORTED', conflicts: { count: 0 }, cleanup: {} },
      ResultPath: '$.kube.canaryEnd',
      Next: n.isRoutedAtEnd,
    },
    [n.isRoutedAtEnd]: { Type: 'Choice', Choices: [{ Variable: '$.kube.target.canary.traffic', StringEquals: 'gateway-api', Next: n.readRouteEnd }], Default: n.readScaleDown },
    [n.readRouteEnd]: eksCall('GET', {
      Comment: 'Reads the HTTPRoute to send every request back to the stable.',
      path: ROUTE_PATH,
      ResultSelector: ROUTE_FIELDS,
      ResultPath: '$.kube.route',
      Catch: [routeBackFailedOn],
      Next: n.prepareRouteEnd,
    }),
    [n.prepareRouteEnd]: lambdaTask('RolloutCheck', {
      Parameters: { action: 'route', 'route.$': '$.kube.target.canary.route', 'object.$': '$.kube.route', weight: 0 },
      ResultPath: '$.kube.routeUpdate',
      Catch: [routeBackFailedOn],
      Next: n.writeRouteEnd,
    }),
    [n.writeRouteEnd]: eksCall('PUT', {
      Comment: 'The HTTPRoute: stable 100 %, canary 0 %.',
      path: ROUTE_PATH,
      body: '$.kube.routeUpdate.requestBody',
      ResultSelector: { 'resourceVersion.$': '$.ResponseBody.metadata.resourceVersion' },
      ResultPath: '$.kube.written',
      Catch: [catchOn(['EKS.409'], n.countEndConflict, '$.kube.conflict'), routeBackFailedOn],
      Next: n.readScaleDown,
    }),
    ...conflictStates(n.countEndConflict, n.isRouteEndRetryable, '$.kube.canaryEnd.conflicts', n.readRouteEnd, n.routeEndConflictFailed, 'the HTTPRoute'),
    [n.routeEndConflictFailed]: {
      Type: 'Pass',
      Comment: 'The HTTPRoute could not be set back (409 every time): recorded; the canary is still scaled down.',
      Parameters: { Error: 'KubernetesUpdateConflict', Cause: `the HTTPRoute changed between each read and PUT (409 Conflict, ${MAX_UPDATE_ATTEMPTS} attempts)` },
      ResultPath: '$.kube.canaryEnd.cleanup',
      Next: n.readScaleDown,
    },
    [n.isScaleDownRetryable]: {
      Type: 'Choice',
      Choices: [{ Variable: '$.kube.canaryEnd.conflicts.count', NumericLessThan: MAX_UPDATE_ATTEMPTS, Next: n.readScaleDown }],
      Default: n.endConflictFailed,
    },
    [n.endConflictFailed]: {
      Type: 'Pass',
      Parameters: { Error: 'KubernetesUpdateConflict', Cause: `the object changed between each read and PUT (409 Conflict, ${MAX_UPDATE_ATTEMPTS} attempts)` },
      ResultPath: '$.kube.canaryEnd.cleanup',
      Next: n.outcome,
    },
    [n.readScaleDown]: eksCall('GET', {
      Comment: 'Reads the canary Deployment to scale it to 0.',
      path: CANARY_PATH,
      ResultSelector: DEPLOYMENT_FIELDS,
      ResultPath: '$.kube.current',
      Catch: [cleanupFailedOn],
      Next: n.prepareScaleDown,
    }),
    [n.prepareScaleDown]: lambdaTask('RolloutCheck', {
      Parameters: { action: 'scale', 'target.$': '$.kube.target.canary.deployment', 'deployment.$': '$.kube.current', replicas: 0 },
      ResultPath: '$.kube.canaryUpdate',
      Catch: [cleanupFailedOn],
      Next: n.writeScaleDown,
    }),
    [n.writeScaleDown]: eksCall('PUT', {
      Comment: 'The canary Deployment at 0 replicas (its pod template as read).',
      path: CANARY_PATH,
      body: '$.kube.canaryUpdate.requestBody',
      ResultSelector: { 'resourceVersion.$': '$.ResponseBody.metadata.resourceVersion' },
      ResultPath: '$.kube.written',
      Catch: [catchOn(['EKS.409'], n.countScaleDownConflict, '$.kube.conflict'), cleanupFailedOn],
      Next: n.outcome,
    }),
    [n.countScaleDownConflict]: {
      Type: 'Pass',
      Parameters: { 'count.$': 'States.MathAdd($.kube.canaryEnd.conflicts.count, 1)' },
      ResultPath: '$.kube.canaryEnd.conflicts',
      Next: n.isScaleDownRetryable,
    },
    [n.outcome]: {
      Type: 'Choice',
      Comment: 'Aborted: out through onCanaryAborted. Promoted and cleaned up: deployed. A failed promotion, or a clean-up that failed after one: the failed-deploy path.',
      Choices: [
        { Variable: '$.kube.canaryEnd.outcome', StringEquals: 'ABORTED', Next: n.aborted },
        {
          And: [
            { Variable: '$.kube.canaryEnd.outcome', StringEquals: 'PROMOTED' },
            { Variable: '$.kube.canaryEnd.cleanup.Error', IsPresent: true },
          ],
          Next: n.cleanupAfterPromotionFailed,
        },
        { Variable: '$.kube.canaryEnd.outcome', StringEquals: 'PROMOTED', Next: chain.onDeployed },
      ],
      Default: chain.onFailed,
    },
    [n.cleanupAfterPromotionFailed]: {
      Type: 'Pass',
      Comment: "Promoted, but the canary's traffic or replicas could not be taken back: a failed deploy (the reason says what is left to fix).",
      Parameters: { Error: 'CanaryCleanupFailed', 'Cause.$': 'States.JsonToString($.kube.canaryEnd.cleanup)' },
      ResultPath: '$.deployError',
      Next: chain.onFailed,
    },
    [n.aborted]: {
      Type: 'Pass',
      Comment: 'What the stage records: the step, why it was aborted, and whether taking the canary back failed.',
      Parameters: { 'step.$': step, 'error.$': '$.kube.canaryError', 'cleanup.$': '$.kube.canaryEnd.cleanup' },
      ResultPath: '$.canaryAbort',
      Next: chain.onCanaryAborted ?? chain.onFailed,
    },
  };
}
