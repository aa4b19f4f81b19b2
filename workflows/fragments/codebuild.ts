import { CODEBUILD_RETRY, type Catcher, catchAll, serviceTask, type State } from '../builder';
import type { DeployChain } from './deploy';

/**
 * One run of a CodeBuild project, waited for: the environment is the validated one a record step built, the timeout
 * is the stage's deploy budget, the result the build's id, status and whole Build.
 */
export function codeBuildRun(run: { project: string; comment: string; envPath: string; resultPath: string; onError: Catcher; next: string }): State {
  return serviceTask('arn:aws:states:::codebuild:startBuild.sync', [CODEBUILD_RETRY], {
    Comment: run.comment,
    Parameters: { ProjectName: run.project, 'EnvironmentVariablesOverride.$': run.envPath },
    TimeoutSecondsPath: '$.stage.deployTimeoutSeconds',
    ResultSelector: { 'buildId.$': '$.Build.Id', 'status.$': '$.Build.BuildStatus', 'build.$': '$.Build' },
    ResultPath: run.resultPath,
    Catch: [run.onError],
    Next: run.next,
  });
}

/**
 * One CodeBuild deploy (the Helm and Terraform drivers, drivers/<name>/workflow.ts): the project is a placeholder
 * (`${…}`, substituted at synth) and a failed build goes to the chain's failure step with `$.deployError`.
 */
export function codeBuildDeploy(project: string, comment: string, chain: DeployChain): State {
  return codeBuildRun({
    project: `\${${project}}`,
    comment,
    envPath: chain.envPath,
    resultPath: chain.resultPath,
    onError: catchAll(chain.onFailed, '$.deployError'),
    next: chain.onDeployed,
  });
}
