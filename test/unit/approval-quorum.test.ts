/** The pure half of N-of-M approvals (lambdas/domain/approval-quorum.ts), its config fields and validForMinutes (decision 050). */
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { approvalsSoFar, authorOfCaller, authorsOf, countWords, earlierApprovalOf, parseAuthors, quorumPolicy } from '../../lambdas/domain/approval-quorum';
import { configHash, parseConfig } from '../../lambdas/domain/config';
import { approvalAtAction } from '../../lambdas/domain/point-of-action';
import { ValidationError } from '../../lambdas/domain/validation';

const ACCOUNT = '111122223333';
const session = (role: string, name: string) => `arn:aws:sts::${ACCOUNT}:assumed-role/${role}/${name}`;
const user = (name: string) => `arn:aws:iam::${ACCOUNT}:user/${name}`;

describe('authors of an image', () => {
  it('parses "Name <email>", bare emails, bare names and several comma-separated, dropping empty entries', () => {
    assert.deepEqual(parseAuthors('Dana Developer <dana@example.com>, erin@example.com ,, Frank, <gina@example.com>'), [
      { text: 'Dana Developer <dana@example.com>', name: 'Dana Developer', email: 'dana@example.com' },
      { text: 'erin@example.com', email: 'erin@example.com' },
      { text: 'Frank', name: 'Frank' },
      { text: '<gina@example.com>', email: 'gina@example.com' },
    ]);
    assert.deepEqual(parseAuthors(' , '), []);
  });

  it('reads the label from the newest image.labels gate, across every platform, and says why when it cannot', () => {
    const labels = (l: Record<string, string>) => ({ gate: 'image.labels', evidence: { platforms: [{ labels: l }] } });
    const multi = { gate: 'image.labels', evidence: { platforms: [{ labels: { a: 'x@example.com' } }, { labels: { a: 'y@example.com' } }] } };
    const found = authorsOf([{ gates: [labels({ a: 'old@example.com' })] }, { gates: [multi] }], 'a');
    assert.equal(found.kind, 'found');
    assert.deepEqual(found.kind === 'found' ? found.authors.map((x) => x.email) : [], ['x@example.com', 'y@example.com']);
    const absent = authorsOf([{ gates: [labels({ b: 'x' })] }], 'a');
    assert.equal(absent.kind, 'unknown');
    assert.match(absent.kind === 'unknown' ? absent.reason : '', /has no a label/);
    assert.equal(authorsOf([{ gates: [{ gate: 'image.scan' }] }], 'a').kind, 'unknown');
    assert.equal(authorsOf([{ gates: [labels({ a: ' , ' })] }], 'a').kind, 'unknown');
  });

  it('matches a caller by session name, IAM user name, person key and the names listed for that person, ignoring case', () => {
    const authors = parseAuthors('Dana Developer <Dana@Example.com>, erin, Frank Smith <frank@example.com>');
    const identity = { persons: { 'dana@example.com': [user('dana')], frank: [user('fsmith'), session('AWSReservedSSO_Dev_*', 'frank@example.com')] }, requirePersons: false };
    assert.equal(authorOfCaller(session('ReleaseApprovers', 'dana@example.com'), authors, undefined)?.as, 'Dana@Example.com');
    assert.equal(authorOfCaller(user('erin'), authors, undefined)?.as, 'erin');
    assert.equal(authorOfCaller(user('dana'), authors, identity)?.author.name, 'Dana Developer', 'person key');
    assert.equal(authorOfCaller(user('fsmith'), authors, identity)?.as, 'frank@example.com', 'a session name listed for the person');
    assert.equal(authorOfCaller(user('dana'), authors, undefined), undefined, 'user dana is not dana@example.com without identity.persons');
    assert.equal(authorOfCaller(session('ReleaseApprovers', 'bob'), authors, identity), undefined);
    assert.equal(authorOfCaller(`arn:aws:iam::${ACCOUNT}:role/Dana`, parseAuthors('Dana'), undefined), undefined, 'a bare role names no person');
  });
});

describe('the count', () => {
  const ev = (seq: number, type: string, data: Record<string, unknown>, stage = 'prod') => ({ seq, type, stage, at: `2026-11-24T10:0${seq}:00.000Z`, data });

  it('lists the approvals recorded before the decision, and none recorded after it', () => {
    const events = [
      ev(1, 'stage.waiting', { waitingFor: 'approval' }),
      ev(2, 'approval.recorded', { principal: user('bob'), person: 'bob', decision: 'APPROVED', count: 1, required: 3, requestId: 'r1', planSha256: 'abc' }),
      ev(3, 'approval.recorded', { principal: user('x'), decision: 'APPROVED', count: 1 }, 'staging'),
      ev(4, 'gate.evaluated', { gate: 'approval', decision: 'REJECTED', principal: user('carol') }),
      ev(5, 'approval.recorded', { principal: user('late'), decision: 'APPROVED', count: 2, required: 3 }),
    ];
    assert.deepEqual(approvalsSoFar(events, 'prod'), [{ principal: user('bob'), person: 'bob', decision: 'APPROVED', at: '2026-11-24T10:02:00.000Z', planSha256: 'abc' }]);
    assert.equal(countWords(approvalsSoFar(events, 'prod'), 3), '1 of 3 approvals (bob)');
  });

  it('finds an earlier approval by the same person: the same ARN, the same name under another role, or one person in identity.persons', () => {
    const prior = [{ principal: session('ReleaseApprovers', 'bob'), decision: 'APPROVED' as const, at: 't' }];
    assert.ok(earlierApprovalOf(session('ReleaseApprovers', 'bob'), prior, undefined));
    assert.ok(earlierApprovalOf(session('Other', 'Bob'), prior, undefined));
    assert.equal(earlierApprovalOf(user('carol'), prior, undefined), undefined);
    assert.ok(earlierApprovalOf(user('carol'), prior, { persons: { bob: [session('ReleaseApprovers', 'bob'), user('carol')] }, requirePersons: false }));
  });

  it('applies the defaults the config leaves absent', () => {
    assert.deepEqual(quorumPolicy({}), { required: 1, excludeAuthors: false, authorLabel: 'org.opencontainers.image.authors' });
    assert.deepEqual(quorumPolicy({ required: 3, excludeAuthors: true, authorLabel: 'x.authors' }), { required: 3, excludeAuthors: true, authorLabel: 'x.authors' });
  });
});

