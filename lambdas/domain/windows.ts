/**
 * Release windows and blackouts, evaluated in the stage's IANA time zone (luxon: DST correct).
 * `to` is exclusive; a blackout beats an allow window; break-glass bypasses both (never other gates).
 *
 * An allow window whose `from` is later than its `to` runs across midnight: it opens at `from` on each
 * listed day and closes at `to` on the next day (the day named is the day the window opens). Times are
 * wall-clock times in the stage's zone: on a spring-forward night a 22:00–02:00 window is an hour
 * shorter, on a fall-back night an hour longer (docs/decisions/016-windows-across-midnight.md).
 */
import { DateTime } from 'luxon';
import type { StageConfig } from './config';
import { DAYS } from './config';

export type WindowSpec = NonNullable<StageConfig['windows']>;
type AllowWindow = WindowSpec['allow'][number];
type Blackout = WindowSpec['blackouts'][number];

/** What break-glass (or a rollback, which is never blocked by windows) went past, for the record. */
export type Bypassed =
  | { readonly kind: 'freeze'; readonly principal: string; readonly at: string; readonly reason: string }
  | { readonly kind: 'blackout'; readonly from: string; readonly to: string; readonly reason: string; readonly timezone: string }
  | { readonly kind: 'outside-window'; readonly at: string; readonly timezone: string; readonly nextOpening: string | null };

export type WindowVerdict = { verdict: 'OPEN'; reason: string; bypassed: Bypassed[] } | { verdict: 'WAIT'; until: string; reason: string } | { verdict: 'BLOCK'; reason: string };

/** Who may go past a closed window: a break-glass release, or a rollback (noted, never blocked). */
export interface WindowBypass {
  readonly reason: string;
  /** Default `break-glass`. */
  readonly kind?: 'break-glass' | 'rollback';
}

/** The global freeze as the ledger holds it (only these fields are read). */
export interface FreezeState {
  readonly on: boolean;
  readonly reason?: string;
  readonly principal?: string;
  readonly at?: string;
}

/** How far ahead `nextOpening` looks; a stage with no opening in that time is BLOCKED. */
export const LOOKAHEAD_DAYS = 60;

function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  return h * 60 + m;
}

function localDateTime(s: string, zone: string): DateTime {
  return DateTime.fromISO(s, { zone });
}

/** Whether the window runs across midnight (`from` later than `to`; `to` "00:00" means the next midnight). */
export function crossesMidnight(w: Pick<AllowWindow, 'from' | 'to'>): boolean {
  return minutesOf(w.from) > minutesOf(w.to);
}

/** The blackout covering instant `t`, if any. */
export function blackoutAt(spec: WindowSpec, t: DateTime): Blackout | undefined {
  return spec.blackouts.find((b) => {
    const from = localDateTime(b.from, spec.timezone);
    const to = localDateTime(b.to, spec.timezone);
    return t >= from && t < to;
  });
}

const dayName = (weekday: number) => DAYS[weekday - 1] as (typeof DAYS)[number];

/** Whether `t` is inside an allow window (no allow windows = always allowed). */
export function inAllowWindow(spec: WindowSpec, t: DateTime): boolean {
  if (spec.allow.length === 0) return true;
  const local = t.setZone(spec.timezone);
  const today = dayName(local.weekday);
  // The calendar day before, by wall clock (not 24 hours earlier, which a DST change would shift).
  const yesterday = dayName(local.startOf('day').minus({ days: 1 }).weekday);
  const minute = local.hour * 60 + local.minute;
  return spec.allow.some((w) => {
    const from = minutesOf(w.from);
    const to = minutesOf(w.to);
    if (!crossesMidnight(w)) return w.days.includes(today) && minute >= from && minute < to;
    // Across midnight: the evening part on a listed day, the early-morning part on the day after one.
    return (w.days.includes(today) && minute >= from) || (w.days.includes(yesterday) && minute < to);
  });
}

export function isOpen(spec: WindowSpec, t: DateTime): boolean {
  return inAllowWindow(spec, t) && !blackoutAt(spec, t);
}

/**
 * The instants at which the wall clock of `day` first reads `minute` or later: normally one; in a
 * spring-forward gap (a wall time that does not exist) the instant the clocks jump; in a fall-back
 * overlap (a wall time that happens twice) both occurrences.
 */
