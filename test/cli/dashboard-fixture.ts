/** Shared by the dashboard tests: a local Gantry where prod waits for an approval, and HTTP requests with any Host header. */
import { request } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OperatorIo } from '../../cli/commands/common';
import { alice, example, localGantry, readJson, tmp } from './helpers';

/**
 * The operator walk-through (examples/scenarios/operator-walkthrough.json) with alice's start of payments v1.4.2 at
 * the beginning, its clock at PT30M: dev and staging promoted, prod waiting for an approval by ReleaseApprovers.
 * With `second`, a second start (v1.4.3, pushed at PT15M) at PT20M: dev deploying or baking while prod waits.
 */
export async function waitingForApproval(options: { second?: boolean; until?: string } = {}): Promise<string> {
  const s = readJson<Record<string, any>>(example('operator-walkthrough'));
  s.triggers = [{ type: 'start', principal: alice, input: { service: 'payments', image: { tag: 'v1.4.2' }, reason: 'CHG-2211 fix rounding' }, at: 'PT0S' }];
  if (options.second) {
    s.ecr['payments-api'].images.push({
      digest: `sha256:${'3'.repeat(64)}`,
      tags: ['v1.4.3'],
      pushedAt: '2026-11-24T10:15:00Z',
      labels: { 'org.opencontainers.image.revision': 'c0ffee1' },
      scan: { status: 'COMPLETE', findings: [] },
    });
    s.triggers.push({ type: 'start', principal: alice, input: { service: 'payments', image: { tag: 'v1.4.3' }, reason: 'CHG-2212 faster refunds' }, at: 'PT20M' });
  }
  const file = join(tmp(), 'dashboard-scenario.json');
  writeFileSync(file, JSON.stringify(s, null, 2));
  return localGantry(file, options.until ?? 'PT30M');
}

export const ledgerOf = (dir: string) => readFileSync(join(dir, 'ledger.jsonl'), 'utf8');

/** An io that keeps what the server writes. */
export function testIo(): OperatorIo & { lines: string[] } {
  const lines: string[] = [];
  return { lines, out: (s) => lines.push(s), err: (s) => lines.push(s), isTTY: false, env: {}, sleep: async () => undefined };
}

export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  json(): any;
}

/** One HTTP request to 127.0.0.1:port (node:http, so the Host header can be anything). */
export function call(port: number, method: string, path: string, options: { headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { host: `127.0.0.1:${port}`, ...options.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
      });
    });
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/** The token the index page carries in its <meta> tag (empty when read-only). */
export async function tokenOf(port: number): Promise<string> {
  const page = await call(port, 'GET', '/');
  const m = /<meta name="gantry-dashboard-token" content="([^"]*)"/.exec(page.text);
  if (!m) throw new Error('the index page has no token meta tag');
  return m[1] as string;
}
