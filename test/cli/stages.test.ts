/**
 * `gantry stages` (issue 20, decision 055): the stage matrix of local Gantries run to chosen moments, covering every
 * CellState (EMPTY, HEALTHY, IN_FLIGHT deploying/baking/rolling back/drilling, WAITING for an approval/a window/the
 * image scan, a lease waiter, DEGRADED after a failed rollback and after an abort); the `--json` against its schema;
 * the human output at 80 and 120 columns (snapshots; every line fits), with and without colour; the fallback for a
 * backend without config or stage pointers; the pure state function per state; and the AWS path at its boundary
 * (the pointer's GetItem, one Query per service).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import type { GantryBackend } from '../../cli/backends/backend';
import { LocalBackend } from '../../cli/backends/local-backend';
import type { OperatorIo } from '../../cli/commands/common';
import { renderStageMatrix } from '../../cli/commands/stages';
import { main } from '../../cli/main';
import { stageMatrixSchema } from '../../cli/render/schemas';
import { chainEvent, type LedgerEvent, type LedgerEventInput, projectRelease } from '../../lambdas/domain/ledger';
import { displayWidth } from '../../cli/render/text';
import { type CellFacts, cellState, type StageCell, type StageMatrix } from '../../cli/stage-matrix';
import { D1, D2, D3, ROOT, alice, example, gantry, localGantry, scenarioFile, tmp } from './helpers';
import { STACK_OUTPUTS } from './stack-fixture';

const start = (tag: string, at = 'PT0S') => ({ type: 'start', principal: alice, input: { service: 'payments', image: { tag }, reason: 'CHG-1' }, at });
const ESC = '\x1b[';

interface Out {
  code: number;
  stdout: string;
  stderr: string;
}

/** `gantry stages <args>` in this process, as a terminal of `columns` (isTTY) or a pipe with COLUMNS. */
async function stages(args: string[], opts: { columns?: number; tty?: boolean; env?: NodeJS.ProcessEnv; backend?: GantryBackend } = {}): Promise<Out> {
  const out: string[] = [];
  const err: string[] = [];
  const io: OperatorIo = {
    out: (s) => out.push(s.endsWith('\n') ? s : `${s}\n`),
    err: (s) => err.push(s.endsWith('\n') ? s : `${s}\n`),
    isTTY: opts.tty === true,
    ...(opts.tty && opts.columns ? { columns: opts.columns } : {}),
    env: opts.env ?? (opts.columns && !opts.tty ? { COLUMNS: String(opts.columns) } : {}),
    sleep: async () => undefined,
    ...(opts.backend ? { openBackend: async () => opts.backend as GantryBackend } : {}),
  };
  const code = await main(['node', 'gantry', 'stages', ...args], io);
  return { code, stdout: out.join(''), stderr: err.join('') };
}

async function matrixOf(dir: string, ...args: string[]): Promise<StageMatrix> {
  const r = await stages(['--local', dir, '--json', ...args]);
  assert.equal(r.code, 0, r.stderr);
  const parsed = stageMatrixSchema.safeParse(JSON.parse(r.stdout));
  assert.ok(parsed.success, `stages --json matches its schema: ${parsed.success ? '' : parsed.error.message}`);
  return parsed.data as StageMatrix;
}

const cell = (m: StageMatrix, service: string, stage: string): StageCell => {
  const c = m.services.find((s) => s.service === service)?.stages.find((s) => s.stage === stage);
  assert.ok(c, `${service}/${stage} is in the matrix`);
  return c;
};

/** Every line fits the width (colour codes take no columns). */
function assertFits(text: string, width: number): void {
  for (const line of text.replace(/\n$/, '').split('\n')) assert.ok(displayWidth(line) <= width, `${displayWidth(line)} > ${width} columns: ${JSON.stringify(line)}`);
}

/** The matrix with the temporary directory's name replaced, for snapshots that do not depend on where tmp is. */
const stable = (m: StageMatrix, dir: string): StageMatrix => ({ ...m, source: m.source.replace(dir, '<dir>') });