function wallTimeInstants(day: DateTime, minute: number, zone: string): DateTime[] {
  const c = DateTime.fromObject({ year: day.year, month: day.month, day: day.day, hour: Math.floor(minute / 60), minute: minute % 60 }, { zone });
  if (!c.isValid) return [];
  const wall = c.hour * 60 + c.minute;
  if (wall !== minute) {
    // luxon moved a wall time inside a gap forward by the gap's length; the clocks jumped at some
    // instant in [c - gap, c]: find it (to the millisecond) by bisection on the offset.
    const gap = wall - minute;
    let lo = c.minus({ minutes: gap }).toMillis();
    let hi = c.toMillis();
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (DateTime.fromMillis(mid, { zone }).offset === c.offset) hi = mid;
      else lo = mid;
    }
    return [DateTime.fromMillis(hi, { zone })];
  }
  // luxon resolves an ambiguous wall time to its later occurrence; the earlier one is `offset change` before it.
  const earlier = c.minus({ minutes: c.minus({ hours: 3 }).offset - c.offset });
  return earlier < c && earlier.hour * 60 + earlier.minute === minute ? [earlier, c] : [c];
}

/**
 * The instant the zone's UTC offset changes during `day`, if it does (found to the millisecond by bisection).
 * At a fall-back the wall clock goes back an hour, which can re-enter a window that had closed by the clock.
 */
function offsetChange(day: DateTime, zone: string): DateTime | undefined {
  const start = day.startOf('day');
  const end = start.plus({ days: 1 });
  if (start.offset === end.offset) return undefined;
  let lo = start.toMillis();
  let hi = end.toMillis();
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (DateTime.fromMillis(mid, { zone }).offset === end.offset) hi = mid;
    else lo = mid;
  }
  return DateTime.fromMillis(hi, { zone });
}

/**
 * The next moment after `now` at which the stage may deploy, within LOOKAHEAD_DAYS. The stage can only
 * become open at a window's `from`, at a blackout's end, or when the clocks change; each is a candidate.
 */
