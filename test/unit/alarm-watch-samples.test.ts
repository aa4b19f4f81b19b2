/** The alarm watcher on every real CloudWatch alarm event sample: only a transition into ALARM fails a bake. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { run as alarmWatch } from '../../lambdas/alarm-watch';
import type { Deps, TokenRecord } from '../../lambdas/ports';

const SAMPLES = join(__dirname, '../fixtures/aws-samples');
const files = readdirSync(SAMPLES).filter((f) => f.startsWith('cloudwatch-alarm-') && f.endsWith('.json') && !f.includes('lambda-action'));

/** A ledger that reports one open bake watching every alarm, and counts claims. */
function depsWatching() {
  const asked: string[] = [];
  const failures: Array<{ error: string }> = [];
  const deps = {
    now: () => new Date('2026-11-24T10:00:00Z'),
    // No cluster in another account, region unknown: every alarm event is of the home scope (issue 18).
    config: { clusters: {} },
    runtime: { inLambda: false },
    ledger: {
      tokensForAlarm: async (name: string): Promise<TokenRecord[]> => {
        asked.push(name);
        return [
          {
            kind: 'BAKE',
            releaseId: 'r-1',
            service: 'payments',
            stage: 'prod',
            token: 'tok',
            alarms: [name],
            createdAt: '2019-01-01T00:00:00Z',
            expiresAt: '2030-01-01T00:00:00Z',
            attrs: { bakeStartedAt: '2019-01-01T00:00:00Z' },
          },
        ];
      },
      takeToken: async () => undefined, // already claimed: the watcher must then do nothing more
    },
    tasks: { sendFailure: async (_t: string, error: string) => failures.push({ error }), sendSuccess: async () => undefined },
  } as unknown as Deps;
  return { deps, asked, failures };
}

describe('alarm watcher on the real samples', () => {
  assert.ok(files.length >= 5, `found ${files.length} samples`);
  for (const file of files) {
    const event = JSON.parse(readFileSync(join(SAMPLES, file), 'utf8')) as { 'detail-type': string; detail: { state?: { value?: string }; alarmName?: string } };
    const intoAlarm = event['detail-type'] === 'CloudWatch Alarm State Change' && event.detail.state?.value === 'ALARM';
    it(`${file}: ${intoAlarm ? 'looks up the bakes watching the alarm' : 'does nothing'}`, async () => {
      const { deps, asked, failures } = depsWatching();
      const result = await alarmWatch(event, deps);
      assert.equal(result.failedBakes, 0, 'the token was already claimed, so nothing is failed twice');
      assert.deepEqual(asked, intoAlarm ? [event.detail.alarmName] : []);
      assert.deepEqual(failures, []);
    });
  }
});
