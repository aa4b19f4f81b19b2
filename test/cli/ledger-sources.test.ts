/**
 * `gantry metrics`, `gantry audit verify` and `gantry audit export` read one ledger source (cli/ledger-source.ts):
 * a local Gantry (`--local DIR`), the stack's live ledger (`--stack`/`--region`/`--profile`, through the AWS backend;
 * here its table is the in-memory DynamoDB), a table (`--table --region --profile`) or a file (`--file`, as before).
 * Each source answers the same as the file of the same ledger; two sources are refused naming both.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, describe, it } from 'vitest';
import { exportEvents, parseExport } from '../../lambdas/domain/audit';
import type { LedgerEvent } from '../../lambdas/domain/ledger';
import { liveClientConfig } from '../../cli/backends/live-ledger';
import type { OperatorIo } from '../../cli/commands/common';
import { CliInputError } from '../../cli/errors';
import { liveTableOf } from '../../cli/input';
import { main } from '../../cli/main';
import { example, localGantry, tmp } from './helpers';
import { stackHolding } from './stack-fixture';

/** `gantry <args>` in process: what main's io and process.stdout (the audit commands write there) received. */
async function run(args: string[], openBackend?: OperatorIo['openBackend']) {
  const out: string[] = [];
  const err: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  let code: number;
  try {
    code = await main(['node', 'gantry', ...args], {
      out: (s) => out.push(s),
      err: (s) => err.push(s),
      isTTY: false,
      env: {},
      sleep: async () => undefined,
      ...(openBackend ? { openBackend } : {}),
    });
  } finally {
    process.stdout.write = write;
  }
  return { code, stdout: out.join(''), stderr: err.join('') };
}

let dir: string;
let file: string;
beforeAll(async () => {
  dir = await localGantry(example('demo'));
  file = join(dir, 'ledger.jsonl');
});

describe('--local DIR: the local Gantry ledger', () => {
  it('gantry metrics --local gives the figures the ledger file gives', async () => {
    const local = await run(['metrics', '--local', dir, '--json']);
    const fromFile = await run(['metrics', '--file', file, '--json']);

    assert.equal(local.code, 0, local.stderr);
    const report = JSON.parse(local.stdout) as { services: Array<{ service: string; releases: number }> };
    assert.ok(
      report.services.some((s) => s.service === 'payments' && s.releases > 0),
      local.stdout,
    );
    assert.deepEqual(report, JSON.parse(fromFile.stdout));
  });

  it('gantry audit verify --local verifies every chain of the local ledger, as --file does', async () => {
    const local = await run(['audit', 'verify', '--local', dir, '--json']);
    const fromFile = await run(['audit', 'verify', '--file', file, '--json']);

    assert.equal(local.code, 0, local.stderr);
    const v = JSON.parse(local.stdout) as { ok: boolean; source: string; releases: unknown[] };
    assert.equal(v.ok, true);
    assert.match(v.source, /^local Gantry .* \(simulation\)$/);
    assert.deepEqual(v.releases, (JSON.parse(fromFile.stdout) as { releases: unknown[] }).releases);
    assert.ok(v.releases.length > 0);
  });

  it('gantry audit export --local writes the local ledger as an export', async () => {
    const out = join(tmp(), 'export.jsonl');
    const r = await run(['audit', 'export', '--local', dir, '--out', out]);

    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      exportEvents(parseExport(readFileSync(out, 'utf8'))).map((e) => e.hash),
      exportEvents(parseExport(readFileSync(file, 'utf8'))).map((e) => e.hash),
    );
  });

  it('refuses two sources, naming both, and reads nothing', async () => {
    const metrics = await run(['metrics', '--local', dir, '--file', file]);
    const verify = await run(['audit', 'verify', '--local', dir, '--stack', 'Gantry']);
    const exported = await run(['audit', 'export', '--table', 'T', '--region', 'eu-west-2', '--local', dir]);

    for (const r of [metrics, verify, exported]) {
      assert.equal(r.code, 2);
      assert.match(r.stderr, /give one ledger to read: --file <export>, --table <name>, --local <dir> or a stack/);
    }
    assert.match(metrics.stderr, /got --file and --local/);
    assert.match(verify.stderr, /got --local and --stack/);
    assert.match(exported.stderr, /got --table and --local/);
  });
});

