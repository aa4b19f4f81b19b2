/** image.age: an image pushed longer ago than `maxAgeDays` (on the workflow's clock) is refused. */
import type { GateResult } from '../types';

const DAY_MS = 86_400_000;

/** "31 days 2 h 5 min", "3 h 0 min 20 s", "5 min": leading and trailing zero units left out. */
export function formatAge(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const units: Array<[number, string]> = [
    [Math.floor(total / 86_400), 'days'],
    [Math.floor((total % 86_400) / 3600), 'h'],
    [Math.floor((total % 3600) / 60), 'min'],
    [total % 60, 's'],
  ];
  const first = units.findIndex(([n]) => n > 0);
  if (first < 0) return '0 s';
  let last = units.length - 1;
  while (last > first && units[last]?.[0] === 0) last--;
  return units
    .slice(first, last + 1)
    .map(([n, unit]) => (unit === 'days' ? `${n} day${n === 1 ? '' : 's'}` : `${n} ${unit}`))
    .join(' ');
}

/**
 * PASS up to and including exactly `maxAgeDays` × 24 h after the push; FAIL one moment later. An
 * image with no push time fails (its age cannot be shown); a push time in the future (clock skew)
 * counts as age 0.
 */
export function evaluateImageAge(maxAgeDays: number, pushedAt: string | undefined, now: Date): GateResult {
  const gate = 'image.age' as const;
  const pushedMs = pushedAt === undefined ? Number.NaN : Date.parse(pushedAt);
  if (Number.isNaN(pushedMs)) {
    return {
      gate,
      result: 'FAIL',
      reason: `the registry reported no usable push time (${JSON.stringify(pushedAt ?? null)}), so the image's age against maxAgeDays ${maxAgeDays} cannot be shown`,
      evidence: { pushedAt: pushedAt ?? null, maxAgeDays, now: now.toISOString() },
    };
  }
  const ageMs = Math.max(0, now.getTime() - pushedMs);
  const evidence = { pushedAt: new Date(pushedMs).toISOString(), now: now.toISOString(), ageDays: Math.round((ageMs / DAY_MS) * 1000) / 1000, maxAgeDays };
  if (ageMs > maxAgeDays * DAY_MS) {
    return { gate, result: 'FAIL', reason: `pushed ${formatAge(ageMs)} ago (${evidence.pushedAt}), older than maxAgeDays ${maxAgeDays}`, evidence };
  }
  return { gate, result: 'PASS', reason: `pushed ${formatAge(ageMs)} ago, within maxAgeDays ${maxAgeDays}`, evidence };
}
