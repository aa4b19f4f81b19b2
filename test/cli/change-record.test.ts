/**
 * Change records in the CLI (decision 051), against local Gantries made by `gantry simulate --state`:
 * `gantry start --change`, `gantry releases --change [--json]`, `gantry audit show` (the Change block),
 * `gantry report` (its Change record section) and `gantry audit export --change`.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, it } from 'vitest';
import { Command } from 'commander';
import { SFNClient } from '@aws-sdk/client-sfn';
import { AwsBackend } from '../../cli/backends/aws-backend';
import { advanceLocalGantry } from '../../cli/backends/local-backend';
import { toStackOutputs } from '../../cli/backends/stack';
import type { OperatorIo } from '../../cli/commands/common';
import { registerOperatorCommands } from '../../cli/commands/operator';
import { releasesOutputSchema, statusOutputSchema } from '../../cli/render/schemas';
import { exportEvents, parseExport } from '../../lambdas/domain/audit';
import { type LedgerEvent, projectRelease } from '../../lambdas/domain/ledger';
import type { Ledger } from '../../lambdas/ports';
import { alice, D1, D2, example, gantry, gantryProcess, localGantry, tmp } from './helpers';
import { STACK_OUTPUTS } from './stack-fixture';

const C1 = '3b1f5c2a9d8e7f6041c2b3a4d5e6f708192a3b4c';
const C2 = '9f2c1e7d4a5b6c8e0f1a2b3c4d5e6f7a8b9c0d1e';
const LINK = `https://github.com/acme/payments/compare/${C1}...${C2}`;
const FIRST = 'payments-1111111111111111';
const SECOND = 'payments-2222222222222222';

describe('change records in the CLI', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await localGantry(example('change-record-label'));
  });

  it('gantry releases --change lists only the releases of that change id, with their change in --json', async () => {
    const r = await gantry('releases', '--local', dir, '--change', 'CHG-1042', '--json');
    assert.equal(r.code, 0, r.stderr);
    const parsed = releasesOutputSchema.safeParse(JSON.parse(r.stdout));
    assert.ok(parsed.success, parsed.success ? '' : parsed.error.message);
    const body = parsed.data;
    assert.deepEqual(
      body.releases.map((x) => x.releaseId),
      [SECOND],
    );
    assert.equal(body.releases[0]?.change?.id, 'CHG-1042');
    assert.equal(body.releases[0]?.change?.commit, C2);
    assert.equal(body.releases[0]?.change?.stages.prod?.compareUrl, LINK);

    const text = await gantry('releases', '--local', dir, '--change', 'CHG-1041');
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^${FIRST} `, 'm'));
    assert.doesNotMatch(text.stdout, new RegExp(SECOND));

    const none = await gantry('releases', '--local', dir, '--change', 'CHG-0000');
    assert.equal(none.code, 0);
    assert.match(none.stdout, /^no releases of change CHG-0000 in local Gantry/);

    const bad = await gantry('releases', '--local', dir, '--change', 'CHG 1');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--change: expected a change record id of 1 to 100 printable characters/);
  });

  it('gantry status names the change record and the commit (short in the text, whole in --json)', async () => {
    const text = await gantry('status', SECOND, '--local', dir);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^  change     CHG-1042 \\(commit ${C2.slice(0, 12)}\\)$`, 'm'));
    const json = await gantry('status', SECOND, '--local', dir, '--json');
    const view = (r: { stdout: string }) => statusOutputSchema.parse(JSON.parse(r.stdout)).releases[0];
    assert.deepEqual(view(json)?.change, { id: 'CHG-1042', commit: C2 });
    assert.equal(view(await gantry('status', FIRST, '--local', dir, '--json'))?.change?.id, 'CHG-1041');
  });

  it('gantry audit show prints the change, the commit and each stage’s range with its compare link', () => {
    const r = gantryProcess('audit', 'show', SECOND, '--local', dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Change {7}CHG-1042 {2}\(image label com\.example\.change-record, pattern \^CHG-\[0-9\]\{4,\}\$\)$/m);
    assert.match(r.stdout, new RegExp(`^ {2}commit {5}${C2}$`, 'm'));
    assert.ok(r.stdout.includes(`  dev        from  ${D1}  commit ${C1}\n             to    ${D2}  commit ${C2}\n             diff  ${LINK}\n`), r.stdout);
    assert.equal(r.stdout.split(LINK).length - 1, 2, 'one compare link per stage');
    assert.doesNotMatch(r.stdout, /sha256:[0-9a-f]{12}…/, 'no digest cut off');

    const first = gantryProcess('audit', 'show', FIRST, '--local', dir);
    assert.ok(first.stdout.includes(`  prod       from  (first release in the stage: no last known good)\n             to    ${D1}  commit ${C1}\n`), first.stdout);
  });

  it('gantry report has a Change record section: the id, the commit, each stage’s range and an https compare link', async () => {
    const r = await gantry('report', SECOND, '--local', dir);
    assert.equal(r.code, 0, r.stderr);
    const section = r.stdout.slice(r.stdout.indexOf('<h3 id="h-change">'), r.stdout.indexOf('</section>', r.stdout.indexOf('<h3 id="h-change">')));
    assert.ok(section.startsWith('<h3 id="h-change">Change record</h3>'), 'no Change record section');
    assert.match(section, /<dt>Change<\/dt><dd><code>CHG-1042<\/code>/);
    assert.ok(section.includes(`<dt>Commit</dt><dd><code>${C2}</code>`));
    assert.equal(section.split(`<a href="${LINK}" rel="noreferrer noopener">compare</a>`).length - 1, 2);
    // Each stage's row shows both digests and both commits whole (the report never cuts a digest off).
    const text = section.slice(section.indexOf('<table')).replace(/<[^>]+>/g, '');
    for (const whole of [D1, D2, C1, C2]) assert.equal(text.split(whole).length - 1, 2, `${whole} in both stages' rows`);
    assert.doesNotMatch(section, /sha256:[0-9a-f]{12}…/);
  });

  it('gantry audit export --change keeps the whole releases of that change id, which verify', () => {
    const file = join(dir, 'ledger.jsonl');
    const r = gantryProcess('audit', 'export', '--file', file, '--change', 'CHG-1041');
    assert.equal(r.code, 0, r.stderr);
    const events = exportEvents(parseExport(r.stdout));
    assert.deepEqual([...new Set(events.map((e) => e.releaseId))], [FIRST]);
    const all = exportEvents(parseExport(readFileSync(file, 'utf8'))).filter((e) => e.releaseId === FIRST);
    assert.equal(events.length, all.length);
    const out = join(tmp(), 'chg.jsonl');
    assert.equal(gantryProcess('audit', 'export', '--file', file, '--change', 'CHG-1041', '--out', out).code, 0);
    assert.equal(gantryProcess('audit', 'verify', '--file', out).code, 0);
    const none = gantryProcess('audit', 'export', '--file', file, '--change', 'CHG-0000');
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no release in .* matches --change CHG-0000: nothing to export/);
  });
});

describe('gantry releases --change against a deployed Gantry (the AWS backend)', () => {
  it('filters the summaries the ledger table returns by their change id', async () => {
    const dir = await localGantry(example('change-record-label'));
    const events = exportEvents(parseExport(readFileSync(join(dir, 'ledger.jsonl'), 'utf8'))) as unknown as LedgerEvent[];
    const ids = [...new Set(events.map((e) => e.releaseId))];
    const ledger = {
      listReleases: async () => ids.map((id) => projectRelease(events.filter((e) => e.releaseId === id))).filter((x) => x !== undefined),
    } as unknown as Ledger;
    const b = new AwsBackend({
      outputs: toStackOutputs('Gantry', { ...STACK_OUTPUTS }),
      region: 'eu-west-2',
      sfn: new SFNClient({ region: 'eu-west-2' }),
      ledger,
      now: () => new Date('2026-11-24T13:00:00Z'),
    } as unknown as ConstructorParameters<typeof AwsBackend>[0]);
    const out: string[] = [];
    let code = 0;
    const io: OperatorIo = { out: (x) => out.push(x), err: () => undefined, isTTY: false, env: {}, sleep: async () => undefined, openBackend: async () => b };
    const program = new Command('gantry').exitOverride();
    registerOperatorCommands(program, (c) => (code = Math.max(code, c)), io);
    await program.parseAsync(['node', 'gantry', 'releases', '--change', 'CHG-1041', '--json']);
    assert.equal(code, 0);
    const body = JSON.parse(out.join('\n')) as { simulated: boolean; releases: Array<{ releaseId: string; change?: { id?: string } }> };
    assert.deepEqual(
      body.releases.map((x) => [x.releaseId, x.change?.id]),
      [[FIRST, 'CHG-1041']],
    );
  });
});

describe('gantry start --change', () => {
  it('passes the id as the release input’s changeRecord: recorded by change.record where the service reads the input', async () => {
    const dir = await localGantry(example('change-record-input'), 'PT0S');
    const r = await gantry('start', '--local', dir, '--service', 'payments', '--tag', 'v1.4.2', '--change', 'CHG-3000', '--as', alice, '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { input: { changeRecord?: string } }).input.changeRecord, 'CHG-3000');
    await advanceLocalGantry(dir, { advance: 'PT1H' });
    const list = await gantry('releases', '--local', dir, '--change', 'CHG-3000', '--json');
    const body = JSON.parse(list.stdout) as { releases: Array<{ status: string; change?: { id?: string } }> };
    assert.deepEqual(
      body.releases.map((x) => [x.status, x.change?.id]),
      [['SUCCEEDED', 'CHG-3000']],
    );
  });

  it('is refused before anything starts where the service reads its change record from a label, exit 2', async () => {
    const dir = await localGantry(example('change-record-label'), 'PT0S');
    const r = await gantry('start', '--local', dir, '--service', 'payments', '--tag', 'v1.4.2', '--change', 'CHG-3000', '--as', alice);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /changeRecord: expected no changeRecord: service payments reads its change record from the image/);
  });
});
