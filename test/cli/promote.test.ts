/**
 * `gantry promote` (decision 054) through the real release workflow on a local Gantry made from the operator
 * walk-through (prod waits for an approval by ReleaseApprovers): only the stage promoted to runs, with every gate
 * of it; gate promotion.previous-stage refuses a digest the stage before never promoted, or was rolled back away
 * from, when the release is prepared and again right before the deploy; bad options exit 2 naming the option.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { Command } from 'commander';
import { describe, it } from 'vitest';
import { parseConfig } from '../../lambdas/domain/config';
import type { Ledger } from '../../lambdas/ports';
import { AwsBackend } from '../../cli/backends/aws-backend';
import { advanceLocalGantry, LocalBackend } from '../../cli/backends/local-backend';
import { toStackOutputs } from '../../cli/backends/stack';
import type { OperatorIo } from '../../cli/commands/common';
import { promoteInput, registerPromoteCommand } from '../../cli/commands/promote';
import { CliInputError } from '../../cli/errors';
import { startOutputSchema, statusOutputSchema } from '../../cli/render/schemas';
import { alice, bob, D1, D2, example, gantry, gantryProcess, localGantry, ROOT } from './helpers';
import { STACK_OUTPUTS } from './stack-fixture';

async function release(dir: string, id: string) {
  const b = new LocalBackend(dir);
  try {
    const summary = (await b.listReleases({ service: 'payments' })).find((r) => r.releaseId === id);
    assert.ok(summary, `release ${id}`);
    return { summary, events: await b.getReleaseEvents(id), prod: await b.stagePointer('payments', 'prod') };
  } finally {
    b.close();
  }
}

/** A local Gantry where alice released D2 (v1.4.2) through dev and staging only: both promoted it. */
async function stagingHasD2(): Promise<string> {
  const dir = await localGantry(example('operator-walkthrough'), 'PT10M');
  const r = await gantry('start', '--local', dir, '--service', 'payments', '--digest', D2, '--stages', 'dev,staging', '--as', alice);
  assert.equal(r.code, 0, r.stderr);
  await advanceLocalGantry(dir, { advance: 'PT1H' });
  return dir;
}

async function promote(dir: string, ...extra: string[]) {
  const r = await gantry('promote', '--local', dir, '--service', 'payments', '--to', 'prod', '--as', alice, '--json', ...extra);
  return { ...r, body: r.stdout ? startOutputSchema.parse(JSON.parse(r.stdout)) : undefined };
}

