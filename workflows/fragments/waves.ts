/**
 * Waves of clusters (docs/decisions/044-waves-of-clusters.md): a stage with `waves` deploys wave by wave, the
 * clusters of one wave in parallel (a Map over the wave's targets), each with the one deploy chain of the stage's
 * driver; a rollback of such a stage rolls every touched cluster back in parallel (a Map as well).
 *
 * Step Functions wants state names unique in the whole definition (Map processors included), and the local
 * runtime keys its tasks by name: the chain inside a Map is the same chain with its state names suffixed.
 */
import { catchAll, lambdaTask, states, type Json, type State, type States } from '../builder';
import { chooseDriverState, deployChain, type DeployChain } from './deploy';

/** Every reference to a state of `own` (Next, Default, a Choice rule's Next, a Catch's Next) renamed. */
function renameRefs(state: State, rename: (name: string) => string, own: ReadonlySet<string>): State {
  const r = (n: unknown) => (typeof n === 'string' && own.has(n) ? rename(n) : n);
  const out: State = { ...state };
  if ('Next' in out) out.Next = r(out.Next);
  if ('Default' in out) out.Default = r(out.Default);
  if (Array.isArray(out.Choices)) out.Choices = (out.Choices as Array<Record<string, unknown>>).map((c) => ({ ...c, Next: r(c.Next) }));
  if (Array.isArray(out.Catch)) out.Catch = (out.Catch as Array<Record<string, unknown>>).map((c) => ({ ...c, Next: r(c.Next) }));
  return out;
}

/** The states with every name (and every reference to one of them) renamed; references to other states are kept. */
export function renameStates(part: States, rename: (name: string) => string): States {
  const own = new Set(Object.keys(part));
  return Object.fromEntries(Object.entries(part).map(([name, s]) => [rename(name), renameRefs(s, rename, own)]));
}

/** The suffix of the deploy chain's states inside the wave Map, and of the rollback chain's inside the rollback Map. */
export const WAVE_DEPLOY_SUFFIX = 'InWave';
export const CLUSTER_ROLLBACK_SUFFIX = 'ForCluster';

/** What every iteration gets: the release and the stage as the chain reads them, and its target (cluster, wave, deployEnv). */
const ITEM_SELECTOR = { 'release.$': '$.release', 'stage.$': '$.stage', 'target.$': '$$.Map.Item.Value' };
const CLUSTER_PARAMS = { 'releaseId.$': '$.release.releaseId', 'stage.$': '$.stage.name', 'cluster.$': '$.target.cluster', 'wave.$': '$.target.wave' };

/** One iteration's outcome, all an iteration returns (the Map's result stays small). */
function outcome(result: 'SUCCEEDED' | 'FAILED', errorPath?: string): State {
  return {
    Type: 'Pass',
    Parameters: { 'cluster.$': '$.target.cluster', result, ...(errorPath ? { 'error.$': errorPath } : {}) },
    End: true,
  };
}

/**
 * DeployWave: the Map over `$.wave.targets`; each iteration records its cluster's deploy start, runs the stage's
 * driver chain on that cluster and records the result. Every error is caught inside the iteration (a failed
 * cluster does not stop its wave's other clusters: the wave ends when all have), so the Map itself never fails.
 */
export function deployWaveMap(comment: string, next: string): State {
  const sfx = (n: string) => `${n}${WAVE_DEPLOY_SUFFIX}`;
  const chain: DeployChain = {
    kind: 'deploy',
    workflow: 'release',
    resultPath: '$.deploy',
    envPath: '$.target.deployEnv',
    clusterPath: '$.target.cluster',
    onDeployed: 'RecordClusterDeployed',
    onFailed: 'RecordClusterDeployFailed',
    onInternalError: 'ClusterDeployBroke',
  };
  return {
    Type: 'Map',
    Comment: comment,
    ItemsPath: '$.wave.targets',
    ItemSelector: ITEM_SELECTOR,
    ItemProcessor: {
      ProcessorConfig: { Mode: 'INLINE' },
      StartAt: 'RecordClusterDeployStarted',
      States: states(
        {
          RecordClusterDeployStarted: lambdaTask('RecordStep', {
            Comment: "This cluster's deploy starts (deploy.started with cluster and wave).",
            Parameters: { action: 'cluster-deploy-started', ...CLUSTER_PARAMS },
            ResultPath: null,
            Catch: [catchAll('ClusterDeployBroke')],
            Next: sfx(chooseDriverState('deploy')),
          }),
        },
        renameStates(deployChain(chain), sfx),
        {
          RecordClusterDeployed: lambdaTask('RecordStep', {
            Parameters: { action: 'cluster-deployed', ...CLUSTER_PARAMS, 'buildId.$': '$.deploy.buildId', 'result.$': '$.deploy' },
            ResultPath: null,
            Catch: [catchAll('ClusterDeployBroke')],
            Next: 'ClusterDeploySucceeded',
          }),
          RecordClusterDeployFailed: lambdaTask('RecordStep', {
            Parameters: { action: 'cluster-deploy-failed', ...CLUSTER_PARAMS, 'error.$': '$.deployError' },
            ResultPath: null,
            Catch: [catchAll('ClusterDeployBroke')],
            Next: 'ClusterDeployFailed',
          }),
          ClusterDeploySucceeded: outcome('SUCCEEDED'),
          ClusterDeployFailed: outcome('FAILED', '$.deployError'),
          ClusterDeployBroke: {
            ...outcome('FAILED', '$.error'),
            Comment: 'An unexpected error in this iteration: the cluster counts as failed (FinishWave reads the ledger, where its deploy has no success).',
          },
        },
      ),
    },
    ResultPath: '$.waveResults',
    Next: next,
  };
}

