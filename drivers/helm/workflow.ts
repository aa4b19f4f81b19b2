/** The Helm driver's states: one CodeBuild deploy (`helm upgrade --install --atomic --wait`) in the Helm project. */
import { codeBuildDeploy } from '../../workflows/fragments/codebuild';
import type { DeployChain, DriverWorkflow } from '../../workflows/fragments/deploy';
import { helm } from '.';

const NAMES = { deploy: 'DeployToStage', rollback: 'DeployRollback' } as const;

function comment(chain: DeployChain): string {
  if (chain.kind === 'deploy') return 'The Helm driver: helm upgrade --install --atomic --wait with the image pinned by digest. Only validated values, as environment variables.';
  return chain.workflow === 'release' ? 'The same driver promotes the last known good digest.' : "The stage's driver deploys the target digest.";
}

export const workflow: DriverWorkflow = {
  entry: (kind) => NAMES[kind],
  states: (chain) => ({ [NAMES[chain.kind]]: codeBuildDeploy(helm.codeBuild?.projectPlaceholder ?? 'HelmProjectName', comment(chain), chain) }),
};
