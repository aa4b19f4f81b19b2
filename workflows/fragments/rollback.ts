/**
 * Rolling a stage back to its rollback target: pick the target, deploy it with the stage's driver
 * (the one deploy chain), record the outcome and the stage's recovery. The release workflow runs it
 * when a stage's deploy or bake fails; the rollback workflow runs it for an operator's rollback.
 */
import { catchAll, lambdaTask, states, type Json, type States } from '../builder';
import { chooseDriverState, deployChain } from './deploy';
import { clusterRollbackStates } from './waves';

export interface StageRollback {
  /** What the plan-rollback step is told failed (a path or a literal failure). */
  readonly failure: { readonly 'failure.$': string } | { readonly failure: Json };
  /** The state after the rollback (succeeded, failed or without target): the one that frees the lease. */
  readonly onFinished: string;
  readonly onInternalError: string;
  /** Comments for readers of the console; the release workflow's describe a failed release. */
  readonly comments?: {
    readonly planRollback: string;
    readonly recordDeployed: string;
    readonly waitForRecovery: string;
    readonly checkRecovery: string;
  };
  /** The workflow the rollback is part of: the drivers' comments say "last known good" in the release's. */
  readonly workflow: 'release' | 'rollback';
}

export function stageRollback(r: StageRollback): States {
  const c = r.comments;
  const comment = (text: string | undefined) => (text ? { Comment: text } : {});
  return states(
    {
      PlanRollback: lambdaTask('RecordStep', {
        Parameters: { action: 'plan-rollback', 'releaseId.$': '$.release.releaseId', 'stage.$': '$.stage.name', ...(r.failure as Record<string, Json>) },
        ResultPath: '$.rollback',
        Catch: [catchAll(r.onInternalError)],
        Next: 'HasRollbackTarget',
        ...comment(c?.planRollback),
      }),
      HasRollbackTarget: {
        Type: 'Choice',
        Choices: [
          // A stage with waves (decision 044): every touched cluster at once.
          {
            And: [
              { Variable: '$.rollback.hasTarget', BooleanEquals: true },
              { Variable: '$.rollback.targets', IsPresent: true },
            ],
            Next: 'RollbackClusters',
          },
          { Variable: '$.rollback.hasTarget', BooleanEquals: true, Next: chooseDriverState('rollback') },
        ],
        Default: r.onFinished,
      },
    },
    deployChain({
      kind: 'rollback',
      workflow: r.workflow,
      resultPath: '$.rollbackDeploy',
      envPath: '$.rollback.deployEnv',
      onDeployed: 'RecordRollbackDeployed',
      onFailed: 'RecordRollbackFailed',
      onInternalError: r.onInternalError,
    }),
    clusterRollbackStates({ workflow: r.workflow, recovery: 'WaitForRecovery', failed: 'RecordRollbackFailed', onInternalError: r.onInternalError }),
    {
      RecordRollbackDeployed: lambdaTask('RecordStep', {
        Parameters: {
          action: 'rollback-deployed',
          'releaseId.$': '$.release.releaseId',
          'stage.$': '$.stage.name',
          'buildId.$': '$.rollbackDeploy.buildId',
          'result.$': '$.rollbackDeploy',
        },
        ResultPath: null,
        Catch: [catchAll(r.onInternalError)],
        Next: 'WaitForRecovery',
        ...comment(c?.recordDeployed),
      }),
      WaitForRecovery: { Type: 'Wait', SecondsPath: '$.stage.recoverySeconds', ...comment(c?.waitForRecovery), Next: 'CheckRecovery' },
      CheckRecovery: lambdaTask('AlarmGate', {
        Parameters: { action: 'recovery', 'releaseId.$': '$.release.releaseId', 'stage.$': '$.stage.name' },
        ResultPath: '$.recovery',
        Catch: [catchAll(r.onInternalError)],
        Next: 'RecordRollbackSucceeded',
        ...comment(c?.checkRecovery),
      }),
      RecordRollbackSucceeded: lambdaTask('RecordStep', {
        Parameters: {
          action: 'rollback-finished',
          result: 'SUCCEEDED',
          'releaseId.$': '$.release.releaseId',
          'stage.$': '$.stage.name',
          'buildId.$': '$.rollbackDeploy.buildId',
          'recovery.$': '$.recovery',
        },
        ResultPath: null,
        Catch: [catchAll(r.onInternalError)],
        Next: r.onFinished,
      }),
      RecordRollbackFailed: lambdaTask('RecordStep', {
        Parameters: {
          action: 'rollback-finished',
          result: 'FAILED',
          'releaseId.$': '$.release.releaseId',
          'stage.$': '$.stage.name',
          'error.$': '$.deployError',
        },
        ResultPath: null,
        Catch: [catchAll(r.onInternalError)],
        Next: r.onFinished,
      }),
    },
  );
}
