/** The Terraform driver: plan pinned by digest, then apply of exactly that plan, in a CodeBuild project (docs/drivers.md). */
import { defineDriver } from '../types';
import { terraformEvidence } from './evidence';
import { terraformDeploy } from './config';

/** The `-lock-timeout` of each state-locking Terraform command (plan, apply) in drivers/terraform/deploy.sh. */
export const TERRAFORM_LOCK_TIMEOUT_MINUTES = 5;

export const terraform = defineDriver({
  name: 'terraform',
  title: 'Terraform',
  config: terraformDeploy,
  codeBuild: {
    projectPlaceholder: 'TerraformProjectName',
    exports: ['TF_PLAN_SHA256', 'TF_PLAN_KEY', 'TF_PLAN_SUMMARY', 'TF_SAVED_PLAN_SHA256', 'TF_SAVED_PLAN_KEY', 'TF_PLAN_RESULT'],
  },
  deployEnv: (deploy) => ({
    GANTRY_TF_SOURCE: deploy.source,
    GANTRY_TF_WORKDIR: deploy.workdir,
    GANTRY_TF_IMAGE_VARIABLE: deploy.imageVariable,
    GANTRY_TF_ALLOW_DESTROY: String(deploy.allowDestroy),
  }),
  // timeoutMinutes for init, plan and apply, plus the state-lock wait of plan and of apply.
  evidence: terraformEvidence,
  toolMinutes: (deploy) => deploy.timeoutMinutes + 2 * TERRAFORM_LOCK_TIMEOUT_MINUTES,
});
