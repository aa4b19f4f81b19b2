/**
 * Change records and traceability (decision 051): the pure gate `change.record`, the compare link, the config's
 * `changeRecord` / `source` and the release input's `changeRecord`, each refusal naming the field.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { compareUrl, evaluateChangeRecord, type ChangeRecordEvidence } from '../../lambdas/domain/change-record';
import { parseConfig } from '../../lambdas/domain/config';
import { type LedgerEvent, chainEvent, projectRelease } from '../../lambdas/domain/ledger';
import { parseReleaseInput } from '../../lambdas/domain/release-input';
import { commitOfDigest } from '../../lambdas/image-gates';
import { problemsOf } from '../helpers/validation';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const C1 = '3b1f5c2a9d8e7f6041c2b3a4d5e6f708192a3b4c';
const C2 = '9f2c1e7d4a5b6c8e0f1a2b3c4d5e6f7a8b9c0d1e';
const REV = 'org.opencontainers.image.revision';
const LABEL = 'com.example.change-record';
const fromLabel = { required: true, pattern: '^CHG-[0-9]{4,}$', from: `label:${LABEL}` };
const fromInput = { required: true, pattern: '^CHG-[0-9]{4,}$', from: 'input' };
const source = { repositoryUrl: 'https://github.com/acme/payments', label: REV };
const image = (labels: Record<string, string>) => [{ labels }];
const evidenceOf = (g: { evidence?: unknown }) => g.evidence as ChangeRecordEvidence;

describe('change.record', () => {
  it('passes with the id read from the configured label, recording the commit and the range from the last known good', () => {
    const g = evaluateChangeRecord({
      policy: fromLabel,
      source,
      digest: D2,
      labels: image({ [LABEL]: 'CHG-1042', [REV]: C2 }),
      lastKnownGood: { digest: D1, commit: C1 },
    });
    assert.equal(g.result, 'PASS', g.reason);
    assert.equal(g.reason, `change record CHG-1042 (label ${LABEL}); commit ${C2.slice(0, 12)}`);
    const ev = evidenceOf(g);
    assert.equal(ev.id, 'CHG-1042');
    assert.equal(ev.commit, C2);
    assert.deepEqual(ev.range, { from: { digest: D1, commit: C1 }, to: { digest: D2, commit: C2 }, compareUrl: `https://github.com/acme/payments/compare/${C1}...${C2}` });
  });

  it('fails when the label is missing, naming the label and the pattern', () => {
    const g = evaluateChangeRecord({ policy: fromLabel, source, digest: D2, labels: image({ [REV]: C2 }) });
    assert.equal(g.result, 'FAIL');
    assert.equal(g.reason, `expected a change record in image label ${LABEL} matching ^CHG-[0-9]{4,}$, found none`);
    assert.equal(evidenceOf(g).id, undefined);
  });

  it('fails when the label does not match the pattern, quoting what it found', () => {
    const g = evaluateChangeRecord({ policy: fromLabel, digest: D2, labels: image({ [LABEL]: 'JIRA-12' }) });
    assert.equal(g.result, 'FAIL');
    assert.match(g.reason, /image label com\.example\.change-record matching \^CHG-\[0-9\]\{4,\}\$, found "JIRA-12"$/);
    assert.equal(evidenceOf(g).given, 'JIRA-12');
  });

  it('an empty label is a missing one', () => {
    assert.equal(evaluateChangeRecord({ policy: fromLabel, digest: D2, labels: image({ [LABEL]: '  ' }) }).result, 'FAIL');
  });

  it('passes and fails on the input field when the service reads it from the input, and ignores a label of that name', () => {
    const pass = evaluateChangeRecord({ policy: fromInput, digest: D2, labels: image({ [LABEL]: 'nonsense' }), inputId: 'CHG-2001' });
    assert.equal(pass.result, 'PASS', pass.reason);
    assert.equal(evidenceOf(pass).id, 'CHG-2001');
    assert.equal(evidenceOf(pass).from, 'input');
    const missing = evaluateChangeRecord({ policy: fromInput, digest: D2, labels: image({}) });
    assert.equal(missing.result, 'FAIL');
    assert.equal(missing.reason, 'expected a change record in the release input field changeRecord matching ^CHG-[0-9]{4,}$, found none');
    const wrong = evaluateChangeRecord({ policy: fromInput, digest: D2, labels: image({}), inputId: 'chg-7' });
    assert.equal(wrong.result, 'FAIL');
    assert.match(wrong.reason, /found "chg-7"$/);
  });

  it('passes without a record when it is not required, but still refuses a malformed one', () => {
    const optional = { ...fromInput, required: false };
    const none = evaluateChangeRecord({ policy: optional, digest: D2, labels: image({ [REV]: C2 }) });
    assert.equal(none.result, 'PASS');
    assert.match(none.reason, /^no change record given \(not required/);
    assert.equal(evaluateChangeRecord({ policy: optional, digest: D2, labels: image({}), inputId: 'nope' }).result, 'FAIL');
  });

  it('refuses a label longer than 100 characters and platforms that disagree', () => {
    const long = evaluateChangeRecord({ policy: { ...fromLabel, pattern: '^CHG-' }, digest: D2, labels: image({ [LABEL]: `CHG-${'1'.repeat(120)}` }) });
    assert.equal(long.result, 'FAIL');
    assert.match(long.reason, /of at most 100 characters, found 124$/);
    const split = evaluateChangeRecord({
      policy: fromLabel,
      digest: D2,
      labels: [
        { platform: 'linux/amd64', labels: { [LABEL]: 'CHG-1000' } },
        { platform: 'linux/arm64', labels: { [LABEL]: 'CHG-2000' } },
      ],
    });
    assert.equal(split.result, 'FAIL');
    assert.match(split.reason, /the platform images disagree on label com\.example\.change-record \(linux\/amd64=CHG-1000, linux\/arm64=CHG-2000\)/);
  });

  it('with only a source: passes, recording the commit; a commit label that is not hex is recorded as a problem, not a commit', () => {
    const g = evaluateChangeRecord({ source, digest: D2, labels: image({ [REV]: C2.toUpperCase() }) });
    assert.equal(g.result, 'PASS');
    assert.equal(evidenceOf(g).commit, C2);
    const bad = evaluateChangeRecord({ source, digest: D2, labels: image({ [REV]: 'main' }), lastKnownGood: { digest: D1, commit: C1 } });
    assert.equal(evidenceOf(bad).commit, undefined);
    assert.match(evidenceOf(bad).commitProblem ?? '', /label org\.opencontainers\.image\.revision is not a hex commit id: "main"/);
    assert.equal(evidenceOf(bad).range.compareUrl, undefined);
  });

  it('a first release in a stage has no start of range and no link', () => {
    const g = evaluateChangeRecord({ policy: fromLabel, source, digest: D2, labels: image({ [LABEL]: 'CHG-1042', [REV]: C2 }) });
    assert.deepEqual(evidenceOf(g).range, { to: { digest: D2, commit: C2 } });
  });
});

describe('compareUrl', () => {
  it('builds <url>/compare/<from>...<to> only from an https URL and two different hex commits', () => {
    assert.equal(compareUrl('https://gitlab.example.com/group/app', C1, C2), `https://gitlab.example.com/group/app/compare/${C1}...${C2}`);
    assert.equal(compareUrl('http://github.com/acme/payments', C1, C2), undefined);
    assert.equal(compareUrl('javascript:alert(1)//', C1, C2), undefined);
    assert.equal(compareUrl('https://github.com/acme/payments?x=1', C1, C2), undefined);
    assert.equal(compareUrl('https://github.com/acme/payments', 'main', C2), undefined);
    assert.equal(compareUrl('https://github.com/acme/payments', C1, `${C2}/../x`), undefined);
    assert.equal(compareUrl('https://github.com/acme/payments', C2, C2), undefined);
    assert.equal(compareUrl(undefined, C1, C2), undefined);
  });
});

describe('ReleaseSummary.change', () => {
  it('folds each stage’s change.record gate into change.id, change.commit and change.stages', () => {
    const inputs = [
      { type: 'release.started' as const, stepKey: 'release.started', data: { kind: 'release', service: 'payments', digest: D2, stages: ['dev', 'prod'] } },
      ...['dev', 'prod'].map((stage) => ({
        type: 'gate.evaluated' as const,
        stepKey: `stage:${stage}:gate:change.record`,
        stage,
        data: evaluateChangeRecord({
          policy: fromLabel,
          source,
          digest: D2,
          labels: image({ [LABEL]: 'CHG-1042', [REV]: C2 }),
          ...(stage === 'prod' ? { lastKnownGood: { digest: D1, commit: C1 } } : {}),
        }) as unknown as Record<string, unknown>,
      })),
    ];
    let prev: LedgerEvent | undefined;
    const events = inputs.map((i) => (prev = chainEvent(prev, { releaseId: 'r1', at: '2026-11-24T10:00:00.000Z', ...i }) as LedgerEvent));
    const change = projectRelease(events)?.change;
    assert.equal(change?.id, 'CHG-1042');
    assert.equal(change?.commit, C2);
    assert.deepEqual(change?.stages.dev, { to: { digest: D2, commit: C2 } });
    assert.equal(change?.stages.prod?.from?.commit, C1);
    assert.match(change?.stages.prod?.compareUrl ?? '', /\/compare\/3b1f5c2a9d8e7f6041c2b3a4d5e6f708192a3b4c\.\.\.9f2c1e7/);
  });
});

// ---------------------------------------------------------------- config and input

const helm = { driver: 'helm', release: 'payments', chart: 'oci://111122223333.dkr.ecr.eu-west-2.amazonaws.com/charts/payments', version: '1.2.0' };
const configWith = (extra: Record<string, unknown>) => ({
  services: { payments: { repository: 'payments-api', stages: [{ name: 'dev', cluster: 'dev', namespace: 'payments', deploy: helm }], ...extra } },
  clusters: { dev: { name: 'dev-eks', region: 'eu-west-2' } },
});

describe('config: changeRecord and source', () => {
  it('defaults required to true and source.label to the OCI revision label; absent stays absent', () => {
    const cfg = parseConfig(configWith({ changeRecord: { pattern: '^CHG-', from: 'input' }, source: { repositoryUrl: 'https://github.com/acme/payments' } }));
    assert.deepEqual(cfg.services.payments?.changeRecord, { required: true, pattern: '^CHG-', from: 'input' });
    assert.equal(cfg.services.payments?.source?.label, REV);
    const plain = parseConfig(configWith({}));
    assert.equal('changeRecord' in (plain.services.payments ?? {}), false);
    assert.equal('source' in (plain.services.payments ?? {}), false);
  });

  it('refuses a bad from, a pattern RE2 cannot compile, a missing pattern, an http URL and a bad label, naming each field', () => {
    const problems = problemsOf(() =>
      parseConfig(
        configWith({
          changeRecord: { pattern: '^(a)\\1$', from: 'ticket' },
          source: { repositoryUrl: 'http://github.com/acme/payments', label: 'bad label' },
        }),
      ),
    );
    const text = problems.join('\n');
    assert.match(text, /services\.payments\.changeRecord\.from: expected "input" .* or "label:<name>"/);
    assert.match(text, /services\.payments\.changeRecord\.pattern: expected a regular expression RE2 can match/);
    assert.match(text, /services\.payments\.source\.repositoryUrl: expected an https URL/);
    assert.match(text, /services\.payments\.source\.label: expected an image label name/);
    assert.match(problemsOf(() => parseConfig(configWith({ changeRecord: { from: 'input' } }))).join('\n'), /services\.payments\.changeRecord\.pattern/);
    assert.match(problemsOf(() => parseConfig(configWith({ changeRecord: { pattern: 'x', from: 'label:' } }))).join('\n'), /changeRecord\.from: expected/);
  });
});

describe('release input: changeRecord', () => {
  const fromInputCfg = parseConfig(configWith({ changeRecord: fromInput }));
  const fromLabelCfg = parseConfig(configWith({ changeRecord: fromLabel }));
  const plainCfg = parseConfig(configWith({}));
  const input = (changeRecord: unknown) => ({ service: 'payments', image: { tag: 'v1.4.2' }, changeRecord });

  it('takes an id where the service reads it from the input (the gate checks the pattern, not the input)', () => {
    assert.equal(parseReleaseInput(input('CHG-2001'), fromInputCfg).changeRecord, 'CHG-2001');
    assert.equal(parseReleaseInput(input('not-matching'), fromInputCfg).changeRecord, 'not-matching');
  });

  it('refuses one where the service reads it from a label, or asks for none: never a second, unchecked claim', () => {
    assert.deepEqual(
      problemsOf(() => parseReleaseInput(input('CHG-2001'), fromLabelCfg)),
      [`changeRecord: expected no changeRecord: service payments reads its change record from the image (changeRecord.from is "label:${LABEL}"), got "CHG-2001"`],
    );
    assert.deepEqual(
      problemsOf(() => parseReleaseInput(input('CHG-2001'), plainCfg)),
      ['changeRecord: expected no changeRecord: service payments asks for no change record (its config has no changeRecord), got "CHG-2001"'],
    );
  });

  it('refuses an empty, too long, spaced or non-string id', () => {
    for (const bad of ['', 'x'.repeat(101), 'CHG 1', 42]) {
      const p = problemsOf(() => parseReleaseInput(input(bad), fromInputCfg));
      assert.equal(p.length, 1, `${JSON.stringify(bad)}: ${p.join('; ')}`);
      assert.match(p[0] ?? '', /^changeRecord: expected a change record id of 1 to 100 printable characters/);
    }
  });
});

describe('the commit of a last known good (image-gates commitOfDigest)', () => {
  const summary = (releaseId: string, digest: string, commit?: string) => ({
    releaseId,
    kind: 'release',
    service: 'payments',
    digest,
    ...(commit ? { change: { commit, stages: {} } } : {}),
  });
  function deps(byId: Record<string, unknown>, list: unknown[]) {
    const calls: string[] = [];
    const ledger = {
      getRelease: async (id: string) => (calls.push(`get ${id}`), byId[id]),
      listReleases: async (q: { service?: string }) => (calls.push(`list ${q.service}`), list),
    };
    return { calls, deps: { ledger } as unknown as Parameters<typeof commitOfDigest>[0] };
  }

  it('reads the push release of the digest first, one read, and the service’s releases only when that has no commit', async () => {
    const push = deps({ 'payments-1111111111111111': summary('payments-1111111111111111', D1, C1) }, []);
    assert.equal(await commitOfDigest(push.deps, 'payments', D1), C1);
    assert.deepEqual(push.calls, ['get payments-1111111111111111']);

    const operator = deps({}, [summary('payments-a', D1, C1), summary('payments-b', D2, C2), summary('payments-c', D1)]);
    assert.equal(await commitOfDigest(operator.deps, 'payments', D1), C1);
    assert.deepEqual(operator.calls, ['get payments-1111111111111111', 'list payments']);

    const none = deps({}, [summary('payments-b', D2, C2)]);
    assert.equal(await commitOfDigest(none.deps, 'payments', D1), undefined);
  });
});
