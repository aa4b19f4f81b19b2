import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import fc from 'fast-check';
import {
  approvalState,
  decideApproval,
  type IdentityPolicy,
  mappedPerson,
  matchesApprover,
  matchingApprover,
  mayFinishDelivery,
  parsePersonPattern,
  parsePrincipalArn,
  patternsOverlap,
  REFUSALS_PER_PRINCIPAL_PER_MINUTE,
  REFUSALS_PER_ROLE_PER_MINUTE,
  refusalBuckets,
  samePerson,
  samePersonUnder,
  throttleWindow,
} from '../../lambdas/domain/approvers';

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

    assert.deepEqual(r.ok && { kind: r.principal.kind, name: r.principal.name, session: r.principal.session }, {
      kind: 'assumed-role',
      name: 'ReleaseApprovers',
      session: 'alice@example.com',
    });
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
    const v = decideApproval({
      caller: session('CentralApprovers', 'alice', B),
      initiator: session('Deployers', 'alice', A),
      approvers: [`arn:aws:iam::${B}:role/CentralApprovers`],
    });

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

// ---------------------------------------------------------------- persons

const sso = (set: string, who: string, account = B) => session(`AWSReservedSSO_${set}_0123abcd`, who, account);
const policy = (persons: Record<string, string[]>, requirePersons = false): IdentityPolicy => ({ persons, requirePersons });

describe('parsePersonPattern', () => {
  const accepted: Array<[string, string]> = [
    ['an IAM user', user('alice')],
    ['an IAM user with a path', user('alice', A, 'ops/')],
    ['a role one person alone assumes', `arn:aws:iam::${A}:role/BreakGlassAlice`],
    ['a session of a role', session('ReleaseApprovers', 'alice')],
    ['an IAM Identity Center session, its role suffix left open', `arn:aws:sts::${B}:assumed-role/AWSReservedSSO_Dev_*/alice@example.com`],
  ];
  for (const [what, entry] of accepted) {
    it(`accepts ${what}`, () => {
      assert.equal(parsePersonPattern(entry).ok, true, entry);
    });
  }

  const refused: Array<[string, string, RegExp]> = [
    ['a bare * for the role', `arn:aws:sts::${A}:assumed-role/*/alice`, /expected \* only once, at the end of the role name/],
    ['a * in the session name', `arn:aws:sts::${A}:assumed-role/ReleaseApprovers/ali*`, /expected \* only once/],
    ['a * in the account', 'arn:aws:sts::*:assumed-role/Dev_*/alice', /expected \* only once/],
    ['a * in a user name', `arn:aws:iam::${A}:user/ali*`, /expected \* only once/],
    ['two *', `arn:aws:sts::${A}:assumed-role/Dev_**/alice`, /expected \* only once/],
    ['an account root', `arn:aws:iam::${A}:root`, /an account root or a federated user is no person/],
    ['a federated user', `arn:aws:sts::${A}:federated-user/alice`, /an account root or a federated user is no person/],
    ['text that is not an ARN', 'alice@example.com', /expected an IAM user ARN, an IAM role ARN, or an assumed-role ARN/],
  ];
  for (const [what, entry, reason] of refused) {
    it(`refuses ${what}, saying what is allowed`, () => {
      const p = parsePersonPattern(entry);

      assert.equal(p.ok, false);
      assert.match(!p.ok ? p.reason : '', reason);
    });
  }
});

