/**
 * The model-based test's invariants can fail: one clean release runs through the real workflows, then
 * each test breaks one thing in its output, its export or its scenario and expects exactly the
 * invariant that guards it to say so (and the clean run to pass them all).
 */
import assert from 'node:assert/strict';
import { beforeAll, describe, it } from 'vitest';
import { formatExport } from '../../lambdas/domain/audit';
import { chainEvent, type LedgerEvent, type LedgerEventInput } from '../../lambdas/domain/ledger';
import { CLOCK, digestOf, type History, scenarioOf } from './generator';
import { INVARIANTS, type InvariantName, type ModelRun, checkRun, freezeOnAt } from './invariants';
import { runScenario } from './runner';

const clean: History = {
  bake: [1, 1, 2],
  approvalTimeout: 15,
  slots: [
    [0, 300],
    [310, 320],
  ],
  pushes: [{ service: 'alpha', at: { minute: 2 }, copies: 2 }],
  freezes: [],
  rollbacks: [],
  decisions: [{ service: 'alpha', after: 1, approve: true }],
  alarms: [],
  deployFailures: [],
  aborts: [],
  faults: [],
};

let base: ModelRun;
/** A fresh copy of the clean run to break. */
const copy = (): { -readonly [K in keyof ModelRun]: ModelRun[K] } => structuredClone(base);
const violations = (run: ModelRun, name: InvariantName): string[] => INVARIANTS[name](run);
const prodDeploy = (run: ModelRun) => run.output.deployments.find((d) => d.stage === 'prod' && d.kind === 'deploy');
const release = (run: ModelRun) => run.output.releases[0] as ModelRun['output']['releases'][number];
const plus = (iso: string, minutes: number) => new Date(Date.parse(iso) + minutes * 60_000).toISOString();

/** Append a hand-made release's chained events to a run's export. */
function withRelease(run: { exportText: string }, releaseId: string, events: Array<Omit<LedgerEventInput, 'releaseId' | 'stepKey'>>): void {
  const chain: LedgerEvent[] = [];
  for (const [i, e] of events.entries()) chain.push(chainEvent(chain.at(-1), { ...e, releaseId, stepKey: `${e.type}:${e.stage ?? ''}:${i}` }));
  run.exportText += formatExport(chain);
}

