/**
 * `gantry abort <releaseId> --reason R` end to end on a local Gantry (decision 053): the CLI appends an abort action,
 * the re-run sends POST /aborts through the operator API's Lambda, the local engine stops the execution and the
 * reconciler closes the record on its status event. Then status, audit show and the report show who and why; a
 * finished release is refused with nothing written; bad input and unknown ids get their exit codes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, it } from 'vitest';
import { exportEvents, parseExport } from '../../lambdas/domain/audit';
import type { SimulationOutput } from '../../local/sim-types';
import { alice, bob, gantry, gantryProcess, localGantry, scenarioFile } from './helpers';

const carol = 'arn:aws:iam::111122223333:user/carol';
const events = (dir: string) => exportEvents(parseExport(readFileSync(join(dir, 'ledger.jsonl'), 'utf8')));
const output = (dir: string) => JSON.parse(readFileSync(join(dir, 'simulation.json'), 'utf8')) as SimulationOutput;
const files = (dir: string) => ['ledger.jsonl', 'gantry-local.json', 'simulation.json'].map((f) => readFileSync(join(dir, f), 'utf8'));

/** A local Gantry with a release of v1.4.2 started by alice, advanced by `advance`. */
async function withRelease(advance: string): Promise<{ dir: string; id: string }> {
  const dir = await localGantry(scenarioFile(), 'PT1M');
  const s = await gantry('start', '--local', dir, '--as', alice, '--service', 'payments', '--tag', 'v1.4.2', '--json');
  assert.equal(s.code, 0, s.stderr);
  const id = (JSON.parse(s.stdout) as { releaseId: string }).releaseId;
  const a = await gantry('simulate', '--state', dir, '--advance', advance, '--json');
  assert.equal(a.code, 0, a.stderr);
  return { dir, id };
}

