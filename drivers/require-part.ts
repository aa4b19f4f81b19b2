/**
 * Loads a driver's part (`cdk`, `workflow`, `local`) by convention from its folder (decision 035). Synchronous,
 * because CDK constructs and the workflow builder are: Node's own `require`. From the TypeScript sources (the CLI,
 * the CDK app and the tests run them), `require` must be able to load a `.ts` file: the CLI and the CDK app run under
 * tsx, which has hooked it already; under vitest it is not hooked, so tsx's CommonJS hook is registered here once.
 * From the compiled package (dist/, `.js`) nothing is registered. Never imported by a Lambda handler.
 */
import { extname } from 'node:path';

let hooked = false;

export function requireDriverPart<T>(file: string): T {
  if (!hooked && extname(__filename) === '.ts') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    (require('tsx/cjs/api') as { register: () => unknown }).register();
    hooked = true;
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(file) as T;
}
