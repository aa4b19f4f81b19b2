/**
 * The simulation's virtual clock: a discrete-event scheduler that owns time. Work that does real
 * I/O (the ledger, handlers) is tracked; time only advances to the next timer once every tracked
 * piece of work has settled and the microtask queue is drained, so executions interleave
 * deterministically and a 30-minute bake takes milliseconds.
 */

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly fire: () => void;
  /** A `sleepUntil` waiter (released by `stop`), not scheduled work. */
  readonly sleeper?: boolean;
}

export class VirtualClock {
  private t: number;
  private seq = 0;
  private readonly timers: Timer[] = [];
  private readonly inflight = new Set<Promise<unknown>>();
  /** Errors thrown by scheduled callbacks (reported by the runner, never swallowed). */
  readonly errors: unknown[] = [];

  constructor(start: Date) {
    this.t = start.getTime();
  }

  now(): Date {
    return new Date(this.t);
  }

  nowMs(): number {
    return this.t;
  }

  /** Run `fn` when virtual time reaches `atMs` (never before now). Its promise is tracked. */
  schedule(atMs: number, fn: () => unknown): void {
    const at = Math.max(atMs, this.t);
    this.insert({
      at,
      seq: this.seq++,
      fire: () => {
        this.track(Promise.resolve().then(fn)).catch((e) => this.errors.push(e));
      },
    });
  }

  /** A promise that resolves when virtual time reaches `atMs`. Not tracked: waiting is not work. */
  sleepUntil(atMs: number): Promise<void> {
    return new Promise((resolve) => {
      this.insert({ at: Math.max(atMs, this.t), seq: this.seq++, fire: resolve, sleeper: true });
    });
  }

  sleep(ms: number): Promise<void> {
    return this.sleepUntil(this.t + Math.max(0, ms));
  }

  /** A timer that can be cancelled (a cancelled timer neither fires nor keeps the clock running). */
  timeout(ms: number, fn: () => void): () => void {
    const timer: Timer = { at: this.t + Math.max(0, ms), seq: this.seq++, fire: fn };
    this.insert(timer);
    return () => {
      const i = this.timers.indexOf(timer);
      if (i >= 0) this.timers.splice(i, 1);
    };
  }

  /** Mark real work in progress: time does not advance until it settles. */
  track<T>(p: Promise<T>): Promise<T> {
    this.inflight.add(p);
    const done = () => this.inflight.delete(p);
    p.then(done, done);
    return p;
  }

  pending(): number {
    return this.timers.length;
  }

  private insert(timer: Timer): void {
    // Keep timers sorted by (at, seq); the list is short, a binary insert is plenty.
    let lo = 0;
    let hi = this.timers.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const m = this.timers[mid] as Timer;
      if (m.at < timer.at || (m.at === timer.at && m.seq < timer.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.timers.splice(lo, 0, timer);
  }

  /** Wait until no tracked work is in flight and the microtask queue is empty. */
  async quiesce(): Promise<void> {
    for (;;) {
      await new Promise((r) => setImmediate(r));
      if (this.inflight.size === 0) {
        await new Promise((r) => setImmediate(r));
        if (this.inflight.size === 0) return;
      } else {
        await Promise.allSettled([...this.inflight]);
      }
    }
  }

  /**
   * Stop a clock that ran to `until` with work left: drop every scheduled timer without firing it and
   * release every sleeper (so no task waits forever on a real engine timer). Time does not advance.
   */
  stop(): void {
    const timers = this.timers.splice(0);
    for (const t of timers) if (t.sleeper) t.fire();
  }

  /**
   * Advance time timer by timer until nothing is left to do, or `until` (virtual ms) is passed.
   * Returns the number of timers fired. `onSettled(now)` is awaited each time everything due by `now` has
   * happened, before time moves on and at the end (a reader of the ledger: it must schedule nothing).
   */
  async run(options: { until?: number; maxTimers?: number; onSettled?: (nowMs: number) => Promise<void> } = {}): Promise<number> {
    let fired = 0;
    const max = options.maxTimers ?? 1_000_000;
    for (;;) {
      await this.quiesce();
      const next = this.timers[0];
      // Everything due by now has happened and time is about to move on (or stop): `onSettled` may look.
      if (options.onSettled && (!next || next.at > this.t)) await options.onSettled(this.t);
      if (!next) return fired;
      if (options.until !== undefined && next.at > options.until) return fired;
      if (fired >= max) throw new Error(`simulation did not settle after ${max} timers`);
      this.timers.shift();
      this.t = Math.max(this.t, next.at);
      fired++;
      next.fire();
    }
  }
}
