/**
 * Signed anchors (decision 048): what checking the signatures adds to `verifyExport`, and what one local ECDSA
 * P-256 signature costs. A synthetic export of N promoted releases (the test builder's), each signed.
 * Run: POWERTOOLS_LOG_LEVEL=SILENT node --import tsx bench/signed-anchors.ts [N]
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { type AnchorSignature, anchorMessage, formatExport, parseExport, verifyExport } from '../lambdas/domain/audit';
import type { LedgerEvent } from '../lambdas/domain/ledger';
import { promotedRelease } from '../test/helpers/ledger-builder';

const n = Number(process.argv[2] ?? 200);
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const releases = Array.from({ length: n }, (_, i) => promotedRelease(`payments-${String(i).padStart(16, '0')}`, new Date(Date.UTC(2026, 10, 1) + i * 60_000).toISOString()));
let t = performance.now();
const signatures = new Map<string, AnchorSignature>();
for (const r of releases) {
  const fin = r.at(-1) as LedgerEvent;
  const anchor = { releaseId: fin.releaseId, version: fin.seq, lastHash: fin.hash };
  signatures.set(fin.releaseId, {
    keyId: 'local:bench',
    algorithm: 'ECDSA_SHA_256',
    value: sign('sha256', anchorMessage(anchor), { key: privateKey, dsaEncoding: 'der' }).toString('base64'),
    signedAt: fin.at,
    version: fin.seq,
    lastHash: fin.hash,
  });
}
const signMs = performance.now() - t;
const text = formatExport(releases.flat(), { signatures });
const parsed = parseExport(text);
const time = (f: () => unknown, runs = 5) => {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    t = performance.now();
    f();
    ms.push(performance.now() - t);
  }
  return ms.sort((a, b) => a - b)[Math.floor(runs / 2)] as number;
};
const without = time(() => verifyExport(parsed));
const withKey = time(() => verifyExport(parsed, { publicKey }));
console.log(
  JSON.stringify(
    {
      releases: n,
      events: releases.flat().length,
      exportBytes: text.length,
      signPerReleaseMs: +(signMs / n).toFixed(3),
      verifyMedianMs: { withoutKey: +without.toFixed(1), withPublicKey: +withKey.toFixed(1) },
      addedPerReleaseMs: +((withKey - without) / n).toFixed(3),
    },
    null,
    2,
  ),
);
