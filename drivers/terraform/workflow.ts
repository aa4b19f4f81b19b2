/** The Terraform driver's states: plan pinned by digest, then apply of exactly that plan, in the Terraform project. */
import { codeBuildDeploy } from '../../workflows/fragments/codebuild';
import type { DeployChain, DriverWorkflow } from '../../workflows/fragments/deploy';
import { terraform } from '.';

const NAMES = { deploy: 'DeployWithTerraform', rollback: 'DeployRollbackWithTerraform' } as const;

function comment(chain: DeployChain): string {
  if (chain.kind === 'deploy') return 'The Terraform driver: plan with the image pinned by digest, plan JSON kept as evidence, apply of exactly that plan.';
  return chain.workflow === 'release'
    ? 'The Terraform driver applies a plan pinned to the last known good digest.'
    : 'The Terraform driver applies a plan pinned to the target digest.';
}

export const workflow: DriverWorkflow = {
  entry: (kind) => NAMES[kind],
  states: (chain) => ({ [NAMES[chain.kind]]: codeBuildDeploy(terraform.codeBuild?.projectPlaceholder ?? 'TerraformProjectName', comment(chain), chain) }),
};
