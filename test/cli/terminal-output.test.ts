/**
 * Terminal output that fits (issue 20, decision 057): `gantry simulate`, `status` and `releases` at 80 and 120
 * columns (file snapshots), every example scenario within 80 columns, colour only on a terminal without NO_COLOR,
 * a stage's passing gates on one line, the streamed timeline the same as the final one, and `--advance` printing
 * only what is new.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { OperatorIo } from '../../cli/commands/common';
import { main } from '../../cli/main';
import { displayWidth } from '../../cli/render/text';
import { renderTimeline, TimelineWriter } from '../../cli/render/timeline';
import { loadScenarioFile } from '../../local/scenario';
import { simulate, type SimulationOutput, type TimelineEntry } from '../../local/simulate';
import { alice, example, localGantry, ROOT, scenarioFile } from './helpers';

const start = (tag: string, at = 'PT0S') => ({ type: 'start', principal: alice, input: { service: 'payments', image: { tag }, reason: 'CHG-1' }, at });

interface Captured {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Each io.out call, in order (the streamed chunks). */
  readonly chunks: string[];
  /** What was written raw (the progress line). */
  readonly raw: string;
}

/** `gantry <args>` in this process with a terminal of `columns` (isTTY) or a pipe with COLUMNS set. */
async function run(args: string[], t: { columns: number; isTTY?: boolean; env?: NodeJS.ProcessEnv }): Promise<Captured> {
  const chunks: string[] = [];
  const err: string[] = [];
  let raw = '';
  let tick = 0;
  const io: OperatorIo = {
    out: (s) => chunks.push(s.endsWith('\n') ? s : `${s}\n`),
    err: (s) => err.push(s.endsWith('\n') ? s : `${s}\n`),
    isTTY: t.isTTY ?? false,
    ...(t.isTTY ? { columns: t.columns, outRaw: (s: string) => void (raw += s) } : {}),
    env: t.isTTY ? { ...t.env } : { COLUMNS: String(t.columns), ...t.env },
    sleep: async () => undefined,
    // Every read of the clock a second later: the stream reads the ledger at every settled instant.
    monotonicMs: () => (tick += 1000),
  };
  const code = await main(['node', 'gantry', ...args], io);
  return { code, stdout: chunks.join(''), stderr: err.join(''), chunks, raw };
}

const widest = (text: string) => Math.max(...text.split('\n').map(displayWidth));
const ESC = '\x1b[';
const snap = (name: string) => join(__dirname, '__snapshots__', 'terminal-output', name);

