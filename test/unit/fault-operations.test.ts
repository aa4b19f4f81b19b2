/**
 * The operations a scenario `fault` may name (local/fault-operations.ts) are exactly those the local
 * runtime checks for a fault: a name in the list that nothing checks would be a fault that never fires,
 * which is what the scenario loader now refuses.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { FAULT_OPERATIONS, faultHttpStatus, isFaultOperation } from '../../local/fault-operations';

const ROOT = join(__dirname, '..', '..');
const local = readdirSync(join(ROOT, 'local'))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => readFileSync(join(ROOT, 'local', f), 'utf8'))
  .join('\n');

/** `checkFault('ecr', 'DescribeImages')` calls in the local runtime. */
function checkedOperations(): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const m of local.matchAll(/checkFault\('([a-z0-9]+)', '([A-Za-z]+)'\)/g)) {
    const [, service, operation] = m as unknown as [string, string, string];
    out.set(service, new Set([...(out.get(service) ?? []), operation]));
  }
  return out;
}

/** The DynamoDB operations the ledger adapter sends (faulted at the simulation's client wire). */
function ledgerOperations(): Set<string> {
  const text = readFileSync(join(ROOT, 'lambdas', 'adapters', 'dynamo-ledger.ts'), 'utf8');
  const names: Record<string, string> = { Get: 'GetItem', Put: 'PutItem', Update: 'UpdateItem', Delete: 'DeleteItem', Query: 'Query', Scan: 'Scan' };
  return new Set([...text.matchAll(/new (Get|Put|Update|Delete|Query|Scan)Command\(/g)].map((m) => names[m[1] as string] as string));
}

describe('fault operations', () => {
  it('list exactly the operations the local cloud and engine check, per service', () => {
    const checked = checkedOperations();
    for (const [service, ops] of Object.entries(FAULT_OPERATIONS)) {
      if (service === 'dynamodb') continue;
      assert.deepEqual([...ops].sort(), [...(checked.get(service) ?? [])].sort(), service);
    }
    assert.deepEqual(
      [...checked.keys()].filter((s) => !Object.hasOwn(FAULT_OPERATIONS, s)),
      [],
      'every checked service is listed',
    );
  });

  it('list exactly the DynamoDB operations the ledger sends', () => {
    assert.deepEqual([...FAULT_OPERATIONS.dynamodb].sort(), [...ledgerOperations()].sort());
  });

  it('know an operation only under its own service', () => {
    assert.equal(isFaultOperation('ecr', 'DescribeImages'), true);
    assert.equal(isFaultOperation('cloudwatch', 'DescribeImages'), false);
    assert.equal(isFaultOperation('constructor', 'DescribeImages'), false);
    assert.equal(isFaultOperation('ecr', 'describeImages'), false);
  });

  it('answer server faults with a 5xx and the rest with 400', () => {
    assert.deepEqual(
      ['InternalServerError', 'ServiceUnavailable', 'ProvisionedThroughputExceededException', 'ThrottlingException', 'AccessDeniedException', 'ServerException'].map(
        faultHttpStatus,
      ),
      [500, 503, 400, 400, 400, 500],
    );
  });
});
