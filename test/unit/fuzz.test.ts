/**
 * Property tests (fast-check) for the parsers of config, inputs, events and durations: on any JSON,
 * and on valid documents with random mutations, they return or throw ValidationError (never a
 * TypeError or another class), and every problem line starts with a JSON path and ': '.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import fc from 'fast-check';
import { parseConfig } from '../../lambdas/domain/config';
import { addDuration, parseIsoDuration } from '../../lambdas/domain/durations';
import { alarmStateChangePattern, cloudTrailPutImagePattern, ecrPushPattern, executionStatusChangePattern } from '../../lambdas/domain/event-patterns';
import { normalizeTimestamp, parseGantryEvent } from '../../lambdas/domain/events';
import { matchesPattern } from '../../lambdas/domain/pattern-match';
import { parseReleaseInput, parseRollbackInput } from '../../lambdas/domain/release-input';
import { ValidationError } from '../../lambdas/domain/validation';
import { putImageEvent, sample } from '../helpers/aws-samples';

const RUNS = 400;

// ---------------------------------------------------------------- valid documents

const helm = { driver: 'helm', release: 'payments', chart: 'oci://111122223333.dkr.ecr.eu-west-2.amazonaws.com/charts/payments', version: '1.2.0' };
const validConfig = {
  services: {
    payments: {
      repository: 'payments-api',
      tagPattern: '^v[0-9]+$',
      imagePolicy: { maxFindings: { CRITICAL: 0 }, allow: [{ id: 'CVE-2024-1234', expires: '2027-01-01', reason: 'r' }], requireSignature: { keys: ['release-key'] } },
      stages: [
        { name: 'dev', cluster: 'dev', namespace: 'payments', deploy: helm, alarms: ['a'], bakeMinutes: 10 },
        {
          name: 'prod',
          cluster: 'prod',
          namespace: 'payments',
          deploy: { driver: 'terraform', source: 's3://tf-sources/payments.zip', workdir: 'prod', imageVariable: 'image' },
          approval: { approvers: ['arn:aws:iam::111122223333:role/ReleaseApprovers'] },
          windows: {
            timezone: 'Europe/London',
            allow: [{ days: ['Mon'], from: '09:00', to: '16:00' }],
            blackouts: [{ from: '2026-12-20T00:00', to: '2027-01-04T00:00', reason: 'freeze' }],
          },
        },
      ],
    },
  },
  clusters: { dev: { name: 'dev-eks', region: 'eu-west-2' }, prod: { name: 'prod-eks', region: 'eu-west-2' } },
  signing: { keys: { 'release-key': 'arn:aws:kms:eu-west-2:111122223333:key/abc' } },
};
const config = parseConfig(validConfig);
const DIGEST = `sha256:${'0f'.repeat(32)}`;
const validReleaseInputs = [
  { service: 'payments', image: { tag: 'v1.4.2' }, stages: ['dev'], reason: 'CHG-1', breakGlass: { reason: 'INC-1' } },
  { service: 'payments', image: { digest: DIGEST } },
];
const validRollbackInput = { service: 'payments', stage: 'prod', digest: DIGEST, reason: 'INC-5120' };
const eventSamples = [
  'ecr-image-action-push-success-tagged.json',
  'ecr-image-action-delete.json',
  'cloudwatch-alarm-state-change-metric-alarm-to-alarm.json',
  'cloudwatch-alarm-state-change-composite-with-suppressor.json',
  'cloudwatch-alarm-config-change-composite-create.json',
  'stepfunctions-execution-status-change-failed.json',
  'stepfunctions-execution-status-change-running.json',
  'ecr-image-scan-basic-complete.json',
  'inspector2-scan-ecr-initial-scan-complete-2021.json',
].map(sample);
eventSamples.push(putImageEvent());

// ---------------------------------------------------------------- mutation

type Path = Array<string | number>;
type Mutation = { at: number; op: 'replace' | 'delete' | 'insert'; key: string; value: unknown };

function pathsOf(v: unknown, here: Path = [], out: Path[] = []): Path[] {
  out.push(here);
  if (Array.isArray(v)) v.forEach((x, i) => pathsOf(x, [...here, i], out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) pathsOf(x, [...here, k], out);
  return out;
}

function setOwn(o: Record<string | number, unknown>, k: string | number, v: unknown): void {
  // defineProperty so "__proto__" becomes an own key, as JSON.parse makes it.
  Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
}

function mutate(doc: unknown, mutations: readonly Mutation[]): unknown {
  let root: unknown = structuredClone(doc);
  for (const original of mutations) {
    // Copy the value: constantFrom hands out the same [] and {} to every run.
    const m = { ...original, value: structuredClone(original.value) };
    const paths = pathsOf(root);
    const p = paths[m.at % paths.length] as Path;
    if (p.length === 0) {
      if (m.op === 'replace') root = m.value;
      continue;
    }
    let parent = root as Record<string | number, unknown>;
    for (const seg of p.slice(0, -1)) parent = parent[seg] as Record<string | number, unknown>;
    const last = p[p.length - 1] as string | number;
    if (m.op === 'replace') setOwn(parent, last, m.value);
    else if (m.op === 'delete') {
      if (Array.isArray(parent)) parent.splice(last as number, 1);
      else delete parent[last];
    } else {
      const target = parent[last];
      if (Array.isArray(target)) target.push(m.value);
      else if (target && typeof target === 'object') setOwn(target as Record<string, unknown>, m.key, m.value);
      else setOwn(parent, last, m.value);
    }
  }
  return root;
}

const mutationArb = fc.array(
  fc.record({
    at: fc.nat(),
    op: fc.constantFrom('replace' as const, 'delete' as const, 'insert' as const),
    key: fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', 'toString', 'detail-type', 'extra', '')),
    value: fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom('', 'sha256:xyz', DIGEST, 'PUSH', 'ALARM', 'payments', 'dev', 'prod', '2019-10-02T17:04:40.989+0000', -1, 1e308, null, [], {}),
    ),
  }),
  { minLength: 1, maxLength: 4 },
);

// ---------------------------------------------------------------- the invariant

/** `path: ` where path is what jsonPath() writes: (root), name, ["quoted"], [0], joined with dots. */
const PROBLEM_LINE = /^(?:\(root\)|(?:[A-Za-z_$][A-Za-z0-9_$]*|\[(?:\d+|"(?:[^"\\]|\\.)*")\])(?:\.[A-Za-z_$][A-Za-z0-9_$]*|\[(?:\d+|"(?:[^"\\]|\\.)*")\])*): \S/;

