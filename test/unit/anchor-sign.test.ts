/**
 * The anchor signer (decision 048): kms:Sign's request shape (aws-sdk-client-mock), KMS errors mapped to a named
 * outcome or a retry, and the anchor-sign handler against a real ledger (the in-memory DynamoDB): it signs a
 * finished release's release.finished once, records a refused signing as a FAILED item a later attempt replaces,
 * and never signs a chain that does not verify.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DisabledException, KMSClient, KMSInternalException, SignCommand } from '@aws-sdk/client-kms';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLedger } from '../../lambdas/adapters/dynamo-ledger';
import { TransientAwsError } from '../../lambdas/adapters/errors';
import { KmsAnchorSigner } from '../../lambdas/adapters/kms-signer';
import { createLedgerTable, ledgerKeys } from '../../lambdas/adapters/ledger-table';
import { run as anchorSign } from '../../lambdas/anchor-sign';
import { AnchorSigningError, anchorMessage, verifyAnchorSignature } from '../../lambdas/domain/audit';
import { parseConfig } from '../../lambdas/domain/config';
import type { LedgerEvent } from '../../lambdas/domain/ledger';
import type { AnchorSigner, Deps } from '../../lambdas/ports';
import type { LocalDynamo } from '../../local/dynamo';
import { startMemoryDynamo } from '../../local/memory-dynamo';
import { promotedRelease } from '../helpers/ledger-builder';
import { ledgerOnlyDeps } from '../helpers/ledger-deps';

const ROOT = join(__dirname, '..', '..');
const config = parseConfig(JSON.parse(readFileSync(join(ROOT, 'examples', 'gantry.config.json'), 'utf8')));
const KEY_ARN = 'arn:aws:kms:eu-west-2:111122223333:key/0a1b2c3d-0000-4000-8000-000000000048';

describe('KmsAnchorSigner (kms:Sign)', () => {
  const kms = mockClient(KMSClient);

  it('sends Sign with the key, the RAW message and ECDSA_SHA_256, and returns the DER signature base64', async () => {
    kms.reset();
    kms.on(SignCommand).resolves({ KeyId: KEY_ARN, Signature: Uint8Array.from([0x30, 0x44, 1, 2, 3]), SigningAlgorithm: 'ECDSA_SHA_256' });
    const message = anchorMessage({ releaseId: 'r-1', version: 7, lastHash: 'a'.repeat(64) });
    const value = await new KmsAnchorSigner(new KMSClient({ region: 'eu-west-2' }), KEY_ARN).sign(message);
    expect(value).toBe(Buffer.from([0x30, 0x44, 1, 2, 3]).toString('base64'));
    const calls = kms.commandCalls(SignCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]?.args[0].input;
    expect(input).toEqual({ KeyId: KEY_ARN, Message: message, MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' });
    expect(Buffer.from(input?.Message as Uint8Array).toString()).toBe(`{"lastHash":"${'a'.repeat(64)}","releaseId":"r-1","version":7}`);
  });

  it('a disabled key is a permanent refusal with a named outcome; a KMS 5xx is transient', async () => {
    kms.reset();
    kms.on(SignCommand).rejects(new DisabledException({ message: 'arn is disabled.', $metadata: { httpStatusCode: 400 } }));
    const signer = new KmsAnchorSigner(new KMSClient({ region: 'eu-west-2' }), KEY_ARN);
    const refused = await signer.sign(Uint8Array.from([1])).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AnchorSigningError);
    expect((refused as AnchorSigningError).outcome).toBe('kms:DisabledException');
    kms.reset();
    kms.on(SignCommand).rejects(new KMSInternalException({ message: 'internal', $metadata: { httpStatusCode: 500 } }));
    await expect(signer.sign(Uint8Array.from([1]))).rejects.toBeInstanceOf(TransientAwsError);
  });
});

describe('anchor-sign handler', () => {
  let dynamo: LocalDynamo;
  let ledger: DynamoLedger;
  const tableName = 'anchor-sign-test';
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signer = (overrides: Partial<AnchorSigner> = {}): AnchorSigner => ({
    keyId: KEY_ARN,
    sign: async (m) => sign('sha256', m, { key: key.privateKey, dsaEncoding: 'der' }).toString('base64'),
    ...overrides,
  });
  const deps = (s?: AnchorSigner): Deps => ({ ...ledgerOnlyDeps(config, ledger), ...(s ? { signer: s } : {}) }) as Deps;
  const finishedEvent = (releaseId: string) => ({ version: '0', source: 'gantry', 'detail-type': 'Release Finished', detail: { releaseId, status: 'SUCCEEDED' } });

  async function record(id: string): Promise<LedgerEvent[]> {
    const events = promotedRelease(id, '2026-11-24T10:00:00.000Z');
    for (const e of events) {
      const { seq: _s, prevHash: _p, hash: _h, ...input } = e;
      await ledger.append(input);
    }
    return ledger.events(id, { whole: true });
  }

  beforeAll(async () => {
    dynamo = await startMemoryDynamo();
    await createLedgerTable(dynamo.client, tableName);
    ledger = new DynamoLedger({ client: dynamo.doc, tableName });
  });
  afterAll(async () => {
    await dynamo?.close();
  });

  it("signs the release.finished's seq and hash once; a second Release Finished signs nothing", async () => {
    const events = await record('payments-sign-once');
    const fin = events.find((e) => e.type === 'release.finished') as LedgerEvent;
    let calls = 0;
    const counting = signer({ sign: async (m) => (calls++, sign('sha256', m, { key: key.privateKey, dsaEncoding: 'der' }).toString('base64')) });
    const first = await anchorSign(finishedEvent('payments-sign-once'), deps(counting));
    expect(first).toMatchObject({ outcome: 'signed', signature: { keyId: KEY_ARN, algorithm: 'ECDSA_SHA_256', version: fin.seq, lastHash: fin.hash } });
    const stored = await ledger.getSignature('payments-sign-once');
    expect(stored?.status).toBe('SIGNED');
    expect(verifyAnchorSignature({ releaseId: 'payments-sign-once', version: fin.seq, lastHash: fin.hash }, stored?.signature?.value ?? '', key.publicKey)).toBe(true);
    const again = await anchorSign(finishedEvent('payments-sign-once'), deps(counting));
    expect(again.outcome).toBe('already-signed');
    expect(calls).toBe(1);
    // The item is written once: a second put of a signature is refused by its condition.
    const rewritten = { ...(stored as NonNullable<typeof stored>), signature: { ...(stored?.signature as NonNullable<NonNullable<typeof stored>['signature']>), value: 'AAAA' } };
    expect(await ledger.putSignature(rewritten)).toBe(false);
    expect((await ledger.getSignature('payments-sign-once'))?.signature?.value).toBe(stored?.signature?.value);
  });

  it('a refused kms:Sign is recorded as a named FAILED outcome (the release stays finished), replaced by a later signature', async () => {
    const events = await record('payments-key-disabled');
    const disabled = signer({
      sign: async () => {
        throw new AnchorSigningError('kms:Sign refused: DisabledException', 'kms:DisabledException');
      },
    });
    const failed = await anchorSign(finishedEvent('payments-key-disabled'), deps(disabled));
    expect(failed).toMatchObject({ outcome: 'failed', reason: 'kms:DisabledException' });
    expect(await ledger.getSignature('payments-key-disabled')).toMatchObject({ status: 'FAILED', outcome: 'kms:DisabledException' });
    expect((await ledger.events('payments-key-disabled', { whole: true })).length).toBe(events.length);
    const noSigner = await anchorSign(finishedEvent('payments-key-disabled'), deps());
    expect(noSigner).toMatchObject({ outcome: 'failed', reason: 'no-signer' });
    const later = await anchorSign(finishedEvent('payments-key-disabled'), deps(signer()));
    expect(later.outcome).toBe('signed');
    expect((await ledger.getSignature('payments-key-disabled'))?.status).toBe('SIGNED');
  });

  it('a transient KMS error is thrown (retried, then dead-lettered), nothing recorded', async () => {
    await record('payments-throttled');
    const throttled = signer({
      sign: async () => {
        throw new TransientAwsError('ThrottlingException', 'Rate exceeded');
      },
    });
    await expect(anchorSign(finishedEvent('payments-throttled'), deps(throttled))).rejects.toBeInstanceOf(TransientAwsError);
    expect(await ledger.getSignature('payments-throttled')).toBeUndefined();
  });

  it('never signs a chain that does not verify (an event edited in the table), nor a release that has not finished', async () => {
    await record('payments-tampered');
    await dynamo.doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: ledgerKeys.releaseEvent('payments-tampered', 3),
        UpdateExpression: 'SET #d.#f = :t',
        ExpressionAttributeNames: { '#d': 'data', '#f': 'forged' },
        ExpressionAttributeValues: { ':t': true },
      }),
    );
    const r = await anchorSign(finishedEvent('payments-tampered'), deps(signer()));
    expect(r).toMatchObject({ outcome: 'failed', reason: 'chain-broken' });
    expect((await ledger.getSignature('payments-tampered'))?.status).toBe('FAILED');
    expect(await anchorSign(finishedEvent('payments-never-recorded'), deps(signer()))).toEqual({ releaseId: 'payments-never-recorded', outcome: 'not-finished' });
    await expect(anchorSign({ 'detail-type': 'Release Started', detail: {} }, deps(signer()))).rejects.toThrow(/detail-type/);
  });
});
