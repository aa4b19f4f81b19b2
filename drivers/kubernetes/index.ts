/** The Kubernetes driver: the state machine changes the Deployment with `eks:call` and watches its rollout (docs/drivers.md). */
import { defineDriver } from '../types';
import { kubernetesEvidence } from './evidence';
import { kubernetesDeploy } from './config';

export const kubernetes = defineDriver({
  name: 'kubernetes',
  title: 'Kubernetes',
  config: kubernetesDeploy,
  deployEnv: (deploy) => ({ GANTRY_K8S_DEPLOYMENT: deploy.deployment, GANTRY_K8S_CONTAINER: deploy.container }),
  // The rollout deadline (no build: the workflow watches the rollout itself).
  evidence: kubernetesEvidence,
  toolMinutes: (deploy) => deploy.timeoutMinutes,
});
