import type { States } from '../builder';
import { codeBuildDeploy } from './codebuild';
import type { DeployChain } from './deploy';

/** The Terraform driver: plan pinned by digest, then apply of exactly that plan, in the Terraform CodeBuild project. */
export function terraformDeploy(chain: DeployChain): States {
  return { [chain.names.terraform]: codeBuildDeploy('TerraformProjectName', chain.comments.terraform, chain) };
}