describe('gantry abort --local: a release waiting for its prod approval', () => {
  let dir: string;
  let id: string;
  let aborted: { code: number; stdout: string; stderr: string };
  beforeAll(async () => {
    ({ dir, id } = await withRelease('PT40M'));
    const before = events(dir).filter((e) => e.releaseId === id);
    assert.ok(
      before.some((e) => e.stage === 'prod' && e.type === 'stage.waiting' && e.data.waitingFor === 'approval'),
      'prod waits for its approval',
    );
    aborted = await gantry('abort', id, '--reason', 'wrong digest (INC-7)', '--local', dir, '--as', carol);
  }, 120_000);

  it('prints who aborts and the final status, exit 0', () => {
    assert.equal(aborted.code, 0, aborted.stderr);
    assert.equal(
      aborted.stdout,
      `Aborting release ${id} (principal ${carol}): wrong digest (INC-7)\n  ABORTED: aborted by ${carol}: wrong digest (INC-7) (gantry status ${id} --local ${dir})\n`,
    );
  });

  it('records abort.requested once, then release.finished ABORTED by the reconciler with abortedBy and abortReason', () => {
    const mine = events(dir).filter((e) => e.releaseId === id);
    const requested = mine.filter((e) => e.type === 'abort.requested');
    assert.equal(requested.length, 1);
    assert.equal(requested[0]?.data.by, carol);
    assert.equal(requested[0]?.data.reason, 'wrong digest (INC-7)');
    const finished = mine.filter((e) => e.type === 'release.finished');
    assert.equal(finished.length, 1);
    assert.deepEqual(
      { ...finished[0]?.data },
      { status: 'ABORTED', reason: `aborted by ${carol}: wrong digest (INC-7)`, abortedBy: carol, abortReason: 'wrong digest (INC-7)', by: 'reconciler' },
    );
    assert.ok((requested[0]?.seq ?? 0) < (finished[0]?.seq ?? 0));
    const prod = mine.filter((e) => e.stage === 'prod' && e.type === 'stage.finished');
    assert.deepEqual(
      prod.map((e) => e.data.status),
      ['ABORTED'],
    );
  });

  it('publishes Release Finished once, with the abort fields; frees the leases; stops the execution', () => {
    const out = output(dir);
    const finished = out.lifecycle.filter((e) => e.detailType === 'Release Finished' && e.detail.releaseId === id);
    assert.equal(finished.length, 1);
    assert.equal(finished[0]?.detail.status, 'ABORTED');
    assert.equal(finished[0]?.detail.abortedBy, carol);
    assert.equal(finished[0]?.detail.abortReason, 'wrong digest (INC-7)');
    assert.deepEqual(out.leasesHeld, []);
    assert.equal(out.executions.find((e) => e.name === id)?.status, 'ABORTED');
  });

  it('leaves no approval to give: approve is refused (the approval token is gone with the release)', async () => {
    const r = await gantry('approve', id, '--stage', 'prod', '--local', dir, '--as', bob);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no approval is waiting for prod of .* \(release ABORTED\)/);
  });

  it('status, audit show and the report show the abort with who and why', async () => {
    const status = await gantry('status', id, '--local', dir);
    assert.equal(status.code, 1, status.stderr);
    // The headline wraps at the width (100 columns in a pipe, decision 057): joined back here.
    assert.match(status.stdout.replace(/\n {4,}(?=\S)/g, ' '), new RegExp(`^RELEASE ${id} — ABORTED: aborted by ${carol.replace(/[/]/g, '\\/')}: wrong digest \\(INC-7\\)`));
    assert.match(status.stdout, /\n {2}prod +ABORTED/);
    // audit show writes to process.stdout itself: as a user runs it.
    const audit = gantryProcess('audit', 'show', id, '--local', dir);
    assert.equal(audit.code, 0, audit.stderr);
    assert.ok(audit.stdout.includes(`aborted by ${carol}: wrong digest (INC-7)`), audit.stdout.slice(0, 400));
    const report = await gantry('report', id, '--local', dir);
    assert.equal(report.code, 0, report.stderr);
    assert.ok(report.stdout.includes(`aborted by ${carol}: wrong digest (INC-7)`));
  });

  it("refuses to abort it again with the API's words, exit 1, and writes nothing", async () => {
    const before = files(dir);
    const r = await gantry('abort', id, '--reason', 'again', '--local', dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^gantry: release ${id} already ended ABORTED at 2026-11-24T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z: nothing to abort\\n$`));
    assert.equal(r.stdout, '');
    assert.deepEqual(files(dir), before);
  });

  it('answers an unknown id with exit 3 and bad input with exit 2 naming the option, writing nothing', async () => {
    const before = files(dir);
    const unknown = await gantry('abort', 'payments-0000000000000000', '--reason', 'x', '--local', dir);
    assert.equal(unknown.code, 3);
    assert.match(unknown.stderr, /release payments-0000000000000000 is not in local Gantry/);
    const empty = await gantry('abort', id, '--reason', '   ', '--local', dir);
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /^gantry: abort: --reason: expected a non-empty reason of at most 500 characters/);
    const long = await gantry('abort', id, '--reason', 'x'.repeat(501), '--local', dir);
    assert.equal(long.code, 2);
    assert.match(long.stderr, /--reason: expected a non-empty reason of at most 500 characters/);
    const badId = await gantry('abort', 'payments;rm -rf /', '--reason', 'x', '--local', dir);
    assert.equal(badId.code, 2);
    assert.match(badId.stderr, /<releaseId>: expected a release id/);
    const noReason = await gantry('abort', id, '--local', dir);
    assert.equal(noReason.code, 2);
    assert.match(noReason.stderr, /--reason/);
    assert.deepEqual(files(dir), before);
  });
});

describe('gantry abort --local: during a bake, during a deploy, a rollback', () => {
  it('aborts during the dev bake: the stage ends ABORTED, its bake never finishes, the lease is freed (--json)', async () => {
    const { dir, id } = await withRelease('PT5M');
    const r = await gantry('abort', id, '--reason', 'bad canary', '--local', dir, '--json');
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(j.status, 'ABORTED');
    assert.equal(j.simulated, true);
    assert.equal(j.releaseId, id);
    const adv = await gantry('simulate', '--state', dir, '--advance', 'PT30M', '--json');
    assert.equal(adv.code, 0, adv.stderr);
    const mine = events(dir).filter((e) => e.releaseId === id);
    assert.ok(mine.some((e) => e.stage === 'dev' && e.type === 'bake.started'));
    assert.ok(!mine.some((e) => e.stage === 'dev' && e.type === 'bake.finished'), 'the bake timer fired nothing after the abort');
    assert.deepEqual(
      mine.filter((e) => e.type === 'stage.finished').map((e) => [e.stage, e.data.status]),
      [['dev', 'ABORTED']],
    );
    assert.deepEqual(output(dir).leasesHeld, []);
    assert.deepEqual(output(dir).warnings, []);
  }, 120_000);

  it('aborts during the dev deploy: the stage ends ABORTED and no later stage starts', async () => {
    const { dir, id } = await withRelease('PT30S');
    const mine0 = events(dir).filter((e) => e.releaseId === id);
    assert.ok(mine0.some((e) => e.stage === 'dev' && e.type === 'deploy.started') && !mine0.some((e) => e.type === 'deploy.finished'), 'dev is deploying');
    const r = await gantry('abort', id, '--reason', 'stop the deploy', '--local', dir);
    assert.equal(r.code, 0, r.stderr);
    await gantry('simulate', '--state', dir, '--advance', 'PT1H', '--json');
    const mine = events(dir).filter((e) => e.releaseId === id);
    assert.equal(mine.find((e) => e.type === 'release.finished')?.data.status, 'ABORTED');
    assert.ok(!mine.some((e) => e.stage === 'staging' && e.type === 'stage.started'));
    assert.deepEqual(output(dir).leasesHeld, []);
  }, 120_000);

  it('aborts an operator rollback on the rollback workflow', async () => {
    // dev promoted v1.4.2 (the release is in staging now): dev may be rolled back to the digest it ran before.
    const { dir } = await withRelease('PT15M');
    const rb = await gantry('rollback', '--local', dir, '--service', 'payments', '--stage', 'dev', '--digest', `sha256:${'1'.repeat(64)}`, '--reason', 'drill', '--json');
    assert.equal(rb.code, 0, rb.stderr);
    const id = (JSON.parse(rb.stdout) as { releaseId: string }).releaseId;
    const r = await gantry('abort', id, '--reason', 'not now', '--local', dir, '--as', carol);
    assert.equal(r.code, 0, r.stderr);
    const out = output(dir);
    assert.equal(out.executions.find((e) => e.name === id)?.machine, 'rollback');
    assert.equal(out.executions.find((e) => e.name === id)?.status, 'ABORTED');
    assert.equal(out.releases.find((x) => x.releaseId === id)?.status, 'ABORTED');
    // The release still holds its staging lease (it is running); the rollback's dev lease is freed.
    assert.deepEqual(
      out.leasesHeld.filter((l) => l.owner === id),
      [],
    );
  }, 120_000);
});

describe('gantry abort --local: a drill with its back leg in flight', () => {
  it('stops the drill and its running leg, each closed ABORTED naming who and why; the forward leg never starts', async () => {
    const dir = await localGantry(join(__dirname, '..', '..', 'examples', 'scenarios', 'drill-staging.json'), 'P2D');
    const d = await gantry('drill', '--local', dir, '--service', 'payments', '--stage', 'staging', '--reason', 'rehearsal', '--json');
    assert.equal(d.code, 0, d.stderr);
    const drillId = (JSON.parse(d.stdout) as { drillId: string }).drillId;
    assert.equal((await gantry('simulate', '--state', dir, '--advance', 'PT1M', '--json')).code, 0);
    const back = `${drillId}-back`;
    assert.ok(
      events(dir).some((e) => e.releaseId === back && e.type === 'release.started'),
      'the back leg is in flight',
    );

    const r = await gantry('abort', drillId, '--reason', 'stop the rehearsal', '--local', dir, '--as', carol);
    assert.equal(r.code, 0, r.stderr);

    const all = events(dir);
    const finished = (id: string) => all.find((e) => e.releaseId === id && e.type === 'release.finished')?.data;
    assert.equal(finished(drillId)?.status, 'ABORTED');
    assert.equal(finished(back)?.status, 'ABORTED');
    assert.equal(finished(back)?.abortedBy, carol);
    assert.equal(finished(back)?.abortReason, 'stop the rehearsal');
    assert.deepEqual(
      all.filter((e) => e.releaseId === `${drillId}-forward`),
      [],
      'the roll-forward never started',
    );
    // Nothing of the drill is left running or holding the stage.
    const adv = await gantry('simulate', '--state', dir, '--advance', 'PT30M', '--json');
    assert.equal(adv.code, 0, adv.stderr);
    const s = await gantry('stages', '--local', dir, '--service', 'payments', '--json');
    const staging = (JSON.parse(s.stdout) as { services: Array<{ stages: Array<{ stage: string; inFlight: unknown[] }> }> }).services[0]?.stages.find((c) => c.stage === 'staging');
    assert.deepEqual(staging?.inFlight, []);
  }, 180_000);
});
