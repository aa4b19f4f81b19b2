/**
 * Driver evidence end to end: the local runtime's CodeBuild drivers export what the real buildspecs
 * export (Helm revision and status sha256; Terraform plan sha256, key and counts, the plan itself in the
 * local evidence bucket), the record step writes it into the ledger, `gantry audit show` prints it and
 * `gantry audit verify` counts a promoted deploy without it as a gap.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it, vi } from 'vitest';
import { evidenceCompleteness, formatExport } from '../../lambdas/domain/audit';
import type { DriverEvidence } from '../../lambdas/domain/driver-evidence';
import { chainEvent, type LedgerEvent } from '../../lambdas/domain/ledger';
import { LocalCloud } from '../../local/cloud';
import { loadScenario, loadScenarioFile } from '../../local/scenario';
import { type SimulationResult, simulate } from '../../local/simulate';
import { D1, ROOT } from './helpers';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const gantry = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin', 'gantry.js'), ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env } });
const tmp = mkdtempSync(join(tmpdir(), 'gantry-evidence-'));

/** What the local drivers wrote to the evidence bucket (LocalCloud.putEvidence), by key. */
const stored = new Map<string, string>();
beforeAll(() => {
  const original = LocalCloud.prototype.putEvidence;
  vi.spyOn(LocalCloud.prototype, 'putEvidence').mockImplementation(function (this: LocalCloud, key: string, body: string) {
    stored.set(key, body);
    return original.call(this, key, body);
  });
});
afterAll(() => vi.restoreAllMocks());

/** demo.json (payments through dev, staging, prod) with prod deployed by Terraform. */
function terraformScenario(deploy: Record<string, unknown> = {}, script: unknown[] = []) {
  const s = JSON.parse(readFileSync(join(ROOT, 'examples', 'scenarios', 'demo.json'), 'utf8'));
  const cfg = JSON.parse(readFileSync(join(ROOT, 'examples', 'gantry.config.json'), 'utf8'));
  cfg.services.payments.stages[2].deploy = { driver: 'terraform', source: 's3://tf-sources/payments.zip', workdir: 'prod', imageVariable: 'image', timeoutMinutes: 20, ...deploy };
  s.config = cfg;
  s.ecr['payments-api'].images[1].scan = { status: 'COMPLETE', findings: [] };
  s.script = script;
  return loadScenario(s, join(ROOT, 'examples', 'scenarios'));
}

const finished = (r: SimulationResult, stage: string, kind: 'deploy' | 'rollback' = 'deploy') =>
  r.ledgerEvents.find((e) => e.type === 'deploy.finished' && e.stage === stage && e.data.kind === kind) as LedgerEvent | undefined;
const evidenceOf = (e: LedgerEvent | undefined) => e?.data.evidence as DriverEvidence | undefined;

let helm: SimulationResult;
let terraform: SimulationResult;
beforeAll(async () => {
  helm = await simulate(loadScenarioFile(join(ROOT, 'examples', 'scenarios', 'staging-deploy-failure.json')));
  terraform = await simulate(terraformScenario());
});

