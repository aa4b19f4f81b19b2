/**
 * The stage matrix the dashboard shows: cli/stage-matrix.ts `stageMatrix(b)` (the shape `gantry stages --json` prints).
 * Kept behind this one function so the server and its tests do not depend on how the matrix is built.
 */
import type { GantryBackend } from '../backends/backend';
import { type StageMatrix, stageMatrix } from '../stage-matrix';

export async function matrixOf(b: GantryBackend): Promise<StageMatrix> {
  return stageMatrix(b);
}
