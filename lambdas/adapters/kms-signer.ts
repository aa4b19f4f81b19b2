/**
 * kms:Sign of an anchor with the stack's anchor key (decision 048): ECDSA_SHA_256 over the RAW message (KMS
 * hashes it), the DER signature returned base64. One KMSClient per container.
 *
 * A KMS refusal that another attempt cannot fix (the key disabled, pending deletion, not allowed, the wrong
 * usage) is an AnchorSigningError naming the KMS error: the signer records it as the release's FAILED
 * signature outcome. Throttling and 5xx are TransientAwsError: the invocation fails and is retried
 * (asynchronous invocation retries, then the dead-letter queue).
 */
import { type KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { ANCHOR_SIGNING_ALGORITHM, AnchorSigningError } from '../domain/audit/signature';
import type { AnchorSigner } from '../ports';
import { awsErrorName, rethrowTransient } from './errors';

export { AnchorSigningError };

/** KMS Sign errors that no retry fixes. */
export const PERMANENT_SIGN_ERRORS = [
  'DisabledException',
  'KMSInvalidStateException',
  'NotFoundException',
  'InvalidKeyUsageException',
  'AccessDeniedException',
  'InvalidArnException',
  'IncorrectKeyException',
  'InvalidGrantTokenException',
  'ValidationException',
] as const;

export class KmsAnchorSigner implements AnchorSigner {
  constructor(
    private readonly client: Pick<KMSClient, 'send'>,
    readonly keyId: string,
  ) {}

  async sign(message: Uint8Array): Promise<string> {
    let signature: Uint8Array | undefined;
    try {
      const out = await this.client.send(new SignCommand({ KeyId: this.keyId, Message: message, MessageType: 'RAW', SigningAlgorithm: ANCHOR_SIGNING_ALGORITHM }));
      signature = out.Signature;
    } catch (e) {
      rethrowTransient(e);
      const name = awsErrorName(e) ?? 'Error';
      if ((PERMANENT_SIGN_ERRORS as readonly string[]).includes(name)) {
        throw new AnchorSigningError(`kms:Sign with ${this.keyId} refused: ${name}: ${(e as Error).message}`, `kms:${name}`, { cause: e });
      }
      throw e;
    }
    if (!signature || signature.byteLength === 0) throw new AnchorSigningError(`kms:Sign with ${this.keyId} returned no signature`, 'kms:EmptySignature');
    return Buffer.from(signature).toString('base64');
  }
}