describe('patternsOverlap', () => {
  const pat = (entry: string) => {
    const p = parsePersonPattern(entry);
    assert.ok(p.ok, entry);
    return p.pattern;
  };

  it('finds one user under two names of different case', () => {
    assert.equal(patternsOverlap(pat(user('alice')), pat(user('ALICE'))), true);
  });

  it('finds a role that covers a session of it, and a prefix that covers a role name', () => {
    assert.equal(patternsOverlap(pat(`arn:aws:iam::${A}:role/ReleaseApprovers`), pat(session('ReleaseApprovers', 'bob'))), true);
    assert.equal(patternsOverlap(pat(`arn:aws:sts::${B}:assumed-role/AWSReservedSSO_*/bob`), pat(sso('Dev', 'bob'))), true);
    assert.equal(patternsOverlap(pat(`arn:aws:sts::${B}:assumed-role/AWSReservedSSO_*/bob`), pat(`arn:aws:sts::${B}:assumed-role/AWSReservedSSO_Dev_*/bob`)), true);
  });

  it('tells apart other sessions, other accounts, and users from roles', () => {
    assert.equal(patternsOverlap(pat(session('ReleaseApprovers', 'bob')), pat(session('ReleaseApprovers', 'carol'))), false);
    assert.equal(patternsOverlap(pat(user('alice')), pat(user('alice', B))), false);
    assert.equal(patternsOverlap(pat(user('alice')), pat(session('alice', 'alice'))), false);
    assert.equal(patternsOverlap(pat(`arn:aws:sts::${B}:assumed-role/AWSReservedSSO_Dev_*/bob`), pat(sso('Ops', 'bob'))), false);
  });

  it('agrees with matching: whenever one principal matches two patterns, they overlap', () => {
    const entries = [
      user('alice'),
      `arn:aws:iam::${A}:role/Deployers`,
      session('Deployers', 'alice'),
      session('Deployers', 'bob'),
      `arn:aws:sts::${B}:assumed-role/AWSReservedSSO_*/alice`,
      sso('Dev', 'alice'),
      sso('Dev', 'bob'),
    ];
    const principals = [user('alice'), session('Deployers', 'alice'), session('Deployers', 'bob'), sso('Dev', 'alice'), sso('Ops', 'alice'), sso('Dev', 'bob')];
    for (const a of entries) {
      for (const b of entries) {
        const both = principals.some((p) => mappedPerson(p, policy({ x: [a] })).kind === 'mapped' && mappedPerson(p, policy({ y: [b] })).kind === 'mapped');
        if (both) assert.equal(patternsOverlap(pat(a), pat(b)), true, `${a} / ${b}`);
      }
    }
  });
});

describe('mappedPerson', () => {
  const persons = policy({ alice: [user('alice'), `arn:aws:sts::${B}:assumed-role/AWSReservedSSO_Dev_*/alice@example.com`], bob: [session('ReleaseApprovers', 'bob')] });

  it('finds the person behind a user, whatever the case of its name', () => {
    assert.deepEqual(mappedPerson(user('Alice'), persons), { kind: 'mapped', person: 'alice', entries: [user('alice')] });
  });

  it('finds the person behind an IAM Identity Center session in another account', () => {
    const m = mappedPerson(sso('Dev', 'alice@example.com'), persons);

    assert.equal(m.kind === 'mapped' && m.person, 'alice');
  });

  it('finds nobody for a session of the SSO role under another name, or of another permission set', () => {
    assert.equal(mappedPerson(sso('Dev', 'mallory@example.com'), persons).kind, 'unmapped');
    assert.equal(mappedPerson(sso('Admin', 'alice@example.com'), persons).kind, 'unmapped');
  });

  it('finds nobody without a policy or for a malformed ARN', () => {
    assert.equal(mappedPerson(user('alice'), undefined).kind, 'unmapped');
    assert.equal(mappedPerson('alice', persons).kind, 'unmapped');
  });

  it('reports a principal listed under two persons as ambiguous (a policy the config would refuse)', () => {
    const m = mappedPerson(session('Deployers', 'bob'), policy({ bob: [session('Deployers', 'bob')], team: [`arn:aws:iam::${A}:role/Deployers`] }));

    assert.deepEqual(m, { kind: 'ambiguous', persons: ['bob', 'team'] });
  });
});

describe('samePersonUnder', () => {
  const persons = policy({ alice: [user('alice'), sso('Dev', 'alice@example.com'), session('ReleaseApprovers', 'a.smith')] });

  it('joins the identities of one person across accounts and session names', () => {
    assert.equal(samePersonUnder(sso('Dev', 'alice@example.com'), session('ReleaseApprovers', 'a.smith'), persons), true);
    assert.equal(samePersonUnder(user('alice'), sso('Dev', 'alice@example.com'), persons), true);
  });

  it('never separates what names join: a mapping only adds refusals', () => {
    const arns = [
      user('alice'),
      user('bob'),
      session('Deployers', 'alice'),
      session('ReleaseApprovers', 'alice'),
      session('ReleaseApprovers', 'a.smith'),
      sso('Dev', 'alice@example.com'),
      sso('Dev', 'bob'),
      session('X', 'bob', B),
    ];
    fc.assert(
      fc.property(fc.constantFrom(...arns), fc.constantFrom(...arns), (a, b) => {
        if (samePerson(a, b)) assert.equal(samePersonUnder(a, b, persons), true);
        assert.equal(samePersonUnder(a, b, persons), samePersonUnder(b, a, persons));
      }),
    );
  });

  it('tells two mapped persons apart', () => {
    assert.equal(samePersonUnder(user('alice'), session('ReleaseApprovers', 'bob'), policy({ alice: [user('alice')], bob: [session('ReleaseApprovers', 'bob')] })), false);
  });
});

