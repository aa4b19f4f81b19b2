/**
 * What every local DynamoDB shares (the in-memory store of the local runtime, DynamoDB Local in the
 * storage tests): the `LocalDynamo` shape, the fixed region and dummy credentials, and the clients.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

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

export interface LocalClientOptions {
  /** An SDK request handler to use instead of HTTP (the in-memory store). */
  readonly requestHandler?: unknown;
  /**
   * Skip SigV4 signing (nothing checks a signature in memory): the SDK still resolves the auth scheme
   * and its identity, then signs with a no-op signer; serialise, retry and deserialise are unchanged.
   */
  readonly unsigned?: boolean;
}

const NO_OP_SIGNER = { sign: async <T>(request: T): Promise<T> => request };

/** Clients for a local endpoint: static dummy credentials, fixed region, no credential chain lookups. */
export function localClients(endpoint: string, options: LocalClientOptions = {}): { client: DynamoDBClient; doc: DynamoDBDocumentClient } {
  const client = new DynamoDBClient({
    endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    ...(options.requestHandler ? { requestHandler: options.requestHandler as never } : {}),
    ...(options.unsigned ? { httpAuthSchemes: [{ schemeId: 'aws.auth#sigv4', identityProvider: () => async () => LOCAL_CREDENTIALS, signer: NO_OP_SIGNER }] as never } : {}),
  });
  return { client, doc: DynamoDBDocumentClient.from(client) };
}
