/**
 * The config's time-zone check without luxon (decision 039): `parseConfig` runs in every handler, and
 * luxon (~70 KB) is needed only where windows are evaluated (lambdas/domain/windows.ts). This is the
 * check luxon's `IANAZone.isValidZone` makes (luxon 3.7): a zone is valid when the runtime's `Intl`
 * accepts it, so both agree on every string; test/unit/time-zones.test.ts compares them.
 */

/** Zones already checked, by name (the config holds a handful). */
const checked = new Map<string, boolean>();

function isValidZone(zone: string): boolean {
  if (!zone) return false;
  let valid = checked.get(zone);
  if (valid === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: zone }).format();
      valid = true;
    } catch {
      valid = false;
    }
    checked.set(zone, valid);
  }
  return valid;
}

/** Named as luxon's class so that lambdas/domain/config.ts changed its import only. */
export const IANAZone = { isValidZone } as const;
