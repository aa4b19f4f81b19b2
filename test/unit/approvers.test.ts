import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { approvalState, decideApproval, matchesApprover, matchingApprover, parsePrincipalArn, samePerson } from '../../lambdas/domain/approvers';

const A = '111122223333';
const B = '444455556666';
const approversRole = `arn:aws:iam::${A}:role/ReleaseApprovers`;
const session = (role: string, name: string, account = A) => `arn:aws:sts::${account}:assumed-role/${role}/${name}`;
const user = (name: string, account = A, path = '') => `arn:aws:iam::${account}:user/${path}${name}`;

describe('parsePrincipalArn', () => {
  it('reads an IAM user, with and without a path', () => {
    const plain = parsePrincipalArn(user('alice'));
    const pathed = parsePrincipalArn(user('bob', A, 'division/team/'));

    assert.deepEqual(plain.ok && plain.principal, { arn: user('alice'), partition: 'aws', account: A, kind: 'user', path: '/', name: 'alice' });
    assert.deepEqual(pathed.ok && { path: pathed.principal.path, name: pathed.principal.name }, { path: '/division/team/', name: 'bob' });
  });

  it('reads a role with a path, such as an IAM Identity Center role', () => {
    const r = parsePrincipalArn(`arn:aws:iam::${A}:role/aws-reserved/sso.amazonaws.com/eu-west-2/AWSReservedSSO_Approver_0123abcd`);

    assert.equal(r.ok && r.principal.kind, 'role');
    assert.equal(r.ok && r.principal.name, 'AWSReservedSSO_Approver_0123abcd');
    assert.equal(r.ok && r.principal.path, '/aws-reserved/sso.amazonaws.com/eu-west-2/');
  });

  it('reads an assumed-role session, whose session name may be an e-mail address', () => {
    const r = parsePrincipalArn(session('ReleaseApprovers', 'alice@example.com'));

    assert.deepEqual(r.ok && { kind: r.principal.kind, name: r.principal.name, session: r.principal.session }, { kind: 'assumed-role', name: 'ReleaseApprovers', session: 'alice@example.com' });
  });

  it('reads the account root, a federated user and other partitions', () => {
    assert.equal(parsePrincipalArn(`arn:aws:iam::${A}:root`).ok, true);
    const fed = parsePrincipalArn(`arn:aws:sts::${A}:federated-user/carol`);
    assert.equal(fed.ok && fed.principal.kind, 'federated-user');
    const cn = parsePrincipalArn(`arn:aws-cn:sts::${A}:assumed-role/Deployers/dave`);
    assert.equal(cn.ok && cn.principal.partition, 'aws-cn');
  });

  const malformed: Array<[string, unknown, RegExp]> = [
    ['nothing', '', /got nothing/],
    ['a non-string', 42, /got nothing/],
    ['text that is not an ARN', 'alice', /expected arn:<partition>:iam\|sts::<account>:<resource>/],
    ['another service', `arn:aws:s3:::bucket/${A}`, /service "s3" is neither iam nor sts/],
    ['a region', `arn:aws:iam:eu-west-2:${A}:user/alice`, /no region, got "eu-west-2"/],
    ['a short account', 'arn:aws:iam::1234:user/alice', /account "1234" is not 12 digits/],
    ['an unknown resource type', `arn:aws:iam::${A}:group/admins`, /iam resource "group\/admins" is not user\/<name>, role\/<name> or root/],
    ['a user without a name', `arn:aws:iam::${A}:user/`, /user name "" is not 1-64/],
    ['a session without a session name', `arn:aws:sts::${A}:assumed-role/ReleaseApprovers`, /assumed-role\/<role name>\/<session name>/],
    ['a session with a role path', `arn:aws:sts::${A}:assumed-role/path/ReleaseApprovers/alice`, /STS leaves the role path out/],
    ['a session name with a space', `arn:aws:sts::${A}:assumed-role/ReleaseApprovers/alice smith`, /session name "alice smith"/],
    ['an assumed-role under iam', `arn:aws:iam::${A}:assumed-role/ReleaseApprovers/alice`, /iam resource/],
    ['a colon in the resource', `arn:aws:iam::${A}:user/alice:x`, /contains ":"/],
    ['a bad partition', `arn:amazon:iam::${A}:user/alice`, /partition "amazon"/],
  ];
  for (const [what, arn, reason] of malformed) {
    it(`refuses ${what} with a reason naming the part that is wrong`, () => {
      const r = parsePrincipalArn(arn);

      assert.equal(r.ok, false);
      assert.match(!r.ok ? r.reason : '', reason);
    });
  }

  it('never throws, whatever the text', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^arn:aws:(iam|sts)::\d{12}:[a-z-]+\/[\w/@.-]*$/)), (s) => {
        const r = parsePrincipalArn(s);
        assert.ok(r.ok ? r.principal.arn === s : r.reason.length > 0);
      }),
    );
  });
});

