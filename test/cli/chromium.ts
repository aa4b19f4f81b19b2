/**
 * Headless Chromium for the tests that render a page (the HTML report, the dashboard): Debian's /usr/bin/chromium
 * (or CHROMIUM_PATH) driven by playwright-core, which downloads no browser. `sharedBrowser()` launches one per
 * describe block and closes it after.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll } from 'vitest';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** A browser for the enclosing describe block: `get()` inside its tests. */
export function sharedBrowser(): { get(): any } {
  // biome-ignore lint/suspicious/noExplicitAny: playwright-core is loaded at run time
  let browser: any;
  beforeAll(async () => {
    assert.ok(existsSync(CHROMIUM), `Chromium is needed at ${CHROMIUM} (Debian: apt-get install chromium; or set CHROMIUM_PATH)`);
    const { chromium } = require('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  });
  afterAll(async () => {
    await browser?.close();
  });
  return { get: () => browser };
}
