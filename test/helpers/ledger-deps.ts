/**
 * Deps for handler tests that need only a real ledger: every other port throws if a handler touches it,
 * so a test proves which AWS services a step uses.
 */
import type { DynamoLedger } from '../../lambdas/adapters/dynamo-ledger';
import { configHash, type GantryConfig } from '../../lambdas/domain/config';
import { type Deps, LOCAL_RUNTIME } from '../../lambdas/ports';

const unused = () => {
  throw new Error('not used by this test');
};

export function ledgerOnlyDeps(config: GantryConfig, ledger: DynamoLedger, now = '2026-11-24T12:00:00Z'): Deps {
  return {
    config,
    configHash: configHash(config),
    ledger,
    now: () => new Date(now),
    runtime: LOCAL_RUNTIME,
    bus: { publish: async () => undefined },
    registry: { describeImage: unused, tagMutability: unused, scanFindings: unused },
    alarms: { describeAlarms: async () => [] },
    tasks: { sendSuccess: unused, sendFailure: unused },
    executions: { start: unused },
    timers: { schedule: unused, cancel: unused },
  } as unknown as Deps;
}