describe('matchesApprover', () => {
  it('matches every session of an approver role', () => {
    assert.equal(matchesApprover(session('ReleaseApprovers', 'alice'), [approversRole]), true);
    assert.equal(matchesApprover(session('ReleaseApprovers', 'bob@example.com'), [approversRole]), true);
  });

  it('matches sessions of a role whose entry has a path (session ARNs carry no path)', () => {
    const entry = `arn:aws:iam::${A}:role/aws-reserved/sso.amazonaws.com/eu-west-2/AWSReservedSSO_Approver_0123abcd`;

    assert.equal(matchesApprover(session('AWSReservedSSO_Approver_0123abcd', 'alice@example.com'), [entry]), true);
  });

  it('does not match a session of another role, even one whose name contains the approver role', () => {
    assert.equal(matchesApprover(session('Deployers', 'alice'), [approversRole]), false);
    assert.equal(matchesApprover(session('ReleaseApproversAdmin', 'alice'), [approversRole]), false);
  });

  it('does not match the same role name in another account (cross-account)', () => {
    assert.equal(matchesApprover(session('ReleaseApprovers', 'alice', B), [approversRole]), false);
  });

  it('matches a cross-account approver entry for callers of that account', () => {
    const entry = `arn:aws:iam::${B}:role/CentralApprovers`;

    assert.equal(matchesApprover(session('CentralApprovers', 'alice', B), [approversRole, entry]), true);
    assert.equal(matchingApprover(session('CentralApprovers', 'alice', B), [approversRole, entry]), entry);
  });

  it('matches a user entry to that user only, whatever its path', () => {
    assert.equal(matchesApprover(user('carol', A, 'ops/'), [user('carol')]), true);
    assert.equal(matchesApprover(user('carola'), [user('carol')]), false);
    assert.equal(matchesApprover(session('ReleaseApprovers', 'carol'), [user('carol')]), false);
  });

  it('matches an assumed-role entry exactly: that role and that session', () => {
    const entry = session('Operators', 'oncall');

    assert.equal(matchesApprover(session('Operators', 'oncall'), [entry]), true);
    assert.equal(matchesApprover(session('Operators', 'someone-else'), [entry]), false);
  });

  it('matches role and user names regardless of case (IAM names are unique regardless of case)', () => {
    assert.equal(matchesApprover(session('releaseapprovers', 'alice'), [approversRole]), true);
  });

  it('admits nobody through a malformed caller or a malformed entry', () => {
    assert.equal(matchesApprover('alice', [approversRole]), false);
    assert.equal(matchesApprover(session('ReleaseApprovers', 'alice'), ['arn:aws:iam::1111:role/ReleaseApprovers']), false);
  });

  it('does not let the account root approve', () => {
    assert.equal(matchesApprover(`arn:aws:iam::${A}:root`, [approversRole, `arn:aws:iam::${A}:root`]), false);
  });
});

describe('samePerson', () => {
  it('treats one session name under two roles as one person', () => {
    assert.equal(samePerson(session('Deployers', 'alice'), session('ReleaseApprovers', 'alice')), true);
  });

  it('treats an IAM user and a session of the same name in the account as one person', () => {
    assert.equal(samePerson(user('alice'), session('ReleaseApprovers', 'alice')), true);
  });

  it('compares names regardless of case', () => {
    assert.equal(samePerson(session('Deployers', 'Alice'), session('ReleaseApprovers', 'alice')), true);
  });

  it('tells two people under one role apart', () => {
    assert.equal(samePerson(session('ReleaseApprovers', 'alice'), session('ReleaseApprovers', 'bob')), false);
  });

  it('compares persons within one account: alice of another account is someone else', () => {
    assert.equal(samePerson(session('Deployers', 'alice', B), session('ReleaseApprovers', 'alice', A)), false);
  });

  it('does not equate a bare role with a session of it', () => {
    assert.equal(samePerson(`arn:aws:iam::${A}:role/Deployers`, session('Deployers', 'alice')), false);
  });

  it('is symmetric', () => {
    const arns = [session('Deployers', 'alice'), session('ReleaseApprovers', 'alice'), user('alice'), user('bob'), session('X', 'bob', B), 'nonsense', `arn:aws:iam::${A}:root`];
    for (const a of arns) for (const b of arns) assert.equal(samePerson(a, b), samePerson(b, a), `${a} / ${b}`);
  });
});

