import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'vitest';
import { TransientAwsError } from '../../../lambdas/adapters/errors';
import { KMS_SDK_MISSING, KmsPublicKeys, sdkGetPublicKey } from '../../../lambdas/adapters/kms';
import { SigningKeyError } from '../../../lambdas/domain/image/signature';

const ARN = 'arn:aws:kms:eu-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const der = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'der' });
const awsError = (name: string) => Object.assign(new Error(`${name} (test)`), { name, $metadata: {} });

describe('KmsPublicKeys', () => {
  it('turns GetPublicKey’s DER into a PEM and asks KMS once per key', async () => {
    let calls = 0;
    const key = der();
    const kms = new KmsPublicKeys(async () => {
      calls++;
      return { KeyId: ARN, KeyUsage: 'SIGN_VERIFY', KeySpec: 'ECC_NIST_P256', PublicKey: key, SigningAlgorithms: ['ECDSA_SHA_256'] };
    });

    const first = await kms.publicKeyPem(ARN);
    const second = await kms.publicKeyPem(ARN);

    assert.match(first, /^-----BEGIN PUBLIC KEY-----\n/);
    assert.equal(second, first);
    assert.equal(calls, 1);
  });

  it('refuses a key that is not for signing', async () => {
    const kms = new KmsPublicKeys(async () => ({ KeyUsage: 'ENCRYPT_DECRYPT', PublicKey: der() }));

    await assert.rejects(kms.publicKeyPem(ARN), (e: unknown) => e instanceof SigningKeyError && /KeyUsage ENCRYPT_DECRYPT; a signing key needs SIGN_VERIFY/.test(e.message));
  });

  it('refuses a missing or disabled key with a SigningKeyError naming it', async () => {
    const kms = new KmsPublicKeys(async () => {
      throw awsError('DisabledException');
    });

    await assert.rejects(kms.publicKeyPem(ARN), (e: unknown) => e instanceof SigningKeyError && e.message.includes(ARN) && /DisabledException/.test(e.message));
  });

  it('rethrows throttling as transient and asks again next time', async () => {
    let calls = 0;
    const kms = new KmsPublicKeys(async () => {
      calls++;
      if (calls === 1) throw awsError('ThrottlingException');
      return { KeyUsage: 'SIGN_VERIFY', PublicKey: der() };
    });

    await assert.rejects(kms.publicKeyPem(ARN), (e: unknown) => e instanceof TransientAwsError && e.name === 'ThrottlingException');
    assert.match(await kms.publicKeyPem(ARN), /BEGIN PUBLIC KEY/);
    assert.equal(calls, 2);
  });

  it('says that KMS keys need @aws-sdk/client-kms when the SDK cannot be loaded', async () => {
    const call = sdkGetPublicKey(() => {
      throw Object.assign(new Error("Cannot find module '@aws-sdk/client-kms'"), { code: 'MODULE_NOT_FOUND' });
    });

    await assert.rejects(new KmsPublicKeys(call).publicKeyPem(ARN), (e: unknown) => e instanceof SigningKeyError && e.message === KMS_SDK_MISSING);
  });

  it('calls GetPublicKeyCommand through the SDK client it loads', async () => {
    const sent: unknown[] = [];
    class GetPublicKeyCommand {
      constructor(readonly input: { KeyId: string }) {}
    }
    class KMSClient {
      async send(command: GetPublicKeyCommand) {
        sent.push(command.input);
        return { KeyUsage: 'SIGN_VERIFY', PublicKey: der() };
      }
    }
    const call = sdkGetPublicKey(() => ({ KMSClient, GetPublicKeyCommand }));

    await new KmsPublicKeys(call).publicKeyPem(ARN);

    assert.deepEqual(sent, [{ KeyId: ARN }]);
  });
});

describe('gantry audit verify --key-arn (signatureKeysOf)', () => {
  it("reads the key in its own region (the ARN's) with --profile's credentials; --region overrides the region", async () => {
    const configs: unknown[] = [];
    const { signatureKeysOf } = await import('../../../cli/commands/audit');
    class GetPublicKeyCommand {
      constructor(readonly input: { KeyId: string }) {}
    }
    class KMSClient {
      constructor(config: unknown) {
        configs.push(config);
      }
      async send() {
        return { KeyUsage: 'SIGN_VERIFY', KeySpec: 'ECC_NIST_P256', PublicKey: der() };
      }
    }
    const load = () => ({ KMSClient, GetPublicKeyCommand });

    const keys = await signatureKeysOf({ keyArn: ARN, profile: 'audit' }, load);
    await signatureKeysOf({ keyArn: ARN, region: 'eu-west-1' }, load);

    assert.equal(keys.keyId, ARN);
    assert.deepEqual(configs, [{ region: 'eu-west-2', profile: 'audit' }, { region: 'eu-west-1' }]);
  });
});
