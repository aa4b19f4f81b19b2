import { CODEBUILD_RETRY, catchAll, serviceTask, type State } from '../builder';
import type { DeployChain } from './deploy';

/**
 * One CodeBuild deploy (the Helm and Terraform drivers, drivers/<name>/workflow.ts): the project is a placeholder, the
 * environment is the validated one the record step built, the timeout is the stage's deploy budget.
 */
export function codeBuildDeploy(project: string, comment: string, chain: DeployChain): State {
  return serviceTask('arn:aws:states:::codebuild:startBuild.sync', [CODEBUILD_RETRY], {
    Comment: comment,
    Parameters: { ProjectName: `\${${project}}`, 'EnvironmentVariablesOverride.$': chain.envPath },
    TimeoutSecondsPath: '$.stage.deployTimeoutSeconds',
    ResultSelector: { 'buildId.$': '$.Build.Id', 'status.$': '$.Build.BuildStatus', 'build.$': '$.Build' },
    ResultPath: chain.resultPath,
    Catch: [catchAll(chain.onFailed, '$.deployError')],
    Next: chain.onDeployed,
  });
}
