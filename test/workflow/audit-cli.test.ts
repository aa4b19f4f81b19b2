/** `gantry audit show | verify | export` and `gantry metrics` as a user runs them on `gantry simulate --export` files. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, it } from 'vitest';
import { formatExport, parseExport, verifyExport } from '../../lambdas/domain/audit';
import { buildRelease, promotedRelease } from '../helpers/ledger-builder';
import { linesOf, textOf } from '../helpers/tamper';
import { ROOT } from './helpers';

const gantry = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin', 'gantry.js'), ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env } });

const tmp = mkdtempSync(join(tmpdir(), 'gantry-audit-'));
const EXPORTED = join(tmp, 'staging-deploy-failure.jsonl');
let releaseId = '';

beforeAll(() => {
  const r = gantry('simulate', 'examples/scenarios/staging-deploy-failure.json', '--export', EXPORTED);
  assert.equal(r.status, 0, r.stderr);
  // The first line names the signing key (decision 048); the release's events follow.
  releaseId = String(JSON.parse(linesOf(readFileSync(EXPORTED, 'utf8'))[1] as string).releaseId);
});

describe('gantry simulate --export', () => {
  it('writes the audit export format: the events, then one anchor line per release', () => {
    const lines = linesOf(readFileSync(EXPORTED, 'utf8')).map((l) => JSON.parse(l));
    assert.equal(lines[0].kind, 'signing-keys');
    const anchor = lines.at(-1);
    assert.equal(anchor.kind, 'anchor');
    assert.equal(anchor.releaseId, releaseId);
    assert.equal(anchor.version, lines.length - 2);
    assert.equal(anchor.signature.algorithm, 'ECDSA_SHA_256');
    assert.equal(anchor.lastHash, lines.at(-2).hash);
  });
});

describe('gantry audit verify', () => {
  it('exits 0 on an untouched export and says it verified', () => {
    const r = gantry('audit', 'verify', '--file', EXPORTED);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /^VERIFIED /);
    assert.match(r.stdout, new RegExp(`✓ ${releaseId}`));
  });

  it('exits 1 naming the release and the event when a field was edited', () => {
    const lines = linesOf(readFileSync(EXPORTED, 'utf8'));
    const i = lines.findIndex((l) => l.includes('"gate.evaluated"'));
    const e = JSON.parse(lines[i] as string);
    e.data.result = e.data.result === 'PASS' ? 'FAIL' : 'PASS';
    lines[i] = JSON.stringify(e);
    const file = join(tmp, 'edited.jsonl');
    writeFileSync(file, textOf(lines));
    const r = gantry('audit', 'verify', '--file', file);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /^FAILED /);
    assert.match(
      r.stdout,
      new RegExp(
        `release ${releaseId}: line ${i + 1}, event #${e.seq} gate\\.evaluated \\(${e.stepKey.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\): its content does not match its hash`,
      ),
    );
  });

  it('exits 1 naming the release when its last event was cut', () => {
    const lines = linesOf(readFileSync(EXPORTED, 'utf8'));
    const file = join(tmp, 'cut.jsonl');
    writeFileSync(file, textOf([...lines.slice(0, -2), lines.at(-1) as string]));
    const r = gantry('audit', 'verify', '--file', file, '--json');
    assert.equal(r.status, 1);
    const out = JSON.parse(r.stdout);
    assert.equal(out.ok, false);
    assert.ok(out.problems.some((p: { kind: string; releaseId: string }) => p.kind === 'truncated' && p.releaseId === releaseId));
  });

  it('reports promoted stages that lack evidence, and fails on them only with --strict', () => {
    const file = join(tmp, 'gaps.jsonl');
    writeFileSync(
      file,
      formatExport(
        buildRelease({
          id: 'gappy',
          at: '2026-11-01T10:00:00.000Z',
          status: 'SUCCEEDED',
          stages: [{ name: 'dev', deploy: { result: 'SUCCEEDED', buildId: null }, promote: true }],
        }),
      ),
    );
    const lenient = gantry('audit', 'verify', '--file', file);
    assert.equal(lenient.status, 0, lenient.stderr);
    assert.match(lenient.stdout, /release gappy, stage dev: deploy: its deploy\.finished carries no driver evidence/);
    assert.match(lenient.stdout, /release gappy, stage dev: bake: promoted without a bake result/);
    assert.equal(gantry('audit', 'verify', '--file', file, '--strict').status, 1);
  });

  it('exits 2 for a file that does not exist', () => {
    const r = gantry('audit', 'verify', '--file', join(tmp, 'nope.jsonl'));
    assert.equal(r.status, 2);
    assert.match(r.stderr, /nope\.jsonl: expected a readable export file/);
  });

  it('exits 2 naming the line that is not JSON', () => {
    const lines = linesOf(readFileSync(EXPORTED, 'utf8'));
    lines[2] = '{"releaseId": ';
    const file = join(tmp, 'broken.jsonl');
    writeFileSync(file, textOf(lines));
    const r = gantry('audit', 'verify', '--file', file);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /broken\.jsonl: line 3: not JSON/);
  });

  it('exits 2 when two ledgers are given (without one, it reads the deployed stack: test/cli/ledger-sources.test.ts)', () => {
    const r = gantry('audit', 'verify', '--file', EXPORTED, '--local', 'some-dir');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /give one ledger to read: --file <export>, --table <name>, --local <dir> or a stack .*; got --file and --local/);
  });
});

describe('gantry audit show', () => {
  it("prints the release as a readable timeline that answers the auditor's questions", () => {
    const r = gantry('audit', 'show', releaseId, '--file', EXPORTED);
    assert.equal(r.status, 0, r.stderr);
    for (const expected of [
      new RegExp(`^RELEASE ${releaseId} — ROLLED_BACK`),
      /digest {5}sha256:2{64}/,
      /tag {8}v1\.4\.2/,
      /commit {5}\S+/,
      /Started by {3}arn:aws:sts::111122223333:/,
      /Config {7}sha256 [0-9a-f]{64}/,
      /Stage dev — PROMOTED/,
      /image\.scan +PASS +0 CRITICAL/,
      /build ARN arn:aws:codebuild:/,
      /rollback {3}/,
      /recovery time \d+m \d+s/,
      /hash chain intact/,
    ]) {
      assert.match(r.stdout, expected);
    }
  });

  it('prints the audit record as JSON with --json', () => {
    const r = gantry('audit', 'show', releaseId, '--file', EXPORTED, '--json');
    assert.equal(r.status, 0, r.stderr);
    const a = JSON.parse(r.stdout);
    assert.equal(a.releaseId, releaseId);
    assert.equal(a.integrity.ok, true);
    assert.ok(a.stages.some((s: { rollback?: { recoverySeconds?: number } }) => typeof s.rollback?.recoverySeconds === 'number'));
  });

  it('exits 2 for a release that is not in the file, listing those that are', () => {
    const r = gantry('audit', 'show', 'no-such-release', '--file', EXPORTED);
    assert.equal(r.status, 2);
    assert.match(r.stderr, new RegExp(`release no-such-release is not in .* \\(it has: ${releaseId}\\)`));
  });

  it("exits 1 when the release's record was altered, and still shows it", () => {
    const lines = linesOf(readFileSync(EXPORTED, 'utf8'));
    const file = join(tmp, 'shown-cut.jsonl');
    writeFileSync(file, textOf(lines.filter((_l, i) => i !== 4)));
    const r = gantry('audit', 'show', releaseId, '--file', file);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /hash chain BROKEN/);
    assert.match(r.stderr, /FAILED verification/);
  });
});

describe('gantry audit export', () => {
  it('filters whole releases by service and start time, keeping their anchors', () => {
    const file = join(tmp, 'many.jsonl');
    writeFileSync(
      file,
      formatExport([
        ...promotedRelease('a', '2026-11-01T10:00:00.000Z'),
        ...promotedRelease('b', '2026-11-03T10:00:00.000Z'),
        ...promotedRelease('c', '2026-11-03T11:00:00.000Z', 'ledger'),
        ...promotedRelease('d', '2026-11-05T10:00:00.000Z'),
      ]),
    );
    const out = join(tmp, 'filtered.jsonl');
    const r = gantry('audit', 'export', '--file', file, '--since', '2026-11-02', '--until', '2026-11-04', '--service', 'payments', '--out', out);
    assert.equal(r.status, 0, r.stderr);
    const v = verifyExport(parseExport(readFileSync(out, 'utf8')));
    assert.equal(v.ok, true, JSON.stringify(v.problems));
    assert.deepEqual(
      v.releases.map((x) => x.releaseId),
      ['b'],
    );
    const all = gantry('audit', 'export', '--file', file);
    assert.equal(verifyExport(parseExport(all.stdout)).releases.length, 4);
  });

  it('exits 2 for a --since that is not a date, an instant or a duration', () => {
    const r = gantry('audit', 'export', '--file', EXPORTED, '--since', 'last tuesday');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--since: expected an ISO date/);
  });
});

describe('gantry metrics', () => {
  it('reports the four DORA figures per service with --json', () => {
    const r = gantry('metrics', '--file', EXPORTED, '--json');
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    const s = out.services[0];
    assert.equal(s.service, 'payments');
    assert.deepEqual(s.changeFailureRate, { failed: 1, deployed: 1, rate: 1 });
    assert.equal(s.recoveryTime.count, 1);
    assert.ok('deploymentFrequency' in s && 'leadTime' in s);
  });

  it('still reports the figures of an altered record, but exits 1 and says so', () => {
    const lines = linesOf(readFileSync(EXPORTED, 'utf8'));
    const file = join(tmp, 'metrics-cut.jsonl');
    writeFileSync(file, textOf(lines.filter((_l, i) => i !== 3)));
    const r = gantry('metrics', '--file', file, '--json');
    assert.equal(r.status, 1);
    assert.equal(JSON.parse(r.stdout).services[0].service, 'payments');
    assert.match(r.stderr, /FAILED verification/);
  });

  it('prints the four figures for people', () => {
    const r = gantry('metrics', '--file', EXPORTED, '--service', 'payments');
    assert.equal(r.status, 0, r.stderr);
    for (const k of [/deployment frequency/, /lead time for changes/, /change failure rate +100% \(1 of 1/, /recovery time +median/]) assert.match(r.stdout, k);
  });
});