/**
 * RollbackClusters: the Map over `$.rollback.targets` (every cluster the stage touched; for an operator rollback every
 * cluster of the stage), each rolled back to the rollback target with the stage's driver chain, in parallel. Errors
 * are caught in the iteration; RecordClusterRollbacks decides from the ledger.
 */
export function rollbackClustersMap(workflow: DeployChain['workflow'], next: string): State {
  const sfx = (n: string) => `${n}${CLUSTER_ROLLBACK_SUFFIX}`;
  const chain: DeployChain = {
    kind: 'rollback',
    workflow,
    resultPath: '$.rollbackDeploy',
    envPath: '$.target.deployEnv',
    clusterPath: '$.target.cluster',
    onDeployed: 'RecordClusterRolledBack',
    onFailed: 'RecordClusterRollbackFailed',
    onInternalError: 'ClusterRollbackBroke',
  };
  return {
    Type: 'Map',
    Comment: 'Every cluster the stage touched goes back to the rollback target at once, each with the stage driver (decision 044).',
    ItemsPath: '$.rollback.targets',
    ItemSelector: ITEM_SELECTOR,
    ItemProcessor: {
      ProcessorConfig: { Mode: 'INLINE' },
      StartAt: sfx(chooseDriverState('rollback')),
      States: states(renameStates(deployChain(chain), sfx), {
        RecordClusterRolledBack: lambdaTask('RecordStep', {
          Parameters: { action: 'cluster-rollback-finished', result: 'SUCCEEDED', ...CLUSTER_PARAMS, 'buildId.$': '$.rollbackDeploy.buildId', 'run.$': '$.rollbackDeploy' },
          ResultPath: null,
          Catch: [catchAll('ClusterRollbackBroke')],
          Next: 'ClusterRollbackSucceeded',
        }),
        RecordClusterRollbackFailed: lambdaTask('RecordStep', {
          Parameters: { action: 'cluster-rollback-finished', result: 'FAILED', ...CLUSTER_PARAMS, 'error.$': '$.deployError' },
          ResultPath: null,
          Catch: [catchAll('ClusterRollbackBroke')],
          Next: 'ClusterRollbackFailed',
        }),
        ClusterRollbackSucceeded: outcome('SUCCEEDED'),
        ClusterRollbackFailed: outcome('FAILED', '$.deployError'),
        ClusterRollbackBroke: outcome('FAILED', '$.error'),
      }),
    },
    ResultPath: '$.rollbackResults',
    Next: next,
  };
}

/** The rollback's Map and what follows it, joining the stage rollback at `recovery` (succeeded) or `failed` (error at `$.deployError`). */
export function clusterRollbackStates(r: { workflow: DeployChain['workflow']; recovery: string; failed: string; onInternalError: string }): States {
  return {
    RollbackClusters: rollbackClustersMap(r.workflow, 'RecordClusterRollbacks'),
    RecordClusterRollbacks: lambdaTask('RecordStep', {
      Comment:
        'From the ledger: SUCCEEDED only when every touched cluster rolled back (the stage then runs the rollback target again); otherwise the error names each cluster that did not.',
      Parameters: { action: 'cluster-rollbacks-finished', 'releaseId.$': '$.release.releaseId', 'stage.$': '$.stage.name' },
      ResultPath: '$.rollbackDeploy',
      Catch: [catchAll(r.onInternalError)],
      Next: 'DidEveryClusterRollBack',
    }),
    DidEveryClusterRollBack: {
      Type: 'Choice',
      Choices: [{ Variable: '$.rollbackDeploy.result', StringEquals: 'SUCCEEDED', Next: r.recovery }],
      Default: 'CarryClusterRollbackFailure',
    },
    CarryClusterRollbackFailure: {
      Type: 'Pass',
      Parameters: { 'Error.$': '$.rollbackDeploy.error', 'Cause.$': '$.rollbackDeploy.cause' } as Json,
      ResultPath: '$.deployError',
      Next: r.failed,
    },
  };
}