export function nextOpening(spec: WindowSpec, now: DateTime): DateTime | undefined {
  const zone = spec.timezone;
  const local = now.setZone(zone);
  const candidates: DateTime[] = [];
  for (let d = 0; d <= LOOKAHEAD_DAYS; d++) {
    const day = local.startOf('day').plus({ days: d });
    const change = offsetChange(day, zone);
    if (change) candidates.push(change);
    for (const w of spec.allow) {
      if (minutesOf(w.from) >= 24 * 60) continue; // refused by the config schema; opens nothing
      candidates.push(...wallTimeInstants(day, minutesOf(w.from), zone));
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
  return t.setZone(zone).toFormat('ccc d LLL yyyy HH:mm ZZZZ');
}

function blackoutText(b: Blackout, zone: string): string {
  return `blackout "${b.reason}" from ${b.from} to ${b.to} (${zone})`;
}

/** One bypass as the WARN reason names it. */
export function describeBypass(b: Bypassed): string {
  switch (b.kind) {
    case 'freeze':
      return `global freeze bypassed (declared by ${b.principal} at ${b.at}: ${b.reason})`;
    case 'blackout':
      return `${blackoutText(b, b.timezone)} bypassed`;
    case 'outside-window': {
      const next = b.nextOpening ? `next opening ${describe(DateTime.fromISO(b.nextOpening), b.timezone)}` : `no opening within ${LOOKAHEAD_DAYS} days`;
      return `outside the allow windows bypassed (${describe(DateTime.fromISO(b.at), b.timezone)}; ${next})`;
    }
  }
}

/** What a closed window at `t` consists of: the blackout covering it, and/or being outside every allow window. */
function closures(spec: WindowSpec, t: DateTime): Bypassed[] {
  const out: Bypassed[] = [];
  const blackout = blackoutAt(spec, t);
  if (blackout) out.push({ kind: 'blackout', from: blackout.from, to: blackout.to, reason: blackout.reason, timezone: spec.timezone });
  if (!inAllowWindow(spec, t)) {
    const next = nextOpening(spec, t);
    out.push({ kind: 'outside-window', at: t.toUTC().toISO() as string, timezone: spec.timezone, nextOpening: next ? (next.toUTC().toISO() as string) : null });
  }
  return out;
}

function bypassReason(bypass: WindowBypass, bypassed: readonly Bypassed[], inside: string): string {
  const head = `${bypass.kind ?? 'break-glass'}: ${bypass.reason}`;
  return bypassed.length === 0 ? `${head} (${inside}; nothing bypassed)` : `${head}; ${bypassed.map(describeBypass).join('; ')}`;
}

/** May this stage deploy now? With break-glass the answer is OPEN, and `bypassed` says what was gone past. */
export function evaluateWindow(spec: WindowSpec | undefined, now: Date, breakGlass?: WindowBypass | null): WindowVerdict {
  if (!spec) return { verdict: 'OPEN', reason: breakGlass ? bypassReason(breakGlass, [], 'no release window configured') : 'no release window configured', bypassed: [] };
  const t = DateTime.fromJSDate(now, { zone: spec.timezone });
  if (breakGlass) {
    const bypassed = closures(spec, t);
    return { verdict: 'OPEN', reason: bypassReason(breakGlass, bypassed, `inside the release window (${describe(t, spec.timezone)})`), bypassed };
  }
  if (isOpen(spec, t)) return { verdict: 'OPEN', reason: `inside the release window (${describe(t, spec.timezone)})`, bypassed: [] };
  const blackout = blackoutAt(spec, t);
  const why = blackout ? blackoutText(blackout, spec.timezone) : `outside the release window (${describe(t, spec.timezone)})`;
  if (spec.outside === 'block') return { verdict: 'BLOCK', reason: why };
  const next = nextOpening(spec, t);
  if (!next) return { verdict: 'BLOCK', reason: `${why}; no opening within ${LOOKAHEAD_DAYS} days` };
  return { verdict: 'WAIT', until: next.toUTC().toISO() as string, reason: `${why}; waiting until ${describe(next, spec.timezone)}` };
}

/** The `window` gate's whole answer at one moment: what to do, what to record, and what was bypassed. */
export type WindowDecision =
  | { verdict: 'OPEN'; result: 'PASS' | 'WARN'; reason: string; bypassed: Bypassed[] }
  | { verdict: 'WAIT'; result: 'WAIT'; until: string; reason: string; bypassed: [] }
  | { verdict: 'BLOCK'; result: 'FAIL'; reason: string; bypassed: [] };

/**
 * The freeze, then the stage's windows and blackouts, at `now`: the `window` gate's decision, pure, so it
 * can be taken again at any checkpoint (the window gate, and right before a deploy). The freeze blocks
 * unless bypassed; break-glass is always WARN (and names what it bypassed, or that it bypassed nothing);
 * a rollback is WARN when it went past a closed window or a freeze, PASS otherwise.
 */
export function describeWindowAt(spec: WindowSpec | undefined, now: Date, bypass: WindowBypass | null | undefined, freeze: FreezeState | null | undefined): WindowDecision {
  const frozen = freeze?.on === true;
  const freezeText = `global freeze since ${freeze?.at ?? 'an unknown time'} by ${freeze?.principal ?? 'an unknown principal'}: ${freeze?.reason ?? 'no reason given'}`;
  if (frozen && !bypass) return { verdict: 'BLOCK', result: 'FAIL', reason: freezeText, bypassed: [] };
  const v = evaluateWindow(spec, now, bypass ?? null);
  if (v.verdict === 'WAIT') return { verdict: 'WAIT', result: 'WAIT', until: v.until, reason: v.reason, bypassed: [] };
  if (v.verdict === 'BLOCK') return { verdict: 'BLOCK', result: 'FAIL', reason: v.reason, bypassed: [] };
  if (!bypass) return { verdict: 'OPEN', result: 'PASS', reason: v.reason, bypassed: [] };
  const freezeBypass: Bypassed[] = frozen
    ? [{ kind: 'freeze', principal: freeze?.principal ?? 'an unknown principal', at: freeze?.at ?? 'an unknown time', reason: freeze?.reason ?? 'no reason given' }]
    : [];
  const bypassed = [...freezeBypass, ...v.bypassed];
  const inside = spec ? `inside the release window (${describe(DateTime.fromJSDate(now), spec.timezone)})` : 'no release window configured';
  const reason = bypassReason(bypass, bypassed, inside);
  const result = (bypass.kind ?? 'break-glass') === 'break-glass' || bypassed.length > 0 ? 'WARN' : 'PASS';
  return { verdict: 'OPEN', result, reason, bypassed };
}
