/**
 * The bad input corpus (test/fixtures/bad-input/cases.ts and strict-cases.ts): config files (as values and
 * as text), release input through the release workflow's first state (prepare-release), scenario files
 * (as values and as text), the EventBridge events intake, alarm-watch and the reconciler consume, approval
 * API requests and `gantry` command lines. Each case must be refused with its exact message — naming the
 * place and what is allowed — and must leave no trace: no ledger write, no execution started, nothing
 * published, no task result sent, no timer (so nothing deployed), no file written. A push from another
 * account's or region's registry is recorded as a skip with its reason, and nothing else.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { run as decide } from '../../lambdas/approval-decide';
import { run as alarmWatch } from '../../lambdas/alarm-watch';
import { parseConfig, parseConfigText } from '../../lambdas/domain/config';
import { parseReleaseInput } from '../../lambdas/domain/release-input';
import { ValidationError } from '../../lambdas/domain/validation';
import { run as intake } from '../../lambdas/intake';
import { run as prepareRelease } from '../../lambdas/prepare-release';
import { run as reconciler } from '../../lambdas/reconciler';
import { main } from '../../cli/main';
import { loadScenario, loadScenarioText } from '../../local/scenario';
import { type ApprovalCase, CASES, type Case, EXECUTION_ARN, EXECUTION_NAME, example, ROOT } from '../fixtures/bad-input/cases';
import { recordingDeps } from '../fixtures/bad-input/recording';
import { type CliCase, type SkipCase, STRICT_CASES, type StrictCase, type StrictValidationCase, type TextCase } from '../fixtures/bad-input/strict-cases';

type AnyCase = Case | StrictCase;
type Refusable = StrictValidationCase | TextCase;

const config = parseConfig(example(), 'example config');

async function refusal(c: Refusable): Promise<{ error: unknown; effects: string[] }> {
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
      case 'config-text':
        parseConfigText(c.input);
        break;
      case 'scenario-text':
        loadScenarioText(c.input, join(ROOT, 'examples', 'scenarios'), 'scenario');
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

function assertRefused(c: Refusable, error: unknown): void {
  assert.ok(error instanceof ValidationError, `expected a ValidationError, got ${error === undefined ? 'no error: the input was accepted' : String(error)}`);
  assert.equal(error.source, c.source);
  assert.deepEqual(error.problems, c.problems);
  assert.equal(error.message, `${c.source} is invalid:\n${c.problems.map((p) => `  ${p}`).join('\n')}`);
}

const ALL: readonly AnyCase[] = [...CASES, ...STRICT_CASES];
const byTarget = new Map<AnyCase['target'], AnyCase[]>();
for (const c of ALL) byTarget.set(c.target, [...(byTarget.get(c.target) ?? []), c]);

function linesOf(c: AnyCase): readonly string[] {
  if (c.target === 'approval') return c.problems ?? [c.message ?? ''];
  if (c.target === 'intake-skip') return [c.reason];
  if (c.target === 'cli') return c.stderr.replace(/\n$/, '').split('\n');
  return c.problems;
}

describe('the bad input corpus', () => {
  it('holds at least 150 cases, every kind of bad input, across every way in', () => {
    assert.ok(ALL.length >= 150, `${ALL.length} cases`);
    assert.deepEqual([...byTarget.keys()].sort(), [
      'alarm-watch',
      'approval',
      'cli',
      'config',
      'config-text',
      'intake',
      'intake-skip',
      'reconciler',
      'release-input',
      'scenario',
      'scenario-text',
    ]);
    const kinds = new Set(ALL.map((c) => c.kind));
    for (const k of [
      'wrong type',
      'missing field',
      'unknown key',
      'oversized',
      'malformed digest',
      'malformed ARN',
      'malformed timezone',
      'malformed regex',
      'injection',
      'prototype pollution',
      'duplicate key',
      'deeply nested',
      'path traversal',
      'unknown operation',
      'foreign source',
      'missing folder',
      'empty input',
      'impossible date',
    ] as const) {
      assert.ok(kinds.has(k), `no case of kind ${k}`);
    }
    assert.equal(new Set(ALL.map((c) => `${c.target}: ${c.name}`)).size, ALL.length, 'case names are unique');
  });

  it('has messages that are one line each and never echo a raw control character', () => {
    for (const c of ALL) {
      for (const line of linesOf(c)) assert.doesNotMatch(line, /[\u0000-\u001f]/, `${c.target}: ${c.name}`);
    }
  });
});

for (const [target, cases] of byTarget) {
  if (target === 'approval' || target === 'intake-skip' || target === 'cli') continue;
  describe(`bad ${target}`, () => {
    for (const c of cases as Refusable[]) {
      it(`refuses ${c.name} (${c.kind}) with its message, and writes, starts and publishes nothing`, async () => {
        const { error, effects } = await refusal(c);

        assertRefused(c, error);
        assert.deepEqual(effects, []);
      });
    }
  });
}

describe("pushes from a registry that is not the control plane's own", () => {
  for (const c of byTarget.get('intake-skip') as SkipCase[]) {
    it(`records ${c.name} as skipped with its reason, and starts nothing`, async () => {
      const r = recordingDeps(config, undefined, { allowSkips: true });

      const result = await intake(c.input, r.deps);

      assert.deepEqual(result, { outcome: 'skipped', reason: c.reason });
      assert.deepEqual(
        r.effects().map((x) => `${x.port}.${x.method}`),
        ['ledger.recordSkip'],
      );
      assert.equal((r.effects()[0]?.args[0] as { reason?: string }).reason, c.reason);
    });
  }
});

describe('bad gantry command lines', () => {
  for (const c of byTarget.get('cli') as CliCase[]) {
    it(`refuses ${c.name} (${c.kind}) with exit 2 and its message, and writes nothing`, async () => {
      const out: string[] = [];
      const err: string[] = [];

      const code = await main(['node', 'gantry', ...c.argv], { out: (t) => out.push(t), err: (t) => err.push(t), isTTY: false, env: {}, sleep: async () => undefined });

      assert.equal(err.join(''), c.stderr);
      assert.equal(code, 2);
      assert.equal(out.join(''), '');
      for (const f of c.mustNotExist ?? []) assert.equal(existsSync(f), false, `${f} was written`);
    });
  }
});

describe('bad release input, read directly', () => {
  for (const c of byTarget.get('release-input') as StrictValidationCase[]) {
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