describe('Helm evidence in the ledger', () => {
  it('records the build, its CloudWatch Logs link and the Helm revision and status sha256 with the deploy', () => {
    const e = finished(helm, 'dev');
    const ev = evidenceOf(e);
    assert.equal(e?.data.result, 'SUCCEEDED');
    assert.equal(ev?.driver, 'helm');
    assert.equal(ev?.buildId, e?.data.buildId);
    assert.equal(ev?.buildArn, `arn:aws:codebuild:eu-west-2:111122223333:build/${String(e?.data.buildId)}`);
    assert.match(ev?.logUrl ?? '', /^https:\/\/console\.aws\.amazon\.com\/cloudwatch\/home\?region=eu-west-2#logEvent:group=\/aws\/codebuild\/gantry-helm;stream=/);
    // The stage ran a release before the scenario: this deploy is its second revision.
    assert.equal(ev?.helm?.revision, 2);
    assert.equal(ev?.helm?.status, 'deployed');
    assert.match(ev?.helm?.statusSha256 ?? '', /^[a-f0-9]{64}$/);
  });

  it('records the evidence of a failed deploy and of the rollback deploy after it', () => {
    const failed = evidenceOf(finished(helm, 'staging'));
    const rollback = evidenceOf(finished(helm, 'staging', 'rollback'));
    assert.deepEqual([failed?.helm?.revision, failed?.helm?.status], [2, 'failed']);
    assert.deepEqual([rollback?.helm?.revision, rollback?.helm?.status], [3, 'deployed']);
    assert.notEqual(failed?.helm?.statusSha256, rollback?.helm?.statusSha256);
  });

  it('names the driver on deploy.started', () => {
    const started = helm.ledgerEvents.filter((e) => e.type === 'deploy.started').map((e) => `${e.stage}:${String(e.data.kind)}:${String(e.data.driver)}`);
    assert.deepEqual(started, ['dev:deploy:helm', 'staging:deploy:helm', 'staging:rollback:helm']);
  });
});

describe('Terraform evidence in the ledger', () => {
  it('records the plan sha256, which is the sha256 of the plan JSON the driver stored under the recorded key', () => {
    const release = terraform.output.releases[0];
    assert.equal(release?.status, 'SUCCEEDED');
    const ev = evidenceOf(finished(terraform, 'prod'));
    assert.equal(ev?.driver, 'terraform');
    assert.equal(ev?.terraform?.planKey, `evidence/${release?.releaseId}/prod/deploy/plan.json`);
    const plan = stored.get(ev?.terraform?.planKey ?? '');
    assert.ok(plan, 'the plan JSON is in the evidence bucket');
    assert.equal(ev?.terraform?.planSha256, sha256(plan));
    assert.equal(stored.get(`evidence/${release?.releaseId}/prod/deploy/plan.json.sha256`), `${sha256(plan)}  plan.json\n`);
    assert.deepEqual([ev?.terraform?.add, ev?.terraform?.change, ev?.terraform?.destroy], [0, 1, 0]);
  });

  it('plans with the image variable set to <repository>@<digest>', () => {
    const release = terraform.output.releases[0];
    const plan = JSON.parse(stored.get(`evidence/${release?.releaseId}/prod/deploy/plan.json`) ?? '{}');
    assert.equal(plan.variables.image.value, `000000000000.dkr.ecr.local.amazonaws.com/payments-api@${release?.digest}`);
    assert.deepEqual(plan.resource_changes[0].change.actions, ['update']);
    assert.equal(plan.resource_changes[0].change.before.image, `000000000000.dkr.ecr.local.amazonaws.com/payments-api@${D1}`);
  });

  it('refuses a plan that destroys when the stage does not allow it, keeps its evidence and rolls back', async () => {
    const r = await simulate(terraformScenario({}, [{ when: { service: 'payments', stage: 'prod', phase: 'deploy' }, deploy: { planDestroys: 2 } }]));
    assert.equal(r.output.releases[0]?.status, 'ROLLED_BACK');
    const e = finished(r, 'prod');
    assert.equal(e?.data.result, 'FAILED');
    assert.match(
      String(e?.data.message),
      /^gantry-terraform: refusing to apply: the plan would destroy 2 resource\(s\) and stage prod does not allow it \(deploy\.allowDestroy\): 0 to create, 1 to update, 0 to replace, 2 to delete/,
    );
    const ev = evidenceOf(e);
    assert.equal(ev?.terraform?.destroy, 2);
    assert.equal(ev?.terraform?.planSha256, sha256(stored.get(ev?.terraform?.planKey ?? '') ?? ''));
    // The rollback plans again, with the earlier digest and without the scripted deletions.
    assert.equal(evidenceOf(finished(r, 'prod', 'rollback'))?.terraform?.destroy, 0);
  });

  it('applies that plan when the stage allows destroy', async () => {
    const r = await simulate(terraformScenario({ allowDestroy: true }, [{ when: { service: 'payments', stage: 'prod', phase: 'deploy' }, deploy: { planDestroys: 2 } }]));
    assert.equal(r.output.releases[0]?.status, 'SUCCEEDED');
    assert.equal(evidenceOf(finished(r, 'prod'))?.terraform?.destroy, 2);
  });
});

describe('gantry audit show and verify on the evidence', () => {
  let file: string;
  let releaseId: string;
  beforeAll(() => {
    file = join(tmp, 'terraform.jsonl');
    writeFileSync(file, formatExport(terraform.ledgerEvents, { computeMissingAnchors: true }));
    releaseId = String(terraform.output.releases[0]?.releaseId);
  });

  it('prints each deploy’s build ARN, log link, Helm revision and status sha256, plan sha256 and counts', () => {
    const r = gantry('audit', 'show', releaseId, '--file', file);
    assert.equal(r.status, 0, r.stderr);
    const dev = evidenceOf(finished(terraform, 'dev'));
    const prod = evidenceOf(finished(terraform, 'prod'));
    assert.ok(r.stdout.includes(`build ARN ${prod?.buildArn}`), r.stdout);
    assert.ok(r.stdout.includes(`log       ${prod?.logUrl}`));
    assert.ok(r.stdout.includes(`helm      revision ${dev?.helm?.revision}, deployed; helm status sha256 ${dev?.helm?.statusSha256}`));
    assert.ok(r.stdout.includes(`plan      sha256 ${prod?.terraform?.planSha256}  (0 to add, 1 to change, 0 to destroy)`));
    assert.ok(r.stdout.includes(`plan key  ${prod?.terraform?.planKey}`));
  });

  it('includes the evidence in --json', () => {
    const r = gantry('audit', 'show', releaseId, '--file', file, '--json');
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    const prod = out.stages.find((s: { name: string }) => s.name === 'prod');
    const deploy = prod.deploys.find((d: { kind: string }) => d.kind === 'deploy');
    assert.equal(deploy.driver, 'terraform');
    assert.deepEqual(deploy.evidence, evidenceOf(finished(terraform, 'prod')));
    assert.equal(deploy.buildArn, deploy.evidence.buildArn);
    assert.equal(deploy.logLink, deploy.evidence.logUrl);
  });

  it('finds the evidence of every promoted stage complete', () => {
    assert.deepEqual(evidenceCompleteness(terraform.ledgerEvents).gaps, []);
  });

  it('flags a promoted deploy whose evidence was removed (chain recomputed, so only completeness can tell)', () => {
    const rebuilt: LedgerEvent[] = [];
    for (const e of terraform.ledgerEvents) {
      const { seq: _s, prevHash: _p, hash: _h, ...input } = e;
      const data = e.type === 'deploy.finished' && e.stage === 'prod' && e.data.kind === 'deploy' ? (({ evidence: _ev, ...rest }) => rest)(e.data) : e.data;
      rebuilt.push(chainEvent(rebuilt.at(-1), { ...input, data }));
    }
    const stripped = join(tmp, 'stripped.jsonl');
    writeFileSync(stripped, formatExport(rebuilt, { computeMissingAnchors: true }));
    const r = gantry('audit', 'verify', '--file', stripped, '--strict', '--json');
    assert.equal(r.status, 1, r.stdout);
    const out = JSON.parse(r.stdout);
    assert.equal(out.ok, true, 'the chain itself is intact');
    const gaps = JSON.stringify(out);
    assert.match(gaps, /"stage":"prod","missing":"deploy","message":"no driver evidence \(the terraform driver's deploy\.finished carries no evidence\)"/);
  });

  it('flags a promoted deploy whose evidence lacks its driver’s member', () => {
    const rebuilt: LedgerEvent[] = [];
    for (const e of helm.ledgerEvents) {
      const { seq: _s, prevHash: _p, hash: _h, ...input } = e;
      const data =
        e.type === 'deploy.finished' && e.stage === 'dev' && e.data.kind === 'deploy' ? { ...e.data, evidence: { ...(e.data.evidence as object), helm: undefined } } : e.data;
      rebuilt.push(chainEvent(rebuilt.at(-1), { ...input, data: JSON.parse(JSON.stringify(data)) }));
    }
    const gaps = evidenceCompleteness(rebuilt).gaps;
    assert.deepEqual(
      gaps.map((g) => `${g.stage}:${g.missing}:${g.message}`),
      ['dev:deploy:its helm evidence lacks the Helm revision, status and status sha256'],
    );
  });
});
