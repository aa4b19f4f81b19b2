/**
 * dynalite in-process on a loopback port: the local runtime's ledger is a real DynamoDB API driven by
 * the real adapter (lambdas/adapters/dynamo-ledger.ts). In memory; nothing survives `close()`.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createLedgerTable } from '../lambdas/adapters/ledger-table';

export interface LocalDynamo {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
  /** Stop the server and the clients; after it resolves nothing of this instance keeps the process alive. */
  close(): Promise<void>;
}

export const LOCAL_REGION = 'eu-west-2';
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;
export const DEFAULT_LOCAL_TABLE = 'gantry-ledger';

/** Clients for a local endpoint: static dummy credentials, fixed region, no credential chain lookups. */
export function localClients(endpoint: string): { client: DynamoDBClient; doc: DynamoDBDocumentClient } {
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  return { client, doc: DynamoDBDocumentClient.from(client) };
}

interface DynaliteOptions {
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
  path?: string;
}

// dynalite ships no types; it returns an http.Server whose close() also closes its store.
const dynalite = require('dynalite') as (options: DynaliteOptions) => Server;

export async function startDynalite(options: { tableName?: string } = {}): Promise<LocalDynamo> {
  const tableName = options.tableName ?? DEFAULT_LOCAL_TABLE;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const { client, doc } = localClients(endpoint);

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      doc.destroy();
      client.destroy();
      await new Promise<void>((resolve, reject) => {
        server.close((err?: Error) => (err ? reject(err) : resolve()));
        // Keep-alive sockets would hold close() open until they time out.
        server.closeAllConnections();
      });
    })();
    return closed;
  };

  try {
    await createLedgerTable(client, tableName);
  } catch (e) {
    await close();
    throw e;
  }
  return { endpoint, client, doc, tableName, close };
}
