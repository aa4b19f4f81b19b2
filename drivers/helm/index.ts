/** The Helm driver: `helm upgrade --install --atomic --wait` in a CodeBuild project (docs/drivers.md). */
import { defineDriver } from '../types';
import { helmEvidence } from './evidence';
import { helmDeploy } from './config';

export const helm = defineDriver({
  name: 'helm',
  title: 'Helm',
  config: helmDeploy,
  choiceDefault: true,
  codeBuild: { projectPlaceholder: 'HelmProjectName', exports: ['HELM_REVISION', 'HELM_STATUS', 'HELM_STATUS_SHA256', 'HELM_STATUS_KEY'] },
  deployEnv: (deploy) => ({
    GANTRY_HELM_RELEASE: deploy.release,
    GANTRY_HELM_CHART: deploy.chart,
    GANTRY_HELM_VERSION: deploy.version,
    GANTRY_HELM_TIMEOUT: `${deploy.timeoutMinutes}m`,
    GANTRY_VALUES_REPOSITORY_KEY: deploy.values.repositoryKey,
    GANTRY_VALUES_DIGEST_KEY: deploy.values.digestKey,
  }),
  // `--atomic` may spend its --timeout on the upgrade and again on the rollback it starts: 2 × timeoutMinutes.
  // A build killed during that rollback leaves the release `pending-rollback` and refuses the workflow's own rollback.
  evidence: helmEvidence,
  toolMinutes: (deploy) => 2 * deploy.timeoutMinutes,
});
