/**
 * The cost of the change.record gate's one extra read (decision 051): finding the commit of a stage's last known good
 * reads the service's release summaries (`listReleases({ service })`, one paged Query on the by-service index).
 * Measures that read against the in-memory DynamoDB for a service with N earlier releases: wall time and requests.
 * Usage: node --import tsx bench/change-record.ts [N ...]   (default 10 100 1000)
 */
import { performance } from 'node:perf_hooks';
import { DynamoLedger } from '../lambdas/adapters/dynamo-ledger';
import { startMemoryDynamo } from '../local/memory-dynamo';

const D = (i: number) => `sha256:${i.toString(16).padStart(64, '0')}`;
const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0);

async function main(): Promise<void> {
  for (const n of sizes.length ? sizes : [10, 100, 1000]) {
    const dynamo = await startMemoryDynamo();
    let requests = 0;
    dynamo.doc.middlewareStack.add((next) => async (args) => ((requests += 1), next(args)), { step: 'initialize' });
    const ledger = new DynamoLedger({ client: dynamo.doc, tableName: 'gantry-ledger' });
    for (let i = 0; i < n; i++) {
      const releaseId = `payments-r${i}`;
      const at = new Date(Date.UTC(2026, 10, 1) + i * 60_000).toISOString();
      await ledger.append({ releaseId, stepKey: 'release.started', type: 'release.started', at, data: { kind: 'release', service: 'payments', digest: D(i), stages: ['dev'] } });
      await ledger.append({
        releaseId,
        stepKey: 'stage:dev:gate:change.record',
        type: 'gate.evaluated',
        at,
        stage: 'dev',
        data: { gate: 'change.record', result: 'PASS', reason: 'x', evidence: { id: `CHG-${1000 + i}`, commit: 'a'.repeat(40), range: { to: { digest: D(i) } } } },
      });
    }
    const runs: number[] = [];
    let perRead = 0;
    for (let k = 0; k < 5; k++) {
      const before = requests;
      const t = performance.now();
      const list = await ledger.listReleases({ service: 'payments' });
      runs.push(performance.now() - t);
      perRead = requests - before;
      if (list.length !== n || list.at(-1)?.change?.commit !== 'a'.repeat(40)) throw new Error(`expected ${n} summaries with a commit`);
    }
    runs.sort((a, b) => a - b);
    console.log(`${n} releases: listReleases median ${runs[2]?.toFixed(1)} ms (min ${runs[0]?.toFixed(1)}, max ${runs[4]?.toFixed(1)}), ${perRead} request(s) per read`);
    await dynamo.close();
  }
}

void main();
