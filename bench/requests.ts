/**
 * DynamoDB requests per release: the demo release (3 stages, examples/scenarios/demo.json) through the
 * real workflow and handlers, every request the handlers send to the ledger table counted (a
 * TransactWriteItems is one request), by handler and by operation. The simulation's own set-up and
 * read-out are not counted: in AWS only the handlers call DynamoDB.
 */
import { join } from 'node:path';
import { loadScenarioFile } from '../local/scenario';
import { simulate } from '../local/simulate';
import { withCountedHandlers } from './release';
import { verdict } from './stats';

export const REQUESTS_GOAL = 100;
const DEMO = join(__dirname, '..', 'examples', 'scenarios', 'demo.json');

export interface RequestFigures {
  readonly status: string;
  readonly total: number;
  readonly byOperation: Record<string, number>;
  readonly byHandler: Record<string, { invocations: number; requests: number }>;
}

export async function measureRequests(file = DEMO): Promise<RequestFigures> {
  const byOperation: Record<string, number> = {};
  const requests: Record<string, number> = {};
  const { result: output, byHandler: calls } = await withCountedHandlers(async () => {
    const { output } = await simulate(loadScenarioFile(file), {
      observeLedger: (handler, request) => {
        const op = request.command.replace(/Command$/, '');
        byOperation[op] = (byOperation[op] ?? 0) + 1;
        requests[handler] = (requests[handler] ?? 0) + 1;
      },
    });
    return output;
  });
  const byHandler = Object.fromEntries(Object.entries(requests).map(([name, n]) => [name, { invocations: calls[name]?.calls ?? 0, requests: n }]));
  const total = Object.values(byOperation).reduce((a, b) => a + b, 0);
  return { status: output.releases[0]?.status ?? 'none', total, byOperation, byHandler };
}

export function requestsTable(f: RequestFigures): string {
  const lines = [
    `Demo release: ${f.status}. **${f.total} DynamoDB requests** (goal ≤ ${REQUESTS_GOAL}: ${verdict(f.total <= REQUESTS_GOAL)}).`,
    '',
    `By operation: ${Object.entries(f.byOperation)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}.`,
    '',
    '| handler | invocations | requests | per invocation |',
    '|---|---|---|---|',
  ];
  for (const [name, h] of Object.entries(f.byHandler).sort((a, b) => b[1].requests - a[1].requests)) {
    lines.push(`| ${name} | ${h.invocations || '(event)'} | ${h.requests} | ${h.invocations ? (h.requests / h.invocations).toFixed(1) : '—'} |`);
  }
  return lines.join('\n');
}
