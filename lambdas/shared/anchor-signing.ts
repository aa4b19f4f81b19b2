/**
 * Signing an anchor once (decision 048), shared by the release signer (lambdas/anchor-sign.ts) and the insight
 * check (lambdas/insight-record.ts): kms:Sign through `deps.signer`, the signature item written once.
 *
 * Outcomes, each named: `signed`; `already-signed` (a retry, or a second Release Finished); `failed` with the
 * outcome recorded in the signature item (`kms:DisabledException`, `no-signer`, …) and counted in the
 * `AnchorSignaturesFailed` metric, so an alarm sees it and `gantry audit verify --public-key` names the release.
 * Throttling and KMS 5xx are thrown: the invocation is retried, then dead-lettered.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { ANCHOR_SIGNATURES_FAILED_METRIC, ANCHOR_SIGNING_ALGORITHM, type AnchorSignature, AnchorSigningError, anchorMessage, type SignedAnchor } from '../domain/audit/signature';
import type { Deps } from '../ports';
import { type MetricsSink } from './metrics-emit';
import { metrics as powertoolsMetrics } from './middleware';

export type SignOutcome =
  | { readonly outcome: 'signed'; readonly signature: AnchorSignature }
  | { readonly outcome: 'already-signed'; readonly signature?: AnchorSignature }
  | { readonly outcome: 'failed'; readonly reason: string; readonly message: string };

/** Record a named failure (replaceable by a later signature) and count it. */
export async function recordSignFailure(deps: Deps, subject: string, anchor: SignedAnchor, reason: string, message: string, sink?: MetricsSink): Promise<SignOutcome> {
  await deps.ledger.putSignature({ subject, status: 'FAILED', at: deps.now().toISOString(), anchor, outcome: reason, message: message.slice(0, 500) });
  const target = sink ?? (deps.runtime.inLambda ? powertoolsMetrics : undefined);
  if (target) {
    const single = target.singleMetric();
    single.clearDefaultDimensions();
    single.addMetric(ANCHOR_SIGNATURES_FAILED_METRIC, MetricUnit.Count, 1);
  }
  return { outcome: 'failed', reason, message };
}

/** Sign `anchor` under `subject` unless a signature is stored already. */
export async function signAnchorOnce(deps: Deps, subject: string, anchor: SignedAnchor, sink?: MetricsSink): Promise<SignOutcome> {
  const existing = await deps.ledger.getSignature(subject);
  if (existing?.status === 'SIGNED') return { outcome: 'already-signed', ...(existing.signature ? { signature: existing.signature } : {}) };
  const signer = deps.signer;
  if (!signer) return recordSignFailure(deps, subject, anchor, 'no-signer', 'this handler has no anchor signing key (ANCHOR_KEY_ARN is not set)', sink);
  let value: string;
  try {
    value = await signer.sign(anchorMessage(anchor));
  } catch (e) {
    if (e instanceof AnchorSigningError) return recordSignFailure(deps, subject, anchor, e.outcome, e.message, sink);
    throw e;
  }
  const signature: AnchorSignature = {
    keyId: signer.keyId,
    algorithm: ANCHOR_SIGNING_ALGORITHM,
    value,
    signedAt: deps.now().toISOString(),
    version: anchor.version,
    lastHash: anchor.lastHash,
  };
  const written = await deps.ledger.putSignature({ subject, status: 'SIGNED', at: signature.signedAt, anchor, signature });
  if (!written) {
    // Another invocation signed first: its signature is the one kept.
    const kept = await deps.ledger.getSignature(subject);
    return { outcome: 'already-signed', ...(kept?.signature ? { signature: kept.signature } : {}) };
  }
  return { outcome: 'signed', signature };
}
