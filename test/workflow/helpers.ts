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

/** A lifecycle event as EventBridge delivers it (the envelope the schemas/events and schemas/insight files describe). */
export function eventEnvelope(e: { readonly detailType: string; readonly detail: Record<string, unknown> }): Record<string, unknown> {
  return {
    version: '0',
    id: 'e1',
    source: 'gantry',
    'detail-type': e.detailType,
    account: '111122223333',
    time: '2026-11-24T10:00:00Z',
    region: 'eu-west-2',
    resources: [],
    detail: JSON.parse(JSON.stringify(e.detail)),
  };
}