function returnsOrThrowsValidationError(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof ValidationError)) throw new Error(`threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)} instead of ValidationError`);
    assert.ok(e.problems.length > 0, 'a ValidationError with no problem lines');
    for (const line of e.problems) assert.match(line, PROBLEM_LINE);
  }
}

const parsers: Array<[string, (raw: unknown) => unknown, unknown[]]> = [
  ['parseConfig', (raw) => parseConfig(raw), [validConfig]],
  ['parseReleaseInput', (raw) => parseReleaseInput(raw, config), validReleaseInputs],
  ['parseRollbackInput', (raw) => parseRollbackInput(raw, config), [validRollbackInput]],
  ['parseGantryEvent', (raw) => parseGantryEvent(raw), eventSamples],
  ['parseIsoDuration', (raw) => parseIsoDuration(raw), ['PT7M', 'P1DT2H3M4.5S']],
];

describe('parsers on arbitrary and mutated JSON', () => {
  for (const [name, parse, valid] of parsers) {
    it(`${name} accepts its valid documents`, () => {
      for (const doc of valid) parse(doc);
    });

    it(`${name} returns or throws ValidationError on any JSON value`, () => {
      fc.assert(
        fc.property(fc.jsonValue(), (raw) => returnsOrThrowsValidationError(() => parse(raw))),
        { numRuns: RUNS },
      );
    });

    it(`${name} returns or throws ValidationError on mutated valid documents`, () => {
      fc.assert(
        fc.property(fc.constantFrom(...valid), mutationArb, (doc, mutations) => returnsOrThrowsValidationError(() => parse(mutate(doc, mutations)))),
        { numRuns: RUNS },
      );
    });
  }

  it('parseGantryEvent also survives objects carrying an event envelope with arbitrary details', () => {
    const envelope = fc.record({
      source: fc.constantFrom('aws.ecr', 'aws.cloudwatch', 'aws.states', 'aws.inspector2', 'gantry'),
      'detail-type': fc.constantFrom(
        'ECR Image Action',
        'AWS API Call via CloudTrail',
        'CloudWatch Alarm State Change',
        'CloudWatch Alarm Configuration Change',
        'Step Functions Execution Status Change',
        'ECR Image Scan',
        'Inspector2 Scan',
      ),
      detail: fc.jsonValue(),
      id: fc.jsonValue({ maxDepth: 0 }),
      resources: fc.oneof(fc.array(fc.string()), fc.jsonValue({ maxDepth: 1 })),
    });
    fc.assert(
      fc.property(envelope, (raw) => returnsOrThrowsValidationError(() => parseGantryEvent(raw))),
      { numRuns: RUNS },
    );
  });

  it('the mutator does change documents (so the mutation properties test something)', () => {
    const changed = fc.sample(fc.tuple(fc.constantFrom(...eventSamples), mutationArb), 50).filter(([doc, ms]) => JSON.stringify(mutate(doc, ms)) !== JSON.stringify(doc));
    assert.ok(changed.length > 25, `only ${changed.length} of 50 mutations changed the document`);
  });
});

