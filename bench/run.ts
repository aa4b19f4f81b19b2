/** `npm run bench`: prints the benchmark tables recorded in docs/benchmarks.md. */
import { bakeTable, measureBakes } from './bake';

async function main() {
  const started = Date.now();
  const bakes = await measureBakes();
  process.stdout.write(`## Bake: event-driven vs polling\n\n${bakeTable(bakes)}\n\n(measured in ${((Date.now() - started) / 1000).toFixed(1)} s wall)\n`);
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exitCode = 1;
});
