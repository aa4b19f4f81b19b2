#!/usr/bin/env -S npx tsx
/**
 * `npx tsx scripts/dashboard-screenshot.ts [--out docs/images/dashboard.png]`: the README's picture of `gantry dashboard`
 * (docs/decisions/056-dashboard.md). Makes a local Gantry from examples/scenarios/operator-walkthrough.json with alice's
 * release of payments v1.4.2 started at the beginning and carol's rollback drill of staging at PT28M, its clock at PT31M:
 * prod waits for v1.4.2's approval while the drill works in staging. Serves the dashboard on it (actions allowed, as an
 * approver), follows v1.4.2 and writes a 1280×800 PNG with headless Chromium (playwright-core; CHROMIUM_PATH or
 * /usr/bin/chromium). Nothing leaves 127.0.0.1.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { main } from '../cli/main';
import { startDashboard } from '../cli/dashboard/server';
import type { OperatorIo } from '../cli/commands/common';

const ROOT = resolve(__dirname, '..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ALICE = 'arn:aws:sts::111122223333:assumed-role/Deployers/alice';
const CAROL = 'arn:aws:sts::111122223333:assumed-role/Operators/carol';
const BOB = 'arn:aws:sts::111122223333:assumed-role/ReleaseApprovers/bob';

class ScreenshotError extends Error {
  override readonly name = 'ScreenshotError';
}

function outPath(argv: string[]): string {
  const i = argv.indexOf('--out');
  if (i === -1) return join(ROOT, 'docs', 'images', 'dashboard.png');
  const v = argv[i + 1];
  if (!v || !v.endsWith('.png')) throw new ScreenshotError('--out: expected a .png file');
  return resolve(v);
}

async function run(): Promise<void> {
  const out = outPath(process.argv.slice(2));
  if (!existsSync(CHROMIUM)) throw new ScreenshotError(`Chromium is needed at ${CHROMIUM} (Debian: apt-get install chromium; or set CHROMIUM_PATH)`);
  const work = mkdtempSync(join(tmpdir(), 'gantry-dashboard-shot-'));
  try {
    const s = JSON.parse(readFileSync(join(ROOT, 'examples', 'scenarios', 'operator-walkthrough.json'), 'utf8'));
    s.triggers = [
      { type: 'start', principal: ALICE, input: { service: 'payments', image: { tag: 'v1.4.2' }, reason: 'CHG-2211 fix rounding' }, at: 'PT0S' },
      { type: 'drill', principal: CAROL, input: { service: 'payments', stage: 'staging', reason: 'quarterly rehearsal' }, at: 'PT28M' },
    ];
    const scenario = join(work, 'scenario.json');
    writeFileSync(scenario, JSON.stringify(s, null, 2));
    // A short relative name, as the README's commands make it: the page shows it as the source.
    process.chdir(work);
    const dir = 'demo-gantry';
    const errors: string[] = [];
    const io: OperatorIo = { out: () => undefined, err: (t) => errors.push(t), isTTY: false, env: {}, sleep: async () => undefined };
    const code = await main(['node', 'gantry', 'simulate', scenario, '--state', dir, '--until', 'PT31M', '--json'], io);
    if (code !== 0) throw new ScreenshotError(`gantry simulate --state failed (${code}): ${errors.join('')}`);

    const d = await startDashboard({ local: dir, port: 0, allowActions: true, as: BOB }, io);
    const { chromium } = require('playwright-core') as typeof import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      await page.goto(`${d.url}#release=payments-20261124T100000Z-6abdef`, { waitUntil: 'load' });
      await page.locator('.card.approval').first().waitFor();
      await page.locator('#release-section:not([hidden]) tr[data-stage="prod"]').waitFor();
      await page.locator('#matrix .cell, #matrix .empty').first().waitFor();
      await page.screenshot({ path: out });
      process.stdout.write(`wrote ${out}\n`);
    } finally {
      await browser.close();
      await d.close();
    }
  } finally {
    process.chdir(ROOT);
    rmSync(work, { recursive: true, force: true });
  }
}

run().catch((e: unknown) => {
  process.stderr.write(`dashboard-screenshot: ${(e as Error).message}\n`);
  process.exitCode = 1;
});