describe('gantry promote --local', () => {
  it('promotes a digest staging promoted to prod: only prod runs, with its gates, and SUCCEEDS', async () => {
    const dir = await stagingHasD2();

    const started = await promote(dir, '--digest', D2, '--reason', 'CHG-42');
    const id = started.body?.releaseId as string;
    const approved = await gantry('approve', id, '--stage', 'prod', '--local', dir, '--as', bob);
    await advanceLocalGantry(dir, { advance: 'PT1H' });
    const { summary, events, prod } = await release(dir, id);
    const status = statusOutputSchema.parse(JSON.parse((await gantry('status', id, '--local', dir, '--json')).stdout));
    const human = await gantry('status', id, '--local', dir);
    const shown = gantryProcess('audit', 'show', id, '--local', dir);
    const report = await gantry('report', id, '--local', dir);

    assert.equal(started.code, 0, started.stderr);
    assert.deepEqual(started.body?.input, { service: 'payments', image: { digest: D2 }, startAt: 'prod', reason: 'CHG-42' });
    assert.equal(approved.code, 0, approved.stderr);
    assert.equal(summary.status, 'SUCCEEDED');
    assert.equal(summary.startAt, 'prod');
    assert.deepEqual(
      summary.stages.map((s) => s.name),
      ['prod'],
    );
    assert.deepEqual([...new Set(events.filter((e) => e.stage).map((e) => e.stage))], ['prod'], 'no event of this release touches dev or staging');
    const gates = summary.stages[0]!.gates.map((g) => `${g.gate}:${g.result}`);
    for (const g of ['promotion.previous-stage:PASS', 'window:PASS', 'image.exists:PASS', 'image.scan:PASS', 'approval:PASS', 'alarms.pre-deploy:PASS', 'bake:PASS']) {
      assert.ok(gates.includes(g), `${g} in ${gates.join(' ')}`);
    }
    assert.equal(gates.filter((g) => g === 'promotion.previous-stage:PASS').length, 2, 'taken when prepared and again at the deploy');
    const gate = summary.stages[0]!.gates.find((g) => g.gate === 'promotion.previous-stage');
    assert.match(gate!.reason, /was promoted in payments\/staging by payments-\S+ at 2026-11-24T\S+ and not rolled back there since/);
    assert.equal(prod?.running, D2);
    assert.equal(status.releases[0]?.startAt, 'prod');
    assert.match(human.stdout, /promotion {2}starts at prod/);
    assert.match(shown.stdout, /promotion {2}starts at prod \(gate promotion.previous-stage\)/);
    assert.match(report.stdout, /<dt>Promotion<\/dt><dd>starts at <code>prod<\/code> \(gate promotion.previous-stage\)<\/dd>/);
  });

  it('refuses a digest staging never promoted: BLOCKED, the gate FAIL names what staging did promote, nothing deployed', async () => {
    const dir = await localGantry(example('operator-walkthrough'), 'PT10M');

    const r = await gantry('promote', '--local', dir, '--service', 'payments', '--to', 'prod', '--digest', D2, '--as', alice);
    const b = new LocalBackend(dir);
    const [summary] = await b.listReleases({ service: 'payments' });
    const events = await b.getReleaseEvents(summary!.releaseId);
    const prod = await b.stagePointer('payments', 'prod');
    b.close();

    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^gantry: prod: promotion.previous-stage: ${D2} was never promoted in payments/staging: it promoted ${D1}`));
    assert.match(r.stderr, /nothing was deployed \(the refusal is recorded as payments-/);
    assert.match(
      r.stderr,
      new RegExp(`digests promoted in payments/staging, newest first \\(running: ${D1}\\):\\n  ${D1}  \\(no tag\\)  \\(promoted before any release in the ledger\\)`),
    );
    assert.doesNotMatch(r.stdout, /^Started/m, 'the refusal is not announced as a start');
    assert.equal(summary?.status, 'BLOCKED');
    assert.deepEqual(
      summary?.stages.map((s) => [s.name, s.status]),
      [['prod', 'BLOCKED']],
    );
    const gate = summary?.stages[0]?.gates.find((g) => g.gate === 'promotion.previous-stage');
    assert.equal(gate?.result, 'FAIL');
    assert.deepEqual((gate?.evidence as { promoted: string[] }).promoted, [D1]);
    assert.equal(events.filter((e) => e.type === 'deploy.started' || e.type === 'stage.started' || e.type === 'lease.acquired').length, 0, 'nothing started or deployed');
    assert.equal(prod?.running, D1);
  });

  it('refuses a digest staging was rolled back away from (an operator rollback for an alarm)', async () => {
    const dir = await stagingHasD2();
    const rb = await gantry('rollback', '--local', dir, '--service', 'payments', '--stage', 'staging', '--reason', 'INC-7 staging 5xx alarm', '--as', alice);
    await advanceLocalGantry(dir, { advance: 'PT30M' });

    const r = await promote(dir, '--digest', D2);
    const { summary } = await release(dir, r.body?.releaseId as string);
    const headline = await gantry('status', '--local', dir, '--json');

    assert.equal(rb.code, 0, rb.stderr);
    assert.equal(r.code, 1);
    assert.equal(r.body?.status, 'BLOCKED');
    assert.match(r.body?.reason ?? '', new RegExp(`promotion.previous-stage: ${D2} was rolled back away from payments/staging by payments-\\S+ at \\S+ \\(.*INC-7`));
    assert.equal(summary.stages[0]?.status, 'BLOCKED');
    const shown = statusOutputSchema.parse(JSON.parse(headline.stdout)).releases.map((x) => x.releaseId);
    assert.ok(!shown.includes(r.body?.releaseId as string), 'a refused promotion is not the status headline');
  });

  it('blocks the deploy when staging is rolled back away from the digest while prod waits for its approval', async () => {
    const dir = await stagingHasD2();
    const started = await promote(dir, '--digest', D2);
    const id = started.body?.releaseId as string;
    const rb = await gantry('rollback', '--local', dir, '--service', 'payments', '--stage', 'staging', '--reason', 'INC-8 staging latency alarm', '--as', alice);
    await advanceLocalGantry(dir, { advance: 'PT30M' });
    const approved = await gantry('approve', id, '--stage', 'prod', '--local', dir, '--as', bob);
    await advanceLocalGantry(dir, { advance: 'PT1H' });
    const { summary, events, prod } = await release(dir, id);

    assert.equal(started.code, 0, started.stderr);
    assert.equal(started.body?.status, 'RUNNING');
    assert.equal(rb.code, 0, rb.stderr);
    assert.equal(approved.code, 0, approved.stderr);
    assert.equal(summary.status, 'BLOCKED');
    const checks = summary.stages[0]!.gates.filter((g) => g.gate === 'promotion.previous-stage').map((g) => [g.result, g.reason.startsWith('at deploy time: ')]);
    assert.deepEqual(checks, [
      ['PASS', false],
      ['FAIL', true],
    ]);
    assert.match(summary.reason ?? '', /at deploy time: .* was rolled back away from payments\/staging .*INC-8/);
    assert.equal(events.filter((e) => e.type === 'deploy.started').length, 0, 'nothing deployed');
    assert.equal(prod?.running, D1);
  });

  it('expands a short digest only when one digest promoted in staging starts with it', async () => {
    const dir = await stagingHasD2();

    const unknown = await promote(dir, '--digest', 'sha256:333333333333');
    const short = await promote(dir, '--digest', 'sha256:222222222222');

    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, new RegExp(`--digest: no digest promoted in payments/staging starts with sha256:333333333333; promoted there: ${D1}, ${D2}`));
    assert.equal(short.code, 0, short.stderr);
    assert.deepEqual(short.body?.input.image, { digest: D2 }, 'the input carries the full digest');
  });

  it('exits 2 naming the option for the first stage, an unknown stage and a bad digest, and starts nothing', async () => {
    const dir = await localGantry(example('operator-walkthrough'), 'PT10M');
    const run = (...a: string[]) => gantry('promote', '--local', dir, '--service', 'payments', ...a);

    const first = await run('--to', 'dev', '--digest', D2);
    const unknown = await run('--to', 'qa', '--digest', D2);
    const bad = await run('--to', 'prod', '--digest', 'sha256:xyz');
    const service = await run('--service', 'nope', '--to', 'prod', '--digest', D2);
    const list = JSON.parse((await gantry('releases', '--local', dir, '--json')).stdout) as { releases: unknown[] };

    assert.equal(first.code, 2);
    assert.match(first.stderr, /--to: dev is the first stage of payments: a release from it is a normal release \(gantry start\); promote to one of staging, prod/);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /--to: expected one of the stages of payments after the first \(staging, prod\), got "qa"/);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--digest: expected a digest sha256:<64 lowercase hex characters>/);
    assert.equal(service.code, 2);
    assert.match(service.stderr, /--service: expected one of the services in the config/);
    assert.equal(list.releases.length, 0, 'nothing was started');
  });
});

describe('promoteInput (the dashboard reuses it)', () => {
  it('builds the release input with startAt, and refuses bad fields naming the option', () => {
    assert.deepEqual(promoteInput({ service: 'payments', digest: D2, to: 'prod', reason: 'CHG-1', breakGlass: 'INC-1' }), {
      service: 'payments',
      image: { digest: D2 },
      startAt: 'prod',
      reason: 'CHG-1',
      breakGlass: { reason: 'INC-1' },
    });
    assert.throws(
      () => promoteInput({ service: 'payments', digest: 'sha256:12', to: 'prod' }),
      (e: unknown) => e instanceof CliInputError && /--digest:/.test(e.message),
    );
  });
});

describe('gantry promote against AWS', () => {
  const OUTPUTS = STACK_OUTPUTS;
  const config = parseConfig(JSON.parse(readFileSync(join(ROOT, 'examples', 'gantry.config.json'), 'utf8')));
  /** The read-only ledger the CLI reads: staging promoted D1 then D2; no release events. */
  const ledger = {
    getPointer: async (service: string, stage: string) => (stage === 'staging' ? { service, stage, running: D2, promoted: [D1, D2] } : undefined),
    listReleases: async () => [],
    events: async () => [],
  } as unknown as Ledger;

  async function promoteAws(withConfig: boolean, ...args: string[]) {
    const calls: unknown[] = [];
    const sfn = mockClient(SFNClient);
    sfn.on(DescribeExecutionCommand).resolves({ status: 'RUNNING', executionArn: 'arn', stateMachineArn: OUTPUTS.ReleaseStateMachineArn, startDate: new Date() });
    const b = new AwsBackend({
      outputs: toStackOutputs('Gantry', OUTPUTS),
      region: 'eu-west-2',
      sfn: new SFNClient({ region: 'eu-west-2' }),
      ledger,
      ...(withConfig ? { config } : {}),
      operatorApi: async (_route, body) => {
        calls.push(body);
        return {
          status: 200,
          body: {
            kind: 'release',
            releaseId: 'payments-20261124T104000Z-abc123',
            executionArn: `${OUTPUTS.ReleaseStateMachineArn}:x`,
            principal: alice,
            at: '2026-11-24T10:40:00.000Z',
          },
        };
      },
      now: () => new Date('2026-11-24T10:40:00Z'),
    });
    const out: string[] = [];
    const err: string[] = [];
    let code = 0;
    const io: OperatorIo = { out: (t) => out.push(t), err: (t) => err.push(t), isTTY: false, env: {}, sleep: async () => undefined, openBackend: async () => b };
    const program = new Command('gantry').exitOverride();
    registerPromoteCommand(program, (c) => (code = Math.max(code, c)), io);
    try {
      await program.parseAsync(['node', 'gantry', 'promote', '--service', 'payments', '--to', 'prod', ...args]);
    } catch (e) {
      if (!(e instanceof CliInputError)) throw e;
      code = 2;
      err.push(e.message);
    } finally {
      sfn.restore();
    }
    return { code, calls, stdout: out.join('\n'), stderr: err.join('\n') };
  }

  it('sends the signed start of a release input with startAt and the full digest, a short one expanded from the ledger pointer', async () => {
    const r = await promoteAws(true, '--digest', 'sha256:222222222222', '--reason', 'CHG-9');

    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.calls, [{ service: 'payments', image: { digest: D2 }, startAt: 'prod', reason: 'CHG-9' }]);
    assert.match(r.stdout, /Started promotion of payments to prod: payments-20261124T104000Z-abc123/);
  });

  it('without the config: a full digest is sent (the API validates it), a short one exits 2 saying why', async () => {
    const full = await promoteAws(false, '--digest', D2);
    const short = await promoteAws(false, '--digest', 'sha256:222222222222');

    assert.equal(full.code, 0, full.stderr);
    assert.deepEqual(full.calls, [{ service: 'payments', image: { digest: D2 }, startAt: 'prod' }]);
    assert.equal(short.code, 2);
    assert.match(
      short.stderr,
      /--digest: give the full digest sha256:<64 hex>: the short sha256:222222222222 cannot be expanded: the deployment config is not known here \(--config/,
    );
    assert.deepEqual(short.calls, [], 'nothing was sent');
  });
});
