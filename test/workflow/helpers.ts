import { join } from 'node:path';
import { loadScenario, loadScenarioFile } from '../../local/scenario';
import { type SimulationOutput, simulate } from '../../local/simulate';

export const ROOT = join(__dirname, '..', '..');
export const D1 = `sha256:${'1'.repeat(64)}`;
export const D2 = `sha256:${'2'.repeat(64)}`;

export async function runExample(name: string): Promise<SimulationOutput> {
  const { output } = await simulate(loadScenarioFile(join(ROOT, 'examples', 'scenarios', `${name}.json`)));
  return output;
}

export async function runInline(raw: unknown): Promise<SimulationOutput> {
  const { output } = await simulate(loadScenario(raw, join(ROOT, 'examples', 'scenarios')));
  return output;
}
