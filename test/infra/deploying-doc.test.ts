/**
 * docs/deploying.md lists the stack's real outputs (every output of the synthesized template, and nothing
 * else), and walks a deployer from an empty account to a first release in the order it must be done.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { buildGantry, ROOT } from './fixtures';

const doc = readFileSync(join(ROOT, 'docs', 'deploying.md'), 'utf8');

/** The first-column names of the table under "## 6. The stack's outputs". */
function documentedOutputs(): string[] {
  const start = doc.indexOf("## 6. The stack's outputs");
  assert.ok(start >= 0, 'docs/deploying.md has the section "6. The stack\'s outputs"');
  const section = doc.slice(start, doc.indexOf('\n## ', start + 5));
  return [...section.matchAll(/^\| `([A-Za-z]+)` \|/gm)].map((m) => m[1] as string);
}

describe('docs/deploying.md', () => {
  it('lists exactly the outputs of the Gantry stack', () => {
    const outputs = Object.keys((buildGantry({ bundle: false }).template.toJSON() as { Outputs: Record<string, unknown> }).Outputs);

    assert.ok(outputs.length >= 10);
    assert.deepEqual(documentedOutputs().sort(), outputs.sort());
  });

  it('walks from an empty account to a first release: bootstrap, doctor --config, deploy, outputs, doctor, a release', () => {
    const steps = [
      /npx cdk bootstrap /,
      /npx gantry doctor --config /,
      /npx cdk deploy -c config=/,
      /## 6\. The stack's outputs/,
      /npx gantry doctor --(outputs|stack) /,
      /npx gantry start --service /,
    ];
    let from = 0;
    for (const step of steps) {
      const at = doc.slice(from).search(step);
      assert.ok(at >= 0, `docs/deploying.md: ${step} after offset ${from}`);
      from += at + 1;
    }
  });
});
