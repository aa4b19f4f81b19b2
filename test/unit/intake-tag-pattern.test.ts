/**
 * `tagPattern` is matched with RE2 (lambdas/domain/tag-pattern.ts): linear time whatever the pattern,
 * so a catastrophic pattern cannot hang intake. The config refuses what RE2 cannot compile.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { parseConfig, TAG_PATTERN } from '../../lambdas/domain/config';
import { compileTagPattern, TagPatternError, tagMatches, tagPatternProblem } from '../../lambdas/domain/tag-pattern';
import { ValidationError } from '../../lambdas/domain/validation';
import { run as intake } from '../../lambdas/intake';
import type { Deps } from '../../lambdas/ports';

const ROOT = join(__dirname, '..', '..');
const SAMPLES = join(ROOT, 'test', 'fixtures', 'aws-samples');
const EXAMPLE = JSON.parse(readFileSync(join(ROOT, 'examples', 'gantry.config.json'), 'utf8')) as { services: Record<string, { tagPattern?: string }> };
const DIGEST = `sha256:${'ab'.repeat(32)}`;
/**
 * ECR's longest tag (128 characters) that a backtracking engine needs ~2^127 steps to refuse against
 * `^(a+)+$` (`-` rather than `!`: the event schema holds tags to ECR's grammar).
 */
const EVIL_TAG = `${'a'.repeat(127)}-`;

function configWithTagPattern(tagPattern: string): unknown {
  const raw = structuredClone(EXAMPLE);
  (raw.services.payments as { tagPattern?: string }).tagPattern = tagPattern;
  return raw;
}

function problemsOf(raw: unknown): string[] {
  try {
    parseConfig(raw, 'test');
  } catch (e) {
    if (e instanceof ValidationError) return e.problems;
    throw e;
  }
  return [];
}

describe('tagMatches', () => {
  it('answers as RegExp.test does for the patterns configs use', () => {
    const patterns = ['^v[0-9]+\\.[0-9]+\\.[0-9]+$', '^release-[0-9]{8}\\.[0-9]+$', '.*', 'rc', '^(main|release)-[a-f0-9]{7}$', '^\\d+$', '^v\\d+(\\.\\d+){0,2}(-rc\\.\\d+)?$'];
    const tags = ['v1.2.3', 'v1.2', 'release-20261124.4', 'latest', 'v1.2.3-rc.1', 'main-abc1234', 'release-abc1234', '123', 'x-rc-y', 'v10.20.30'];

    for (const p of patterns) {
      for (const t of tags) assert.equal(tagMatches(p, t), new RegExp(p).test(t), `${p} against ${t}`);
    }
  });

  it('refuses a long tag against ^(a+)+$ at once, where RegExp would backtrack for ever', (t) => {
    assert.match(EVIL_TAG, TAG_PATTERN, 'the tag is one ECR accepts');
    const started = performance.now();

    const matched = tagMatches('^(a+)+$', EVIL_TAG);

    t.annotate(`^(a+)+$ against ${EVIL_TAG.length} characters: ${(performance.now() - started).toFixed(2)} ms`);
    assert.equal(matched, false);
    assert.equal(tagMatches('^(a+)+$', 'a'.repeat(128)), true);
  });

  it('compiles each pattern once', () => {
    assert.equal(compileTagPattern('^v[0-9]+$'), compileTagPattern('^v[0-9]+$'));
  });

  it("throws a TagPatternError carrying RE2's error for a pattern RE2 cannot compile", () => {
    assert.throws(
      () => tagMatches('^(v[0-9]+)-\\1$', 'v1-v1'),
      (e: unknown) => e instanceof TagPatternError && e.name === 'TagPatternError' && e.cause instanceof Error && /\\1/.test(e.cause.message),
    );
  });
});

describe('tagPatternProblem', () => {
  it('accepts what RE2 and JavaScript both compile, a catastrophic pattern included (RE2 matches it in linear time)', () => {
    for (const p of ['^v[0-9]+\\.[0-9]+\\.[0-9]+$', '.*', '^(a+)+$', '^(x+x+)+y$', '^[a-z]{1,1000}$']) assert.equal(tagPatternProblem(p), undefined, p);
  });

  it('refuses backreferences, lookarounds and repeat counts over 1000, saying why', () => {
    const cases: Array<[string, string]> = [
      ['^(v[0-9]+)-\\1$', 'invalid escape sequence: `\\1`'],
      ['^(?!latest$).+$', 'invalid or unsupported Perl syntax: `(?!`'],
      ['^(?=v)v[0-9]+$', 'invalid or unsupported Perl syntax: `(?=`'],
      ['^v[0-9]{1001}$', 'invalid repeat count: `{1001}`'],
    ];
    for (const [p, why] of cases) {
      assert.equal(tagPatternProblem(p), `expected a regular expression RE2 can match in linear time (no backreferences, lookarounds or repeat counts over 1000): ${why}`, p);
    }
    assert.match(tagPatternProblem('^(?<=x)v') ?? '', /^expected a regular expression RE2 can match in linear time/);
  });

  it('refuses what JavaScript cannot compile as not a regular expression at all', () => {
    assert.equal(tagPatternProblem('(('), 'expected a valid regular expression');
    assert.equal(tagPatternProblem('(?i)v1'), 'expected a valid regular expression');
  });
});

describe('the config', () => {
  it('refuses a tagPattern with a backreference, naming the field', () => {
    assert.deepEqual(problemsOf(configWithTagPattern('^(v[0-9]+)-\\1$')), [
      'services.payments.tagPattern: expected a regular expression RE2 can match in linear time (no backreferences, lookarounds or repeat counts over 1000): invalid escape sequence: `\\1`, got "^(v[0-9]+)-\\\\1$"',
    ]);
  });

  it('refuses a tagPattern with a lookahead, naming the field', () => {
    assert.deepEqual(problemsOf(configWithTagPattern('^(?!latest$).+$')), [
      'services.payments.tagPattern: expected a regular expression RE2 can match in linear time (no backreferences, lookarounds or repeat counts over 1000): invalid or unsupported Perl syntax: `(?!`, got "^(?!latest$).+$"',
    ]);
  });
});

describe('intake with a catastrophic tagPattern', () => {
  it('records a skip for a long non-matching tag at once, and starts nothing', async (t) => {
    const config = parseConfig(configWithTagPattern('^(a+)+$'), 'test');
    const skips: Array<{ tag?: string; reason: string }> = [];
    const started: string[] = [];
    const deps = {
      config,
      now: () => new Date('2026-11-26T02:00:00.000Z'),
      ledger: { recordSkip: async (s: { tag?: string; reason: string }) => void skips.push(s) },
      executions: {
        start: async (name: string) => {
          started.push(name);
          return { executionArn: `arn:aws:states:eu-west-2:111122223333:execution:release:${name}`, alreadyExists: false };
        },
      },
    } as unknown as Deps;
    const event = JSON.parse(readFileSync(join(SAMPLES, 'ecr-image-action-push-success-tagged.json'), 'utf8'));
    event.detail['repository-name'] = config.services.payments?.repository;
    event.detail['image-tag'] = EVIL_TAG;
    event.detail['image-digest'] = DIGEST;
    const before = performance.now();

    const result = await intake(event, deps);

    t.annotate(`intake answered in ${(performance.now() - before).toFixed(2)} ms`);
    assert.deepEqual(result, { outcome: 'skipped', reason: `tag ${EVIL_TAG} does not match ^(a+)+$` });
    assert.deepEqual(
      skips.map((s) => s.tag),
      [EVIL_TAG],
    );
    assert.deepEqual(started, []);
  });
});