describe('matchesPattern on arbitrary events', () => {
  const patterns = [ecrPushPattern, cloudTrailPutImagePattern, alarmStateChangePattern, executionStatusChangePattern(['arn:aws:states:us-east-1:1:stateMachine:m'])];

  it('returns a boolean for the patterns of event-patterns.ts on any JSON', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...patterns),
        fc.oneof(
          fc.jsonValue(),
          fc.constantFrom(...eventSamples).chain((d) => mutationArb.map((m) => mutate(d, m))),
        ),
        (p, ev) => {
          assert.equal(typeof matchesPattern(p, ev), 'boolean');
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('exists true and exists false disagree on every field of every event', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.string({ minLength: 1, maxLength: 3 }), (ev, key) => {
        assert.notEqual(matchesPattern({ [key]: [{ exists: true }] }, ev), matchesPattern({ [key]: [{ exists: false }] }, ev));
      }),
      { numRuns: RUNS },
    );
  });
});

describe('parseIsoDuration', () => {
  it('reads minutes, hours, days and seconds', () => {
    assert.equal(parseIsoDuration('PT7M'), 420_000);
    assert.equal(parseIsoDuration('PT0S'), 0);
    assert.equal(parseIsoDuration('PT3H'), 10_800_000);
    assert.equal(parseIsoDuration('P1D'), 86_400_000);
    assert.equal(parseIsoDuration('P1DT2H3M4S'), 93_784_000);
  });

  it('reads fractional seconds, with a dot or a comma', () => {
    assert.equal(parseIsoDuration('PT0.5S'), 500);
    assert.equal(parseIsoDuration('PT1,25S'), 1250);
    assert.equal(parseIsoDuration('PT0.0004S'), 0);
  });

  it('refuses months, years and weeks, saying why', () => {
    for (const s of ['P1M', 'P1Y', 'P2W']) {
      assert.throws(
        () => parseIsoDuration(s, 'script[0].when.after'),
        (e: unknown) =>
          e instanceof ValidationError &&
          e.problems[0] ===
            `script[0].when.after: expected an ISO-8601 duration of days, hours, minutes and seconds such as PT7M, PT30S, PT0.5S or P1DT2H (years, months and weeks have no fixed length here; use days), got "${s}"`,
      );
    }
  });

  it('refuses empty, negative, lower-case and malformed durations', () => {
    for (const s of ['', 'P', 'PT', '-PT1M', 'pt1m', 'PT1.5M', 'T1M', '7M', 'PT1M ', 'P1H']) {
      assert.throws(() => parseIsoDuration(s), ValidationError, s);
    }
  });

  it('refuses a value that is not a string', () => {
    assert.throws(
      () => parseIsoDuration(420000),
      (e: unknown) => e instanceof ValidationError && /^duration: expected .*, got 420000$/.test(e.problems[0] as string),
    );
  });

  it('refuses a duration too large to count in milliseconds', () => {
    assert.throws(
      () => parseIsoDuration('P999999999999D'),
      (e: unknown) => e instanceof ValidationError && /\(too large\)/.test(e.problems[0] as string),
    );
  });

  it('adds up its components for any whole numbers', () => {
    fc.assert(
      fc.property(fc.nat(1000), fc.nat(100), fc.nat(100), fc.nat(100), fc.nat(999), (d, h, m, s, ms) => {
        const text = `P${d}DT${h}H${m}M${s}.${String(ms).padStart(3, '0')}S`;
        assert.equal(parseIsoDuration(text), d * 86_400_000 + h * 3_600_000 + m * 60_000 + s * 1000 + ms);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('addDuration', () => {
  it('adds an ISO duration to an instant', () => {
    assert.equal(addDuration('2026-11-24T10:00:00Z', 'PT7M'), '2026-11-24T10:07:00.000Z');
    assert.equal(addDuration('2026-11-24T10:00:00Z', 'P1DT30M'), '2026-11-25T10:30:00.000Z');
  });

  it('adds milliseconds given as a number', () => {
    assert.equal(addDuration('2026-11-24T10:00:00.000Z', 1500), '2026-11-24T10:00:01.500Z');
  });

  it('reads instants with an offset, including the +0000 form AWS writes', () => {
    assert.equal(addDuration('2026-11-24T11:00:00+01:00', 'PT0S'), '2026-11-24T10:00:00.000Z');
    assert.equal(addDuration('2019-10-02T17:04:40.989+0000', 'PT1S'), '2019-10-02T17:04:41.989Z');
  });

  it('crosses a daylight-saving change by elapsed time (instants are UTC)', () => {
    assert.equal(addDuration('2026-03-29T00:30:00Z', 'PT1H'), '2026-03-29T01:30:00.000Z');
  });

  it('refuses an instant without an offset or with an impossible date', () => {
    assert.throws(() => addDuration('2026-11-24T10:00:00', 'PT1M'), ValidationError);
    assert.throws(() => addDuration('2026-02-30T10:00:00Z', 'PT1M'), ValidationError);
  });

  it('agrees with Date arithmetic for any instant and duration', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2200-01-01T00:00:00Z'), noInvalidDate: true }),
        fc.nat(10_000),
        fc.nat(59),
        (at, minutes, seconds) => {
          const expected = new Date(at.getTime() + minutes * 60_000 + seconds * 1000).toISOString();
          assert.equal(addDuration(at.toISOString(), `PT${minutes}M${seconds}S`), expected);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('normalizeTimestamp', () => {
  it('gives back any UTC instant written with +0000 as toISOString writes it', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }), (d) => {
        const iso = d.toISOString();
        assert.equal(normalizeTimestamp(iso.replace(/Z$/, '+0000')), iso);
        assert.equal(normalizeTimestamp(iso), iso);
      }),
      { numRuns: RUNS },
    );
  });
});