describe('validForMinutes with several approvals', () => {
  const approval = { decision: 'APPROVED', principal: user('carol'), at: '2026-11-24T11:00:00.000Z' };
  const approvals = [
    { decision: 'APPROVED', principal: user('bob'), at: '2026-11-24T10:00:00.000Z' },
    { decision: 'APPROVED', principal: user('carol'), at: '2026-11-24T11:00:00.000Z' },
  ];
  it('counts from the first approval: 61 minutes after the last is 121 after the first', () => {
    const now = new Date('2026-11-24T12:01:00.000Z');
    const r = approvalAtAction(120, approval, now, approvals);
    assert.equal(r?.result, 'FAIL');
    assert.match(r?.reason ?? '', /2 approvals \(the first by .*bob at 2026-11-24T10:00:00.000Z.*\) expired \(valid for 120 minutes, the first given 121 minutes ago\)/);
    assert.equal(approvalAtAction(120, approval, now)?.result, 'PASS', 'from the last alone it would still stand');
  });
  it('says the same as before for a single approval', () => {
    const now = new Date('2026-11-24T11:30:00.000Z');
    assert.deepEqual(approvalAtAction(60, approval, now, [approvals[1]!]), approvalAtAction(60, approval, now));
    assert.match(approvalAtAction(60, approval, now)?.reason ?? '', /^at deploy time: approval by .*carol at .* still valid \(30 of 60 minutes\)$/);
  });
});

describe('config: approval.required, excludeAuthors, authorLabel', () => {
  const raw = (approval: Record<string, unknown>, requiredLabels: string[] = ['org.opencontainers.image.authors']) => ({
    services: {
      payments: {
        repository: 'payments-api',
        imagePolicy: { requiredLabels },
        stages: [
          {
            name: 'prod',
            cluster: 'prod',
            namespace: 'payments',
            deploy: { driver: 'helm', release: 'payments', chart: 'oci://x/y', version: '1.0.0' },
            approval: { approvers: [`arn:aws:iam::${ACCOUNT}:role/ReleaseApprovers`], ...approval },
          },
        ],
      },
    },
    clusters: { prod: { name: 'prod-eks', region: 'eu-west-2' } },
  });
  const problems = (r: unknown): string[] => {
    try {
      parseConfig(r);
      return [];
    } catch (e) {
      if (e instanceof ValidationError) return e.problems;
      throw e;
    }
  };
  const at = 'services.payments.stages[0].approval';

  it('accepts 1 to 10 approvals and leaves absent fields absent (configs written before keep their hash)', () => {
    const cfg = parseConfig(raw({ required: 10, excludeAuthors: true }));
    assert.equal(cfg.services.payments?.stages[0]?.approval?.required, 10);
    const plain = parseConfig(raw({}));
    assert.deepEqual(Object.keys(plain.services.payments?.stages[0]?.approval ?? {}).sort(), ['approvers', 'timeoutMinutes']);
    assert.equal(configHash(plain), configHash(parseConfig(raw({}))));
  });

  it('refuses a count outside 1..10 or not whole, naming the field and what is allowed', () => {
    for (const required of [0, 11, 1.5, '2', -1]) {
      const p = problems(raw({ required }));
      assert.equal(p.length, 1, JSON.stringify(p));
      assert.match(p[0] ?? '', new RegExp(`^${at.replace(/[[\].]/g, '\\$&')}\\.required: expected a whole number of approvals from 1 to 10`));
    }
  });

  it('refuses excludeAuthors that is not a boolean and a malformed authorLabel', () => {
    assert.match(problems(raw({ excludeAuthors: 'yes' }))[0] ?? '', /approval\.excludeAuthors: expected true or false/);
    assert.match(problems(raw({ authorLabel: 'has space' }))[0] ?? '', /approval\.authorLabel: expected an image label name such as org\.opencontainers\.image\.authors/);
    assert.match(problems(raw({ authorLabel: '' }))[0] ?? '', /approval\.authorLabel: expected an image label name/);
  });

  it('refuses excludeAuthors when the author label is not a required label (its value would never be recorded)', () => {
    const p = problems(raw({ excludeAuthors: true }, ['org.opencontainers.image.revision']));
    assert.equal(p.length, 1);
    assert.match(p[0] ?? '', /approval\.excludeAuthors: expected the author label "org\.opencontainers\.image\.authors" in services\.payments\.imagePolicy\.requiredLabels/);
    const custom = problems(raw({ excludeAuthors: true, authorLabel: 'com.example.commit-author' }));
    assert.match(custom[0] ?? '', /"com\.example\.commit-author"/);
    assert.deepEqual(problems(raw({ excludeAuthors: false }, [])), [], 'off: nothing required');
  });
});
