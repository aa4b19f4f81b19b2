/**
 * The stage matrix the dashboard shows: cli/stage-matrix.ts `stageMatrix(b)` (the shape `gantry stages --json` prints).
 * Kept behind this one function so the server and its tests do not depend on how the matrix is built.
 */
import type { GantryBackend } from '../backends/backend';

// Until cli/stage-matrix.ts is on this branch the dashboard has no matrix (the page says so).
export async function matrixOf(_b: GantryBackend): Promise<null> {
  return null;
}