describe('gantry simulate: a timeline that fits', () => {
  for (const scenario of ['demo', 'alarm-in-dev-bake']) {
    for (const columns of [80, 120]) {
      it(`${scenario} at ${columns} columns (snapshot)`, async () => {
        const r = await run(['simulate', example(scenario)], { columns });
        assert.equal(r.code, 0, r.stderr);
        assert.ok(widest(r.stdout) <= columns, `a line is wider than ${columns}`);
        assert.ok(!r.stdout.includes(ESC), 'no colour in a pipe');
        assert.doesNotMatch(r.stdout, /sha256:[0-9a-f]{13}/, 'short digests only');
        await expect(r.stdout).toMatchFileSnapshot(snap(`simulate-${scenario}-${columns}.txt`));
      });
    }
  }

  it('--full-digests prints whole digests; --json is unchanged (whole digests, no layout)', async () => {
    const full = await run(['simulate', example('demo'), '--full-digests'], { columns: 120 });
    const json = await run(['simulate', example('demo'), '--json'], { columns: 80 });
    assert.match(full.stdout, /sha256:2{64}/);
    const out = JSON.parse(json.stdout) as SimulationOutput;
    assert.equal(out.releases[0]?.digest, `sha256:${'2'.repeat(64)}`);
    assert.ok(out.timeline.some((t) => t.reason?.includes(`sha256:${'2'.repeat(64)}`)));
    assert.equal(json.chunks.length, 1, 'one JSON object, not streamed');
  });

  it('keeps every example scenario within 80 columns, verbose or not', async () => {
    const files = readdirSync(join(ROOT, 'examples', 'scenarios')).filter((f) => f.endsWith('.json'));
    assert.ok(files.length > 40);
    for (const f of files) {
      const { output } = await simulate(loadScenarioFile(join(ROOT, 'examples', 'scenarios', f)));
      for (const verbose of [false, true]) {
        const text = renderTimeline(output, { width: 80, verbose });
        for (const line of text.split('\n')) assert.ok(displayWidth(line) <= 80, `${f}${verbose ? ' --verbose' : ''}: ${displayWidth(line)} columns: ${line}`);
      }
    }
  });

  it('colours results only on a terminal, never with NO_COLOR', async () => {
    const tty = await run(['simulate', example('alarm-in-dev-bake')], { columns: 100, isTTY: true });
    const noColour = await run(['simulate', example('alarm-in-dev-bake')], { columns: 100, isTTY: true, env: { NO_COLOR: '1' } });
    const pipe = await run(['simulate', example('alarm-in-dev-bake')], { columns: 100 });
    assert.ok(tty.stdout.includes(`${ESC}32m✓ 8 PASS${ESC}0m`), 'passing gates green');
    assert.ok(tty.stdout.includes(`${ESC}31mFAIL${ESC}0m`), 'a failed gate red');
    assert.ok(tty.stdout.includes(`${ESC}31mROLLED_BACK${ESC}0m`), 'rolled back red');
    assert.ok(!noColour.stdout.includes(ESC));
    assert.ok(!pipe.stdout.includes(ESC));
    // Colour codes take no columns: the coloured lines fit as the plain ones do.
    assert.ok(widest(tty.stdout) <= 100);
    assert.equal(tty.stdout.replace(/\x1b\[\d+m/g, ''), pipe.stdout);
  });

  it('puts a stage gates on one line when they all PASS, and each gate on its own line when one does not', () => {
    const at = '2026-11-24T10:03:00Z';
    const gate = (gate: string, result: string): TimelineEntry => ({ at, release: 'payments-1', stage: 'dev', event: `Gate ${gate}`, result, reason: `${gate} said so` });
    const w = () => new TimelineWriter({ width: 100, colour: false });
    const pass = w().entries([gate('window', 'PASS'), gate('image.exists', 'PASS'), gate('image.scan', 'PASS')]);
    const fail = w().entries([gate('window', 'PASS'), gate('image.exists', 'PASS'), gate('image.scan', 'FAIL')]);
    const gateLines = (lines: string[]) => lines.filter((l) => l.startsWith('10:03:00'));
    assert.equal(gateLines(pass).length, 1);
    assert.match(gateLines(pass)[0] ?? '', /^10:03:00\s+dev\s+Gates\s+✓ 3 PASS\s+window image\.exists image\.scan$/);
    assert.equal(gateLines(fail).length, 3);
    assert.match(gateLines(fail)[2] ?? '', /Gate image\.scan\s+FAIL\s+image\.scan said so/);
    // --verbose: every gate on its own line, passing or not.
    assert.equal(gateLines(new TimelineWriter({ width: 100, colour: false, verbose: true }).entries([gate('window', 'PASS'), gate('image.exists', 'PASS')])).length, 2);
  });
});

describe('gantry simulate: streaming', () => {
  // A rollback, a run across midnight, waves of clusters, and faults retried (--chaos): the same lines either way.
  for (const args of [['alarm-in-dev-bake'], ['window-across-midnight'], ['waves-wave-2-alarms'], ['demo', '--chaos']]) {
    it(`prints the timeline in several pieces while the clock runs, the same lines in the same order as the finished output: ${args.join(' ')}`, async () => {
      const [name = '', ...rest] = args;
      const streamed = await run(['simulate', example(name), ...rest], { columns: 120 });
      const json = await run(['simulate', example(name), ...rest, '--json'], { columns: 120 });
      const whole = renderTimeline(JSON.parse(json.stdout) as SimulationOutput, { width: 120 });
      assert.ok(streamed.chunks.length > 5, `streamed in ${streamed.chunks.length} piece(s)`);
      assert.ok(streamed.chunks[0]?.startsWith('SIMULATION — '), 'the banner first, before the clock runs');
      assert.ok(!streamed.stdout.includes('the timeline changed after it was printed'));
      assert.equal(streamed.stdout, `${whole}\n`);
    });
  }

  it('redraws a progress line on a terminal and removes it at the end; none in a pipe', async () => {
    const tty = await run(['simulate', example('demo')], { columns: 100, isTTY: true, env: { NO_COLOR: '1' } });
    const pipe = await run(['simulate', example('demo')], { columns: 100 });
    assert.match(tty.raw, /\r\x1b\[2K⏵ T\+00:\d\d:00 virtual · \d+ events/);
    assert.match(tty.raw, /⏵ T\+01:01:00 virtual/, 'up to the last instant, 11:01');
    assert.ok(tty.raw.endsWith('\r\x1b[2K'), 'cleared at the end');
    assert.equal(pipe.raw, '');
    assert.ok(!pipe.stdout.includes('⏵'));
    assert.equal(tty.stdout, pipe.stdout, 'the same lines either way');
  });
});

describe('gantry simulate --state --advance', () => {
  it('prints only what is new since the previous now, says how many earlier lines it left out; --all prints them', async () => {
    const file = scenarioFile({ approval: false, triggers: [start('v1.4.2')] });
    const dir = await localGantry(file, 'PT10M');
    const first = await run(['simulate', '--state', dir, '--advance', 'PT10M'], { columns: 100 });
    const again = await run(['simulate', '--state', dir, '--advance', 'PT60M'], { columns: 100 });
    const all = await run(['simulate', '--state', dir, '--advance', 'PT0S', '--all'], { columns: 100 });
    assert.equal(first.code, 0, first.stderr);
    // The start at 10:00 was printed when the local Gantry was made: not again.
    assert.ok(!first.stdout.includes('Release Started'), first.stdout);
    assert.match(first.stdout, /\(\d+ earlier lines not shown: --all prints them; gantry audit show <release>\s+--local\s/);
    assert.match(first.stdout, /^1[01]:\d\d:00 /m, 'lines after 10:10');
    assert.ok(!/^10:0\d:00 /m.test(first.stdout), 'no line before 10:10');
    // The next advance starts after the previous one's last line.
    const lastOfFirst =
      first.stdout
        .split('\n')
        .filter((l) => /^\d\d:\d\d:00 /.test(l))
        .pop() ?? '';
    assert.ok(!again.stdout.includes(lastOfFirst), lastOfFirst);
    assert.match(again.stdout, /Release Finished/);
    assert.match(all.stdout, /Release Started/);
    assert.ok(!all.stdout.includes('earlier line'));
    assert.ok(widest(first.stdout) <= 100 && widest(all.stdout) <= 100);
  });

  it('refuses --all without --advance, naming the options', async () => {
    const r = await run(['simulate', example('demo'), '--all'], { columns: 100 });
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /--all goes with --state <dir> --advance <duration>/);
  });
});

describe('status and releases on a local Gantry', () => {
  for (const columns of [80, 120]) {
    it(`fit ${columns} columns with short digests (snapshots)`, async () => {
      const file = scenarioFile({
        triggers: [start('v1.4.2'), start('v1.4.3', 'PT2H')],
      });
      const dir = await localGantry(file, 'PT3H');
      const status = await run(['status', '--local', dir], { columns });
      const releases = await run(['releases', '--local', dir], { columns });
      for (const r of [status, releases]) {
        assert.ok(r.code === 0 || r.code === 1, r.stderr);
        assert.ok(widest(r.stdout) <= columns, r.stdout);
        assert.doesNotMatch(r.stdout, /sha256:[0-9a-f]{13}/);
      }
      // The footer names the temporary directory, whose length varies with TMPDIR: left out of the snapshots.
      const stable = (s: string) => {
        const at = s.search(/^ *\((local Gantry|\d+ release\(s\); local Gantry)/m);
        assert.ok(at > 0, s);
        return s.slice(0, at);
      };
      await expect(stable(status.stdout)).toMatchFileSnapshot(snap(`status-${columns}.txt`));
      await expect(stable(releases.stdout)).toMatchFileSnapshot(snap(`releases-${columns}.txt`));
    });
  }
});
