/**
 * `gantry report` and `gantry audit show` through the GantryBackend the operator commands use: a local
 * Gantry made by `gantry simulate <scenario> --state <dir>` (`--local <dir>`), and a deployed one found
 * as `gantry status` finds it (`--stack/--region/--profile`; here its ledger table is the in-memory DynamoDB).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, it } from 'vitest';
import { exportEvents, parseExport } from '../../lambdas/domain/audit';
import type { LedgerEvent } from '../../lambdas/domain/ledger';
import { main } from '../../cli/main';
import { alice, bob, example, gantry, gantryProcess, localGantry, scenarioFile, tmp } from './helpers';
import { stackHolding } from './stack-fixture';

const start = { type: 'start', principal: alice, input: { service: 'payments', image: { tag: 'v1.4.2' }, reason: 'CHG-7' }, at: 'PT0S' };

const ledgerOf = (dir: string) => exportEvents(parseExport(readFileSync(join(dir, 'ledger.jsonl'), 'utf8')));
const releaseIdOf = (dir: string) => String(ledgerOf(dir)[0]?.releaseId);

describe('gantry report --local', () => {
  let finished: string;
  beforeAll(async () => {
    finished = await localGantry(example('demo'));
  });

  it('writes the page of a release of a local Gantry, verified against its anchor, naming the simulation as its source', async () => {
    const id = releaseIdOf(finished);

    const r = await gantry('report', id, '--local', finished);

    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /^<!DOCTYPE html>/);
    assert.match(r.stdout, /✓ Ledger verified: yes/);
    assert.match(r.stdout, /hash chain intact; ends at its anchor \(version \d+,/);
    assert.ok(r.stdout.includes(`read from <code>local Gantry ${finished} (simulation)</code>`));
    // A local Gantry is a simulation: the banner opens the page, and the running header is on every printed page.
    assert.ok(r.stdout.indexOf('id="simulation-banner"') > r.stdout.indexOf('<body>'), 'the simulation banner');
    assert.ok(r.stdout.indexOf('id="simulation-banner"') < r.stdout.indexOf('<header>'), 'the banner comes first');
    assert.match(r.stdout, /@top-center \{ content: "SIMULATION: not a real release\./);
  });

  it('writes the page to --out', async () => {
    const out = join(tmp(), 'report.html');

    const r = await gantry('report', releaseIdOf(finished), '--local', finished, '--out', out);

    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(readFileSync(out, 'utf8'), /✓ Ledger verified: yes/);
  });

  it('exits 3 for a release the local Gantry does not hold, naming those it does and how to list them', async () => {
    const r = await gantry('report', 'payments-nope', '--local', finished);

    assert.equal(r.code, 3);
    assert.equal(r.stdout, '');
    assert.ok(
      r.stderr.includes(
        `release payments-nope is not in local Gantry ${finished} (simulation) (it has: ${releaseIdOf(finished)}); list releases with \`gantry releases --local ${finished}\``,
      ),
      r.stderr,
    );
  });

  it('exits 3 when the directory is not a local Gantry', async () => {
    const dir = join(tmp(), 'none');

    const r = await gantry('report', 'payments-x', '--local', dir);

    assert.equal(r.code, 3);
    assert.match(r.stderr, /is not a local Gantry \(no gantry-local\.json\); create one with gantry simulate/);
    assert.equal(existsSync(dir), false, 'reading creates nothing');
  });

  it('refuses --local together with --file or --stack as bad input (exit 2)', async () => {
    const withFile = await gantry('report', 'payments-x', '--local', finished, '--file', join(finished, 'ledger.jsonl'));
    const withStack = await gantry('report', 'payments-x', '--local', finished, '--stack', 'Gantry');

    assert.equal(withFile.code, 2);
    assert.match(withFile.stderr, /give one place to read the release from: .* got --file and --local/);
    assert.equal(withStack.code, 2);
    assert.match(withStack.stderr, /either --local <dir> or --stack\/--outputs, not both/);
  });

  it('reports a release where it stands now, and again after an approval moved it on', async () => {
    const dir = await localGantry(scenarioFile({ triggers: [start] }), 'PT40M');
    const id = releaseIdOf(dir);

    const waiting = await gantry('report', id, '--local', dir);
    // Its own ledger file too: the release has not finished, so its anchor is not signed, yet the file is a local Gantry's.
    const waitingFile = await gantry('report', id, '--file', join(dir, 'ledger.jsonl'));
    const approve = await gantry('approve', id, '--stage', 'prod', '--local', dir, '--as', bob, '--comment', 'CHG-7 ok');
    const approved = await gantry('report', id, '--local', dir);

    assert.equal(waiting.code, 0, waiting.stderr);
    assert.match(waiting.stdout, /✓ Ledger verified: yes/);
    assert.doesNotMatch(waiting.stdout, /CHG-7 ok/);
    assert.ok(waiting.stdout.includes('id="simulation-banner"'), 'the banner on a running release of a local Gantry');
    assert.equal(waitingFile.code, 0, waitingFile.stderr);
    assert.ok(waitingFile.stdout.includes('id="simulation-banner"'), "the banner on the page read from the local Gantry's ledger file");
    assert.equal(approve.code, 0, approve.stderr);
    assert.equal(approved.code, 0, approved.stderr);
    assert.match(approved.stdout, /✓ APPROVED/);
    assert.ok(approved.stdout.includes('CHG-7 ok'));
    assert.ok(approved.stdout.includes(bob));
    assert.match(approved.stdout, /✓ Ledger verified: yes/);
  });

  it('gives gantry audit show the same --local source', async () => {
    const id = releaseIdOf(finished);

    const shown = gantryProcess('audit', 'show', id, '--local', finished);
    const missing = gantryProcess('audit', 'show', 'payments-nope', '--local', finished);

    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`^RELEASE ${id} — SUCCEEDED`));
    assert.match(shown.stdout, /hash chain intact; anchor: version \d+/);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /release payments-nope is not in local Gantry .* \(simulation\) \(it has: payments-/);
  });
});

describe('gantry report --stack', () => {
  it("reads the release from the stack's ledger table through the AWS backend, with --stack, --region and --profile", async () => {
    const dir = await localGantry(scenarioFile({ triggers: [start] }));
    const events = ledgerOf(dir);
    const id = String(events[0]?.releaseId);
    const stack = await stackHolding(events as LedgerEvent[]);
    const { opened } = stack;
    try {
      const out: string[] = [];
      const err: string[] = [];
      const io = {
        out: (s: string) => out.push(s),
        err: (s: string) => err.push(s),
        isTTY: false,
        env: {},
        sleep: async () => undefined,
        openBackend: stack.openBackend,
      };

      const code = await main(['node', 'gantry', 'report', id, '--stack', 'GantryProd', '--region', 'eu-west-2', '--profile', 'ops'], io);
      const missing = await main(['node', 'gantry', 'report', 'payments-nope', '--stack', 'GantryProd', '--region', 'eu-west-2'], io);

      assert.equal(code, 0, err.join(''));
      assert.deepEqual({ stack: opened[0]?.stack, region: opened[0]?.region, profile: opened[0]?.profile }, { stack: 'GantryProd', region: 'eu-west-2', profile: 'ops' });
      const page = out[0] ?? '';
      assert.match(page, /✓ Ledger verified: yes/);
      assert.match(page, new RegExp(`ends at its anchor \\(version ${events.length},`));
      assert.ok(page.includes('read from <code>stack GantryProd (eu-west-2)</code>'));
      assert.ok(!page.includes('simulation-banner') && !page.includes('@top-center'), 'no simulation banner on a deployed Gantry');
      assert.equal(missing, 3);
      assert.ok(
        err.join('').includes(`release payments-nope is not in stack GantryProd (eu-west-2) (it has: ${id}); list releases with \`gantry releases --stack GantryProd\``),
        err.join(''),
      );
    } finally {
      await stack.close();
    }
  });
});
