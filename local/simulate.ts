/**
 * `gantry simulate`: run a scenario through the real workflows and the real handlers, with the in-memory DynamoDB
 * as the ledger and the local cloud for everything else, on a virtual clock.
 *
 * By job: local/sim-world.ts builds the world (ledger, deps, engine, rules, the stages' starting state),
 * local/sim-triggers.ts plays the triggers, local/sim-script.ts the script lines, local/sim-output.ts
 * reads the output back; local/handlers.ts has the handlers' table and local/sim-types.ts the types.
 */
import './polyfill';
import { VirtualClock } from './clock';
import { LocalCloud } from './cloud';
import { withScenarioKeys } from './image-artifacts';
import { DynamoLedger } from '../lambdas/adapters/dynamo-ledger';
import { localClients } from './dynamo';
import { MemoryDynamoHandler, startMemoryDynamo } from './memory-dynamo';
import type { LoadedScenario } from './scenario';
import { readOut, readTimeline, runWarnings } from './sim-output';
import { ScriptRunner } from './sim-script';
import { scheduleTriggers } from './sim-triggers';
import type { SimulateOptions, SimulationResult } from './sim-types';
import { buildWorld, seedStages, startEngine } from './sim-world';

export { HANDLERS, LOCAL_HANDLERS } from './handlers';
export type { LedgerRequest, SimGate, SimRelease, SimStage, SimulateOptions, SimulationOutput, SimulationResult, TimelineEntry } from './sim-types';

export async function simulate(loaded: LoadedScenario, options: SimulateOptions = {}): Promise<SimulationResult> {
  const { scenario } = loaded;
  const startMs = Date.parse(scenario.clock);
  const clock = new VirtualClock(new Date(startMs));
  const cloud = new LocalCloud(scenario, clock);
  // keys: { name: "generate" } — the config's signing key of that name becomes the local cloud's public half.
  const config = withScenarioKeys(loaded.config, cloud.signingKeys);
  const dynamo = await startMemoryDynamo();
  let reader: ReturnType<typeof localClients> | undefined;
  try {
    const world = buildWorld({ scenario, options, startMs, clock, cloud, config, dynamo });
    const script = new ScriptRunner(world);
    const sfn = startEngine(world, script.hooks);
    await seedStages(world);
    scheduleTriggers(world);
    script.scheduleTimed();

    // The streaming hook reads the same store through clients of its own: not faulted, not counted as Gantry's calls.
    const onClock = options.onClock;
    let onSettled: ((nowMs: number) => Promise<void>) | undefined;
    if (onClock) {
      reader = localClients('http://memory.localhost', { requestHandler: new MemoryDynamoHandler(dynamo.store), unsigned: true });
      const readerLedger = new DynamoLedger({ client: reader.doc, tableName: dynamo.tableName });
      onSettled = async (nowMs) => {
        await onClock({ nowMs, timeline: async () => (await readTimeline(readerLedger, cloud)).timeline });
      };
    }
    await world.chaos.during(() => clock.run({ ...(options.until !== undefined ? { until: options.until } : {}), ...(onSettled ? { onSettled } : {}) }));
    const stoppedEarly = options.until !== undefined && clock.pending() > 0;
    const warnings = runWarnings(world, sfn, stoppedEarly);
    const result = await readOut(world, sfn, script, warnings, stoppedEarly);
    if (options.until !== undefined) {
      // Stopped at `until`: end the executions left running (after the output was read) and release
      // every sleeper, so no task is left racing the engine's real timeout.
      for (const ex of sfn.executions.values()) if (ex.status === 'RUNNING') sfn.abort(ex.name);
      clock.stop();
      await clock.quiesce();
    }
    return result;
  } finally {
    reader?.doc.destroy();
    reader?.client.destroy();
    await dynamo.close();
  }
}
