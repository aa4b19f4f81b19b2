/**
 * Signed anchors (decision 048): an export signed with the anchor key verifies with its public half, and each
 * attack an auditor must catch is detected and names the release — the rewrite-and-rehash of a chain (with its
 * anchor rewritten too), a deleted signature, a signature moved to another release, an export signed with
 * another key. Without a public key, verify says authorship was not checked.
 */
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type AnchorSignature,
  anchorMessage,
  formatExport,
  parseExport,
  parsePublicKey,
  PublicKeyError,
  readSignature,
  verifyAnchorSignature,
  verifyExport,
} from '../../lambdas/domain/audit';
import { chainEvent, type LedgerEvent } from '../../lambdas/domain/ledger';
import { promotedRelease } from '../helpers/ledger-builder';

const pair = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
const gantryKey = pair();
const otherKey = pair();
const KEY_ID = 'arn:aws:kms:eu-west-2:111122223333:key/0a1b2c3d-0000-4000-8000-000000000048';

const A = 'payments-aaaaaaaaaaaaaaaa';
const B = 'payments-bbbbbbbbbbbbbbbb';

function signEnd(events: readonly LedgerEvent[], privateKey: KeyObject, keyId = KEY_ID): AnchorSignature {
  const fin = events.filter((e) => e.type === 'release.finished').at(-1) as LedgerEvent;
  const anchor = { releaseId: fin.releaseId, version: fin.seq, lastHash: fin.hash };
  return {
    keyId,
    algorithm: 'ECDSA_SHA_256',
    value: sign('sha256', anchorMessage(anchor), { key: privateKey, dsaEncoding: 'der' }).toString('base64'),
    signedAt: '2026-11-24T12:00:00.000Z',
    version: anchor.version,
    lastHash: anchor.lastHash,
  };
}

function signedExport(releases: ReadonlyArray<readonly LedgerEvent[]>, privateKey = gantryKey.privateKey): { text: string; events: LedgerEvent[] } {
  const events = releases.flat();
  const signatures = new Map(releases.map((r) => [(r[0] as LedgerEvent).releaseId, signEnd(r, privateKey)]));
  return { text: formatExport(events, { signatures }), events };
}

const lines = (text: string) => text.trimEnd().split('\n');
const json = (l: string) => JSON.parse(l) as Record<string, unknown>;
const withKey = { publicKey: gantryKey.publicKey };

/** Rewrite one event's data and recompute every hash after it with the documented recipe (and the anchor). */
function rewriteAndRehash(events: readonly LedgerEvent[], seq: number, data: Record<string, unknown>): LedgerEvent[] {
  const out: LedgerEvent[] = [];
  for (const e of events) {
    const { seq: _s, prevHash: _p, hash: _h, ...input } = e;
    out.push(chainEvent(out.at(-1), e.seq === seq ? { ...input, data } : input));
  }
  return out;
}

