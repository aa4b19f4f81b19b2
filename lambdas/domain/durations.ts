/**
 * ISO-8601 durations as scenarios and schedules write them (`PT7M`, `P1DT2H`, `PT0.5S`), turned
 * into milliseconds. Only fixed-length units are accepted: days (24 h, as on a UTC clock), hours,
 * minutes and seconds (the seconds may carry a fraction). Years, months and weeks are refused,
 * because a month has no fixed length and a scenario clock is UTC.
 * Pure: no clock, no I/O.
 */
import { ValidationError } from './validation';

const DURATION = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$/;
const ALLOWED = 'expected an ISO-8601 duration of days, hours, minutes and seconds such as PT7M, PT30S, PT0.5S or P1DT2H';

const MS = { day: 86_400_000, hour: 3_600_000, minute: 60_000, second: 1_000 } as const;

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  if (s === undefined) return String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function why(s: string): string {
  if (/^-/.test(s)) return ' (negative durations are not allowed)';
  if (/^P(?:[^T]*)(?:\d+Y|\d+M|\d+W)/.test(s)) return ' (years, months and weeks have no fixed length here; use days)';
  if (/^P.*T$/.test(s)) return ' (a T must be followed by hours, minutes or seconds)';
  if (s === 'P') return ' (at least one component is required)';
  if (/^[a-z]/.test(s)) return ' (designators are upper case)';
  return '';
}

/**
 * Parse an ISO-8601 duration (PnDTnHnMnS) to whole milliseconds (a fraction of a millisecond is
 * rounded). Throws ValidationError with one line `path: expected …, got …`.
 * @param path the JSON path of the value in its document, used in the error line
 * @param source what the document is, used in the error heading
 */
export function parseIsoDuration(value: unknown, path = 'duration', source = 'duration'): number {
  const fail = (extra = ''): never => {
    throw new ValidationError(source, [`${path}: ${ALLOWED}${extra}, got ${describe(value)}`]);
  };
  if (typeof value !== 'string') return fail();
  const m = DURATION.exec(value);
  // "P" alone and "PT" alone match the pattern with every component absent.
  if (!m || m.slice(1).every((g) => g === undefined)) return fail(why(value));
  const [, d, h, min, s] = m;
  const seconds = s === undefined ? 0 : Number(s.replace(',', '.'));
  const ms = Number(d ?? 0) * MS.day + Number(h ?? 0) * MS.hour + Number(min ?? 0) * MS.minute + Math.round(seconds * MS.second);
  if (!Number.isSafeInteger(ms)) return fail(' (too large)');
  return ms;
}

/** True when `value` parses as a duration parseIsoDuration accepts. */
export function isIsoDuration(value: unknown): value is string {
  try {
    parseIsoDuration(value);
    return true;
  } catch {
    return false;
  }
}

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/;

/**
 * Parse an ISO-8601 instant that names its offset (`Z`, `+01:00` or `+0100`) to epoch milliseconds.
 * Throws ValidationError when the string is not such an instant or names an impossible date.
 */
export function parseInstant(value: unknown, path = 'instant', source = 'instant'): number {
  const fail = (): never => {
    throw new ValidationError(source, [`${path}: expected an ISO-8601 instant with an offset such as 2026-11-24T10:00:00Z, got ${describe(value)}`]);
  };
  if (typeof value !== 'string' || !INSTANT.test(value)) return fail();
  const withColon = value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  const ms = Date.parse(withColon);
  if (Number.isNaN(ms)) return fail();
  // Date.parse rolls impossible dates over (Feb 30 → Mar 2) on some engines: check the calendar date.
  const [y, mo, da] = value.slice(0, 10).split('-').map(Number) as [number, number, number];
  const probe = new Date(Date.UTC(y, mo - 1, da));
  if (probe.getUTCFullYear() !== y || probe.getUTCMonth() !== mo - 1 || probe.getUTCDate() !== da) return fail();
  const [hh, mm] = value.slice(11, 16).split(':').map(Number) as [number, number];
  if (hh > 23 || mm > 59) return fail();
  return ms;
}

/**
 * `isoInstant` plus a duration (an ISO-8601 duration string or milliseconds), as an ISO instant in
 * UTC with milliseconds (`2026-11-24T10:07:00.000Z`: fixed width, so these strings sort by time).
 */
export function addDuration(isoInstant: string, duration: string | number): string {
  const start = parseInstant(isoInstant);
  const ms = typeof duration === 'number' ? duration : parseIsoDuration(duration);
  if (!Number.isFinite(ms)) throw new ValidationError('duration', [`duration: expected a finite number of milliseconds, got ${describe(duration)}`]);
  const end = start + ms;
  if (Math.abs(end) > 8.64e15) throw new ValidationError('duration', [`duration: the result is outside the representable range, got ${describe(duration)}`]);
  return new Date(end).toISOString();
}
