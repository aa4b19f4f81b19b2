/**
 * Export and verification from the live ledger table (the in-memory DynamoDB): the release summaries are the anchors,
 * so edits, deletions and cuts made in the table itself are found. Also `gantry audit … --table`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, it } from 'vitest';
import { promisify } from 'node:util';
import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoLedger } from '../../lambdas/adapters/dynamo-ledger';
import { createLedgerTable, ledgerKeys } from '../../lambdas/adapters/ledger-table';
import { checkAgainstAnchors, formatExport, parseExport, verifyExport } from '../../lambdas/domain/audit';
import type { LedgerEvent } from '../../lambdas/domain/ledger';
import { anchorsFromLedger, exportFromLedger } from '../../cli/backends/live-ledger';
import type { LocalDynamo } from '../../local/dynamo';
import { startMemoryDynamo } from '../../local/memory-dynamo';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { buildRelease, promotedRelease } from '../helpers/ledger-builder';

const ROOT = join(__dirname, '..', '..');
const run = promisify(execFile);

let dynamo: LocalDynamo;
let ledger: DynamoLedger;
let table = '';
let n = 0;

async function store(events: readonly LedgerEvent[]): Promise<void> {
  for (const e of events) {
    const { seq: _s, prevHash: _p, hash: _h, ...input } = e;
    await ledger.append(input);
  }
}

beforeAll(async () => {
  dynamo = await startMemoryDynamo({ listen: true });
});
afterAll(async () => {
  await dynamo.close();
});
beforeEach(async () => {
  // A fresh table per test: the ledger keys releases by id, and tests reuse ids.
  n += 1;
  table = `audit-${n}`;
  await createLedgerTable(dynamo.client, table);
  ledger = new DynamoLedger({ client: dynamo.doc, tableName: table });
});
const tableOf = () => table;

const verifyLive = async (filter = {}) => verifyExport(parseExport(await exportFromLedger(ledger, filter)));

describe('exporting the live ledger', () => {
  it('writes every release with the summary as its anchor, and the export verifies', async () => {
    await store(promotedRelease('rel-a', '2026-11-01T10:00:00.000Z'));
    await store(promotedRelease('rel-b', '2026-11-02T10:00:00.000Z', 'ledger'));
    const parsed = parseExport(await exportFromLedger(ledger));
    const v = verifyExport(parsed);
    assert.equal(v.ok, true, JSON.stringify(v.problems));
    assert.deepEqual(
      v.releases.map((r) => r.releaseId),
      ['rel-a', 'rel-b'],
    );
    const summary = await ledger.getRelease('rel-a');
    assert.deepEqual(parsed.anchors.find((a) => a.anchor.releaseId === 'rel-a')?.anchor, {
      kind: 'anchor',
      releaseId: 'rel-a',
      version: summary?.version,
      lastHash: summary?.lastHash,
    });
  });

  it('keeps only the releases of the service and window asked for', async () => {
    await store(promotedRelease('rel-a', '2026-11-01T10:00:00.000Z'));
    await store(promotedRelease('rel-b', '2026-11-02T10:00:00.000Z', 'ledger'));
    await store(promotedRelease('rel-c', '2026-11-03T10:00:00.000Z'));
    const v = await verifyLive({ service: 'payments', since: '2026-11-02T00:00:00.000Z' });
    assert.deepEqual(
      v.releases.map((r) => r.releaseId),
      ['rel-c'],
    );
  });
});

describe('reading one release from the live ledger (gantry audit show --table)', () => {
  it('reads only that release, anchored', async () => {
    await store(promotedRelease('rel-a', '2026-11-01T10:00:00.000Z'));
    await store(promotedRelease('rel-b', '2026-11-02T10:00:00.000Z'));
    const v = await verifyLive({ releaseId: 'rel-b' });
    assert.equal(v.ok, true);
    assert.deepEqual(
      v.releases.map((r) => r.releaseId),
      ['rel-b'],
    );
    assert.deepEqual((await verifyLive({ releaseId: 'nope' })).releases, []);
  });
});

describe('verifying the live ledger', () => {
  it('finds an event edited in the table, naming the release and the event', async () => {
    await store(promotedRelease('rel-a', '2026-11-01T10:00:00.000Z'));
    const key = ledgerKeys.releaseEvent('rel-a', 5);
    const { Item } = await dynamo.doc.send(new GetCommand({ TableName: tableOf(), Key: key }));
    await dynamo.doc.send(new PutCommand({ TableName: tableOf(), Item: { ...Item, data: { ...(Item?.data as object), reason: 'all fine (edited)' } } }));
    const v = await verifyLive();
    assert.equal(v.ok, false);
    assert.ok(
      v.problems.some((p) => p.releaseId === 'rel-a' && p.seq === 5 && p.kind === 'edited'),
      JSON.stringify(v.problems),
    );
  });

  it('finds an event deleted from the middle of a release', async () => {
    await store(promotedRelease('rel-a', '2026-11-01T10:00:00.000Z'));
    await dynamo.doc.send(new DeleteCommand({ TableName: tableOf(), Key: ledgerKeys.releaseEvent('rel-a', 7) }));
    const v = await verifyLive();
    assert.ok(
      v.problems.some((p) => p.kind === 'deleted' && p.message.includes('#7')),
      JSON.stringify(v.problems),
    );
  });

  it('finds the last events deleted from a release (its summary still says where the chain ends)', async () => {
    const events = buildRelease({
      id: 'rel-a',
      at: '2026-11-01T10:00:00.000Z',
      status: 'ROLLED_BACK',
      stages: [{ name: 'prod', deploy: { result: 'SUCCEEDED' }, bake: { result: 'FAIL', minutes: 7 }, rollback: { result: 'SUCCEEDED', minutes: 6 } }],
    });
    await store(events);
    const last = events.length;
    await dynamo.doc.send(new DeleteCommand({ TableName: tableOf(), Key: ledgerKeys.releaseEvent('rel-a', last) }));
    await dynamo.doc.send(new DeleteCommand({ TableName: tableOf(), Key: ledgerKeys.releaseEvent('rel-a', last - 1) }));
    const v = await verifyLive();
    assert.equal(v.ok, false);
    assert.ok(
      v.problems.some((p) => p.releaseId === 'rel-a' && p.kind === 'truncated' && p.message.includes(`#${last - 1}–#${last}`)),
      JSON.stringify(v.problems),
    );
  });

  it('finds a release whose events were all deleted', async () => {
    await store(promotedRelease('rel-a', '2026-11-01T10:00:00.000Z'));
    for (let seq = 1; seq <= (await ledger.events('rel-a')).length + 1; seq++)
      await dynamo.doc.send(new DeleteCommand({ TableName: tableOf(), Key: ledgerKeys.releaseEvent('rel-a', seq) }));
    const v = await verifyLive();
    assert.ok(
      v.problems.some((p) => p.releaseId === 'rel-a' && p.kind === 'deleted'),
      JSON.stringify(v.problems),
    );
  });
});

describe('an export checked against the live ledger', () => {
  it('passes when the export ends where the ledger says each release ends', async () => {
    await store(promotedRelease('rel-a', '2026-11-01T10:00:00.000Z'));
    const parsed = parseExport(await exportFromLedger(ledger));
    const v = checkAgainstAnchors(verifyExport(parsed), parsed, await anchorsFromLedger(ledger, ['rel-a']));
    assert.equal(v.ok, true, JSON.stringify(v.problems));
  });

  it('catches an export cut and re-anchored consistently, which passes on its own', async () => {
    const events = promotedRelease('rel-a', '2026-11-01T10:00:00.000Z');
    await store(events);
    const forged = parseExport(formatExport(events.slice(0, -1)));
    assert.equal(verifyExport(forged).ok, true, 'the forgery is consistent on its own');
    const v = checkAgainstAnchors(verifyExport(forged), forged, await anchorsFromLedger(ledger, ['rel-a']));
    assert.equal(v.ok, false);
    assert.match(v.problems[0]?.message ?? '', new RegExp(`anchor \\(version ${events.length - 1},.*is not the live ledger's \\(version ${events.length},`));
  });

  it('catches a release the ledger never recorded', async () => {
    const parsed = parseExport(formatExport(promotedRelease('ghost', '2026-11-01T10:00:00.000Z')));
    const v = checkAgainstAnchors(verifyExport(parsed), parsed, await anchorsFromLedger(ledger, ['ghost']));
    assert.match(v.problems[0]?.message ?? '', /the live ledger has no such release/);
  });
});

describe('gantry audit against a live table', () => {
  const cli = (...args: string[]) =>
    run(process.execPath, [join(ROOT, 'bin', 'gantry.js'), ...args], {
      cwd: ROOT,
      env: { ...process.env, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_REGION: 'eu-west-2', AWS_EC2_METADATA_DISABLED: 'true' },
    }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );

  it('verifies the table (exit 0), then names an edited event (exit 1)', async () => {
    await store(promotedRelease('rel-a', '2026-11-01T10:00:00.000Z'));
    const ok = await cli('audit', 'verify', '--table', tableOf(), '--region', 'eu-west-2', '--endpoint', dynamo.endpoint);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^VERIFIED  table audit-\d+/);

    const key = ledgerKeys.releaseEvent('rel-a', 3);
    const { Item } = await dynamo.doc.send(new GetCommand({ TableName: tableOf(), Key: key }));
    await dynamo.doc.send(new PutCommand({ TableName: tableOf(), Item: { ...Item, at: '2026-11-01T09:00:00.000Z' } }));
    const bad = await cli('audit', 'verify', '--table', tableOf(), '--region', 'eu-west-2', '--endpoint', dynamo.endpoint);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /release rel-a: line \d+, event #3 /);
  });

  it('checks an export file against the table with --file and --table together', async () => {
    const events = promotedRelease('rel-a', '2026-11-01T10:00:00.000Z');
    await store(events);
    const file = join(mkdtempSync(join(tmpdir(), 'gantry-live-')), 'cut.jsonl');
    writeFileSync(file, formatExport(events.slice(0, -1)));
    const offline = await cli('audit', 'verify', '--file', file);
    assert.equal(offline.code, 0, offline.stderr);
    const against = await cli('audit', 'verify', '--file', file, '--table', tableOf(), '--region', 'eu-west-2', '--endpoint', dynamo.endpoint);
    assert.equal(against.code, 1);
    assert.match(against.stdout, /release rel-a: line \d+: the export's anchor .* is not the live ledger's/);
  });

  it('exports the table as JSON Lines that verify offline', async () => {
    await store(promotedRelease('rel-a', '2026-11-01T10:00:00.000Z'));
    const r = await cli('audit', 'export', '--table', tableOf(), '--region', 'eu-west-2', '--endpoint', dynamo.endpoint, '--since', '2026-11-01');
    assert.equal(r.code, 0, r.stderr);
    const v = verifyExport(parseExport(r.stdout));
    assert.equal(v.ok, true);
    assert.equal(v.releases[0]?.releaseId, 'rel-a');
  });
});
