/** The Terraform driver in the local runtime (`gantry simulate`): the plan evidence a simulated build writes and exports. */
import { createHash } from 'node:crypto';
import type { LocalCloud } from '../../local/cloud';
import type { DriverLocal, LocalDriverRun } from '../../local/drivers';

const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

/**
 * The Terraform driver's evidence: the plan JSON (`terraform show -json tfplan`: the image variable set
 * to <repository>@<digest>, the workload's image change, and `planDestroys` deletions when the scenario
 * asks for them) written to the evidence bucket with its sha256 and summary, as
 * drivers/terraform/deploy.sh does; `refusal` when the plan destroys and the stage does not allow it.
 */
function terraformPlan(
  cloud: LocalCloud,
  run: LocalDriverRun,
  deploy: {
    imageVariable?: string;
    allowDestroy?: boolean;
    workdir?: string;
    source?: string;
  },
  destroys: number,
): { exported: Record<string, string>; refusal?: string } {
  const previous =
    [...cloud.deployments].reverse().find((x) => x.service === run.service && x.stage === run.stage && x.result === 'SUCCEEDED')?.digest ??
    cloud.scenario.stages[`${run.service}/${run.stage}`]?.running;
  const repository = run.image.slice(0, run.image.lastIndexOf('@'));
  const variable = deploy.imageVariable ?? 'image';
  const changes = [
    {
      address: 'kubernetes_deployment_v1.service',
      mode: 'managed',
      type: 'kubernetes_deployment_v1',
      name: 'service',
      provider_name: 'registry.terraform.io/hashicorp/kubernetes',
      change: previous
        ? {
            actions: ['update'],
            before: { image: `${repository}@${previous}` },
            after: { image: run.image },
          }
        : { actions: ['create'], before: null, after: { image: run.image } },
    },
    ...Array.from({ length: destroys }, (_, i) => ({
      address: `terraform_data.retired[${i}]`,
      mode: 'managed',
      type: 'terraform_data',
      name: 'retired',
      index: i,
      provider_name: 'terraform.io/builtin/terraform',
      change: {
        actions: ['delete'],
        before: { id: `retired-${i}` },
        after: null,
      },
    })),
  ];
  const plan = {
    format_version: '1.2',
    terraform_version: '1.13.1',
    variables: { [variable]: { value: run.image } },
    resource_changes: changes,
    timestamp: run.at,
  };
  const body = `${JSON.stringify(plan)}\n`;
  const planSha256 = sha256Hex(body);
  const add = previous ? 0 : 1;
  const change = previous ? 1 : 0;
  const prefix = `evidence/${run.releaseId}/${run.stage}/${run.kind}`;
  const allowDestroy = deploy.allowDestroy === true;
  const destroyed = changes.filter((c) => c.change.actions.includes('delete')).map((c) => `${c.address} [delete]`);
  const sentence = `${add} to create, ${change} to update, 0 to replace, ${destroys} to delete${destroyed.length ? ` (destroys ${destroyed.join(', ')})` : ''}`;
  cloud.putEvidence(`${prefix}/plan.json`, body);
  cloud.putEvidence(`${prefix}/plan.json.sha256`, `${planSha256}  plan.json\n`);
  cloud.putEvidence(
    `${prefix}/summary.json`,
    `${JSON.stringify({ allowDestroy, changes: { create: add, update: change, replace: 0, delete: destroys }, destroys: destroyed, digest: run.digest, image: run.image, kind: run.kind, planSha256, releaseId: run.releaseId, service: run.service, source: deploy.source, stage: run.stage, workdir: deploy.workdir })}\n`,
  );
  return {
    exported: {
      TF_PLAN_SHA256: planSha256,
      TF_PLAN_KEY: `${prefix}/plan.json`,
      TF_PLAN_SUMMARY: JSON.stringify({ add, change, destroy: destroys }),
    },
    ...(destroys > 0 && !allowDestroy
      ? {
          refusal: `gantry-terraform: refusing to apply: the plan would destroy ${destroys} resource(s) and stage ${run.stage} does not allow it (deploy.allowDestroy): ${sentence}`,
        }
      : {}),
  };
}

export const local: DriverLocal = {
  failureMessage: 'terraform apply failed',
  evidence: ({ cloud, run, deploy, scripted }) =>
    terraformPlan(cloud, run, deploy.driver === 'terraform' ? deploy : {}, typeof scripted?.planDestroys === 'number' ? scripted.planDestroys : 0),
};
