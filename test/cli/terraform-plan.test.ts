/**
 * Plan, approve, apply that plan (decision 049) at the CLI: `gantry status` shows the plan a stage waits on (short
 * sha256, counts, how to approve it), `gantry approve --plan` sends the hash (another one is refused, none is refused),
 * `gantry audit show` and `gantry report` show each plan with the hash each approval approved.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, it } from 'vitest';
import { exportEvents, parseExport } from '../../lambdas/domain/audit';
import { example, gantry, gantryProcess, localGantry, tmp } from './helpers';

const CAROL = 'arn:aws:sts::111122223333:assumed-role/ReleaseApprovers/carol';

const planOf = (dir: string) => {
  const events = exportEvents(parseExport(readFileSync(join(dir, 'ledger.jsonl'), 'utf8')));
  const plan = events.find((e) => e.type === 'plan.recorded');
  return { releaseId: String(events[0]?.releaseId), sha256: String(plan?.data.sha256) };
};

describe('a local Gantry whose Terraform prod waits for the approval of its plan', () => {
  let dir: string;
  beforeAll(async () => {
    // The approved scenario without its approver: prod waits on plan 1.
    const s = JSON.parse(readFileSync(example('terraform-plan-approved'), 'utf8'));
    s.script = [];
    const file = join(tmp(), 'terraform-plan-waiting.json');
    writeFileSync(file, JSON.stringify(s));
    dir = await localGantry(file, 'PT40M');
  });

  it('gantry status shows the plan: short sha256, adds/changes/destroys, and the approve command with the full hash', async () => {
    const { releaseId, sha256 } = planOf(dir);
    const r = await gantry('status', releaseId, '--local', dir);
    assert.match(r.stdout, new RegExp(`plan 1: sha256 ${sha256.slice(0, 12)}… — 0 to add, 1 to change, 0 to destroy`));
    assert.ok(r.stdout.includes(`gantry approve ${releaseId} --stage prod --plan ${sha256}`));
    const json = JSON.parse((await gantry('status', releaseId, '--local', dir, '--json')).stdout);
    const prod = json.releases[0].stages.find((s: { name: string }) => s.name === 'prod');
    assert.equal(prod.plan.sha256, sha256);
    assert.deepEqual([prod.plan.adds, prod.plan.changes, prod.plan.destroys, prod.plan.attempt], [0, 1, 0, 1]);
  });

  it('gantry approve refuses a malformed --plan before sending anything', async () => {
    const { releaseId } = planOf(dir);
    const r = await gantry('approve', releaseId, '--stage', 'prod', '--local', dir, '--as', CAROL, '--plan', 'abc');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--plan: expected the saved plan's sha256 \(64 lowercase hex digits/);
  });

  it('gantry approve without --plan, or with another hash, is refused naming the current plan; with it, approved; audit show and the report name the hash', async () => {
    const { releaseId, sha256 } = planOf(dir);
    const none = await gantry('approve', releaseId, '--stage', 'prod', '--local', dir, '--as', CAROL);
    assert.equal(none.code, 1);
    assert.match(none.stderr, new RegExp(`must name it \\(planSha256\\); the current one is plan 1 sha256 ${sha256}`));
    const other = await gantry('approve', releaseId, '--stage', 'prod', '--local', dir, '--as', CAROL, '--plan', 'e'.repeat(64));
    assert.equal(other.code, 1);
    assert.match(other.stderr, /is not the stage's current plan/);
    const ok = await gantry('approve', releaseId, '--stage', 'prod', '--local', dir, '--as', CAROL, '--plan', sha256);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^APPROVED: prod of /);

    const advanced = await gantry('simulate', '--state', dir, '--advance', 'PT2H');
    assert.equal(advanced.code, 0, advanced.stderr);
    // audit show writes to the process's stdout: run it as the CLI runs.
    const show = gantryProcess('audit', 'show', releaseId, '--local', dir);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, new RegExp(`plan 1 .*sha256 ${sha256}  \\(0 to add, 1 to change, 0 to destroy\\)`));
    assert.match(show.stdout, new RegExp(`APPROVED by ${CAROL.replace(/[/]/g, '\\/')} at .*, approving plan sha256 ${sha256}`));
    assert.match(show.stdout, new RegExp(`applied: the apply checked the saved plan's sha256 ${sha256}`));

    const report = await gantry('report', releaseId, '--local', dir);
    assert.equal(report.code, 0, report.stderr);
    assert.match(report.stdout, /<h3 id="h-plans">Terraform plans<\/h3>/);
    assert.ok(report.stdout.includes(`approved sha256 <code class="nowrap">${sha256}</code>`));
    assert.ok(report.stdout.includes(`the apply checked sha256 <code class="nowrap">${sha256}</code>`));
  });
});

describe('a local Gantry whose approved plan went stale', () => {
  it('asks again with plan 2; gantry approve of plan 1 is refused, of plan 2 is recorded at the moment it is given', async () => {
    const s = JSON.parse(readFileSync(example('terraform-plan-stale'), 'utf8'));
    // Only the state move, due just before the apply of plan 1 (the plan-only run of 10:30 does not take it).
    s.script = [{ when: { at: 'PT31M' }, deploy: { planStale: true } }];
    const file = join(tmp(), 'terraform-plan-stale-cli.json');
    writeFileSync(file, JSON.stringify(s));
    const dir = await localGantry(file, 'PT35M');
    const plan1 = planOf(dir);
    assert.equal((await gantry('approve', plan1.releaseId, '--stage', 'prod', '--local', dir, '--as', CAROL, '--plan', plan1.sha256)).code, 0);
    assert.equal((await gantry('simulate', '--state', dir, '--advance', 'PT10M')).code, 0);
    const status = JSON.parse((await gantry('status', plan1.releaseId, '--local', dir, '--json')).stdout);
    const plan2 = status.releases[0].stages.find((x: { name: string }) => x.name === 'prod').plan;
    assert.equal(plan2.attempt, 2);
    assert.notEqual(plan2.sha256, plan1.sha256);
    const stale = await gantry('approve', plan1.releaseId, '--stage', 'prod', '--local', dir, '--as', CAROL, '--plan', plan1.sha256);
    assert.equal(stale.code, 1);
    assert.match(stale.stderr, new RegExp(`is not the stage's current plan: it is plan 2 sha256 ${plan2.sha256}`));
    const ok = await gantry('approve', plan1.releaseId, '--stage', 'prod', '--local', dir, '--as', CAROL, '--plan', plan2.sha256);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, / at 2026-11-24T10:45:00\.000Z/);
    assert.equal((await gantry('simulate', '--state', dir, '--advance', 'PT1H')).code, 0);
    const done = JSON.parse((await gantry('status', plan1.releaseId, '--local', dir, '--json')).stdout);
    assert.equal(done.releases[0].status, 'SUCCEEDED');
  });
});
