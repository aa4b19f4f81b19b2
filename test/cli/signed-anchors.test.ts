/**
 * The signed anchors at the command line (decision 048): `gantry simulate --export F --public-key-out key.pem` writes a
 * signed export and the local key's public half; `gantry audit verify --public-key` passes with it, fails naming the
 * release with another key, and says authorship was not checked without one; `audit show` and `gantry report` show
 * the signature (the report in its own section and badge).
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, it } from 'vitest';
import { gantry, gantryProcess, tmp } from './helpers';

const dir = tmp();
const EXPORT = join(dir, 'ledger.jsonl');
const KEY = join(dir, 'key.pem');
const OTHER = join(dir, 'other.pem');
const RELEASE = 'payments-2222222222222222';

beforeAll(() => {
  const r = gantryProcess('simulate', 'examples/scenarios/signed-anchors.json', '--export', EXPORT, '--public-key-out', KEY);
  assert.equal(r.code, 0, r.stderr);
  writeFileSync(OTHER, generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString());
});

describe('gantry audit verify with the anchor key', () => {
  it('passes with the local key, each finished release signed and verified', () => {
    assert.match(readFileSync(KEY, 'utf8'), /^-----BEGIN PUBLIC KEY-----/);
    const r = gantryProcess('audit', 'verify', '--file', EXPORT, '--public-key', KEY);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /Authorship {2}VERIFIED/);
    assert.match(r.stdout, new RegExp(`✓ ${RELEASE} .*signature verified \\(local:[0-9a-f]{16}\\)`));
    assert.match(r.stdout, /✓ payments-rollback-\S+ .*BLOCKED.*signature verified/);
  });

  it('fails naming each release with another key, and says authorship was not checked without one', () => {
    const other = gantryProcess('audit', 'verify', '--file', EXPORT, '--public-key', OTHER, '--json');
    assert.equal(other.code, 1);
    const out = JSON.parse(other.stdout) as { authorship: string; problems: Array<{ releaseId: string; kind: string }> };
    assert.equal(out.authorship, 'failed');
    assert.ok(out.problems.some((p) => p.releaseId === RELEASE && p.kind === 'signature'));
    const none = gantryProcess('audit', 'verify', '--file', EXPORT);
    assert.equal(none.code, 0);
    assert.match(none.stdout, /Authorship {2}NOT CHECKED/);
    const bad = gantryProcess('audit', 'verify', '--file', EXPORT, '--public-key', EXPORT);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--public-key .*ledger\.jsonl is not a PEM or DER public key/);
  });

  it('audit show prints the Signature line; the report has its own Signature section and badge', async () => {
    const show = gantryProcess('audit', 'show', RELEASE, '--file', EXPORT, '--public-key', KEY);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /^Signature {4}verified: local:[0-9a-f]{16}, 2026-11-24T11:01:00\.000Z, covers event #57$/m);
    const html = join(dir, 'r.html');
    const r = await gantry('report', RELEASE, '--file', EXPORT, '--public-key', KEY, '--out', html);
    assert.equal(r.code, 0, r.stderr);
    const page = readFileSync(html, 'utf8');
    assert.match(page, /id="anchor-signature">✓ Signed: verified/);
    assert.match(page, /<h3 id="h-signature">Signature<\/h3>\s*<dl class="facts" id="signature">/);
    const unchecked = await gantry('report', RELEASE, '--file', EXPORT, '--out', html);
    assert.equal(unchecked.code, 0);
    assert.match(readFileSync(html, 'utf8'), /id="anchor-signature">– Signed: not checked/);
  });
});