describe('gantry stages --local: every state of the matrix, through the real workflows', () => {
  const dirs: Record<string, string> = {};
  beforeAll(async () => {
    const approval = scenarioFile({ triggers: [start('v1.4.2')] });
    dirs.deploying = await localGantry(approval, 'PT30S');
    dirs.baking = await localGantry(approval, 'PT5M');
    dirs.approval = await localGantry(approval, 'PT40M');
    // Friday 15:00 UTC: prod deploys Mon–Thu 09:00–16:00 Europe/London only.
    dirs.window = await localGantry(scenarioFile({ window: true, approval: false, clock: '2026-11-27T15:00:00Z', triggers: [start('v1.4.2')] }), 'PT40M');
    dirs.lease = await localGantry(scenarioFile({ approval: false, triggers: [start('v1.4.2'), start('v1.4.3')] }), 'PT5M');
    dirs.scan = await localGantry(example('demo'), 'PT1M');
    dirs.rollbackFailed = await localGantry(
      scenarioFile({
        approval: false,
        triggers: [start('v1.4.2')],
        script: [
          { when: { service: 'payments', stage: 'staging', phase: 'deploy' }, deploy: { result: 'FAILED', message: 'UPGRADE FAILED: timed out' } },
          { when: { service: 'payments', stage: 'staging', phase: 'rollback' }, deploy: { result: 'FAILED', message: 'rollback failed too' } },
        ],
      }),
    );
    dirs.aborted = await localGantry(example('abort-during-bake'));
    dirs.firstFailure = await localGantry(example('first-release-deploy-failure'));
    dirs.drill = await localGantry(example('drill-staging'), 'PT3M');
  }, 300_000);

  it('EMPTY: a configured service whose stages never ran anything', async () => {
    const m = await matrixOf(dirs.approval as string);
    assert.deepEqual(
      m.services.map((s) => s.service),
      ['payments', 'ledger'],
      'config order',
    );
    for (const stage of ['dev', 'staging', 'prod']) {
      const c = cell(m, 'ledger', stage);
      assert.equal(c.state, 'EMPTY');
      assert.equal(c.running, null);
      assert.equal(c.lastOutcome, null);
    }
    assert.equal(cell(m, 'ledger', 'prod').production, true, "the service's last stage is production by default");
    assert.equal(cell(m, 'ledger', 'dev').production, false);
  });

  it('HEALTHY: running the last known good, with its tag and since when it was deployed', async () => {
    const m = await matrixOf(dirs.approval as string);
    const dev = cell(m, 'payments', 'dev');
    assert.equal(dev.state, 'HEALTHY');
    assert.equal(dev.running?.digest, D2);
    assert.equal(dev.running?.tag, 'v1.4.2');
    assert.equal(dev.running?.since, '2026-11-24T10:01:00.000Z', 'the end of the dev deploy');
    assert.match(dev.running?.releaseId ?? '', /^payments-20261124T100000Z-/);
    assert.equal(dev.lastKnownGood?.digest, D2);
    assert.equal(dev.lastKnownGood?.since, '2026-11-24T10:11:00.000Z', 'promoted after its 10-minute bake');
    assert.equal(dev.lastOutcome, null, 'the release that promoted it is still running');
    assert.equal(cell(m, 'payments', 'staging').running?.since, '2026-11-24T10:12:00.000Z');
    assert.equal(m.simulated, true);
    assert.equal(m.generatedAt, '2026-11-24T10:40:00.000Z', "the local Gantry's virtual now");
    assert.equal(m.layout, 'config');
    assert.equal(m.note, null);
  });

  it('WAITING: a release waits for the approval of prod (status-view says for whom)', async () => {
    const prod = cell(await matrixOf(dirs.approval as string), 'payments', 'prod');
    assert.equal(prod.state, 'WAITING');
    assert.equal(prod.running?.digest, D1, 'prod still runs what it ran');
    assert.equal(prod.running?.since, null, 'seeded before any release the ledger holds');
    assert.equal(prod.inFlight.length, 1);
    const f = prod.inFlight[0];
    assert.equal(f?.kind, 'release');
    assert.equal(f?.waitingFor, 'approval');
    assert.equal(f?.phase, 'approval');
    assert.equal(f?.stageStatus, 'WAITING');
    assert.equal(f?.digest, D2);
    assert.equal(f?.tag, 'v1.4.2');
    assert.match(f?.message ?? '', /^awaiting approval by ReleaseApprovers, requested 13 min ago; times out Tue 24 Nov 11:27 UTC$/);
  });

  it('WAITING: a release waits for the release window of prod', async () => {
    const prod = cell(await matrixOf(dirs.window as string, '--service', 'payments'), 'payments', 'prod');
    assert.equal(prod.state, 'WAITING');
    assert.equal(prod.inFlight[0]?.waitingFor, 'window');
    assert.equal(prod.inFlight[0]?.message, 'waiting for window: opens Mon 30 Nov 09:00 Europe/London');
  });

  it('WAITING: a release waits for its image scan in dev', async () => {
    const dev = cell(await matrixOf(dirs.scan as string), 'payments', 'dev');
    assert.equal(dev.state, 'WAITING');
    assert.equal(dev.inFlight[0]?.waitingFor, 'scan');
    assert.match(dev.inFlight[0]?.message ?? '', /^waiting for the image scan: /);
  });

  it('IN_FLIGHT: deploying (the pointer still names what ran before)', async () => {
    const m = await matrixOf(dirs.deploying as string);
    const dev = cell(m, 'payments', 'dev');
    assert.equal(dev.state, 'IN_FLIGHT');
    assert.equal(dev.running?.digest, D1);
    assert.equal(dev.inFlight[0]?.phase, 'deploy');
    assert.equal(dev.inFlight[0]?.waitingFor, null);
    assert.match(dev.inFlight[0]?.message ?? '', /^deploying sha256:2{12}/);
    assert.equal(cell(m, 'payments', 'staging').state, 'HEALTHY', 'a stage the release has not reached is not in flight');
    assert.deepEqual(cell(m, 'payments', 'staging').inFlight, []);
  });

  it('IN_FLIGHT: baking, running ≠ last known good until the bake passes', async () => {
    const dev = cell(await matrixOf(dirs.baking as string), 'payments', 'dev');
    assert.equal(dev.state, 'IN_FLIGHT');
    assert.equal(dev.inFlight[0]?.phase, 'bake');
    assert.equal(dev.running?.digest, D2);
    assert.equal(dev.lastKnownGood?.digest, D1);
    assert.match(dev.inFlight[0]?.message ?? '', /^baking: 4 of 10 min/);
  });

  it('IN_FLIGHT with a lease waiter: the second release waits for the dev lease the first holds', async () => {
    const dev = cell(await matrixOf(dirs.lease as string), 'payments', 'dev');
    assert.equal(dev.state, 'IN_FLIGHT', 'the holder is at work');
    assert.equal(dev.inFlight.length, 2);
    const waiter = dev.inFlight.find((f) => f.waitingFor === 'lease');
    const holder = dev.inFlight.find((f) => f !== waiter);
    assert.ok(waiter && holder);
    assert.equal(waiter.digest, D3);
    assert.match(waiter.message, new RegExp(`waiting for the dev lease held by release ${holder.releaseId}`));
  });

  it('DEGRADED: the rollback after a failed deploy failed too', async () => {
    const staging = cell(await matrixOf(dirs.rollbackFailed as string), 'payments', 'staging');
    assert.equal(staging.state, 'DEGRADED');
    assert.equal(staging.lastOutcome?.status, 'ROLLBACK_FAILED');
    assert.equal(staging.lastOutcome?.releaseStatus, 'ROLLBACK_FAILED');
    assert.match(staging.reason, /^the rollback of payments-\S+ failed$/);
    assert.deepEqual(staging.inFlight, []);
  });

  it('DEGRADED: a release aborted during its bake leaves the stage running what never passed it', async () => {
    const staging = cell(await matrixOf(dirs.aborted as string), 'payments', 'staging');
    assert.equal(staging.state, 'DEGRADED');
    assert.equal(staging.running?.digest, D2);
    assert.equal(staging.lastKnownGood?.digest, D1);
    assert.equal(staging.lastOutcome?.status, 'ABORTED');
    assert.match(staging.reason, /^payments-\S+ ended ABORTED after deploying$/);
  });

  it('DEGRADED: a first deploy that failed (nothing known to run)', async () => {
    const dev = cell(await matrixOf(dirs.firstFailure as string), 'payments', 'dev');
    assert.equal(dev.state, 'DEGRADED');
    assert.equal(dev.running, null);
    assert.equal(dev.lastOutcome?.status, 'FAILED');
    assert.equal(dev.lastOutcome?.deployed, true);
  });

  it('a drill in flight: the drill and its leg (an operator rollback) are at work in staging', async () => {
    const staging = cell(await matrixOf(dirs.drill as string), 'payments', 'staging');
    assert.equal(staging.state, 'IN_FLIGHT');
    assert.deepEqual(
      staging.inFlight.map((f) => f.kind),
      ['drill', 'rollback'],
    );
    const [drill, leg] = staging.inFlight;
    assert.equal(leg?.releaseId, `${drill?.releaseId}-back`);
    assert.equal(drill?.message, `rolling back (leg ${leg?.releaseId})`);
    assert.equal(leg?.digest, D1, 'the leg takes the stage back to the previous last known good');
  });

  it('an operator rollback of prod: in flight while it deploys, then HEALTHY on its target since it ended', async () => {
    const dir = await localGantry(example('demo'));
    const before = cell(await matrixOf(dir), 'payments', 'prod');
    assert.equal(before.state, 'HEALTHY');
    assert.equal(before.running?.digest, D2);
    const r = await gantry('rollback', '--local', dir, '--service', 'payments', '--stage', 'prod', '--reason', 'INC-2', '--json');
    assert.equal(r.code, 0, r.stderr);
    const id = (JSON.parse(r.stdout) as { releaseId: string }).releaseId;

    const during = cell(await matrixOf(dir), 'payments', 'prod');
    assert.equal(during.state, 'IN_FLIGHT');
    assert.equal(during.inFlight[0]?.kind, 'rollback');
    assert.equal(during.inFlight[0]?.releaseId, id);
    assert.equal(during.inFlight[0]?.phase, 'rollback');
    assert.equal(during.inFlight[0]?.digest, D1);

    const adv = await gantry('simulate', '--state', dir, '--advance', 'PT30M', '--json');
    assert.equal(adv.code, 0, adv.stderr);
    const after = cell(await matrixOf(dir), 'payments', 'prod');
    assert.equal(after.state, 'HEALTHY');
    assert.equal(after.running?.digest, D1);
    assert.equal(after.running?.releaseId, id);
    assert.equal(after.running?.tag, null, 'v1.4.1 came with no release the ledger holds');
    assert.ok(after.running?.since && after.running.since > during.inFlight[0]!.startedAt, 'since the rollback deployed it');
    assert.equal(after.lastOutcome?.releaseId, id);
    assert.equal(after.lastOutcome?.kind, 'rollback');
  });

  it('--service: one service; an unknown one exits 2 naming the services allowed, and writes nothing', async () => {
    const m = await matrixOf(dirs.approval as string, '--service', 'ledger');
    assert.deepEqual(
      m.services.map((s) => s.service),
      ['ledger'],
    );
    const r = await stages(['--local', dirs.approval as string, '--service', 'billing']);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /--service: no service "billing" in the config; expected one of payments, ledger/);
  });

  describe('human output', () => {
    for (const width of [80, 120]) {
      for (const name of ['approval', 'baking', 'lease', 'rollbackFailed', 'drill', 'window']) {
        it(`${name} at ${width} columns: fits, matches its snapshot, and is what the command prints`, async () => {
          const dir = dirs[name] as string;
          const r = await stages(['--local', dir], { columns: width });
          assert.equal(r.code, 0, r.stderr);
          assertFits(r.stdout, width);
          assert.ok(!r.stdout.includes(ESC), 'no colour when stdout is not a terminal');
          assert.match(r.stdout, new RegExp(`^local Gantry ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(simulation\\) at 20`), 'says it is a simulation, and its virtual now');
          const m = await matrixOf(dir);
          assert.equal(r.stdout, `${renderStageMatrix(m, { width, colour: false })}\n`);
          await expect(`${renderStageMatrix(stable(m, dir), { width, colour: false })}\n`).toMatchFileSnapshot(`./__snapshots__/stages/${name}-${width}.txt`);
        });
      }
    }

    it('--full prints whole digests, still within the width', async () => {
      const r = await stages(['--local', dirs.baking as string, '--full-digests', '--service', 'payments'], { columns: 80 });
      assert.equal(r.code, 0, r.stderr);
      assertFits(r.stdout, 80);
      assert.ok(r.stdout.replace(/\n +/g, '').includes(D2), 'the whole digest (it may wrap)');
      const short = await stages(['--local', dirs.baking as string, '--service', 'payments'], { columns: 80 });
      assert.ok(!short.stdout.includes(D2));
    });

    it('marks production stages and colours states on a terminal only, never with NO_COLOR', async () => {
      const dir = dirs.rollbackFailed as string;
      const tty = await stages(['--local', dir, '--service', 'payments'], { tty: true, columns: 80 });
      assertFits(tty.stdout, 80);
      assert.match(tty.stdout, /\x1b\[31mDEGRADED/, 'DEGRADED in red');
      assert.match(tty.stdout, /\x1b\[32mHEALTHY/, 'HEALTHY in green');
      assert.match(tty.stdout, /^★ prod /m);
      assert.match(tty.stdout, /^ {2}dev /m);
      await expect(`${renderStageMatrix(stable(await matrixOf(dir, '--service', 'payments'), dir), { width: 80, colour: true })}\n`).toMatchFileSnapshot(
        './__snapshots__/stages/rollbackFailed-80-colour.txt',
      );
      const noColour = await stages(['--local', dir, '--service', 'payments'], { tty: true, columns: 80, env: { NO_COLOR: '1' } });
      assert.ok(!noColour.stdout.includes(ESC));
      assert.equal(noColour.stdout, tty.stdout.replace(/\x1b\[\d+m/g, ''));
    });

    it('fits the narrowest layout (40 columns) with long stage names, cutting nothing', async () => {
      const m = await matrixOf(dirs.approval as string);
      const long: StageMatrix = { ...m, services: m.services.map((s) => ({ ...s, stages: s.stages.map((c) => ({ ...c, stage: `${c.stage}-eu-west-2-blue-green-canary` })) })) };
      const text = renderStageMatrix(long, { width: 40, colour: true });
      assertFits(text, 40);
      const plain = text.replace(/\x1b\[\d+m/g, '');
      assert.match(plain, /^ {2}dev-eu-west-2-blue-green-canary\n {8}HEALTHY /m, 'a stage name that does not fit gets a line of its own, whole');
      assert.match(plain, /^★ prod-eu-west-2-blue-green-canary\n {8}WAITING /m);
    });
  });
});

describe('gantry stages without a config or stage pointers', () => {
  it('derives the services and stages from the releases and what runs from their deploys, and says so', async () => {
    const dir = await localGantry(scenarioFile({ triggers: [start('v1.4.2')] }), 'PT40M');
    const local = new LocalBackend(dir);
    // The local Gantry as an AWS backend without --config that keeps no stage pointers would answer.
    const bare: GantryBackend = {
      kind: local.kind,
      label: local.label,
      config: () => undefined,
      listReleases: (q) => local.listReleases(q),
      getReleaseEvents: (id) => local.getReleaseEvents(id),
      now: () => local.now(),
      close: () => local.close(),
    } as GantryBackend;
    const r = await stages(['--json'], { backend: bare });
    assert.equal(r.code, 0, r.stderr);
    const m = stageMatrixSchema.parse(JSON.parse(r.stdout)) as StageMatrix;
    assert.equal(m.layout, 'releases');
    assert.match(m.note ?? '', /no config: services and stages are the ones the releases name/);
    assert.match(m.note ?? '', /keeps no stage pointers/);
    assert.deepEqual(
      m.services.map((s) => s.service),
      ['payments'],
      'ledger has no release: not shown without a config',
    );
    assert.deepEqual(
      m.services[0]?.stages.map((c) => [c.stage, c.production]),
      [
        ['dev', false],
        ['staging', false],
        ['prod', true],
      ],
    );
    const dev = cell(m, 'payments', 'dev');
    assert.equal(dev.state, 'HEALTHY');
    assert.equal(dev.running?.digest, D2, 'from the release that deployed it');
    assert.equal(dev.lastKnownGood?.digest, D2, 'from the release that promoted it');
    assert.equal(cell(m, 'payments', 'prod').state, 'WAITING');
    const human = await stages([], { backend: bare, columns: 80 });
    assert.match(human.stdout, /\nnote: no config: /);
    assertFits(human.stdout, 80);

    const unknown = await stages(['--service', 'billing'], { backend: bare });
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /--service: no release of "billing" in .*, and no config to name its stages; expected one of payments \(or give --config\)/);
  });
});

describe('gantry stages: a release asked to stop (gantry abort, decision 053)', () => {
  it('says who asked to stop the release at work in the stage, and why, until the reconciler closes it', async () => {
    const ID = 'payments-20261124T100000Z-abc123';
    const carol = 'arn:aws:sts::111122223333:assumed-role/Operators/carol';
    const inputs: LedgerEventInput[] = [
      {
        releaseId: ID,
        stepKey: 'release.started',
        type: 'release.started',
        at: '2026-11-24T10:00:00.000Z',
        data: { service: 'payments', digest: D2, tag: 'v1.4.2', stages: ['dev'] },
      },
      { releaseId: ID, stepKey: 'dev:started', type: 'stage.started', stage: 'dev', at: '2026-11-24T10:00:00.000Z', data: {} },
      { releaseId: ID, stepKey: 'dev:deploy', type: 'deploy.started', stage: 'dev', at: '2026-11-24T10:00:00.000Z', data: { digest: D2 } },
      { releaseId: ID, stepKey: 'release.abort-requested', type: 'abort.requested', at: '2026-11-24T10:02:00.000Z', data: { by: carol, reason: 'wrong digest' } },
    ];
    const events = inputs.reduce<LedgerEvent[]>((acc, i) => [...acc, chainEvent(acc.at(-1), i)], []);
    const ledger: GantryBackend = {
      kind: 'aws',
      label: 'stack Gantry (eu-west-2)',
      config: () => undefined,
      listReleases: async () => [projectRelease(events)].filter((x) => x !== undefined),
      getReleaseEvents: async (id: string) => events.filter((e) => e.releaseId === id),
      now: () => new Date('2026-11-24T10:03:00.000Z'),
      close: () => undefined,
    } as GantryBackend;
    const r = await stages(['--json'], { backend: ledger });
    assert.equal(r.code, 0, r.stderr);
    const dev = cell(stageMatrixSchema.parse(JSON.parse(r.stdout)) as StageMatrix, 'payments', 'dev');
    assert.equal(dev.state, 'IN_FLIGHT');
    assert.deepEqual(dev.inFlight[0]?.abort, { by: carol, reason: 'wrong digest', at: '2026-11-24T10:02:00.000Z' });
    assert.match(dev.inFlight[0]?.message ?? '', /^aborting: asked by arn:aws:sts::111122223333:assumed-role\/Operators\/carol: wrong digest; deploying sha256:2{12}/);
    const human = await stages([], { backend: ledger, columns: 80 });
    assertFits(human.stdout, 80);
    assert.match(human.stdout.replace(/\n +/g, ' '), /↳ release payments-20261124T100000Z-abc123 \(v1\.4\.2\): aborting: asked by /);
  });
});

describe('cellState (pure)', () => {
  const none: CellFacts = { running: null, lastKnownGood: null, inFlight: [], lastOutcome: null };
  const work = { releaseId: 'r1', kind: 'release' as const, waitingFor: null, phase: 'deploy' };
  const wait = { releaseId: 'r2', kind: 'release' as const, waitingFor: 'approval' as const, phase: 'approval' };

  it('EMPTY: nothing ever ran, nothing in flight, no outcome', () => {
    assert.equal(cellState(none).state, 'EMPTY');
  });
  it('HEALTHY: running the last known good', () => {
    assert.equal(cellState({ ...none, running: D1, lastKnownGood: D1 }).state, 'HEALTHY');
    assert.equal(
      cellState({ ...none, running: D1, lastKnownGood: D1, lastOutcome: { releaseId: 'r0', status: 'ROLLED_BACK', deployed: true } }).state,
      'HEALTHY',
      'a rollback that worked',
    );
  });
  it('IN_FLIGHT: something at work wins over something waiting and over a bad outcome', () => {
    const r = cellState({ ...none, running: D1, lastKnownGood: D2, inFlight: [wait, work], lastOutcome: { releaseId: 'r0', status: 'ROLLBACK_FAILED', deployed: true } });
    assert.equal(r.state, 'IN_FLIGHT');
    assert.equal(r.reason, 'release r1 at work (deploy)');
  });
  it('WAITING: only waiters (approval, window, lease, scan)', () => {
    for (const w of ['approval', 'window', 'lease', 'scan'] as const) {
      const r = cellState({ ...none, running: D1, lastKnownGood: D1, inFlight: [{ ...wait, waitingFor: w }] });
      assert.equal(r.state, 'WAITING');
      assert.equal(r.reason, `release r2 waits for ${w}`);
    }
    assert.equal(cellState({ ...none, inFlight: [wait] }).state, 'WAITING', 'even in a stage that never ran anything');
  });
  it('DEGRADED: a failed rollback, a failed or aborted deploy, running ≠ last known good, or no last known good', () => {
    assert.equal(cellState({ ...none, running: D1, lastKnownGood: D1, lastOutcome: { releaseId: 'r0', status: 'ROLLBACK_FAILED', deployed: true } }).state, 'DEGRADED');
    assert.equal(cellState({ ...none, running: D1, lastKnownGood: D1, lastOutcome: { releaseId: 'r0', status: 'FAILED', deployed: true } }).state, 'DEGRADED');
    assert.equal(cellState({ ...none, lastOutcome: { releaseId: 'r0', status: 'FAILED', deployed: true } }).state, 'DEGRADED', 'a first deploy that failed');
    assert.deepEqual(cellState({ ...none, running: D1, lastKnownGood: D1, lastOutcome: { releaseId: 'r0', status: 'ABORTED', deployed: true } }), {
      state: 'DEGRADED',
      reason: 'r0 ended ABORTED after deploying',
    });
    assert.equal(cellState({ ...none, running: D2, lastKnownGood: D1 }).state, 'DEGRADED');
    assert.equal(cellState({ ...none, running: D2 }).state, 'DEGRADED');
  });
  it('a release blocked at its gates (nothing deployed) leaves a healthy stage healthy', () => {
    assert.equal(cellState({ ...none, running: D1, lastKnownGood: D1, lastOutcome: { releaseId: 'r0', status: 'FAILED', deployed: false } }).state, 'HEALTHY');
  });
});

describe('gantry stages against AWS (at the boundary)', () => {
  const OUTPUTS = STACK_OUTPUTS;

  it('reads each stage pointer with one consistent GetItem and each service’s releases with one Query (no Scan)', async () => {
    const doc = mockClient(DynamoDBDocumentClient);
    doc.on(QueryCommand).resolves({ Items: [] });
    doc.on(GetCommand).resolves({});
    doc.on(GetCommand, { Key: { pk: 'STAGE#payments#prod', sk: 'POINTER' } }).resolves({
      Item: {
        pk: 'STAGE#payments#prod',
        sk: 'POINTER',
        entity: 'pointer',
        service: 'payments',
        stage: 'prod',
        running: D2,
        lastKnownGood: D1,
        promoted: [D1],
        updatedAt: '2026-11-24T09:00:00.000Z',
      },
    });
    doc.on(GetCommand, { Key: { pk: 'STAGE#payments#dev', sk: 'POINTER' } }).resolves({
      Item: {
        pk: 'STAGE#payments#dev',
        sk: 'POINTER',
        entity: 'pointer',
        service: 'payments',
        stage: 'dev',
        running: D1,
        lastKnownGood: D1,
        promoted: [D1],
        updatedAt: '2026-11-20T08:00:00.000Z',
      },
    });
    const outputs = join(tmp(), 'outputs.json');
    writeFileSync(outputs, JSON.stringify({ Gantry: OUTPUTS }));
    try {
      const r = await stages(['--outputs', outputs, '--region', 'eu-west-2', '--config', join(ROOT, 'examples', 'gantry.config.json'), '--json']);
      assert.equal(r.code, 0, r.stderr);
      const m = stageMatrixSchema.parse(JSON.parse(r.stdout)) as StageMatrix;

      const gets = doc.commandCalls(GetCommand).map((c) => c.args[0].input);
      assert.equal(gets.length, 6, 'one GetItem per configured stage (payments and ledger, 3 each)');
      for (const g of gets) {
        assert.equal(g.TableName, 'Gantry-Ledger');
        assert.equal(g.ConsistentRead, true);
        assert.match(String(g.Key?.pk), /^STAGE#(payments|ledger)#(dev|staging|prod)$/);
        assert.equal(g.Key?.sk, 'POINTER');
      }
      assert.equal(doc.commandCalls(QueryCommand).length, 2, 'one Query per service (its releases, by the service index)');
      assert.equal(doc.commandCalls(ScanCommand).length, 0);
      assert.equal(doc.calls().length, 8, 'nothing else is read, and nothing written');

      assert.equal(m.simulated, false);
      assert.match(m.source, /Gantry/);
      const prod = cell(m, 'payments', 'prod');
      assert.equal(prod.state, 'DEGRADED', 'running ≠ last known good');
      assert.equal(prod.running?.since, '2026-11-24T09:00:00.000Z', "no release in the ledger: the pointer's updatedAt");
      assert.equal(prod.lastKnownGood?.digest, D1);
      const dev = cell(m, 'payments', 'dev');
      assert.equal(dev.state, 'HEALTHY');
      assert.equal(cell(m, 'payments', 'staging').state, 'EMPTY', 'no pointer item');
    } finally {
      doc.restore();
    }
  });

  it('exits 4 naming the table when the pointer cannot be read', async () => {
    const doc = mockClient(DynamoDBDocumentClient);
    doc.on(QueryCommand).resolves({ Items: [] });
    doc
      .on(GetCommand)
      .rejects(Object.assign(new Error('User is not authorized to perform: dynamodb:GetItem'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } }));
    const outputs = join(tmp(), 'outputs.json');
    writeFileSync(outputs, JSON.stringify({ Gantry: OUTPUTS }));
    try {
      const r = await stages(['--outputs', outputs, '--region', 'eu-west-2', '--config', join(ROOT, 'examples', 'gantry.config.json'), '--service', 'payments']);
      assert.equal(r.code, 4);
      assert.match(r.stderr, /reading the stage pointer of payments\/dev from the ledger table Gantry-Ledger failed: AccessDeniedException/);
    } finally {
      doc.restore();
    }
  });
});