describe('decideApproval with identity.persons', () => {
  const approvers = [approversRole];
  const persons = { alice: [user('alice'), session('ReleaseApprovers', 'a.smith')], bob: [session('ReleaseApprovers', 'bob')] };

  it('refuses the initiator under a session name names cannot tie to her', () => {
    const v = decideApproval({ caller: session('ReleaseApprovers', 'a.smith'), initiator: user('alice'), approvers, identity: policy(persons) });

    assert.equal(!v.ok && v.code, 'self-approval');
    assert.match(!v.ok ? v.reason : '', /\(person alice\) is the person who started this release/);
  });

  it('accepts another person, naming both persons', () => {
    const v = decideApproval({ caller: session('ReleaseApprovers', 'bob'), initiator: user('alice'), approvers, identity: policy(persons, true) });

    assert.deepEqual(v, { ok: true, approver: approversRole, callerPerson: 'bob', initiatorPerson: 'alice' });
  });

  it('with requirePersons, refuses a caller or an initiator listed under no person', () => {
    const caller = decideApproval({ caller: session('ReleaseApprovers', 'carol'), initiator: user('alice'), approvers, identity: policy(persons, true) });
    const initiator = decideApproval({ caller: session('ReleaseApprovers', 'bob'), initiator: user('dave'), approvers, identity: policy(persons, true) });

    assert.equal(!caller.ok && caller.code, 'person-unknown');
    assert.match(!caller.ok ? caller.reason : '', /the person behind the caller .*\/carol cannot be established/);
    assert.equal(!initiator.ok && initiator.code, 'person-unknown');
    assert.match(!initiator.ok ? initiator.reason : '', /the person behind the release's initiator .*user\/dave cannot be established/);
  });

  it('refuses a principal listed under two persons', () => {
    const v = decideApproval({ caller: session('ReleaseApprovers', 'bob'), initiator: user('alice'), approvers, identity: policy({ ...persons, team: [approversRole] }) });

    assert.equal(!v.ok && v.code, 'person-ambiguous');
    assert.match(!v.ok ? v.reason : '', /listed under more than one person in identity\.persons \(bob, team\)/);
  });

  it('accepts an initiator that is a bare role when identity.persons names its person', () => {
    const role = `arn:aws:iam::${A}:role/CiPusher`;

    const unnamed = decideApproval({ caller: session('ReleaseApprovers', 'bob'), initiator: role, approvers });
    const named = decideApproval({ caller: session('ReleaseApprovers', 'bob'), initiator: role, approvers, identity: policy({ ci: [role] }) });

    assert.equal(!unnamed.ok && unnamed.code, 'initiator-unknown');
    assert.equal(named.ok, true);
  });

  it('still checks the approver list first', () => {
    const v = decideApproval({ caller: session('Deployers', 'bob'), initiator: user('alice'), approvers, identity: policy(persons, true) });

    assert.equal(!v.ok && v.code, 'not-an-approver');
  });
});

describe('mayFinishDelivery', () => {
  const bob = session('ReleaseApprovers', 'bob');

  it('lets only the recorded approver finish the recorded decision', () => {
    assert.equal(mayFinishDelivery({ decision: 'APPROVED', principal: bob }, bob, 'APPROVED'), true);
    assert.equal(mayFinishDelivery({ decision: 'APPROVED', principal: bob }, bob, 'REJECTED'), false);
    assert.equal(mayFinishDelivery({ decision: 'APPROVED', principal: bob }, session('ReleaseApprovers', 'carol'), 'APPROVED'), false);
    assert.equal(mayFinishDelivery({ decision: 'TIMED_OUT' }, bob, 'APPROVED'), false);
    assert.equal(mayFinishDelivery({ decision: 'APPROVED' }, bob, 'APPROVED'), false);
  });
});

describe('refusal throttling', () => {
  it('counts a session against its own ARN and its role; a user against itself only', () => {
    assert.deepEqual(refusalBuckets(session('Contractors', 'mallory')), [
      { key: `principal:${session('Contractors', 'mallory')}`, limit: REFUSALS_PER_PRINCIPAL_PER_MINUTE },
      { key: `role:aws:${A}:contractors`, limit: REFUSALS_PER_ROLE_PER_MINUTE },
    ]);
    assert.deepEqual(
      refusalBuckets(user('mallory')).map((b) => b.key),
      [`principal:${user('mallory')}`],
    );
  });

  it('puts every instant of a minute in that minute\u2019s window, expiring an hour later', () => {
    assert.deepEqual(throttleWindow(new Date('2026-11-24T10:07:00.000Z')), { window: '2026-11-24T10:07', expiresAt: '2026-11-24T11:07:00.000Z' });
    assert.deepEqual(throttleWindow(new Date('2026-11-24T10:07:59.999Z')).window, '2026-11-24T10:07');
    assert.deepEqual(throttleWindow(new Date('2026-11-24T10:08:00.000Z')).window, '2026-11-24T10:08');
  });
});
