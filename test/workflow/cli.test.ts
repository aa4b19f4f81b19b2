/** `gantry simulate` as a user runs it: exit codes, --json on stdout, --export. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { verifyChain, type LedgerEvent } from '../../lambdas/domain/ledger';
import { ROOT } from './helpers';

const gantry = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin', 'gantry.js'), ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env } });

describe('gantry simulate', () => {
  it('prints one JSON object with the docs/scenarios.md fields and exits 0', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'gantry-'));
    const exported = join(tmp, 'ledger.jsonl');
    const r = gantry('simulate', 'examples/scenarios/staging-deploy-failure.json', '--json', '--export', exported);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    for (const k of ['scenario', 'simulated', 'releases', 'stages', 'deployments', 'skipped', 'unused', 'timeline']) assert.ok(k in out, k);
    assert.equal(out.simulated, true);
    const rel = out.releases[0];
    for (const k of ['releaseId', 'service', 'digest', 'tag', 'initiator', 'status', 'stages', 'audit']) assert.ok(k in rel, k);
    assert.deepEqual(Object.keys(rel.audit).sort(), ['events', 'verified']);
    const staging = rel.stages.find((s: { name: string }) => s.name === 'staging');
    for (const k of ['reason', 'toDigest', 'result', 'detectedAt', 'startedAt']) assert.ok(k in staging.rollback, k);
    // Event lines, plus one anchor line per release (its last seq and hash: a truncated chain is detected), and the
    // signing-keys line naming the key of the anchors' signatures (decision 048).
    const lines = readFileSync(exported, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as LedgerEvent & { kind?: string });
    const events = lines.filter((l) => l.kind !== 'anchor' && l.kind !== 'signing-keys');
    assert.equal(events.length, rel.audit.events);
    assert.equal(verifyChain(events).ok, true);
  });

  it('prints a human timeline that says it is a simulation', () => {
    const r = gantry('simulate', 'examples/scenarios/demo.json');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^SIMULATION/);
    assert.match(r.stdout, /no AWS account was used/);
    assert.match(r.stdout, /status: SUCCEEDED/);
  });

  it('exits 2 naming each invalid field of a scenario', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'gantry-'));
    const file = join(tmp, 'bad.json');
    writeFileSync(
      file,
      JSON.stringify({
        name: 'bad',
        config: join(ROOT, 'examples', 'gantry.config.json'),
        clock: 'yesterday',
        triggers: [{ type: 'ecr-push', repository: 'payments-api', digest: 'sha256:xyz' }],
      }),
    );
    const r = gantry('simulate', file, '--json');
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /clock: expected an ISO-8601 UTC instant/);
    assert.match(r.stderr, /triggers\[0\]\.digest: expected a digest/);
  });

  it('exits 2 naming the config path when the scenario config is invalid', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'gantry-'));
    const file = join(tmp, 'bad-config.json');
    const config = JSON.parse(readFileSync(join(ROOT, 'examples', 'gantry.config.json'), 'utf8'));
    config.services.payments.stages[1].bakeMinutes = -5;
    writeFileSync(file, JSON.stringify({ name: 'bad config', config, clock: '2026-11-24T10:00:00Z' }));
    const r = gantry('simulate', file);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /services\.payments\.stages\[1\]\.bakeMinutes: expected a whole number from 0 to 1440, got -5/);
  });

  it('exits 2 for a scenario file that does not exist', () => {
    const r = gantry('simulate', 'no/such/file.json');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /expected a readable JSON file/);
  });
});
