/**
 * The bad input corpus (test/fixtures/bad-input/cases.ts): config files, release input through the
 * release workflow's first state (prepare-release), scenario files, the EventBridge events intake,
 * alarm-watch and the reconciler consume, and approval API requests. Each case must be refused with
 * its exact message — naming the place and what is allowed — and must leave no trace: no ledger
 * write, no execution started, nothing published, no task result sent, no timer (so nothing deployed).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { run as decide } from '../../lambdas/approval-decide';
import { run as alarmWatch } from '../../lambdas/alarm-watch';
import { parseConfig } from '../../lambdas/domain/config';
import { parseReleaseInput } from '../../lambdas/domain/release-input';
import { ValidationError } from '../../lambdas/domain/validation';
import { run as intake } from '../../lambdas/intake';
import { run as prepareRelease } from '../../lambdas/prepare-release';
import { run as reconciler } from '../../lambdas/reconciler';
import { loadScenario } from '../../local/scenario';
import { type ApprovalCase, CASES, type Case, EXECUTION_ARN, EXECUTION_NAME, example, type ValidationCase } from '../fixtures/bad-input/cases';
import { recordingDeps } from '../fixtures/bad-input/recording';

const config = parseConfig(example(), 'example config');

async function refusal(c: ValidationCase): Promise<{ error: unknown; effects: string[] }> {
  const r = recordingDeps(config);
  let error: unknown;
  try {
    switch (c.target) {
      case 'config':
        parseConfig(c.input);
        break;
      case 'release-input':
        await prepareRelease({ input: c.input, executionArn: EXECUTION_ARN, executionName: EXECUTION_NAME }, r.deps);
        break;
      case 'scenario':
        loadScenario(c.input, __dirname);
        break;
      case 'intake':
        await intake(c.input, r.deps);
        break;
      case 'alarm-watch':
        await alarmWatch(c.input, r.deps);
        break;
      case 'reconciler':
        await reconciler(c.input, r.deps);
        break;
    }
  } catch (e) {
    error = e;
  }
  return { error, effects: r.effects().map((x) => `${x.port}.${x.method}`) };
}

function assertRefused(c: ValidationCase, error: unknown): void {
  assert.ok(error instanceof ValidationError, `expected a ValidationError, got ${error === undefined ? 'no error: the input was accepted' : String(error)}`);
  assert.equal(error.source, c.source);
  assert.deepEqual(error.problems, c.problems);
  assert.equal(error.message, `${c.source} is invalid:\n${c.problems.map((p) => `  ${p}`).join('\n')}`);
}

const byTarget = new Map<Case['target'], Case[]>();
for (const c of CASES) byTarget.set(c.target, [...(byTarget.get(c.target) ?? []), c]);

describe('the bad input corpus', () => {
  it('holds at least 60 cases, every kind of bad input, across every way in', () => {
    assert.ok(CASES.length >= 60, `${CASES.length} cases`);
    assert.deepEqual([...byTarget.keys()].sort(), ['alarm-watch', 'approval', 'config', 'intake', 'reconciler', 'release-input', 'scenario']);
    const kinds = new Set(CASES.map((c) => c.kind));
    for (const k of ['wrong type', 'missing field', 'unknown key', 'oversized', 'malformed digest', 'malformed ARN', 'malformed timezone', 'malformed regex', 'injection', 'prototype pollution'] as const) {
      assert.ok(kinds.has(k), `no case of kind ${k}`);
    }
    assert.equal(new Set(CASES.map((c) => `${c.target}: ${c.name}`)).size, CASES.length, 'case names are unique');
  });

  it('has messages that are one line each and never echo a raw control character', () => {
    for (const c of CASES) {
      const lines = c.target === 'approval' ? (c.problems ?? [c.message ?? '']) : c.problems;
      for (const line of lines) assert.doesNotMatch(line, /[\u0000-\u001f]/, `${c.target}: ${c.name}`);
    }
  });
});

for (const [target, cases] of byTarget) {
  if (target === 'approval') continue;
  describe(`bad ${target}`, () => {
    for (const c of cases as ValidationCase[]) {
      it(`refuses ${c.name} (${c.kind}) with its message, and writes, starts and publishes nothing`, async () => {
        const { error, effects } = await refusal(c);

        assertRefused(c, error);
        assert.deepEqual(effects, []);
      });
    }
  });
}

describe('bad release input, read directly', () => {
  for (const c of byTarget.get('release-input') as ValidationCase[]) {
    if (c.source !== 'release input') continue;
    it(`refuses ${c.name} with the message prepare-release gives`, () => {
      assert.throws(
        () => parseReleaseInput(c.input, config),
        (e: unknown) => e instanceof ValidationError && JSON.stringify(e.problems) === JSON.stringify(c.problems),
      );
    });
  }
});

describe('bad approval API requests', () => {
  for (const c of byTarget.get('approval') as ApprovalCase[]) {
    it(`answers ${c.name} (${c.kind}) with ${c.status} and its message, and decides nothing`, async () => {
      const r = recordingDeps(config);

      const res = await decide(c.input, r.deps);

      assert.equal(res.statusCode, c.status);
      const body = JSON.parse(res.body) as { message?: string; problems?: string[] };
      if (c.problems) assert.deepEqual(body, { message: 'the request is invalid', problems: c.problems });
      else assert.deepEqual(body, { message: c.message });
      assert.deepEqual(r.effects(), []);
      assert.deepEqual(r.calls, [], 'the request was refused before the ledger was read');
    });
  }
});
