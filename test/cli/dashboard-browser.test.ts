/**
 * `gantry dashboard` end to end in headless Chromium (playwright-core, Debian's /usr/bin/chromium or CHROMIUM_PATH):
 * a local Gantry where prod waits for an approval; the page shows the stage matrix with prod WAITING, follows the
 * release, approves prod from the page and updates (the approval gone, prod deploying); no console error, no request
 * to any host but the dashboard's; the state written as a word beside its colour; the same page read-only has no
 * action buttons; a release's report opens under its own CSP without errors.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportEvents, parseExport } from '../../lambdas/domain/audit';
import { describe, it } from 'vitest';
import { type Dashboard, startDashboard } from '../../cli/dashboard/server';
import { testIo, waitingForApproval } from './dashboard-fixture';
import { sharedBrowser } from './chromium';
import { bob, example, localGantry, tmp } from './helpers';

const RELEASE = 'payments-20261124T100000Z-6abdef';

describe('the dashboard in headless Chromium', () => {
  const chromium = sharedBrowser();

  /** Open the dashboard; collect console errors and warnings, page errors, dialogs and every request's origin. */
  async function open(d: Dashboard) {
    const page = await chromium.get().newPage({ viewport: { width: 1280, height: 800 } });
    const problems: string[] = [];
    const origins = new Set<string>();
    page.on('console', (m: { type(): string; text(): string }) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e: Error) => problems.push(`pageerror: ${e.message}`));
    page.on('dialog', async (dlg: { message(): string; dismiss(): Promise<void> }) => {
      problems.push(`dialog: ${dlg.message()}`);
      await dlg.dismiss();
    });
    page.on('request', (r: { url(): string }) => {
      const u = new URL(r.url());
      if (u.protocol !== 'data:') origins.add(u.origin);
    });
    await page.goto(d.url, { waitUntil: 'load' });
    return { page, problems, origins };
  }

  /** The dashboard on `opts` with a page open on it: `fn` drives the page; then no console error, page error or dialog, and no request but to the dashboard. */
  async function onDashboard(opts: Parameters<typeof startDashboard>[0], fn: (page: any, d: Dashboard) => Promise<void>): Promise<void> {
    const d = await startDashboard(opts, testIo());
    try {
      const { page, problems, origins } = await open(d);
      await fn(page, d);
      assert.deepEqual(problems, [], 'no console error, page error or dialog');
      assert.deepEqual([...origins], [`http://127.0.0.1:${d.port}`], 'every request goes to the dashboard itself');
      await page.close();
    } finally {
      await d.close();
    }
  }

  it('shows prod WAITING in the matrix, follows the release, approves prod and sees the page update', async () => {
    const dir = await waitingForApproval();
    await onDashboard({ local: dir, port: 0, allowActions: true, as: bob }, async (page) => {
      // The matrix: prod of payments waits (for the approval), the state written as a word.
      const prod = page.locator('.cell[data-service="payments"][data-stage="prod"]');
      await prod.waitFor();
      assert.equal(await prod.getAttribute('data-state'), 'WAITING');
      assert.equal(await prod.locator('.state').textContent(), 'WAITING');
      assert.match(await prod.textContent(), /awaiting approval by ReleaseApprovers/);
      assert.equal(await page.locator('.cell[data-service="payments"][data-stage="dev"] .state').textContent(), 'HEALTHY');
      assert.match(await page.locator('#banner').textContent(), /SIMULATION — local Gantry\. Its clock does not move by itself: virtual now is 2026-11-24 10:30:00Z/);
      assert.equal(await page.locator('#mode').textContent(), 'actions allowed');

      // In flight: 2 of 3 stages, prod's phase in words.
      const card = page.locator(`.card.release[data-release="${RELEASE}"]`);
      assert.match(await card.textContent(), /2 of 3 stages/);
      assert.match(await card.locator('.activity').textContent(), /prod · approval awaiting approval by ReleaseApprovers/);

      // Follow it.
      await card.locator(`a[href="#release=${RELEASE}"]`).click();
      await page.locator('#release-section:not([hidden]) tr[data-stage="prod"]').waitFor();
      assert.equal(await page.locator('#release-id').textContent(), RELEASE);
      assert.equal(await page.locator('#release tr[data-stage="prod"]').getAttribute('data-status'), 'WAITING');
      assert.equal(await page.locator('#release tr[data-stage="staging"]').getAttribute('data-status'), 'PROMOTED');

      // Approve prod from the page, with a comment.
      const approval = page.locator(`.card.approval[data-release="${RELEASE}"][data-stage="prod"]`);
      await approval.locator('input.comment').fill('ok for CHG-2211');
      await approval.locator('button.approve').click();
      await page.locator('#toast:not([hidden])', { hasText: 'APPROVED' }).waitFor();
      assert.match(await page.locator('#toast').textContent(), /APPROVED: prod of payments-20261124T100000Z-6abdef by .*ReleaseApprovers\/bob .*\(ok for CHG-2211\)/);
      await page.locator('#approvals .empty', { hasText: 'No approval waiting.' }).waitFor();
      await page.locator('#release tr[data-stage="prod"]', { hasText: 'deploying' }).waitFor();
      await page.waitForFunction(`document.querySelector('.cell[data-service="payments"][data-stage="prod"]')?.getAttribute('data-state') !== 'WAITING'`);
      assert.equal(await prod.getAttribute('data-state'), 'IN_FLIGHT');
    });
  }, 120_000);

  it('writes every cell state as a word beside its colour, and shows data as text, never as HTML', async () => {
    const dir = await waitingForApproval();
    await onDashboard({ local: dir, port: 0 }, async (page, d) => {
      await page.locator('.cell[data-stage="prod"]').first().waitFor();
      // The real overview, with the payments and ledger cells set to each state and a message carrying markup.
      const real = await page.evaluate(`fetch('/api/overview').then((r) => r.json())`);
      const states = ['EMPTY', 'HEALTHY', 'IN_FLIGHT', 'WAITING', 'DEGRADED'];
      const cells = real.matrix.services.flatMap((s: { stages: Array<Record<string, any>> }) => s.stages);
      assert.ok(cells.length >= states.length);
      states.forEach((state, i) => {
        cells[i].state = state;
        cells[i].reason = `reason of ${state}`;
        cells[i].inFlight = [];
      });
      cells[3].inFlight = [{ ...real.matrix.services[0].stages[2].inFlight[0], message: '<img src=x onerror=alert(1)>awaiting' }];
      await page.route(`${d.url}api/overview`, (route: { fulfill(r: object): Promise<void> }) =>
        route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(real) }),
      );
      await page.locator('.cell[data-state="DEGRADED"]').waitFor();

      for (const state of states) {
        const cell = page.locator(`.cell[data-state="${state}"]`).first();
        assert.equal(await cell.locator('.state').textContent(), state, `${state} is written as a word`);
        assert.match(String(await cell.getAttribute('class')), new RegExp(`\\bstate-${state}\\b`));
      }
      assert.match(await page.locator('.cell[data-state="DEGRADED"]').textContent(), /reason of DEGRADED/);
      const waiting = page.locator('.cell[data-state="WAITING"]').first();
      assert.match(await waiting.textContent(), /<img src=x onerror=alert\(1\)>awaiting/);
      assert.equal(await page.locator('#matrix img').count(), 0);
      // Colours differ by state (the word is there for those who cannot tell them apart).
      const colours = new Set<string>();
      for (const state of states)
        colours.add(
          await page
            .locator(`.cell[data-state="${state}"] .state`)
            .first()
            .evaluate((e: unknown) => (globalThis as unknown as { getComputedStyle(x: unknown): { color: string } }).getComputedStyle(e).color),
        );
      assert.equal(colours.size, states.length, [...colours].join(' '));
    });
  }, 120_000);

  it("a Terraform stage: the page shows the saved plan's sha256 and Approve sends it (decision 049)", async () => {
    // terraform-plan-approved without its approver: prod waits on plan 1.
    const s = JSON.parse(readFileSync(example('terraform-plan-approved'), 'utf8'));
    s.script = [];
    const file = join(tmp(), 'terraform-plan-waiting.json');
    writeFileSync(file, JSON.stringify(s));
    const dir = await localGantry(file, 'PT40M');
    const events = exportEvents(parseExport(readFileSync(join(dir, 'ledger.jsonl'), 'utf8')));
    const sha256 = String(events.find((e) => e.type === 'plan.recorded')?.data.sha256);
    assert.match(sha256, /^[a-f0-9]{64}$/);
    await onDashboard({ local: dir, port: 0, allowActions: true, as: 'arn:aws:sts::111122223333:assumed-role/ReleaseApprovers/carol' }, async (page) => {
      const approval = page.locator('.card.approval[data-stage="prod"]');
      await approval.waitFor();
      assert.match(await approval.locator('.plan').textContent(), new RegExp(`Terraform plan sha256 ${sha256} — 0 to add, 1 to change, 0 to destroy`));

      await approval.locator('button.approve').click();
      await page.locator('#toast:not([hidden])', { hasText: 'APPROVED' }).waitFor();
      await page.locator('#approvals .empty', { hasText: 'No approval waiting.' }).waitFor();

      const after = exportEvents(parseExport(readFileSync(join(dir, 'ledger.jsonl'), 'utf8')));
      const gate = after.find((e) => e.type === 'gate.evaluated' && e.stage === 'prod' && e.data.gate === 'approval');
      assert.equal(gate?.data.planSha256, sha256, 'the approval names the plan the page showed');
    });
  }, 120_000);

  it('aborts a release from the page with a reason: it leaves the releases in flight and shows ABORTED in the history', async () => {
    const dir = await waitingForApproval();
    await onDashboard({ local: dir, port: 0, allowActions: true }, async (page) => {
      const card = page.locator(`.card.release[data-release="${RELEASE}"]`);
      await card.waitFor();

      // No reason, nothing sent.
      await card.locator('button.danger').click();
      await page.locator('#toast.bad', { hasText: 'Abort: give a reason first' }).waitFor();
      await card.locator('input.reason').fill('INC-5120 wrong build');
      await card.locator('button.danger').click();

      await page.locator(`#history tr[data-release="${RELEASE}"]`).waitFor();
      assert.match(await page.locator(`#history tr[data-release="${RELEASE}"]`).textContent(), /ABORTED/);
      assert.match(await page.locator('#toast').textContent(), new RegExp(`${RELEASE} ABORTED`));
      assert.equal(await page.locator(`.card.release[data-release="${RELEASE}"]`).count(), 0);
      assert.match(await page.locator('#inflight').textContent(), /Nothing in flight/);
    });
  }, 120_000);

  it("rejects prod from the page, then promotes staging's last known good to prod: a new release waits for prod's approval", async () => {
    const dir = await waitingForApproval();
    await onDashboard({ local: dir, port: 0, allowActions: true, as: bob }, async (page) => {
      const approval = page.locator(`.card.approval[data-release="${RELEASE}"][data-stage="prod"]`);
      await approval.waitFor();
      assert.equal(await page.locator('button.promote').count(), 0, 'nothing to promote while prod waits');

      await approval.locator('input.comment').fill('not this week');
      await approval.locator('button.reject').click();
      await page.locator(`#history tr[data-release="${RELEASE}"]`, { hasText: 'REJECTED' }).waitFor();

      const promote = page.locator('.cell[data-service="payments"][data-stage="prod"] button.promote');
      await promote.waitFor();
      assert.equal(await promote.textContent(), 'Promote v1.4.2 from staging');
      assert.equal(await promote.getAttribute('data-digest'), `sha256:${'2'.repeat(64)}`);
      await promote.click();

      await page.locator('#toast:not([hidden])', { hasText: 'Started the promotion of sha256:222222222222 to prod of payments' }).waitFor();
      const next = page.locator('.card.approval[data-stage="prod"]');
      await next.waitFor();
      const id = String(await next.getAttribute('data-release'));
      assert.notEqual(id, RELEASE);
      await page.locator(`#release-section:not([hidden]) tr[data-stage="prod"][data-status="WAITING"]`).waitFor();
      assert.equal(await page.locator('#release-id').textContent(), id, 'the page follows the promotion');
      assert.equal(await page.locator('.cell[data-service="payments"][data-stage="prod"]').getAttribute('data-state'), 'WAITING');
    });
  }, 120_000);

  it('read-only: no action buttons, the mode says so; the report opens without errors', async () => {
    const dir = await waitingForApproval();
    await onDashboard({ local: dir, port: 0 }, async (page, d) => {
      await page.locator(`.card.approval[data-release="${RELEASE}"]`).waitFor();

      assert.equal(await page.locator('#mode').textContent(), 'read-only');
      assert.equal(await page.locator('button.approve, button.reject, button.danger, input.comment').count(), 0);

      const report = await chromium.get().newPage();
      const reportProblems: string[] = [];
      report.on('console', (m: { type(): string; text(): string }) => {
        if (m.type() === 'error' || m.type() === 'warning') reportProblems.push(`console ${m.type()}: ${m.text()}`);
      });
      report.on('pageerror', (e: Error) => reportProblems.push(`pageerror: ${e.message}`));
      await report.goto(`${d.url}releases/${RELEASE}/report`, { waitUntil: 'load' });
      assert.match(await report.locator('body').textContent(), /SIMULATION/);
      assert.deepEqual(reportProblems, []);
      await report.close();
    });
  }, 120_000);
});
