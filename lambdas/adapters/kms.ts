/**
 * The public half of an asymmetric KMS signing key (KMS GetPublicKey), as PEM, for cosign
 * signatures made with `cosign sign --key awskms:///arn:aws:kms:…`. A key's public half never
 * changes, so each is fetched once per Lambda container.
 *
 * The KMS call is behind `GetPublicKeyCall` so this adapter does not need @aws-sdk/client-kms at
 * build time: the default call loads the SDK at run time and, when it is not there, fails with a
 * SigningKeyError that says so (the image.signature gate then refuses, naming the key).
 */
import { createRequire } from 'node:module';
import { createPublicKey } from 'node:crypto';
import { SigningKeyError } from '../domain/image/signature';
import { awsErrorName, isTransientAwsError, rethrowTransient } from './errors';

/** The part of KMS GetPublicKey's response Gantry reads. */
export interface GetPublicKeyOutput {
  readonly KeyId?: string;
  readonly PublicKey?: Uint8Array;
  readonly KeySpec?: string;
  readonly KeyUsage?: string;
  readonly SigningAlgorithms?: readonly string[];
}

export type GetPublicKeyCall = (keyId: string) => Promise<GetPublicKeyOutput>;

/** KMS errors that mean "this key cannot be used", not "try again". */
const PERMANENT = [
  'NotFoundException',
  'DisabledException',
  'KMSInvalidStateException',
  'InvalidArnException',
  'AccessDeniedException',
  'UnsupportedOperationException',
  'InvalidKeyUsageException',
];

export const KMS_SDK_MISSING = 'KMS keys need @aws-sdk/client-kms, which this build does not include; use a PEM public key in signing.keys or add the dependency';

/** GetPublicKey through @aws-sdk/client-kms, loaded on first use; `config`: the client's region and profile (the CLI's `--region`, `--profile`). */
export function sdkGetPublicKey(load: (id: string) => unknown = createRequire(__filename), config: { readonly region?: string; readonly profile?: string } = {}): GetPublicKeyCall {
  let client: { send(command: unknown): Promise<GetPublicKeyOutput> } | undefined;
  let Command: (new (input: { KeyId: string }) => unknown) | undefined;
  return async (keyId) => {
    if (!client || !Command) {
      let sdk: { KMSClient: new (c: object) => { send(command: unknown): Promise<GetPublicKeyOutput> }; GetPublicKeyCommand: new (input: { KeyId: string }) => unknown };
      try {
        sdk = load('@aws-sdk/client-kms') as typeof sdk;
      } catch (e) {
        throw new SigningKeyError(KMS_SDK_MISSING, { cause: e });
      }
      client = new sdk.KMSClient({ ...config });
      Command = sdk.GetPublicKeyCommand;
    }
    return client.send(new Command({ KeyId: keyId }));
  };
}

export class KmsPublicKeys {
  private readonly cache = new Map<string, Promise<string>>();

  constructor(private readonly getPublicKey: GetPublicKeyCall = sdkGetPublicKey()) {}

  /**
   * The key's public half as an SPKI PEM.
   * @throws SigningKeyError when the key does not exist, is disabled, is not a SIGN_VERIFY key, or KMS cannot be reached through the SDK
   * @throws TransientAwsError on throttling or a KMS 5xx (not cached)
   */
  publicKeyPem(keyArn: string): Promise<string> {
    let p = this.cache.get(keyArn);
    if (!p) {
      p = this.fetch(keyArn);
      this.cache.set(keyArn, p);
      // Only a good answer or a permanent refusal is kept; a transient failure is tried again next time.
      p.catch((e) => {
        if (isTransientAwsError(e) || !(e instanceof SigningKeyError)) this.cache.delete(keyArn);
      });
    }
    return p;
  }

  private async fetch(keyArn: string): Promise<string> {
    let out: GetPublicKeyOutput;
    try {
      out = await this.getPublicKey(keyArn);
    } catch (e) {
      if (e instanceof SigningKeyError) throw e;
      rethrowTransient(e);
      const name = awsErrorName(e) ?? 'Error';
      if (PERMANENT.includes(name)) throw new SigningKeyError(`KMS key ${keyArn} cannot be used: ${name}: ${(e as Error).message}`, { cause: e });
      throw e;
    }
    if (out.KeyUsage !== undefined && out.KeyUsage !== 'SIGN_VERIFY') {
      throw new SigningKeyError(`KMS key ${keyArn} has KeyUsage ${out.KeyUsage}; a signing key needs SIGN_VERIFY`);
    }
    if (!out.PublicKey || out.PublicKey.byteLength === 0) throw new SigningKeyError(`KMS key ${keyArn} returned no public key (is it asymmetric?)`);
    try {
      return createPublicKey({ key: Buffer.from(out.PublicKey), format: 'der', type: 'spki' })
        .export({ type: 'spki', format: 'pem' })
        .toString();
    } catch (e) {
      throw new SigningKeyError(`KMS key ${keyArn} returned a public key that is not DER SPKI (${(e as Error).message})`, { cause: e });
    }
  }
}
