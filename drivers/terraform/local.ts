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
  /** Where the plan's files go: by default the run's own `evidence/<release>/<stage>/<kind>`. */
  at?: string,
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
  const prefix = at ?? `evidence/${run.releaseId}/${run.stage}/${run.kind}`;
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

/**
 * The simulated Terraform state's serial per (service, stage): a saved plan records the serial it was made on, and
 * its apply is refused as stale when the serial moved since — a scenario's `deploy.planStale` line moves it (another
 * change applied between the approval and the apply), as `terraform apply <planfile>` refuses a stale saved plan.
 */
const STATE_SERIALS = new WeakMap<LocalCloud, Map<string, number>>();
function serials(cloud: LocalCloud): Map<string, number> {
  let m = STATE_SERIALS.get(cloud);
  if (!m) STATE_SERIALS.set(cloud, (m = new Map()));
  return m;
}

const RESULT = (r: string) => ({ TF_PLAN_RESULT: r });

/**
 * Plan, approve, apply that plan (decision 049). `plan`: the plan JSON and summary as above, plus the "binary" saved
 * plan (here a text naming the state serial it was made on and the plan JSON's sha256) under plan-<n>/tfplan, its
 * sha256 exported; no apply. `apply`: the saved plan fetched by key and refused unless its sha256 is the approved
 * one; stale when the state's serial moved since it was made; else applied (the serial moves on).
 */
function savedPlanRun(
  cloud: LocalCloud,
  run: LocalDriverRun,
  deploy: Parameters<typeof terraformPlan>[2],
  env: Readonly<Record<string, string | undefined>>,
  scripted: Readonly<Record<string, unknown>> | undefined,
): { exported: Record<string, string>; refusal?: string; applied?: boolean } {
  const stateKey = `${run.service}/${run.stage}`;
  const serial = serials(cloud).get(stateKey) ?? 0;
  if (env.GANTRY_TF_MODE === 'plan') {
    const n = env.GANTRY_TF_PLAN_ATTEMPT ?? '1';
    const prefix = `evidence/${run.releaseId}/${run.stage}/plan-${n}`;
    const planned = terraformPlan(cloud, { ...run }, deploy, typeof scripted?.planDestroys === 'number' ? scripted.planDestroys : 0, prefix);
    const jsonSha = planned.exported.TF_PLAN_SHA256 as string;
    const saved = `tfplan v1\nstate-serial ${serial}\nplan-json-sha256 ${jsonSha}\n`;
    const key = `${prefix}/tfplan`;
    cloud.putEvidence(key, saved);
    const exported = { TF_SAVED_PLAN_SHA256: sha256Hex(saved), TF_SAVED_PLAN_KEY: key, TF_PLAN_SUMMARY: planned.exported.TF_PLAN_SUMMARY as string };
    return planned.refusal
      ? { exported: { ...exported, ...RESULT('refused') }, refusal: planned.refusal, applied: false }
      : { exported: { ...exported, ...RESULT('planned') }, applied: false };
  }
  // apply: exactly the approved saved plan.
  const key = env.GANTRY_TF_PLAN_KEY ?? '';
  const saved = cloud.evidence.get(key);
  if (saved === undefined) return { exported: {}, refusal: `gantry-terraform: the saved plan ${key} is not in the artifacts bucket`, applied: false };
  const savedSha = sha256Hex(saved);
  if (savedSha !== env.GANTRY_TF_PLAN_SHA256) {
    return {
      exported: RESULT('mismatch'),
      refusal: `gantry-terraform: refusing to apply: the saved plan ${key} has sha256 ${savedSha}, not the approved ${env.GANTRY_TF_PLAN_SHA256 ?? ''}`,
      applied: false,
    };
  }
  // The scenario moves the state between the approval and this apply: another change was applied meanwhile.
  if (scripted?.planStale === true) serials(cloud).set(stateKey, serial + 1);
  const madeOn = Number(/^state-serial (\d+)$/m.exec(saved)?.[1] ?? -1);
  if (madeOn !== (serials(cloud).get(stateKey) ?? 0)) {
    return {
      exported: { TF_SAVED_PLAN_SHA256: savedSha, ...RESULT('stale') },
      refusal: `Error: Saved plan is stale: the given plan file can no longer be applied because the state was changed by another operation after the plan was created (gantry-terraform: the saved plan ${key} is stale: nothing applied)`,
      applied: false,
    };
  }
  // `terraform show -json tfplan` of the saved plan is that plan's JSON: the deploy's evidence is plan n's, as made.
  const planDir = key.slice(0, key.lastIndexOf('/'));
  const json = cloud.evidence.get(`${planDir}/plan.json`) ?? '';
  const summary = JSON.parse(cloud.evidence.get(`${planDir}/summary.json`) ?? '{}') as { changes?: { create?: number; update?: number; delete?: number } };
  const prefix = `evidence/${run.releaseId}/${run.stage}/${run.kind}`;
  for (const file of ['plan.json', 'plan.json.sha256', 'summary.json']) cloud.putEvidence(`${prefix}/${file}`, cloud.evidence.get(`${planDir}/${file}`) ?? '');
  serials(cloud).set(stateKey, serial + 1);
  const c = summary.changes ?? {};
  return {
    exported: {
      TF_PLAN_SHA256: sha256Hex(json),
      TF_PLAN_KEY: `${prefix}/plan.json`,
      TF_PLAN_SUMMARY: JSON.stringify({ add: c.create ?? 0, change: c.update ?? 0, destroy: c.delete ?? 0 }),
      TF_SAVED_PLAN_SHA256: savedSha,
      ...RESULT('applied'),
    },
  };
}

export const local: DriverLocal = {
  failureMessage: 'terraform apply failed',
  evidence: ({ cloud, run, deploy, scripted, env }) => {
    const tf = deploy.driver === 'terraform' ? deploy : {};
    if (env?.GANTRY_TF_MODE === 'plan' || env?.GANTRY_TF_MODE === 'apply') return savedPlanRun(cloud, run, tf, env, scripted);
    return terraformPlan(cloud, run, tf, typeof scripted?.planDestroys === 'number' ? scripted.planDestroys : 0);
  },
};
