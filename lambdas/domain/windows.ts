/**
 * Release windows and blackouts, evaluated in the stage's IANA time zone (luxon: DST correct).
 * `to` is exclusive; a blackout beats an allow window; break-glass bypasses both (never other gates).
 */
import { DateTime } from 'luxon';
import type { StageConfig } from './config';
import { DAYS } from './config';

export type WindowSpec = NonNullable<StageConfig['windows']>;

export type WindowVerdict =
  | { verdict: 'OPEN'; reason: string }
  | { verdict: 'WAIT'; until: string; reason: string }
  | { verdict: 'BLOCK'; reason: string };

const LOOKAHEAD_DAYS = 60;

function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  return h * 60 + m;
}

function localDateTime(s: string, zone: string): DateTime {
  return DateTime.fromISO(s, { zone });
}

/** The blackout covering instant `t`, if any. */
export function blackoutAt(spec: WindowSpec, t: DateTime): WindowSpec['blackouts'][number] | undefined {
  return spec.blackouts.find((b) => {
    const from = localDateTime(b.from, spec.timezone);
    const to = localDateTime(b.to, spec.timezone);
    return t >= from && t < to;
  });
}

/** Whether `t` is inside an allow window (no allow windows = always allowed). */
export function inAllowWindow(spec: WindowSpec, t: DateTime): boolean {
  if (spec.allow.length === 0) return true;
  const local = t.setZone(spec.timezone);
  const day = DAYS[local.weekday - 1];
  const minute = local.hour * 60 + local.minute;
  return spec.allow.some((w) => w.days.includes(day as (typeof DAYS)[number]) && minute >= minutesOf(w.from) && minute < minutesOf(w.to));
}

export function isOpen(spec: WindowSpec, t: DateTime): boolean {
  return inAllowWindow(spec, t) && !blackoutAt(spec, t);
}

/** The next moment after `now` at which the stage may deploy, within LOOKAHEAD_DAYS. */
export function nextOpening(spec: WindowSpec, now: DateTime): DateTime | undefined {
  const zone = spec.timezone;
  const local = now.setZone(zone);
  const candidates: DateTime[] = [];
  for (let d = 0; d <= LOOKAHEAD_DAYS; d++) {
    const day = local.startOf('day').plus({ days: d });
    for (const w of spec.allow) {
      const m = minutesOf(w.from);
      // fromObject resolves a wall time that does not exist (spring-forward gap) to the next valid instant.
      candidates.push(DateTime.fromObject({ year: day.year, month: day.month, day: day.day, hour: Math.floor(m / 60), minute: m % 60 }, { zone }));
    }
    if (spec.allow.length === 0) candidates.push(day);
  }
  for (const b of spec.blackouts) candidates.push(localDateTime(b.to, zone));
  return candidates
    .filter((c) => c.isValid && c > now)
    .sort((a, b) => a.toMillis() - b.toMillis())
    .find((c) => isOpen(spec, c));
}

function describe(t: DateTime, zone: string): string {
  return t.setZone(zone).toFormat("ccc d LLL yyyy HH:mm ZZZZ");
}

/** May this stage deploy now? */
export function evaluateWindow(spec: WindowSpec | undefined, now: Date, breakGlass?: { reason: string } | null): WindowVerdict {
  if (!spec) return { verdict: 'OPEN', reason: breakGlass ? `break-glass: ${breakGlass.reason} (no release window configured)` : 'no release window configured' };
  const t = DateTime.fromJSDate(now, { zone: spec.timezone });
  if (breakGlass) {
    const closed = !isOpen(spec, t);
    return { verdict: 'OPEN', reason: `break-glass: ${breakGlass.reason}${closed ? ' (outside the release window; bypassed)' : ''}` };
  }
  if (isOpen(spec, t)) return { verdict: 'OPEN', reason: `inside the release window (${describe(t, spec.timezone)})` };
  const blackout = blackoutAt(spec, t);
  const why = blackout
    ? `blackout "${blackout.reason}" from ${blackout.from} to ${blackout.to} (${spec.timezone})`
    : `outside the release window (${describe(t, spec.timezone)})`;
  if (spec.outside === 'block') return { verdict: 'BLOCK', reason: why };
  const next = nextOpening(spec, t);
  if (!next) return { verdict: 'BLOCK', reason: `${why}; no opening within ${LOOKAHEAD_DAYS} days` };
  return { verdict: 'WAIT', until: next.toUTC().toISO() as string, reason: `${why}; waiting until ${describe(next, spec.timezone)}` };
}
