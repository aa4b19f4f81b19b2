/** Small helpers shared by the benchmark suites: medians, timing, formatting, goal verdicts. */
import { cpus, loadavg } from 'node:os';

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Wall time of `fn` in milliseconds. */
export async function timeMs(fn: () => unknown): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** `runs` timings of `fn` (after `warmup` untimed runs), in milliseconds. */
export async function sampleMs(runs: number, fn: () => unknown, warmup = 0): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) out.push(await timeMs(fn));
  return out;
}

export const ms = (v: number, digits = 0) => `${v.toFixed(digits)} ms`;
export const s = (v: number, digits = 1) => `${(v / 1000).toFixed(digits)} s`;
export const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;
export const verdict = (met: boolean) => (met ? 'met' : '**missed**');

/** One line naming the machine and its load when the figures were taken. */
export function machineLine(): string {
  const c = cpus();
  const load = loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ');
  return `${c.length} cores (${c[0]?.model.trim() ?? 'unknown CPU'}), Node ${process.versions.node}, load average ${load} (1 / 5 / 15 min) when the suite ended`;
}
