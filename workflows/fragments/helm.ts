import type { States } from '../builder';
import { codeBuildDeploy } from './codebuild';
import type { DeployChain } from './deploy';

/** The Helm driver: `helm upgrade --install --atomic --wait` in the Helm CodeBuild project. */
export function helmDeploy(chain: DeployChain): States {
  return { [chain.names.helm]: codeBuildDeploy('HelmProjectName', chain.comments.helm, chain) };
}