describe('decideApproval', () => {
  const approvers = [approversRole];

  it('accepts an approver who did not start the release, naming the entry that admitted them', () => {
    const v = decideApproval({ caller: session('ReleaseApprovers', 'bob'), initiator: session('Deployers', 'alice'), approvers });

    assert.deepEqual(v, { ok: true, approver: approversRole });
  });

  it('refuses the initiator approving under another role (segregation of duties)', () => {
    const v = decideApproval({ caller: session('ReleaseApprovers', 'alice'), initiator: session('Deployers', 'alice'), approvers });

    assert.equal(v.ok, false);
    assert.equal(!v.ok && v.code, 'self-approval');
    assert.match(!v.ok ? v.reason : '', /is the person who started this release \(as arn:aws:sts::111122223333:assumed-role\/Deployers\/alice\)/);
  });

  it('refuses an IAM user approving a push they made as that user', () => {
    const v = decideApproval({ caller: user('alice'), initiator: user('alice'), approvers: [user('alice')] });

    assert.equal(!v.ok && v.code, 'self-approval');
  });

  it('refuses a caller who matches no approver entry, listing the approvers', () => {
    const v = decideApproval({ caller: session('Deployers', 'bob'), initiator: session('Deployers', 'alice'), approvers });

    assert.equal(!v.ok && v.code, 'not-an-approver');
    assert.match(!v.ok ? v.reason : '', /is not an approver of this stage \(approvers: arn:aws:iam::111122223333:role\/ReleaseApprovers\)/);
  });

  it('refuses a malformed caller ARN with the parse reason', () => {
    const v = decideApproval({ caller: 'arn:aws:sts::1:assumed-role/ReleaseApprovers/bob', initiator: session('Deployers', 'alice'), approvers });

    assert.equal(!v.ok && v.code, 'malformed-caller');
    assert.match(!v.ok ? v.reason : '', /account "1" is not 12 digits/);
  });

  it('fails closed when the initiator is unknown or names no person', () => {
    for (const initiator of [undefined, 'unattributed (no start record yet)', `arn:aws:iam::${A}:role/Deployers`]) {
      const v = decideApproval({ caller: session('ReleaseApprovers', 'bob'), initiator, approvers });

      assert.equal(!v.ok && v.code, 'initiator-unknown', String(initiator));
      assert.match(!v.ok ? v.reason : '', /segregation of duties cannot be checked/);
    }
  });

  it('accepts an approver in another account even when the initiator has the same session name there', () => {
    const v = decideApproval({ caller: session('CentralApprovers', 'alice', B), initiator: session('Deployers', 'alice', A), approvers: [`arn:aws:iam::${B}:role/CentralApprovers`] });

    assert.equal(v.ok, true);
  });
});

describe('approvalState', () => {
  const ev = (seq: number, type: string, stage: string, data: Record<string, unknown>) => ({ seq, type, stage, at: `2026-11-24T10:0${seq}:00.000Z`, data });

  it('is not-requested until the stage waits for an approval', () => {
    assert.deepEqual(approvalState([ev(1, 'stage.started', 'prod', {}), ev(2, 'stage.waiting', 'prod', { waitingFor: 'lease' })], 'prod'), { kind: 'not-requested' });
  });

  it('is waiting, with its expiry, once requested', () => {
    const s = approvalState([ev(1, 'stage.waiting', 'prod', { waitingFor: 'approval', expiresAt: '2026-11-25T10:00:00.000Z' })], 'prod');

    assert.deepEqual(s, { kind: 'waiting', since: '2026-11-24T10:01:00.000Z', expiresAt: '2026-11-25T10:00:00.000Z' });
  });

  it('stays waiting through refusals and is decided by the approval gate, whoever decided', () => {
    const s = approvalState(
      [
        ev(1, 'stage.waiting', 'prod', { waitingFor: 'approval' }),
        ev(2, 'approval.refused', 'prod', { principal: 'x', reason: 'y' }),
        ev(3, 'gate.evaluated', 'prod', { gate: 'approval', result: 'FAIL', reason: 'no decision', decision: 'TIMED_OUT' }),
      ],
      'prod',
    );

    assert.deepEqual(s, { kind: 'decided', decision: 'TIMED_OUT', at: '2026-11-24T10:03:00.000Z' });
  });

  it('reads only the stage asked about', () => {
    assert.deepEqual(approvalState([ev(1, 'stage.waiting', 'staging', { waitingFor: 'approval' })], 'prod'), { kind: 'not-requested' });
  });
});
