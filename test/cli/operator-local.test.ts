/**
 * The operator commands against a local Gantry (`--local <dir>`): every waiting reason in words, every
 * release status with its exit code, `--json` validated against cli/render/schemas.ts, and the mutating
 * commands (start, approve, reject, rollback, freeze) re-running the simulation at the local "now".
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { verifyExport, parseExport } from '../../lambdas/domain/audit';
import { advanceLocalGantry } from '../../cli/backends/local-backend';
import { clock, type OperatorIo, useColour } from '../../cli/commands/common';
import { runStatus } from '../../cli/commands/status';
import { freezeOutputSchema, releasesOutputSchema, startOutputSchema, statusOutputSchema } from '../../cli/render/schemas';
import { alice, bob, D1, D2, D3, example, gantry, gantryProcess, localGantry, mallory, scenarioFile } from './helpers';

const push = (digest: string, tag: string, at = 'PT0S') => ({
  type: 'ecr-push',
  repository: 'payments-api',
  tag,
  digest,
  principal: 'arn:aws:sts::111122223333:assumed-role/ci-pusher/build-42',
  at,
});
const start = (tag: string, at = 'PT0S') => ({ type: 'start', principal: alice, input: { service: 'payments', image: { tag }, reason: 'CHG-1' }, at });

async function statusJson(dir: string, ...args: string[]) {
  const r = await gantry('status', '--local', dir, '--json', ...args);
  const parsed = statusOutputSchema.safeParse(JSON.parse(r.stdout || 'null'));
  assert.ok(parsed.success, `status --json matches its schema: ${parsed.success ? '' : parsed.error.message} ${r.stderr}`);
  return { ...r, body: parsed.data };
}
const stage = (body: { releases: Array<{ stages: Array<{ name: string }> }> }, name: string, i = 0) => {
  const s = body.releases[i]?.stages.find((x) => x.name === name);
  assert.ok(s, `stage ${name}`);
  return s as (typeof body.releases)[number]['stages'][number] & Record<string, any>;
};

describe('gantry status --local: why a stage waits, in words', () => {
  it('says a stage waits for the image scan while ECR is still scanning', async () => {
    const dir = await localGantry(example('demo'), 'PT1M');

    const { code, body } = await statusJson(dir);
    const human = await gantry('status', '--local', dir);

    assert.equal(code, 0);
    const dev = stage(body, 'dev');
    assert.equal(dev.status, 'WAITING');
    assert.equal(dev.phase, 'scan');
    assert.equal(dev.waiting?.for, 'scan');
    assert.match(human.stdout, /dev\s+WAITING\s+waiting for the image scan: scan IN_PROGRESS/);
    assert.match(human.stdout, /blocks if not done by \w{3} \d+ \w{3} \d\d:\d\d UTC/);
    assert.equal(typeof dev.waiting?.until, 'string');
  });

  it('says how far a bake has got and how its alarms stand', async () => {
    const dir = await localGantry(example('demo'), 'PT20M');

    const { body } = await statusJson(dir);
    const human = await gantry('status', '--local', dir);

    const staging = stage(body, 'staging');
    assert.equal(staging.phase, 'bake');
    assert.deepEqual(staging.waiting?.alarms, ['payments-staging-5xx', 'payments-staging-latency-p99']);
    assert.match(human.stdout, /staging\s+WAITING\s+baking: 5 of 15 min, 2 alarms OK/);
    assert.match(human.stdout, /prod\s+NOT_STARTED\s+not started yet/);
  });

  it("says when a closed deployment window opens, in the stage's time zone", async () => {
    // Friday 27 Nov 2026: prod may deploy Mon–Thu 09:00–16:00 Europe/London.
    const dir = await localGantry(scenarioFile({ window: true, approval: false, clock: '2026-11-27T10:00:00Z', triggers: [push(D2, 'v1.4.2')] }), 'PT1H');

    const { body } = await statusJson(dir);
    const human = await gantry('status', '--local', dir);

    const prod = stage(body, 'prod');
    assert.equal(prod.waiting?.for, 'window');
    assert.equal(prod.waiting?.until, '2026-11-30T09:00:00.000Z');
    assert.match(human.stdout, /prod\s+WAITING\s+waiting for window: opens Mon 30 Nov 09:00 Europe\/London/);
  });

  it('says who must approve and how long ago they were asked', async () => {
    const dir = await localGantry(scenarioFile({ triggers: [start('v1.4.2')] }), 'PT40M');

    const { body } = await statusJson(dir);
    const human = await gantry('status', '--local', dir);

    const prod = stage(body, 'prod');
    assert.equal(prod.phase, 'approval');
    assert.deepEqual(prod.waiting?.approvers, ['arn:aws:iam::111122223333:role/ReleaseApprovers']);
    assert.match(human.stdout, /prod\s+WAITING\s+awaiting approval by ReleaseApprovers, requested 13 min ago/);
  });

  it('says which release holds the lease a second release of the service waits for', async () => {
    const dir = await localGantry(scenarioFile({ approval: false, triggers: [start('v1.4.2'), start('v1.4.3')] }), 'PT5M');

    const { body } = await statusJson(dir, '--service', 'payments');

    assert.equal(body.releases.length, 2, 'both running releases are shown');
    const waiting = body.releases.find((r) => r.stages[0]?.waiting?.for === 'lease');
    const holder = body.releases.find((r) => r !== waiting);
    assert.ok(waiting && holder);
    assert.equal(waiting.stages[0]?.waiting?.holder, holder.releaseId);
    assert.match(waiting.stages[0]?.activity ?? '', new RegExp(`waiting for the dev lease held by release ${holder.releaseId}`));
  });
});

describe('gantry status --local: every release status and its exit code', () => {
  const cases: Array<[string, () => string, string | undefined, string, number]> = [
    ['SUCCEEDED', () => example('demo'), undefined, 'SUCCEEDED', 0],
    ['RUNNING', () => example('demo'), 'PT20M', 'RUNNING', 0],
    ['ROLLED_BACK', () => example('prod-alarm-during-bake'), undefined, 'ROLLED_BACK', 1],
    ['BLOCKED', () => example('image-critical-finding'), undefined, 'BLOCKED', 1],
    ['FAILED', () => example('first-release-deploy-failure'), undefined, 'FAILED', 1],
    ['ABORTED', () => example('abort-during-bake'), undefined, 'ABORTED', 1],
    [
      'ROLLBACK_FAILED',
      () =>
        scenarioFile({
          approval: false,
          triggers: [start('v1.4.2')],
          script: [
            { when: { service: 'payments', stage: 'staging', phase: 'deploy' }, deploy: { result: 'FAILED', message: 'UPGRADE FAILED: timed out' } },
            { when: { service: 'payments', stage: 'staging', phase: 'rollback' }, deploy: { result: 'FAILED', message: 'rollback failed too' } },
          ],
        }),
      undefined,
      'ROLLBACK_FAILED',
      1,
    ],
    ['REJECTED', () => scenarioFile({ triggers: [start('v1.4.2')] }), undefined, 'REJECTED', 1],
  ];
  for (const [name, scenario, until, status, exit] of cases) {
    it(`shows a ${name} release and exits ${exit}`, async () => {
      const dir = await localGantry(scenario(), until);

      const { code, body } = await statusJson(dir);
      const human = await gantry('status', '--local', dir);
      const list = await gantry('releases', '--local', dir, '--json');

      assert.equal(body.releases[0]?.status, status);
      assert.equal(code, exit);
      assert.equal(human.code, exit);
      assert.match(human.stdout, new RegExp(`RELEASE \\S+ — ${status}`));
      assert.doesNotMatch(human.stdout, /\x1b\[/, 'no colour when stdout is not a terminal');
      const parsed = releasesOutputSchema.safeParse(JSON.parse(list.stdout));
      assert.ok(parsed.success, parsed.success ? '' : parsed.error.message);
      assert.equal(parsed.data.releases[0]?.status, status);
    });
  }
});

describe('gantry start|approve|reject|rollback|freeze --local', () => {
  it('starts a release at the local now, prints its id and how to follow it, and it runs when the clock moves', async () => {
    const dir = await localGantry(scenarioFile(), 'PT0S');

    const r = await gantry('start', '--local', dir, '--service', 'payments', '--tag', 'v1.4.2', '--stages', 'dev', '--reason', 'CHG-7', '--as', alice);
    await advanceLocalGantry(dir, { advance: 'PT30M' });
    const after = await statusJson(dir);

    assert.equal(r.code, 0, r.stderr);
    const id = /Started release of payments: (\S+)/.exec(r.stdout)?.[1];
    assert.ok(id, r.stdout);
    assert.match(r.stdout, new RegExp(`gantry status ${id} --local ${dir.replace(/[/\\]/g, '.')} --watch`));
    assert.equal(after.body.releases[0]?.releaseId, id);
    assert.equal(after.body.releases[0]?.status, 'SUCCEEDED');
    assert.equal(after.body.releases[0]?.initiator, alice);
    assert.equal(after.body.releases[0]?.requestReason, 'CHG-7');
    assert.deepEqual(
      after.body.releases[0]?.stages.map((s) => s.name),
      ['dev'],
    );
  });

  it('prints the started release as JSON that matches its schema', async () => {
    const dir = await localGantry(scenarioFile(), 'PT0S');

    const r = await gantry('start', '--local', dir, '--service', 'payments', '--digest', D2, '--json');

    assert.equal(r.code, 0, r.stderr);
    const parsed = startOutputSchema.safeParse(JSON.parse(r.stdout));
    assert.ok(parsed.success, parsed.success ? '' : parsed.error.message);
    assert.equal(parsed.data.kind, 'release');
    assert.equal(parsed.data.simulated, true);
    assert.deepEqual(parsed.data.input, { service: 'payments', image: { digest: D2 } });
  });

  it('refuses a bad input before starting anything, one line per problem, exit 2', async () => {
    const dir = await localGantry(scenarioFile(), 'PT0S');

    const r = await gantry('start', '--local', dir, '--service', 'payments', '--tag', 'v1;rm -rf', '--stages', 'prod');
    const both = await gantry('start', '--local', dir, '--service', 'payments', '--tag', 'v1.4.2', '--digest', D2);
    const unknown = await gantry('start', '--local', dir, '--service', 'billing', '--tag', 'v1');
    const list = await gantry('releases', '--local', dir, '--json');

    assert.equal(r.code, 2);
    assert.match(r.stderr, /image\.tag: expected an image tag matching/);
    assert.match(r.stderr, /stages: expected a non-empty prefix of the stages of payments/);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /either --tag or --digest/);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /service: expected one of the services in the config \(payments, ledger\)/);
    assert.equal(JSON.parse(list.stdout).releases.length, 0, 'nothing was started');
  });

  it('approves a waiting stage as an approver, after refusing someone who is not one', async () => {
    const dir = await localGantry(scenarioFile({ triggers: [start('v1.4.2')] }), 'PT40M');
    const id = (await statusJson(dir)).body.releases[0]?.releaseId as string;

    const refused = await gantry('approve', id, '--stage', 'prod', '--local', dir, '--as', mallory);
    const approved = await gantry('approve', id, '--stage', 'prod', '--local', dir, '--as', bob, '--comment', 'ok for CHG-1');
    const deploying = await statusJson(dir);
    await advanceLocalGantry(dir, { advance: 'PT1H' });
    const done = await statusJson(dir);

    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /refused: .*(not an approver|not allowed|ReleaseApprovers)/i);
    assert.equal(approved.code, 0, approved.stderr);
    assert.match(approved.stdout, new RegExp(`APPROVED: prod of ${id} by ${bob.replace(/[/]/g, '.')}`));
    assert.equal(stage(deploying.body, 'prod').phase, 'deploy');
    assert.equal(done.body.releases[0]?.status, 'SUCCEEDED');
    assert.equal(stage(done.body, 'prod').approval?.principal, bob);
    assert.equal(done.code, 0);
  });

  it('rejects a waiting stage, and says so when nothing waits any more', async () => {
    const dir = await localGantry(scenarioFile({ triggers: [start('v1.4.2')] }), 'PT40M');
    const id = (await statusJson(dir)).body.releases[0]?.releaseId as string;

    const rejected = await gantry('reject', id, '--stage', 'prod', '--local', dir, '--as', bob, '--comment', 'not today');
    const again = await gantry('approve', id, '--stage', 'prod', '--local', dir, '--as', bob);
    const status = await statusJson(dir);
    const unknown = await gantry('approve', 'no-such-release', '--stage', 'prod', '--local', dir, '--as', bob);

    assert.equal(rejected.code, 0, rejected.stderr);
    assert.match(rejected.stdout, /REJECTED: prod/);
    assert.equal(status.body.releases[0]?.status, 'REJECTED');
    assert.equal(status.code, 1);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /no approval is waiting for prod of/);
    assert.equal(unknown.code, 3);
  });

  it('rolls a stage back to the digest promoted before, and refuses a digest never promoted there', async () => {
    const dir = await localGantry(example('demo'));

    const refused = await gantry('rollback', '--local', dir, '--service', 'payments', '--stage', 'prod', '--digest', D3, '--reason', 'INC-1');
    const started = await gantry('rollback', '--local', dir, '--service', 'payments', '--stage', 'prod', '--reason', 'INC-2', '--json');
    await advanceLocalGantry(dir, { advance: 'PT30M' });
    const list = releasesOutputSchema.parse(JSON.parse((await gantry('releases', '--local', dir, '--json', '--service', 'payments')).stdout));

    assert.equal(refused.code, 1);
    assert.match(refused.stderr, new RegExp(`rollback refused: digest ${D3} was never promoted in this stage`));
    assert.match(refused.stderr, /nothing was deployed/);
    assert.equal(started.code, 0, started.stderr);
    const s = startOutputSchema.parse(JSON.parse(started.stdout));
    assert.equal(s.kind, 'rollback');
    const rollback = list.releases.find((r) => r.releaseId === s.releaseId);
    assert.equal(rollback?.status, 'ROLLED_BACK');
    assert.equal((await statusJson(dir, s.releaseId)).code, 0, 'a rollback that did its job exits 0');
    assert.equal(rollback?.digest, D1);
  });

  it('refuses a rollback before saying anything started, and lists the digests --digest may name, newest first, with tags and times', async () => {
    const dir = await localGantry(scenarioFile({ approval: false, triggers: [start('v1.4.2'), start('v1.4.3', 'PT2H')] }));
    const D4 = `sha256:${'4'.repeat(64)}`;
    const promotedAt = (digest: string) =>
      readFileSync(join(dir, 'ledger.jsonl'), 'utf8')
        .split('\n')
        .filter((l) => l.includes('"stage.promoted"'))
        .map((l) => JSON.parse(l) as { type: string; stage?: string; at: string; data: { digest?: string } })
        .find((e) => e.type === 'stage.promoted' && e.stage === 'prod' && e.data.digest === digest)?.at;

    const refused = await gantry('rollback', '--local', dir, '--service', 'payments', '--stage', 'prod', '--digest', D4, '--reason', 'INC-3');

    assert.equal(refused.code, 1, 'a refused rollback exits 1');
    assert.equal(refused.stdout, '', 'nothing says it started');
    assert.doesNotMatch(refused.stderr, /Started|follow/);
    const lines = refused.stderr.trimEnd().split('\n');
    assert.match(lines[0] ?? '', new RegExp(`^gantry: rollback refused: digest ${D4} was never promoted in this stage`), 'the refusal comes first');
    assert.match(lines[1] ?? '', /^nothing was deployed \(the refusal is recorded as payments-rollback-/);
    assert.equal(lines[2], `digests promoted in payments/prod that --digest may name, newest first (running: ${D3}):`);
    const at2 = promotedAt(D2);
    assert.ok(at2, 'v1.4.2 was promoted in prod');
    assert.equal(lines[3], `  ${D2}  v1.4.2  promoted ${clock(at2)}`, 'the newest promotion first, in full, with its tag and time');
    assert.equal(lines[4], `  ${D1}  (no tag)  (promoted before any release in the ledger)`, 'the seeded digest last');
    assert.equal(lines[5], `roll back with: gantry rollback --service payments --stage prod --local ${dir} --digest <digest> --reason "<why>"`);
    assert.equal(lines.length, 6);
    assert.ok(!refused.stderr.includes(`  ${D3}  `), 'the running digest is not offered');

    // --json carries the same list, whole digests with their tags and times.
    const asJson = await gantry('rollback', '--local', dir, '--service', 'payments', '--stage', 'prod', '--digest', D4, '--reason', 'INC-3', '--json');
    assert.equal(asJson.code, 1);
    const body = startOutputSchema.parse(JSON.parse(asJson.stdout));
    assert.equal(body.status, 'BLOCKED');
    assert.deepEqual(body.rollbackTargets, {
      running: D3,
      candidates: [
        { digest: D2, tags: ['v1.4.2'], promotedAt: at2 },
        { digest: D1, tags: [] },
      ],
    });
  });

  it('says there is nothing to roll back to when only the running digest was promoted', async () => {
    const dir = await localGantry(scenarioFile(), 'PT0S');
    const r = await gantry('rollback', '--local', dir, '--service', 'payments', '--stage', 'prod', '--digest', D1, '--reason', 'INC-4');

    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.deepEqual(r.stderr.trimEnd().split('\n').slice(0, 1), [`gantry: rollback refused: digest ${D1} is already running in this stage`]);
    assert.match(r.stderr, new RegExp(`\nno digest other than the one running \\(${D1}\\) was promoted in payments/prod: there is nothing to roll back to\n$`));
  });

  it('gantry status with no id passes over a refused rollback for the release that did something, and shows it when nothing else is there', async () => {
    const dir = await localGantry(scenarioFile({ approval: false, triggers: [start('v1.4.2')] }));
    const refused = await gantry('rollback', '--local', dir, '--service', 'payments', '--stage', 'prod', '--digest', D3, '--reason', 'INC-5');
    const rollbackId = /recorded as (\S+)\)/.exec(refused.stderr)?.[1];
    assert.ok(rollbackId, refused.stderr);

    const list = releasesOutputSchema.parse(JSON.parse((await gantry('releases', '--local', dir, '--json')).stdout));
    const releaseId = list.releases.find((r) => r.releaseId !== rollbackId)?.releaseId;
    assert.ok(releaseId);
    const plain = await gantry('status', '--local', dir);
    const body = (await statusJson(dir)).body;
    const bySvc = (await statusJson(dir, '--service', 'payments')).body;

    assert.equal(plain.code, 0, "the exit code is the headline release's");
    assert.match(plain.stdout, new RegExp(`^RELEASE ${releaseId} — SUCCEEDED`));
    assert.match(plain.stderr, new RegExp(`passing over 1 newer refused rollback\\(s\\) or promotion\\(s\\), which deployed nothing \\(${rollbackId}\\)`));
    assert.deepEqual(
      body?.releases.map((r) => r.releaseId),
      [releaseId],
    );
    assert.deepEqual(
      bySvc?.releases.map((r) => r.releaseId),
      [releaseId],
    );
    const byId = await statusJson(dir, rollbackId);
    assert.equal(byId.body?.releases[0]?.status, 'BLOCKED', 'named by id, the refused rollback is still shown');

    const empty = await localGantry(scenarioFile(), 'PT0S');
    await gantry('rollback', '--local', empty, '--service', 'payments', '--stage', 'prod', '--digest', D3, '--reason', 'INC-6');
    const only = await gantry('status', '--local', empty);
    assert.match(only.stdout, /^ROLLBACK payments-rollback-\S+ — BLOCKED: rollback refused/, 'nothing else there: the refusal is the headline');
    assert.equal(only.code, 1);
  });

  it('needs a reason for a rollback', async () => {
    const dir = await localGantry(example('demo'));

    const r = await gantry('rollback', '--local', dir, '--service', 'payments', '--stage', 'prod');

    assert.equal(r.code, 2);
    assert.match(r.stderr, /--reason/);
  });

  it('turns the freeze on and off, records who and why, and a release started meanwhile is blocked', async () => {
    const dir = await localGantry(scenarioFile({ approval: false }), 'PT0S');

    const noReason = await gantry('freeze', 'on', '--local', dir);
    const on = await gantry('freeze', 'on', '--local', dir, '--reason', 'holiday freeze', '--as', alice);
    const status = await gantry('freeze', 'status', '--local', dir, '--json');
    await gantry('start', '--local', dir, '--service', 'payments', '--tag', 'v1.4.2');
    await advanceLocalGantry(dir, { advance: 'PT5M' });
    const blocked = await statusJson(dir);
    const off = await gantry('freeze', 'off', '--local', dir, '--json');

    assert.equal(noReason.code, 2);
    assert.match(noReason.stderr, /--reason/);
    assert.equal(on.code, 0);
    assert.match(on.stdout, /FREEZE ON since 2026-11-24 10:00:00Z by .*alice: holiday freeze/);
    const s = freezeOutputSchema.parse(JSON.parse(status.stdout));
    assert.deepEqual({ on: s.on, reason: s.reason, principal: s.principal }, { on: true, reason: 'holiday freeze', principal: alice });
    assert.equal(blocked.body.releases[0]?.status, 'BLOCKED');
    assert.match(blocked.body.releases[0]?.stages[0]?.activity ?? '', /global freeze/);
    assert.equal(freezeOutputSchema.parse(JSON.parse(off.stdout)).on, false);
  });
});

describe('gantry releases|status --local: lists, filters and not-found', () => {
  it('lists releases newest first, filtered by service and by --since from the local now', async () => {
    const dir = await localGantry(scenarioFile({ approval: false, triggers: [start('v1.4.2'), { ...start('v1.4.3'), at: 'PT2H' }] }));

    const all = releasesOutputSchema.parse(JSON.parse((await gantry('releases', '--local', dir, '--json')).stdout));
    const recent = releasesOutputSchema.parse(JSON.parse((await gantry('releases', '--local', dir, '--json', '--since', 'PT1H')).stdout));
    const other = await gantry('releases', '--local', dir, '--service', 'ledger');
    const human = await gantry('releases', '--local', dir);

    assert.equal(all.releases.length, 2);
    assert.ok((all.releases[0]?.startedAt ?? '') > (all.releases[1]?.startedAt ?? ''), 'newest first');
    assert.equal(recent.releases.length, 1);
    assert.equal(recent.releases[0]?.tag, 'v1.4.3');
    assert.match(other.stdout, /no releases of ledger/);
    assert.match(human.stdout, /^RELEASE\s+SERVICE\s+STATUS\s+STARTED\s+IMAGE\s+STAGES/m);
  });

  it('exits 3 for an unknown release and for a directory that is not a local Gantry', async () => {
    const dir = await localGantry(example('demo'));

    const unknown = await gantry('status', 'payments-nope', '--local', dir);
    const notLocal = await gantry('status', '--local', join(dir, 'nowhere'));

    assert.equal(unknown.code, 3);
    assert.match(unknown.stderr, /release payments-nope is not in local Gantry .*; list releases with gantry releases --local/);
    assert.equal(notLocal.code, 3);
    assert.match(notLocal.stderr, /is not a local Gantry .*create one with gantry simulate <scenario.json> --state/);
  });

  it('keeps the ledger as an export that gantry audit verify accepts', async () => {
    const dir = await localGantry(example('prod-alarm-during-bake'));

    const verify = gantryProcess('audit', 'verify', '--file', join(dir, 'ledger.jsonl'));

    assert.ok(existsSync(join(dir, 'simulation.json')));
    assert.equal(verifyExport(parseExport(readFileSync(join(dir, 'ledger.jsonl'), 'utf8'))).ok, true);
    assert.equal(verify.code, 0, verify.stderr);
  });
});

describe('gantry status --watch', () => {
  const io = (out: string[], onSleep: () => Promise<void>, isTTY = false): OperatorIo => ({
    out: (s) => out.push(s),
    err: () => undefined,
    isTTY,
    env: {},
    sleep: onSleep,
  });

  it('prints plain lines as the release progresses and exits with the final status code', async () => {
    const dir = await localGantry(example('prod-alarm-during-bake'), 'PT20M');
    const out: string[] = [];
    let sleeps = 0;

    const code = await runStatus(
      undefined,
      { local: dir, watch: true, interval: '1' },
      io(out, async () => {
        sleeps++;
        await advanceLocalGantry(dir, { advance: 'PT10M' });
      }),
    );

    assert.equal(code, 1);
    assert.ok(sleeps >= 2, 'it read more than once');
    const text = out.join('\n');
    assert.doesNotMatch(text, /\x1b/, 'no terminal control codes when not a terminal');
    assert.match(text, /staging: WAITING — baking/);
    assert.match(text, /prod: ROLLED_BACK/);
    assert.match(text, /finished: ROLLED_BACK/);
    assert.equal(new Set(out).size, out.length, 'each line once');
  });

  it('redraws on a terminal and stops at once for a finished release', async () => {
    const dir = await localGantry(example('demo'));
    const out: string[] = [];

    const code = await runStatus(
      undefined,
      { local: dir, watch: true },
      io(out, async () => assert.fail('no wait for a finished release'), true),
    );

    assert.equal(code, 0);
    assert.equal(out.length, 1);
    assert.match(out[0] ?? '', /^\x1b\[H\x1b\[2J/);
  });

  it('uses colour only on a terminal and never with NO_COLOR', () => {
    assert.equal(useColour({ isTTY: true, env: {} }), true);
    assert.equal(useColour({ isTTY: false, env: {} }), false);
    assert.equal(useColour({ isTTY: true, env: { NO_COLOR: '1' } }), false);
  });
});

describe('gantry --help', () => {
  for (const cmd of [['start'], ['status'], ['releases'], ['rollback'], ['freeze'], ['freeze', 'on'], ['freeze', 'status'], ['approve'], ['reject'], ['simulate']]) {
    it(`describes ${cmd.join(' ')} and exits 0`, async () => {
      const r = await gantry(...cmd, '--help');

      assert.equal(r.code, 0);
      assert.match(r.stdout, new RegExp(`Usage: gantry ${cmd.join(' ')}`));
      if (cmd[0] !== 'simulate' && cmd.length === 1 && cmd[0] !== 'freeze') assert.match(r.stdout, /--local <dir>/);
    });
  }

  it('prints no stack trace for an unexpected option, and exits 2', async () => {
    const r = await gantry('status', '--bogus');

    assert.equal(r.code, 2);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });
});

describe('gantry simulate --until', () => {
  it('stops the virtual clock and leaves releases where they are, without warnings', async () => {
    const r = await gantry('simulate', example('demo'), '--until', 'PT20M', '--json');

    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.releases[0].status, 'RUNNING');
    assert.equal(out.clock.end, '2026-11-24T10:20:00.000Z');
    assert.deepEqual(out.warnings, []);
  });

  it('refuses to move a local Gantry back in time', async () => {
    const dir = await localGantry(example('demo'), 'PT20M');

    const r = await gantry('simulate', '--state', dir, '--until', 'PT10M');

    assert.equal(r.code, 2);
    assert.match(r.stderr, /time only moves forward/);
  });
});
