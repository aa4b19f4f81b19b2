/**
 * `gantry status --watch --timeout D` against a local Gantry: it stops after D of the watcher's own time,
 * says so and exits 5 (EXIT.watchTimeout); a release that ends first exits with its own code; `--timeout`
 * without `--watch`, or a duration it cannot read, exits 2. No wall clock: the watcher's clock is a
 * counter that the injected sleep (and, in one test, each read) advances.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { advanceLocalGantry } from '../../cli/backends/local-backend';
import { EXIT } from '../../cli/backends/backend';
import type { OperatorIo } from '../../cli/commands/common';
import { parseWatchTimeout, runStatus } from '../../cli/commands/status';
import { alice, example, gantry, localGantry, scenarioFile } from './helpers';

const start = (tag: string) => ({ type: 'start', principal: alice, input: { service: 'payments', image: { tag }, reason: 'CHG-1' }, at: 'PT0S' });

/** An io whose clock moves only when it sleeps (and by `perRead` on each clock reading, when given). */
function fakeIo(options: { perRead?: number; onSleep?: (ms: number) => Promise<void> } = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const sleeps: number[] = [];
  let t = 1_000;
  const io: OperatorIo = {
    out: (s) => out.push(s),
    err: (s) => err.push(s),
    isTTY: false,
    env: {},
    monotonicMs: () => (t += options.perRead ?? 0),
    sleep: async (ms) => {
      sleeps.push(ms);
      t += ms;
      await options.onSleep?.(ms);
    },
  };
  return { io, out, err, sleeps };
}

describe('gantry status --watch --timeout', () => {
  it('stops after the timeout with a message and exit 5 while the release still waits (for an approval)', async () => {
    const dir = await localGantry(scenarioFile({ triggers: [start('v1.4.2')] }), 'PT40M');
    const { io, out, err, sleeps } = fakeIo();

    const code = await runStatus(undefined, { local: dir, watch: true, interval: '60', timeout: 'PT10M' }, io);

    assert.equal(code, EXIT.watchTimeout);
    assert.equal(EXIT.watchTimeout, 5);
    assert.deepEqual(sleeps, Array(10).fill(60_000), 'ten reads a minute apart, then it stops');
    assert.match(out.join('\n'), /prod: WAITING — awaiting approval/);
    const message = err.at(-1) ?? '';
    assert.match(
      message,
      /^gantry: stopped watching after PT10M \(--timeout\): payments-\S+ is still RUNNING; it goes on \(watch it again with gantry status payments-\S+ --watch --local /,
    );
    assert.match(message, /exit 5$/);
  });

  it('shortens the last wait to what is left, and counts the time the reads take (short form 90s)', async () => {
    const dir = await localGantry(scenarioFile({ triggers: [start('v1.4.2')] }), 'PT40M');
    // Each clock reading takes 1 s of the watcher's time: waits of 60 s, then what is left of 90 s.
    const { io, sleeps } = fakeIo({ perRead: 1_000 });

    const code = await runStatus(undefined, { local: dir, watch: true, interval: '60', timeout: '90s' }, io);

    assert.equal(code, EXIT.watchTimeout);
    assert.equal(sleeps.length, 2);
    assert.equal(sleeps[0], 60_000);
    assert.ok((sleeps[1] ?? 0) > 0 && (sleeps[1] ?? 0) < 30_000, `the last wait (${sleeps[1]} ms) is what is left of 90 s`);
  });

  it('exits with the release code when it finishes before the timeout', async () => {
    const dir = await localGantry(example('prod-alarm-during-bake'), 'PT20M');
    const { io, err } = fakeIo({ onSleep: async () => void (await advanceLocalGantry(dir, { advance: 'PT10M' })) });

    const code = await runStatus(undefined, { local: dir, watch: true, interval: '1', timeout: '1h' }, io);

    assert.equal(code, 1, 'ROLLED_BACK, not the timeout');
    assert.doesNotMatch(err.join('\n'), /stopped watching/);
  });

  it('exits 2 for --timeout without --watch, and for a duration it cannot read', async () => {
    const dir = await localGantry(example('demo'));

    const alone = await gantry('status', '--local', dir, '--timeout', 'PT10M');
    assert.equal(alone.code, 2);
    assert.match(alone.stderr, /--timeout bounds how long --watch waits: give it with --watch/);

    for (const bad of ['ten minutes', 'P1M', 'PT0S', '0s', '-5m', '']) {
      const r = await gantry('status', '--local', dir, '--watch', '--timeout', bad);
      assert.equal(r.code, 2, bad);
      assert.match(r.stderr, /--timeout: expected a duration such as PT10M, 10m, 90s or 1h30m/, bad);
    }
  });

  it('reads ISO-8601 durations and the short form', () => {
    assert.equal(parseWatchTimeout('PT10M'), 600_000);
    assert.equal(parseWatchTimeout('P1DT2H'), 93_600_000);
    assert.equal(parseWatchTimeout('10m'), 600_000);
    assert.equal(parseWatchTimeout('90s'), 90_000);
    assert.equal(parseWatchTimeout('1h30m'), 5_400_000);
    assert.equal(parseWatchTimeout('0.5s'), 500);
    assert.equal(parseWatchTimeout('1d'), 86_400_000);
  });

  it('documents exit 5 in status --help', async () => {
    const r = await gantry('status', '--help');
    assert.match(r.stdout, /--timeout <duration>/);
    assert.match(r.stdout, /5 --watch --timeout passed before the release finished/);
  });
});
