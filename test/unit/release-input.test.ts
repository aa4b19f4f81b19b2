import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { parseConfig } from '../../lambdas/domain/config';
import { parseReleaseInput, parseRollbackInput } from '../../lambdas/domain/release-input';
import { GATE_NAMES } from '../../lambdas/domain/types';
import { ValidationError } from '../../lambdas/domain/validation';
import { problemsOf } from '../helpers/validation';

const helm = { driver: 'helm', release: 'payments', chart: 'oci://111122223333.dkr.ecr.eu-west-2.amazonaws.com/charts/payments', version: '1.2.0' };

const config = parseConfig({
  services: {
    payments: {
      repository: 'payments-api',
      stages: [
        { name: 'dev', cluster: 'dev', namespace: 'payments', deploy: helm },
        { name: 'staging', cluster: 'dev', namespace: 'payments', deploy: helm },
        { name: 'prod', cluster: 'prod', namespace: 'payments', deploy: helm },
      ],
    },
    ledger: {
      repository: 'ledger-api',
      stages: [{ name: 'prod', cluster: 'prod', namespace: 'ledger', deploy: { ...helm, release: 'ledger' } }],
    },
  },
  clusters: { dev: { name: 'dev-eks', region: 'eu-west-2' }, prod: { name: 'prod-eks', region: 'eu-west-2' } },
});

const DIGEST = `sha256:${'a1'.repeat(32)}`;

