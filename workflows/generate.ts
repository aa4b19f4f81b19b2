/**
 * Writes the workflows composed in workflows/*.ts to statemachines/*.asl.json.
 *
 *   npm run workflows            # write the files that changed
 *   npm run workflows -- --check # write nothing; exit 1 when a committed file differs
 *
 * The committed JSON is what CDK deploys, the console shows and the local runtime runs;
 * test/unit/workflows-generated.test.ts fails when it is not what the builder makes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StateMachine } from './builder';
import { drillWorkflow } from './drill';
import { insightWorkflow } from './insight';
import { releaseWorkflow } from './release';
import { rollbackWorkflow } from './rollback';

/** Each committed definition, by file name under statemachines/. */
export const WORKFLOWS: Readonly<Record<string, StateMachine>> = {
  'release.asl.json': releaseWorkflow,
  'rollback.asl.json': rollbackWorkflow,
  'insight.asl.json': insightWorkflow,
  'drill.asl.json': drillWorkflow,
};

export const STATEMACHINES_DIR = join(__dirname, '..', 'statemachines');

/** The text written for a definition: JSON.stringify with two spaces and a final newline. */
export function render(definition: StateMachine): string {
  return `${JSON.stringify(definition, null, 2)}\n`;
}

if (require.main === module) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const [file, definition] of Object.entries(WORKFLOWS)) {
    const path = join(STATEMACHINES_DIR, file);
    const text = render(definition);
    let committed = '';
    try {
      committed = readFileSync(path, 'utf8');
    } catch {
      /* a new workflow */
    }
    if (committed === text) continue;
    stale++;
    if (check) process.stderr.write(`statemachines/${file} differs from workflows/ (run npm run workflows)\n`);
    else {
      writeFileSync(path, text);
      process.stdout.write(`statemachines/${file} written\n`);
    }
  }
  process.exit(check && stale ? 1 : 0);
}
