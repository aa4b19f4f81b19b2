/**
 * `npm run bench [-- suite ...]`: runs the named benchmark suites (all of them when none is named) and
 * prints the tables recorded in docs/benchmarks.md. Suites: synth, bundles, transitions, simulation,
 * audit, bake, requests, load, cli. Example: `npm run bench -- synth bundles`.
 */
import { auditTable, measureAudit } from './audit';
import { bakeTable, measureBakes } from './bake';
import { bundleTable, measureBundles } from './bundles';
import { cliTable, measureCli } from './cli';
import { loadTable, measureLoad } from './load';
import { measureThroughput, measureTransitions, throughputTable, transitionsTable } from './release';
import { measureRequests, requestsTable } from './requests';
import { machineLine } from './stats';
import { measureSynth, SYNTH_COMMAND, synthTable } from './synth';

interface Suite {
  readonly title: string;
  readonly run: () => Promise<string> | string;
}

const SUITES: Record<string, Suite> = {
  synth: { title: 'cdk synth', run: () => `Command: \`${SYNTH_COMMAND}\`, median of 3.\n\n${synthTable(measureSynth())}` },
  bundles: { title: 'Handler bundles: size and init time', run: () => bundleTable(measureBundles()) },
  transitions: { title: 'Step Functions transitions and cost per release', run: async () => transitionsTable(await measureTransitions()) },
  simulation: { title: 'Simulation throughput: one release', run: async () => throughputTable(await measureThroughput()) },
  audit: { title: 'Audit: verify and export', run: async () => auditTable(await measureAudit()) },
  bake: { title: 'Bake: event-driven vs polling', run: async () => bakeTable(await measureBakes()) },
  requests: { title: 'DynamoDB requests per release', run: async () => requestsTable(await measureRequests()) },
  load: { title: 'Load: 500 and 5,000 releases in simulation', run: () => loadTable(measureLoad()) },
  cli: { title: 'CLI start-up (issue 17)', run: () => cliTable(measureCli()) },
};

async function main() {
  const asked = process.argv.slice(2).filter((a) => a !== '--');
  const unknown = asked.filter((a) => !(a in SUITES));
  if (unknown.length > 0) {
    process.stderr.write(`bench: no suite named ${unknown.join(', ')}; suites: ${Object.keys(SUITES).join(', ')}\n`);
    process.exitCode = 2;
    return;
  }
  for (const name of asked.length > 0 ? asked : Object.keys(SUITES)) {
    const suite = SUITES[name] as Suite;
    const started = Date.now();
    let body: string;
    try {
      body = await suite.run();
    } catch (e) {
      // One broken suite (say, synth failing on someone's half-made change) does not hide the others.
      body = `**Not measured: the suite failed.**\n\n\`\`\`\n${(e as Error).message.slice(0, 4000)}\n\`\`\``;
      process.exitCode = 1;
    }
    process.stdout.write(`## ${suite.title} (\`npm run bench -- ${name}\`)\n\n${body}\n\n(suite took ${((Date.now() - started) / 1000).toFixed(1)} s wall)\n\n`);
  }
  process.stdout.write(`Machine: ${machineLine()}.\n`);
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exitCode = 1;
});