describe('a signed export', () => {
  const relA = promotedRelease(A, '2026-11-24T10:00:00.000Z');
  const relB = promotedRelease(B, '2026-11-24T11:00:00.000Z');

  it('names its key, carries a signature on every finished anchor, and verifies with the public key', () => {
    const { text } = signedExport([relA, relB]);
    expect(json(lines(text)[0] as string)).toEqual({ kind: 'signing-keys', algorithm: 'ECDSA_SHA_256', keyIds: [KEY_ID] });
    const v = verifyExport(parseExport(text), withKey);
    expect(v.problems).toEqual([]);
    expect(v.ok).toBe(true);
    expect(v.authorship).toBe('verified');
    expect(v.releases.map((r) => [r.releaseId, r.signature?.status])).toEqual([
      [A, 'verified'],
      [B, 'verified'],
    ]);
  });

  it('without a public key, says plainly that authorship was not checked', () => {
    const { text } = signedExport([relA]);
    const v = verifyExport(parseExport(text));
    expect(v.ok).toBe(true);
    expect(v.authorship).toBe('not-checked');
    expect(v.releases[0]?.signature?.status).toBe('present');
    expect(v.notes.join('\n')).toMatch(/authorship was NOT checked/);
  });

  it('the rewrite-and-rehash attack: chain and anchor recomputed, the signature no longer covers the chain', () => {
    const { text } = signedExport([relA, relB]);
    const fin = relA.find((e) => e.type === 'release.finished') as LedgerEvent;
    // The forger rewrites A's first gate, recomputes every hash and A's anchor, and keeps the signature.
    const forged = rewriteAndRehash(relA, 2, { ...(relA[1] as LedgerEvent).data, forged: true });
    const forgedFin = forged.find((e) => e.seq === fin.seq) as LedgerEvent;
    const rewritten = lines(text).map((l) => {
      const o = json(l);
      if (o.releaseId !== A) return l;
      if (o.kind === 'anchor') return JSON.stringify({ ...o, lastHash: forgedFin.hash });
      return JSON.stringify(forged.find((e) => e.seq === o.seq));
    });
    const parsed = parseExport(rewritten.join('\n'));
    // The chain alone is consistent: without the key, only the stale signature's cover gives it away.
    const v = verifyExport(parsed, withKey);
    expect(v.ok).toBe(false);
    expect(v.problems.filter((p) => p.kind !== 'signature')).toEqual([]);
    expect(v.problems.map((p) => [p.releaseId, p.kind])).toEqual([[A, 'signature']]);
    expect(v.problems[0]?.message).toMatch(/chain was rewritten after it was signed/);

    // ... and rewriting the signature's cover too leaves a signature that does not verify.
    const resigned = rewritten.map((l) => {
      const o = json(l);
      if (o.kind !== 'anchor' || o.releaseId !== A) return l;
      return JSON.stringify({ ...o, signature: { ...(o.signature as object), lastHash: forgedFin.hash } });
    });
    const v2 = verifyExport(parseExport(resigned.join('\n')), withKey);
    expect(v2.ok).toBe(false);
    expect(v2.problems.map((p) => [p.releaseId, p.kind])).toEqual([[A, 'signature']]);
    expect(v2.problems[0]?.message).toMatch(/does not verify with the public key/);
    expect(v2.releases.find((r) => r.releaseId === B)?.ok).toBe(true);
  });

  it('a deleted signature fails with the key, naming the finished release', () => {
    const { text } = signedExport([relA, relB]);
    const stripped = lines(text).map((l) => {
      const o = json(l);
      if (o.kind === 'anchor' && o.releaseId === B) {
        const { signature: _s, ...rest } = o;
        return JSON.stringify(rest);
      }
      return l;
    });
    const v = verifyExport(parseExport(stripped.join('\n')), withKey);
    expect(v.ok).toBe(false);
    expect(v.authorship).toBe('failed');
    expect(v.problems.map((p) => [p.releaseId, p.kind])).toEqual([[B, 'signature']]);
    expect(v.problems[0]?.message).toMatch(/carries no signature/);
    expect(v.releases.find((r) => r.releaseId === B)?.signature?.status).toBe('missing');
    // Without the key the missing signature is a note, not a pass in disguise.
    const nokey = verifyExport(parseExport(stripped.join('\n')));
    expect(nokey.authorship).toBe('not-checked');
    expect(nokey.notes.join('\n')).toMatch(/1 finished release\(s\) carry none/);
  });

  it('a signature moved to another release does not verify there', () => {
    const { text } = signedExport([relA, relB]);
    const sigA = json(lines(text).find((l) => json(l).kind === 'anchor' && json(l).releaseId === A) as string).signature as AnchorSignature;
    const anchorB = json(lines(text).find((l) => json(l).kind === 'anchor' && json(l).releaseId === B) as string);
    const moved = lines(text).map((l) => {
      const o = json(l);
      // A's signature on B's anchor, its cover rewritten to B's end so that only the signature itself can tell.
      if (o.kind === 'anchor' && o.releaseId === B) return JSON.stringify({ ...o, signature: { ...sigA, version: anchorB.version, lastHash: anchorB.lastHash } });
      return l;
    });
    const v = verifyExport(parseExport(moved.join('\n')), withKey);
    expect(v.problems.map((p) => [p.releaseId, p.kind])).toEqual([[B, 'signature']]);
    expect(v.problems[0]?.message).toMatch(/moved from another release/);
    // Moved as it was, its cover names another chain's end.
    const asIs = lines(text).map((l) => (json(l).kind === 'anchor' && json(l).releaseId === B ? JSON.stringify({ ...json(l), signature: sigA }) : l));
    const v2 = verifyExport(parseExport(asIs.join('\n')));
    expect(v2.problems.map((p) => [p.releaseId, p.kind])).toEqual([[B, 'signature']]);
  });

  it('an export signed with another key fails for every release, naming each', () => {
    const { text } = signedExport([relA, relB], otherKey.privateKey);
    const v = verifyExport(parseExport(text), withKey);
    expect(v.ok).toBe(false);
    expect(v.problems.map((p) => [p.releaseId, p.kind]).sort()).toEqual([
      [A, 'signature'],
      [B, 'signature'],
    ]);
    // The same export checks out with the key that did sign it: the failure is the key, not the format.
    expect(verifyExport(parseExport(text), { publicKey: otherKey.publicKey }).ok).toBe(true);
    // Online (--key-arn), a signature naming another key id fails even before the crypto.
    const v3 = verifyExport(parseExport(text), { publicKey: otherKey.publicKey, keyId: 'arn:aws:kms:eu-west-2:111122223333:key/other' });
    expect(v3.problems.every((p) => /not with arn:aws:kms:eu-west-2:111122223333:key\/other/.test(p.message))).toBe(true);
  });

  it('a lease released after the end is chained to the signed event but not covered: verified, with a note', () => {
    const fin = relA.find((e) => e.type === 'release.finished') as LedgerEvent;
    const { seq: _s, prevHash: _p, hash: _h, ...input } = fin;
    const after = chainEvent(fin, { ...input, stepKey: 'stage:prod:lease.released:reconciler', type: 'lease.released', stage: 'prod', data: { by: 'reconciler' } });
    const events = [...relA, after];
    const text = formatExport(events, { signatures: new Map([[A, signEnd(relA, gantryKey.privateKey)]]) });
    const v = verifyExport(parseExport(text), withKey);
    expect(v.problems).toEqual([]);
    expect(v.releases[0]?.signature).toMatchObject({ status: 'verified', version: fin.seq, uncovered: 1 });
    expect(v.notes.join('\n')).toMatch(/1 event\(s\) after the signed release.finished/);
  });

  it('a running release has nothing to sign; a malformed signature is named', () => {
    const running = promotedRelease(A, '2026-11-24T10:00:00.000Z').filter((e) => e.type !== 'release.finished');
    const v = verifyExport(parseExport(formatExport(running)), withKey);
    expect(v.releases[0]?.signature?.status).toBe('unfinished');
    expect(v.problems.filter((p) => p.kind === 'signature')).toEqual([]);
    expect(readSignature({ keyId: '', algorithm: 'RSA', value: '!!', signedAt: 'x', version: 0, lastHash: 'z' }).problem).toMatch(
      /keyId .*algorithm \(ECDSA_SHA_256\).*value \(base64\).*signedAt.*version.*lastHash/,
    );
  });
});

