/**
 * A/B init time of the handler bundles of two checkouts (say, before and after a change), taken minutes
 * apart on the same machine so that both sides see the same load: each side's bundles are built by its own
 * lib/bundle.ts with its own example config, then `require` samples (bench/bundles.ts `initSample`) of the
 * two alternate, 7 per handler and side; medians are printed as a Markdown table.
 *
 *   git archive <commit> | tar -x -C /tmp/baseline && ln -s "$PWD/node_modules" /tmp/baseline/node_modules
 *   POWERTOOLS_LOG_LEVEL=SILENT node --import tsx bench/bundles-ab.ts /tmp/baseline [handler,handler,...]
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { initSample } from './bundles';
import { median } from './stats';

interface Built {
  readonly file: string;
  readonly bytes: number;
}

function buildAll(root: string, handlers: readonly string[]): Map<string, Built> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { parseConfig } = require(join(root, 'lambdas', 'domain', 'config')) as typeof import('../lambdas/domain/config');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { bundleHandlers } = require(join(root, 'lib', 'bundle')) as typeof import('../lib/bundle');
  const config = parseConfig(JSON.parse(readFileSync(join(root, 'examples', 'gantry.config.json'), 'utf8')));
  const out = mkdtempSync(join(tmpdir(), 'gantry-bench-ab-'));
  return new Map(bundleHandlers({ config, outdir: out, handlers }).map((b) => [b.handlerName, { file: join(b.dir, 'index.js'), bytes: b.bytes }]));
}

function main(): void {
  const [baseline, list] = process.argv.slice(2);
  if (!baseline) throw new Error('usage: bench/bundles-ab.ts <baseline checkout> [handler,handler,...]');
  const handlers = (list ?? 'stage-lease,window-gate,record-step,intake,image-gates').split(',');
  const sides = { before: buildAll(resolve(baseline), handlers), after: buildAll(resolve(__dirname, '..'), handlers) };
  const kb = (n: number) => `${Math.round(n / 1024).toLocaleString('en')} KB`;
  console.log('| handler | size | init (require) | first call |\n|---|---|---|---|');
  for (const h of handlers) {
    const req = { before: [] as number[], after: [] as number[] };
    const first = { before: [] as number[], after: [] as number[] };
    for (let i = 0; i < 7; i++) {
      for (const side of i % 2 ? (['after', 'before'] as const) : (['before', 'after'] as const)) {
        const file = sides[side].get(h)?.file;
        if (!file) throw new Error(`${side} has no bundle for ${h}`);
        const s = initSample(file);
        req[side].push(s.requireMs);
        first[side].push(s.firstCallMs);
      }
    }
    const size = `${kb(sides.before.get(h)?.bytes ?? NaN)} → ${kb(sides.after.get(h)?.bytes ?? NaN)}`;
    console.log(
      `| ${h} | ${size} | ${median(req.before).toFixed(0)} → ${median(req.after).toFixed(0)} ms | ${median(first.before).toFixed(0)} → ${median(first.after).toFixed(0)} ms |`,
    );
  }
}

main();