describe('the stack: its live ledger through the AWS backend', () => {
  it('gantry metrics and audit verify with --stack, --region and --profile read the stack ledger table', async () => {
    const events = exportEvents(parseExport(readFileSync(file, 'utf8'))) as unknown as LedgerEvent[];
    const stack = await stackHolding(events);
    const { openBackend, opened } = stack;
    try {
      const metrics = await run(['metrics', '--stack', 'GantryProd', '--region', 'eu-west-2', '--profile', 'ops', '--json'], openBackend);
      const verify = await run(['audit', 'verify', '--stack', 'GantryProd', '--region', 'eu-west-2', '--json'], openBackend);
      const fromFile = await run(['metrics', '--file', file, '--json']);
      const byDefault = await run(['metrics', '--json'], openBackend);

      assert.equal(metrics.code, 0, metrics.stderr);
      assert.deepEqual({ stack: opened[0]?.stack, region: opened[0]?.region, profile: opened[0]?.profile }, { stack: 'GantryProd', region: 'eu-west-2', profile: 'ops' });
      assert.deepEqual(JSON.parse(metrics.stdout), JSON.parse(fromFile.stdout));
      assert.equal(byDefault.code, 0, byDefault.stderr);
      assert.deepEqual({ stack: opened[2]?.stack, local: opened[2]?.local }, { stack: undefined, local: undefined }, 'no source given: the default stack');
      assert.deepEqual(JSON.parse(byDefault.stdout), JSON.parse(fromFile.stdout));
      assert.equal(verify.code, 0, verify.stderr);
      const v = JSON.parse(verify.stdout) as { ok: boolean; source: string; releases: unknown[] };
      assert.equal(v.ok, true);
      assert.equal(v.source, 'stack GantryProd (eu-west-2)');
      assert.ok(v.releases.length > 0);
    } finally {
      await stack.close();
    }
  });
});

describe('--table with --profile', () => {
  it('reads the table with the profile, region and endpoint given', async () => {
    assert.deepEqual(liveTableOf({ table: 'Gantry-Ledger', region: 'eu-west-2', profile: 'audit' }), { tableName: 'Gantry-Ledger', region: 'eu-west-2', profile: 'audit' });
    assert.deepEqual(liveClientConfig({ tableName: 'T', region: 'eu-west-2', profile: 'audit', endpoint: 'http://localhost:8000' }), {
      region: 'eu-west-2',
      endpoint: 'http://localhost:8000',
      profile: 'audit',
    });
    assert.throws(
      () => liveTableOf({ table: 'T', region: 'eu-west-2', profile: 'bad profile;rm' }),
      (e: unknown) => e instanceof CliInputError && /^--profile: expected an AWS profile name/.test(e.message),
    );
  });

  it('gantry audit export --table --region --profile queries that table (aws-sdk-client-mock)', async () => {
    const doc = mockClient(DynamoDBDocumentClient);
    doc.onAnyCommand().resolves({ Items: [] });
    try {
      const r = await run(['audit', 'export', '--table', 'Gantry-Ledger', '--region', 'eu-west-2', '--profile', 'audit']);
      const drift = await run(['audit', 'drift', '--table', 'Gantry-Ledger', '--region', 'eu-west-2', '--profile', 'audit', '--json']);

      assert.equal(r.code, 2, 'an empty table is nothing to export');
      assert.match(r.stderr, /no events in table Gantry-Ledger \(eu-west-2\): nothing to export/);
      assert.ok(doc.calls().length > 0);
      assert.ok(doc.calls().every((c) => (c.args[0].input as { TableName?: string }).TableName === 'Gantry-Ledger'));
      assert.notEqual(drift.code, 2, `audit drift takes --profile: ${drift.stderr}`);
    } finally {
      doc.restore();
    }
  });
});

describe('gantry audit drift --local', () => {
  it("reads a local Gantry's insight checks, as --file reads its simulation output; two sources are refused", async () => {
    const dir = await localGantry(example('drift-out-of-band'));
    const local = await run(['audit', 'drift', '--local', dir, '--json']);
    const file = await run(['audit', 'drift', '--file', join(dir, 'simulation.json'), '--json']);
    assert.equal(local.code, 0, local.stderr);
    const a = JSON.parse(local.stdout) as { source: string; checks: Array<{ drift: unknown[] }> };
    const b = JSON.parse(file.stdout) as { checks: unknown };
    assert.match(a.source, /^local Gantry .* \(simulation\)$/);
    assert.deepEqual(a.checks, b.checks);
    assert.ok(
      a.checks.some((c) => c.drift.length > 0),
      'the out-of-band change is found',
    );

    const both = await run(['audit', 'drift', '--local', dir, '--file', join(dir, 'simulation.json')]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /give one source of insight records: .* got --file and --local/);
  }, 120_000);
});