describe('the anchor message and keys', () => {
  it('signs the canonical JSON of { releaseId, version, lastHash }, key order irrelevant', () => {
    expect(anchorMessage({ lastHash: 'ab', version: 3, releaseId: 'r' } as never).toString()).toBe('{"lastHash":"ab","releaseId":"r","version":3}');
    const anchor = { releaseId: 'r', version: 3, lastHash: 'ab' };
    const value = sign('sha256', anchorMessage(anchor), { key: gantryKey.privateKey, dsaEncoding: 'der' }).toString('base64');
    expect(verifyAnchorSignature(anchor, value, gantryKey.publicKey)).toBe(true);
    expect(verifyAnchorSignature({ ...anchor, version: 4 }, value, gantryKey.publicKey)).toBe(false);
  });

  it('refuses a public key that is not EC P-256, naming what it is', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(() => parsePublicKey(rsa, '--public-key k.pem')).toThrow(PublicKeyError);
    expect(() => parsePublicKey(rsa, '--public-key k.pem')).toThrow(/--public-key k.pem is a rsa key; anchors are signed with an ECC_NIST_P256/);
    expect(() => parsePublicKey('not a key')).toThrow(/not a PEM or DER public key/);
    const pem = gantryKey.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(parsePublicKey(pem).asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  });
});
