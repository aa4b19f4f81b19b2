import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { VirtualClock } from '../../local/clock';

const START = new Date('2026-11-24T10:00:00.000Z');
const MINUTE = 60_000;

function realDelay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('VirtualClock', () => {
  it('fires timers in the order of their virtual time, whatever the order they were scheduled in', async () => {
    const clock = new VirtualClock(START);
    const t0 = clock.nowMs();
    const fired: string[] = [];
    clock.schedule(t0 + 20 * MINUTE, () => fired.push('at 20'));
    clock.schedule(t0 + 5 * MINUTE, () => fired.push('at 5'));
    clock.schedule(t0 + 10 * MINUTE, () => fired.push('at 10'));

    await clock.run();

    assert.deepEqual(fired, ['at 5', 'at 10', 'at 20']);
  });

  it('fires timers of one instant in the order they were scheduled', async () => {
    const clock = new VirtualClock(START);
    const at = clock.nowMs() + MINUTE;
    const fired: string[] = [];
    for (const name of ['first', 'second', 'third', 'fourth']) clock.schedule(at, () => fired.push(name));

    await clock.run();

    assert.deepEqual(fired, ['first', 'second', 'third', 'fourth']);
  });

  it('shows each timer the virtual time it was due at', async () => {
    const clock = new VirtualClock(START);
    const seen: string[] = [];
    clock.schedule(clock.nowMs() + 7 * MINUTE, () => seen.push(clock.now().toISOString()));

    await clock.run();

    assert.deepEqual(seen, ['2026-11-24T10:07:00.000Z']);
  });

  it('completes a 30-minute sleep without waiting 30 real minutes', async () => {
    const clock = new VirtualClock(START);
    const realStart = Date.now();
    let wokeAt: Date | undefined;
    const sleeper = clock.sleep(30 * MINUTE).then(() => {
      wokeAt = clock.now();
    });

    await clock.run();
    await sleeper;

    assert.equal(wokeAt?.toISOString(), '2026-11-24T10:30:00.000Z');
    assert.equal(clock.now().getTime() - START.getTime(), 30 * MINUTE);
    assert.ok(Date.now() - realStart < 5_000, `the sleep took ${Date.now() - realStart} real ms`);
  });

  it('waits for a scheduled callback’s real I/O before firing the next timer', async () => {
    const clock = new VirtualClock(START);
    const t0 = clock.nowMs();
    const log: string[] = [];
    clock.schedule(t0 + MINUTE, async () => {
      log.push('slow work started');
      await realDelay(20);
      log.push('slow work done');
    });
    clock.schedule(t0 + 2 * MINUTE, () => log.push('next timer'));

    await clock.run();

    assert.deepEqual(log, ['slow work started', 'slow work done', 'next timer']);
  });

  it('waits for explicitly tracked work before firing the next timer', async () => {
    const clock = new VirtualClock(START);
    const log: string[] = [];
    clock.track(realDelay(20).then(() => log.push('tracked work done')));
    clock.schedule(clock.nowMs() + MINUTE, () => log.push('timer'));

    await clock.run();

    assert.deepEqual(log, ['tracked work done', 'timer']);
  });

  it('does not wait for real work nobody tracked (why tracking exists)', async () => {
    const clock = new VirtualClock(START);
    const log: string[] = [];
    const untracked = realDelay(200).then(() => log.push('untracked work done'));
    clock.schedule(clock.nowMs() + MINUTE, () => log.push('timer'));

    await clock.run();
    await untracked;

    assert.deepEqual(log, ['timer', 'untracked work done']);
  });

  it('collects errors thrown by scheduled callbacks and keeps running later timers', async () => {
    const clock = new VirtualClock(START);
    const t0 = clock.nowMs();
    const fired: string[] = [];
    clock.schedule(t0 + MINUTE, () => {
      throw new Error('boom (sync)');
    });
    clock.schedule(t0 + 2 * MINUTE, async () => {
      await realDelay(1);
      throw new Error('boom (async)');
    });
    clock.schedule(t0 + 3 * MINUTE, () => fired.push('after the errors'));

    await clock.run();

    assert.deepEqual(
      clock.errors.map((e) => (e as Error).message),
      ['boom (sync)', 'boom (async)'],
    );
    assert.deepEqual(fired, ['after the errors']);
  });

  it('stops at `until` and leaves later timers pending', async () => {
    const clock = new VirtualClock(START);
    const t0 = clock.nowMs();
    const fired: string[] = [];
    clock.schedule(t0 + 5 * MINUTE, () => fired.push('at 5'));
    clock.schedule(t0 + 15 * MINUTE, () => fired.push('at 15'));

    const count = await clock.run({ until: t0 + 10 * MINUTE });

    assert.equal(count, 1);
    assert.deepEqual(fired, ['at 5']);
    assert.equal(clock.pending(), 1);
  });

  it('never moves time backwards for a timer scheduled in the past', async () => {
    const clock = new VirtualClock(START);
    const seen: number[] = [];
    clock.schedule(clock.nowMs() - 10 * MINUTE, () => seen.push(clock.nowMs()));

    await clock.run();

    assert.deepEqual(seen, [START.getTime()]);
  });
});
