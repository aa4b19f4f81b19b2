/**
 * dynalite in-process on a loopback port: the local runtime's ledger is a real DynamoDB API driven by
 * the real adapter (lambdas/adapters/dynamo-ledger.ts). In memory; nothing survives `close()`.
 */
import { EventEmitter } from 'node:events';
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

/**
 * An SDK request handler that hands each request to dynalite's own request listener in this process,
 * with no socket: the SDK still builds, signs and serialises the request, dynalite still validates and
 * executes it and writes the real response, the SDK still deserialises it and retries. Only the HTTP
 * transport is skipped — a third of a simulation's DynamoDB cost under load (docs/benchmarks.md, Load).
 */
class InProcessHandler {
  readonly metadata = { handlerProtocol: 'in-process' };
  constructor(private readonly listener: (req: unknown, res: unknown) => void) {}

  handle(request: { method: string; path?: string; query?: Record<string, unknown>; headers: Record<string, string>; body?: unknown }): Promise<{ response: unknown }> {
    return new Promise((resolve, reject) => {
      const req = new EventEmitter() as EventEmitter & Record<string, unknown>;
      req.method = request.method;
      req.url = request.path || '/';
      req.headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v]));
      const headers: Record<string, string> = {};
      const res = {
        statusCode: 200,
        contentType: undefined as string | undefined,
        setHeader(k: string, v: unknown) {
          headers[k.toLowerCase()] = String(v);
        },
        end(body?: string | Buffer) {
          resolve({ response: { statusCode: res.statusCode, headers, body: Buffer.from(body ?? '') } });
        },
      };
      try {
        this.listener(req, res);
        const body = request.body;
        // The SDK's JSON body is a Uint8Array subclass that warns when read as a string: wrap its bytes, no copy.
        if (body instanceof Uint8Array) {
          if (body.byteLength > 0) req.emit('data', Buffer.from(body.buffer, body.byteOffset, body.byteLength));
        } else if (typeof body === 'string' && body !== '') req.emit('data', Buffer.from(body));
        req.emit('end');
      } catch (e) {
        reject(e);
      }
    });
  }

  updateHttpClientConfig(): void {}
  httpHandlerConfigs(): Record<string, never> {
    return {};
  }
  destroy(): void {}
}

export async function startDynalite(options: { tableName?: string; inProcess?: boolean } = {}): Promise<LocalDynamo> {
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
  if (options.inProcess) {
    const listener = server.listeners('request')[0] as (req: unknown, res: unknown) => void;
    (client.config as unknown as { requestHandler: unknown }).requestHandler = new InProcessHandler(listener);
  }

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
