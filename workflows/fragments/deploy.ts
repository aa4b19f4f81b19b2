/**
 * The deploy chain, once for every driver: the Choice on the stage's driver and each driver's
 * states. The release deploy, the release's stage rollback and the rollback workflow all compose
 * this one function; they differ only in state names, where the result goes and where it leads.
 */
import { choiceOn, states, type States } from '../builder';
import { helmDeploy } from './helm';
import { kubernetesDeploy, type KubernetesStateNames } from './kubernetes';
import { terraformDeploy } from './terraform';

export interface DeployChain {
  /** `deploy` (a release's digest) or `rollback` (the stage's rollback target). */
  readonly kind: 'deploy' | 'rollback';
  /** Where the driver's result goes, e.g. `$.deploy`. */
  readonly resultPath: string;
  /** The validated environment for the CodeBuild drivers, e.g. `$.stage.deployEnv`. */
  readonly envPath: string;
  /** The state after a successful deploy. */
  readonly onDeployed: string;
  /** The state a failed deploy goes to, with the error at `$.deployError`. */
  readonly onFailed: string;
  /** The state an unexpected failure of a Gantry function goes to. */
  readonly onInternalError: string;
  readonly names: DeployStateNames;
  readonly comments: { readonly helm: string; readonly terraform: string };
}

export interface DeployStateNames {
  readonly chooseDriver: string;
  readonly helm: string;
  readonly terraform: string;
  readonly kubernetes: KubernetesStateNames;
}

export const RELEASE_DEPLOY_NAMES: DeployStateNames = {
  chooseDriver: 'ChooseDeployDriver',
  helm: 'DeployToStage',
  terraform: 'DeployWithTerraform',
  kubernetes: {
    plan: 'PlanKubernetesDeploy',
    describeCluster: 'DescribeCluster',
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
};

export const ROLLBACK_DEPLOY_NAMES: DeployStateNames = {
  chooseDriver: 'ChooseRollbackDriver',
  helm: 'DeployRollback',
  terraform: 'DeployRollbackWithTerraform',
  kubernetes: {
    plan: 'PlanKubernetesRollback',
    describeCluster: 'DescribeRollbackCluster',
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

/** The Choice on `$.stage.driver` (Helm is the default) and the states of every driver. */
export function deployChain(chain: DeployChain): States {
  const { names } = chain;
  return states(
    { [names.chooseDriver]: choiceOn('$.stage.driver', { terraform: names.terraform, kubernetes: names.kubernetes.plan }, names.helm) },
    helmDeploy(chain),
    terraformDeploy(chain),
    kubernetesDeploy(chain),
  );
}
