/** `POST /v1/drills` on the operator API (decision 052): starts the drill workflow, refuses production and `scheduled`; a rollback request may not claim a drill. */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, beforeEach, describe, it } from 'vitest';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoLedger } from '../../lambdas/adapters/dynamo-ledger';
import { createLedgerTable } from '../../lambdas/adapters/ledger-table';
import { configHash, parseConfig } from '../../lambdas/domain/config';
import { OPERATOR_ROUTES, type OperatorRoute } from '../../lambdas/domain/operator-requests';
import { type OperatorDeps, run } from '../../lambdas/operator-api';
import type { Executions } from '../../lambdas/ports';
import { iamApiEvent } from '../../local/api-events';
import type { LocalDynamo } from '../../local/dynamo';
import { startMemoryDynamo } from '../../local/memory-dynamo';

const ALICE = 'arn:aws:sts::111122223333:assumed-role/ReleaseOperators/alice';
const T0 = new Date('2026-11-24T10:00:00Z');
const stage = (name: string) => ({ name, cluster: 'dev', namespace: 'payments', deploy: { driver: 'helm', release: 'payments', chart: 'oci://x/y', version: '1.0.0' } });
const config = parseConfig({
  services: { payments: { repository: 'payments-api', stages: [stage('dev'), stage('prod')] } },
  clusters: { dev: { name: 'dev-eks', region: 'eu-west-2' } },
});

class FakeExecutions implements Executions {
  readonly started: Array<{ name: string; input: unknown }> = [];
  constructor(private readonly machine: string) {}
  async start(name: string, input: unknown) {
    this.started.push({ name, input });
    return { executionArn: `arn:aws:states:eu-west-2:111122223333:execution:gantry-${this.machine}:${name}`, alreadyExists: false };
  }
}

let dynamo: LocalDynamo;
let ledger: DynamoLedger;
let drills: FakeExecutions;
let rollbacks: FakeExecutions;
let n = 0;
const deps = () =>
  ({
    config,
    configHash: configHash(config),
    ledger,
    now: () => T0,
    executions: new FakeExecutions('release'),
    rollbacks,
    drills,
    bus: { publish: async () => undefined },
  }) as unknown as OperatorDeps;
const request = (route: OperatorRoute, body: unknown) => {
  const { method, resource } = OPERATOR_ROUTES[route];
  return iamApiEvent(ALICE, { method, resource, path: resource, body }, { at: T0, requestId: 'req-1' });
};

beforeAll(async () => {
  dynamo = await startMemoryDynamo();
});
afterAll(async () => {
  await dynamo.close();
});
beforeEach(async () => {
  const tableName = `drills-${++n}`;
  await createLedgerTable(dynamo.client, tableName);
  ledger = new DynamoLedger({ client: dynamo.doc, tableName });
  drills = new FakeExecutions('drill');
  rollbacks = new FakeExecutions('rollback');
});
const items = async () => (await dynamo.doc.send(new ScanCommand({ TableName: `drills-${n}` }))).Items ?? [];

describe('POST /drills', () => {
  it('writes the start record naming the caller and starts the drill workflow under a drill name', async () => {
    const r = await run(request('startDrill', { service: 'payments', stage: 'dev', reason: 'rehearsal' }), deps());
    assert.equal(r.statusCode, 200, r.body);
    const body = JSON.parse(r.body) as { kind: string; releaseId: string };
    assert.equal(body.kind, 'drill');
    assert.match(body.releaseId, /^payments-drill-20261124T100000Z-[0-9a-f]{6}$/);
    assert.deepEqual(drills.started, [{ name: body.releaseId, input: { service: 'payments', stage: 'dev', reason: 'rehearsal' } }]);
    assert.equal(await ledger.getInitiator(body.releaseId), ALICE);
  });

  it('refuses a production stage and a request that claims to be the schedule: 400, nothing written or started', async () => {
    for (const [body, problem] of [
      [{ service: 'payments', stage: 'prod' }, /^stage: prod is a production stage of payments/],
      [{ service: 'payments', stage: 'dev', scheduled: true }, /^scheduled: expected no "scheduled" in a request/],
    ] as const) {
      const r = await run(request('startDrill', body), deps());
      assert.equal(r.statusCode, 400, r.body);
      assert.match((JSON.parse(r.body) as { problems: string[] }).problems[0] as string, problem);
    }
    assert.deepEqual(drills.started, []);
    assert.deepEqual(await items(), []);
  });

  it('refuses a rollback request that names a drill (only the drill workflow starts legs)', async () => {
    const r = await run(request('startRollback', { service: 'payments', stage: 'dev', drill: { drillId: 'payments-drill-x', leg: 'back' } }), deps());
    assert.equal(r.statusCode, 400, r.body);
    assert.match(r.body, /drill: expected no \\"drill\\" in a request/);
    assert.deepEqual(rollbacks.started, []);
  });
});