describe('model invariants', () => {
  beforeAll(async () => {
    base = await runScenario(scenarioOf(clean, 'model invariants: one clean release'));
  });

  it('all hold on a release pushed twice, approved in time and promoted inside the window', () => {
    assert.equal(release(base).status, 'SUCCEEDED');
    assert.equal(base.output.deployments.length, 3);
    assert.deepEqual(checkRun(base), []);
  });

  it('report a forward deploy outside the allow window, and one during the freeze', () => {
    const run = copy();
    const windows = run.doc.config.services.alpha?.stages[2]?.windows as { allow: Array<{ from: string; to: string }> };
    windows.allow = [{ ...(windows.allow[0] as { from: string; to: string }), from: '15:00', to: '16:00' }];
    assert.match(
      violations(run, 'deploy only inside the window, outside blackouts and the freeze').join('\n'),
      /deploy of alpha\/prod .* outside every allow slot \(15:00–16:00 UTC\), and the release is not break-glass/,
    );
    const frozen = copy();
    frozen.doc.triggers = [...(frozen.doc.triggers ?? []), { type: 'freeze', state: 'on', reason: 'r', at: 'PT0M' }];
    assert.equal(violations(frozen, 'deploy only inside the window, outside blackouts and the freeze').length, 3, 'dev, staging and prod were deployed during the freeze');
  });

  it('let break-glass deploy in a blackout only with a WARN window gate that names the blackout', () => {
    const run = copy();
    const d = prodDeploy(run) as ModelRun['output']['deployments'][number];
    const windows = run.doc.config.services.alpha?.stages[2]?.windows as { blackouts: Array<{ from: string; to: string; reason: string }> };
    windows.blackouts = [{ from: plus(d.startedAt, -1).slice(0, 16), to: plus(d.startedAt, 1).slice(0, 16), reason: 'payroll run' }];
    const invariant = 'deploy only inside the window, outside blackouts and the freeze';
    assert.match(violations(run, invariant).join('\n'), /inside blackout "payroll run" .* not break-glass/);
    // The release as break-glass started it (the record no longer verifies; only exportVerifies reads that).
    assert.match(run.exportText, /"breakGlass":null/);
    run.exportText = run.exportText.replace('"breakGlass":null', '"breakGlass":{"reason":"INC-1"}');
    assert.match(violations(run, invariant).join('\n'), /break-glass inside blackout "payroll run" .* last window gate before the deploy is PASS/);
    // The window gate the deploy went by: the one taken again at the point of action, right before it.
    const prodGate = /("stepKey":"stage:prod:at-deploy:0:gate:window"[^\n]*"gate":"window","result":")PASS(","reason":")[^"]*/;
    assert.match(run.exportText, prodGate);
    run.exportText = run.exportText.replace(prodGate, '$1WARN$2break-glass: INC-1 (outside the release window; bypassed)');
    assert.deepEqual(violations(run, invariant), []);
    assert.match(violations(run, 'a bypass or a rollback names what it overrode').join('\n'), /break-glass deployed inside blackout "payroll run" .* does not name the blackout/);
    run.exportText = run.exportText.replace('(outside the release window; bypassed)', '(blackout payroll run bypassed)');
    assert.deepEqual(violations(run, 'a bypass or a rollback names what it overrode'), []);
  });

  it('count a freeze switched in the very instant of a deploy as a race, not a violation', () => {
    const run = copy();
    const dev = run.output.deployments[0] as { startedAt: string };
    const at = `PT${(Date.parse(dev.startedAt) - Date.parse(CLOCK)) / 60_000}M`;
    run.doc.triggers = [...(run.doc.triggers ?? []), { type: 'freeze', state: 'on', reason: 'r', at }];
    assert.equal(freezeOnAt(run.doc, Date.parse(dev.startedAt)), false);
    assert.equal(freezeOnAt(run.doc, Date.parse(dev.startedAt) + 1), true);
  });

  it('report a rollback during the freeze whose records never mention it', () => {
    const run = copy();
    run.doc.triggers = [...(run.doc.triggers ?? []), { type: 'freeze', state: 'on', reason: 'r', at: 'PT0M' }];
    const d = run.output.deployments[0] as ModelRun['output']['deployments'][number];
    d.kind = 'rollback';
    d.releaseId = 'alpha-rollback-1';
    withRelease(run, d.releaseId, [
      { type: 'rollback.started', at: d.startedAt, stage: 'dev', data: { reason: 'alarm', toDigest: d.digest, evidence: { freeze: { on: true } } } },
      { type: 'deploy.started', at: d.startedAt, stage: 'dev', data: { kind: 'rollback', digest: d.digest } },
    ]);
    assert.match(violations(run, 'a bypass or a rollback names what it overrode').join('\n'), /rollback of alpha\/dev .* never mention the freeze/);
  });

  it('report an older digest deployed over a newer one, but not a rollback to it', () => {
    const run = copy();
    const last = prodDeploy(run) as ModelRun['output']['deployments'][number];
    run.output.deployments.push({ ...last, digest: digestOf('alpha', 0), startedAt: plus(last.startedAt, 30), endedAt: plus(last.startedAt, 31) });
    assert.match(violations(run, 'never an older digest over a newer one').join('\n'), /deployed over sha256:.*, which was pushed later/);
    (run.output.deployments.at(-1) as { kind: string }).kind = 'rollback';
    assert.deepEqual(violations(run, 'never an older digest over a newer one'), []);
  });

  it('report a digest deployed after a newer digest of its service started a release', () => {
    const run = copy();
    const newer = digestOf('alpha', 9);
    const staging = run.output.deployments[1] as ModelRun['output']['deployments'][number];
    run.doc.ecr?.['alpha-api']?.images?.push({ digest: newer, pushedAt: plus(staging.startedAt, -1) });
    withRelease(run, 'alpha-newer', [{ type: 'release.started', at: plus(staging.startedAt, -0.5), data: { kind: 'release', service: 'alpha', digest: newer } }]);
    const found = violations(run, 'newest wins: an overtaken digest is not deployed');
    assert.equal(found.length, 2, 'staging and prod were deployed after the newer release started; dev before it');
    assert.match(found.join('\n'), /deploy of alpha\/staging .* overtaken by alpha-newer/);
  });

  it('report two driver runs overlapping on one stage', () => {
    const run = copy();
    const last = prodDeploy(run) as ModelRun['output']['deployments'][number];
    run.output.deployments.push({ ...last, kind: 'rollback', startedAt: plus(last.startedAt, 0.5) });
    assert.match(violations(run, 'no two driver runs on one stage overlap').join('\n'), /alpha\/prod: rollback of alpha\/prod .* started while deploy of alpha\/prod/);
  });

  it('report a deploy by a release that does not hold the stage lease, and two holders at once', () => {
    const run = copy();
    const d = prodDeploy(run) as ModelRun['output']['deployments'][number];
    withRelease(run, 'alpha-intruder', [
      { type: 'release.started', at: plus(d.startedAt, -0.5), data: { kind: 'release', service: 'alpha', digest: digestOf('alpha', 1) } },
      { type: 'lease.acquired', at: plus(d.startedAt, -0.5), stage: 'prod', data: {} },
      { type: 'lease.released', at: plus(d.startedAt, 5), stage: 'prod', data: {} },
    ]);
    assert.match(violations(run, 'only the lease holder deploys').join('\n'), /alpha-intruder had taken the lease on alpha\/prod/);
    assert.match(violations(run, 'one lease holder at a time').join('\n'), /alpha\/prod: two releases held the lease at once/);
    const early = copy();
    (prodDeploy(early) as { startedAt: string }).startedAt = CLOCK;
    assert.match(violations(early, 'only the lease holder deploys').join('\n'), /its release held no lease on alpha\/prod then/);
  });

  it('report an operator rollback that waited, and a rollback result the record does not show', () => {
    const run = copy();
    const d = prodDeploy(run) as ModelRun['output']['deployments'][number];
    run.output.releases.push({ ...release(run), releaseId: 'alpha-rollback-1', kind: 'rollback', startedAt: plus(d.endedAt as string, 1), stages: [] });
    run.output.deployments.push({ ...d, kind: 'rollback', releaseId: 'alpha-rollback-1', startedAt: plus(d.endedAt as string, 9), endedAt: plus(d.endedAt as string, 10) });
    assert.match(violations(run, 'an operator rollback runs within a minute').join('\n'), /waited 8 min/);
    const mismatch = copy();
    const dev = mismatch.output.deployments[0] as ModelRun['output']['deployments'][number];
    mismatch.output.deployments.push({ ...dev, kind: 'rollback', result: 'SUCCEEDED', startedAt: plus(dev.startedAt, 3), endedAt: plus(dev.startedAt, 4) });
    assert.match(
      violations(mismatch, 'a rollback record matches its driver run').join('\n'),
      /alpha\/dev: its rollback driver run SUCCEEDED .* records the rollback result \(none\)/,
    );
  });

  it('report a release still running, a lease still held, an internal error and a status the contract does not name', () => {
    const run = copy();
    release(run).status = 'RUNNING';
    run.output.leasesHeld.push({ owner: release(run).releaseId, service: 'alpha', stage: 'prod' });
    run.output.warnings.push('internal: TypeError: boom\n    at x');
    (release(run).stages[1] as { status: string }).status = 'SKIPPED_OUT';
    assert.match(violations(run, 'every release and execution ends').join('\n'), /is still RUNNING at the end/);
    assert.match(violations(run, 'every lease is freed').join('\n'), /lease alpha\/prod still held by/);
    assert.deepEqual(violations(run, 'no internal error'), ['internal: TypeError: boom |     at x']);
    assert.match(violations(run, "statuses are the contract's").join('\n'), /stage staging: status "SKIPPED_OUT" is not one of NOT_STARTED, .*SUPERSEDED/);
    const superseded = copy();
    (release(superseded).stages[2] as { status: string }).status = 'SUPERSEDED';
    assert.deepEqual(violations(superseded, "statuses are the contract's"), []);
  });

  it('report an export that does not verify, with the code gantry audit verify runs', () => {
    const run = copy();
    run.exportText = run.exportText.replace('"result":"PASS"', '"result":"WARN"');
    assert.notEqual(run.exportText, base.exportText);
    assert.match(violations(run, 'every export verifies').join('\n'), /export: alpha-[0-9a-f]+: /);
  });
});