describe('parseReleaseInput', () => {
  it('accepts the docs/contracts.md §2 example shape with a tag', () => {
    const input = parseReleaseInput(
      { service: 'payments', image: { tag: 'v1.4.2' }, stages: ['dev', 'staging'], reason: 'CHG-2211 fix rounding', breakGlass: { reason: 'INC-5120 outage' } },
      config,
    );
    assert.deepEqual(input, {
      service: 'payments',
      image: { tag: 'v1.4.2' },
      stages: ['dev', 'staging'],
      stagesGiven: true,
      reason: 'CHG-2211 fix rounding',
      breakGlass: { reason: 'INC-5120 outage' },
    });
  });

  it('defaults the stages to every stage of the service, in order', () => {
    const input = parseReleaseInput({ service: 'payments', image: { digest: DIGEST } }, config);
    assert.deepEqual(input.stages, ['dev', 'staging', 'prod']);
    assert.equal(input.stagesGiven, false);
    assert.deepEqual(input.image, { digest: DIGEST });
  });

  it('accepts the full list of stages as a prefix', () => {
    assert.deepEqual(parseReleaseInput({ service: 'payments', image: { tag: 'v1' }, stages: ['dev', 'staging', 'prod'] }, config).stages, ['dev', 'staging', 'prod']);
  });

  it('names the path and the value of a malformed digest', () => {
    assert.deepEqual(
      problemsOf(() => parseReleaseInput({ service: 'payments', image: { digest: 'sha256:xyz' } }, config)),
      ['image.digest: expected a digest sha256:<64 lowercase hex characters>, got "sha256:xyz"'],
    );
  });

  it('refuses an image with both a tag and a digest', () => {
    const problems = problemsOf(() => parseReleaseInput({ service: 'payments', image: { tag: 'v1', digest: DIGEST } }, config));
    assert.equal(problems.length, 1);
    assert.ok((problems[0] as string).startsWith('image: expected exactly one of "tag" or "digest", got {"tag":"v1","digest":"sha256:a1a1'), problems[0]);
  });

  it('refuses an image with neither a tag nor a digest', () => {
    assert.deepEqual(
      problemsOf(() => parseReleaseInput({ service: 'payments', image: {} }, config)),
      ['image: expected exactly one of "tag" or "digest", got {}'],
    );
  });

  it('refuses an image given as a bare string', () => {
    assert.deepEqual(
      problemsOf(() => parseReleaseInput({ service: 'payments', image: 'v1.4.2' }, config)),
      ['image: expected an object with exactly one of "tag" or "digest", such as {"tag":"v1.4.2"}, got "v1.4.2"'],
    );
  });

  it('refuses a tag with characters a tag cannot have', () => {
    const problems = problemsOf(() => parseReleaseInput({ service: 'payments', image: { tag: 'v1 beta' } }, config));
    assert.equal(problems.length, 1);
    assert.match(problems[0] as string, /^image\.tag: expected an image tag matching .*, got "v1 beta"$/);
  });

  it('names the services of the config when the service is unknown', () => {
    assert.deepEqual(
      problemsOf(() => parseReleaseInput({ service: 'billing', image: { tag: 'v1' } }, config)),
      ['service: expected one of the services in the config (payments, ledger), got "billing"'],
    );
  });

  it('refuses a missing service', () => {
    assert.deepEqual(
      problemsOf(() => parseReleaseInput({ image: { tag: 'v1' } }, config)),
      ['service: expected one of the services in the config (payments, ledger), got nothing'],
    );
  });

  it('refuses stages that are not a prefix, naming the allowed prefixes', () => {
    assert.deepEqual(
      problemsOf(() => parseReleaseInput({ service: 'payments', image: { tag: 'v1' }, stages: ['dev', 'prod'] }, config)),
      ['stages: expected a non-empty prefix of the stages of payments: ["dev"] or ["dev","staging"] or ["dev","staging","prod"], got ["dev","prod"]'],
    );
  });

  it('refuses a stage the service does not have', () => {
    const problems = problemsOf(() => parseReleaseInput({ service: 'ledger', image: { tag: 'v1' }, stages: ['dev'] }, config));
    assert.deepEqual(problems, ['stages: expected a non-empty prefix of the stages of ledger: ["prod"], got ["dev"]']);
  });

  it('refuses an empty list of stages', () => {
    assert.deepEqual(
      problemsOf(() => parseReleaseInput({ service: 'payments', image: { tag: 'v1' }, stages: [] }, config)),
      ["stages: expected a non-empty list of the service's stage names, got []"],
    );
  });

  it('refuses a reason longer than 500 characters', () => {
    const problems = problemsOf(() => parseReleaseInput({ service: 'payments', image: { tag: 'v1' }, reason: 'x'.repeat(501) }, config));
    assert.equal(problems.length, 1);
    assert.match(problems[0] as string, /^reason: expected a string of at most 500 characters, got "x{10,}/);
  });

  it('accepts a reason of exactly 500 characters', () => {
    assert.equal(parseReleaseInput({ service: 'payments', image: { tag: 'v1' }, reason: 'x'.repeat(500) }, config).reason?.length, 500);
  });

  it('refuses a break-glass without a reason', () => {
    assert.deepEqual(
      problemsOf(() => parseReleaseInput({ service: 'payments', image: { tag: 'v1' }, breakGlass: { reason: '  ' } }, config)),
      ['breakGlass.reason: expected a non-empty reason of at most 500 characters, got "  "'],
    );
    assert.deepEqual(
      problemsOf(() => parseReleaseInput({ service: 'payments', image: { tag: 'v1' }, breakGlass: {} }, config)),
      ['breakGlass.reason: expected a non-empty reason of at most 500 characters, got nothing'],
    );
  });

  it('refuses unknown fields, including an initiator', () => {
    assert.deepEqual(
      problemsOf(() => parseReleaseInput({ service: 'payments', image: { tag: 'v1', name: 'x' }, initiator: 'arn:aws:iam::1:user/me' }, config)),
      ['image.name: unknown field (not allowed here)', 'initiator: unknown field (not allowed here)'],
    );
  });

  it('reports every problem at once, the stage prefix included', () => {
    const problems = problemsOf(() => parseReleaseInput({ service: 'payments', image: { digest: 'sha256:xyz' }, stages: ['prod'], reason: 5 }, config));
    assert.deepEqual(problems, [
      'image.digest: expected a digest sha256:<64 lowercase hex characters>, got "sha256:xyz"',
      'reason: expected a string of at most 500 characters, got 5',
      'stages: expected a non-empty prefix of the stages of payments: ["dev"] or ["dev","staging"] or ["dev","staging","prod"], got ["prod"]',
    ]);
  });

  it('refuses a document that is not an object', () => {
    assert.deepEqual(
      problemsOf(() => parseReleaseInput(['payments'], config)),
      ['(root): expected a release input object {"service": …, "image": {"tag" | "digest": …}}, got ["payments"]'],
    );
  });

  it('heads the error with the source it was given', () => {
    assert.throws(
      () => parseReleaseInput({}, config, 'triggers[1].input'),
      (e: unknown) => e instanceof ValidationError && e.source === 'triggers[1].input' && e.message.startsWith('triggers[1].input is invalid:'),
    );
  });
});

describe('parseRollbackInput', () => {
  it('accepts a service, a stage, a digest and a reason', () => {
    assert.deepEqual(parseRollbackInput({ service: 'payments', stage: 'prod', digest: DIGEST, reason: 'INC-5120' }, config), {
      service: 'payments',
      stage: 'prod',
      digest: DIGEST,
      reason: 'INC-5120',
    });
  });

  it('accepts a rollback without a digest', () => {
    assert.deepEqual(parseRollbackInput({ service: 'payments', stage: 'dev' }, config), { service: 'payments', stage: 'dev' });
  });

  it('names the stages of the service when the stage is unknown', () => {
    assert.deepEqual(
      problemsOf(() => parseRollbackInput({ service: 'ledger', stage: 'dev' }, config)),
      ['stage: expected one of the stages of ledger (prod), got "dev"'],
    );
  });

  it('names the path of a malformed digest', () => {
    assert.deepEqual(
      problemsOf(() => parseRollbackInput({ service: 'payments', stage: 'prod', digest: 'latest' }, config)),
      ['digest: expected a digest sha256:<64 lowercase hex characters>, got "latest"'],
    );
  });

  it('refuses unknown fields and a missing stage', () => {
    assert.deepEqual(
      problemsOf(() => parseRollbackInput({ service: 'payments', to: DIGEST }, config)),
      ['stage: expected a stage name, got nothing', 'to: unknown field (not allowed here)'],
    );
  });
});

describe('release input startAt (a promotion)', () => {
  it('runs the stages from startAt to the end', () => {
    const v = parseReleaseInput({ service: 'payments', image: { digest: DIGEST }, startAt: 'prod' }, config);
    assert.deepEqual(v.stages, ['prod']);
    assert.equal(v.startAt, 'prod');
    assert.equal(v.stagesGiven, false);
    assert.deepEqual(parseReleaseInput({ service: 'payments', image: { digest: DIGEST }, startAt: 'staging' }, config).stages, ['staging', 'prod']);
  });

  it('takes stages that are the contiguous run from startAt, and refuses any other, listing the allowed ones', () => {
    assert.deepEqual(parseReleaseInput({ service: 'payments', image: { digest: DIGEST }, startAt: 'staging', stages: ['staging'] }, config).stages, ['staging']);
    assert.deepEqual(
      problemsOf(() => parseReleaseInput({ service: 'payments', image: { digest: DIGEST }, startAt: 'staging', stages: ['prod'] }, config)),
      ['stages: expected the stages of payments from startAt staging on, in order: ["staging"] or ["staging","prod"], got ["prod"]'],
    );
  });

  it('refuses the first stage, an unknown stage and a one-stage service, naming startAt and what is allowed', () => {
    const [first] = problemsOf(() => parseReleaseInput({ service: 'payments', image: { digest: DIGEST }, startAt: 'dev' }, config));
    assert.match(first!, /^startAt: expected one of the stages of payments after the first \(staging, prod\); dev is the first stage: a release from it is a normal release/);
    assert.deepEqual(
      problemsOf(() => parseReleaseInput({ service: 'payments', image: { digest: DIGEST }, startAt: 'qa' }, config)),
      ['startAt: expected one of the stages of payments after the first (staging, prod), got "qa"'],
    );
    assert.match(
      problemsOf(() => parseReleaseInput({ service: 'ledger', image: { digest: DIGEST }, startAt: 'prod' }, config))[0]!,
      /^startAt: expected no startAt: ledger has one stage/,
    );
    assert.match(problemsOf(() => parseReleaseInput({ service: 'payments', image: { digest: DIGEST }, startAt: 7 }, config))[0]!, /^startAt: expected a stage name/);
  });

  it('keeps the prefix rule for a release without startAt', () => {
    assert.match(problemsOf(() => parseReleaseInput({ service: 'payments', image: { digest: DIGEST }, stages: ['prod'] }, config))[0]!, /^stages: expected a non-empty prefix/);
  });

  it('adds the gate name at the end of the list (docs/contracts.md §3)', () => {
    assert.equal(GATE_NAMES.at(-1), 'promotion.previous-stage');
  });
});
