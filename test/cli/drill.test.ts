/**
 * `gantry drill` against a local Gantry (decision 052): a drill started by the CLI runs through the real workflows as
 * the local Gantry's clock advances; `audit show` and the HTML report show its section; a production stage is refused
 * (exit 2, nothing written).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, it } from 'vitest';
import { exportEvents, parseExport } from '../../lambdas/domain/audit';
import { ROOT } from '../workflow/helpers';
import { gantry, gantryProcess, localGantry } from './helpers';

const SCENARIO = join(ROOT, 'examples', 'scenarios', 'drill-staging.json');
const events = (dir: string) => exportEvents(parseExport(readFileSync(join(dir, 'ledger.jsonl'), 'utf8')));

describe('gantry drill --local', () => {
  let dir: string;
  let drillId: string;
  beforeAll(async () => {
    // The scenario up to its first minute: the scenario's own drill has started; a second one follows from the CLI later.
    dir = await localGantry(SCENARIO, 'P2D');
    const r = await gantry('drill', '--local', dir, '--service', 'payments', '--stage', 'staging', '--reason', 'CLI rehearsal', '--json');
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { drillId: string; status: string; input: unknown };
    assert.equal(out.status, 'RUNNING');
    assert.deepEqual(out.input, { service: 'payments', stage: 'staging', reason: 'CLI rehearsal' });
    drillId = out.drillId;
    const adv = await gantry('simulate', '--state', dir, '--advance', 'PT30M', '--json');
    assert.equal(adv.code, 0, adv.stderr);
  }, 120_000);

  it('runs the drill through the rollback workflow twice and records its figures', () => {
    const mine = events(dir).filter((e) => e.releaseId === drillId);
    const rec = mine.find((e) => e.type === 'drill.recorded');
    assert.equal(rec?.data.status, 'SUCCEEDED');
    assert.equal(rec?.data.timeToRestoreSeconds, 360);
    assert.equal(rec?.data.initiator, 'arn:aws:sts::111122223333:assumed-role/Operators/local-operator');
    const legs = events(dir).filter((e) => e.releaseId === `${drillId}-back` && e.type === 'release.started');
    assert.equal(legs[0]?.data.initiator, rec?.data.initiator, "the leg's initiator is the drill's");
  });

  it('audit show has the Drill section', () => {
    const r = gantryProcess('audit', 'show', drillId, '--local', dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^RELEASE .* — SUCCEEDED \(rollback drill\)/);
    assert.match(r.stdout, /\nDrill +SUCCEEDED at .*, stage staging, started by .*local-operator \(an operator\)/);
    assert.match(r.stdout, /\n {2}back +sha256:2{64} → sha256:1{64}: time to restore 6m 0s \(360 s\)/);
    const leg = gantryProcess('audit', 'show', `${drillId}-fwd`, '--local', dir);
    assert.match(leg.stdout, new RegExp(`Drill +leg forward of rollback drill ${drillId}`));
  });

  it('the HTML report has the Drills table', async () => {
    const r = await gantry('report', drillId, '--local', dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /<p class="sub">Rollback drill <code>/);
    assert.match(r.stdout, /<h3 id="h-drills">Drills<\/h3>/);
    assert.match(r.stdout, /<dt>time to restore<\/dt><dd><span class="nowrap">6m<\/span>|<dt>time to restore<\/dt><dd><span class="nowrap">[^<]+<\/span>/);
    assert.ok(r.stdout.includes(`${drillId}-back</code> ROLLED_BACK`));
  });

  it('refuses a production stage: exit 2, the field and the rule named, nothing written', async () => {
    const before = events(dir).length;
    const r = await gantry('drill', '--local', dir, '--service', 'payments', '--stage', 'prod');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /stage: prod is a production stage of payments and is never drilled/);
    assert.equal(events(dir).length, before);
  });
});
