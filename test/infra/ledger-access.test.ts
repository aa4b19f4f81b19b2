/**
 * The ledger's trust boundary in the template (docs/decisions/025-ledger-trust-boundary.md): each handler
 * role's ledger statements and their `dynamodb:LeadingKeys` conditions; who may write which item kind, read
 * from the template and compared with the owners this test names; no person's documented policy writes the
 * table.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, it } from 'vitest';
import type { CfnElement } from 'aws-cdk-lib';
import { Role, AccountRootPrincipal } from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import { HANDLERS, type HandlerName } from '../../lib/ReleaseControlPlane';
import { LEDGER_ITEM_KINDS, ledgerAccessMarkdown, ledgerPolicy } from '../../lib/ledger-access';
import { allPolicyStatements, type BuiltGantry, buildGantry, resourcesOfType, ROOT } from './fixtures';

let built: BuiltGantry;
const logicalId = (c: IConstruct) => built.stack.getLogicalId(c.node.defaultChild as CfnElement);
const cp = () => built.stack.controlPlane;
const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const WRITES = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:PartiQLInsert',
  'dynamodb:PartiQLUpdate',
  'dynamodb:PartiQLDelete',
];

type Statement = Record<string, any>;

function roleStatements(roleLogicalId: string): Statement[] {
  return Object.values(resourcesOfType(built.template, 'AWS::IAM::Policy'))
    .filter((p) => JSON.stringify((p.Properties as { Roles: unknown }).Roles).includes(`"${roleLogicalId}"`))
    .flatMap((p) => (p.Properties as { PolicyDocument: { Statement: Statement[] } }).PolicyDocument.Statement);
}

const ledgerStatements = (name: HandlerName) =>
  roleStatements(logicalId(cp().functions[name].role)).filter((s) => asArray(s.Action).some((a: string) => a.startsWith('dynamodb:')));

beforeAll(() => {
  built = buildGantry({ bundle: false });
});

describe("each handler role's ledger statements", () => {
  const tableArn = () => ({ 'Fn::GetAtt': [logicalId(cp().table), 'Arn'] });

  for (const name of Object.keys(HANDLERS) as HandlerName[]) {
    it(`${name}: exactly the statements of lib/ledger-access.ts, each table statement held by dynamodb:LeadingKeys`, () => {
      const rendered = ledgerPolicy(name, { table: 'TABLE', index: 'INDEX' });
      const actual = ledgerStatements(name);

      assert.equal(actual.length, rendered.length);
      for (const want of rendered) {
        const got = actual.find((s) => s.Sid === want.Sid);
        assert.ok(got, `${name} lacks ${want.Sid}`);
        assert.deepEqual(asArray(got.Action).sort(), [...want.Action].sort(), want.Sid);
        if (want.Resource === 'TABLE') {
          assert.deepEqual(got.Resource, tableArn());
          const condition = got.Condition as Statement;
          assert.deepEqual(Object.keys(condition).sort(), ['ForAllValues:StringLike', 'Null']);
          assert.deepEqual(condition.Null, { 'dynamodb:LeadingKeys': 'false' });
          assert.deepEqual(condition, want.Condition);
        } else {
          assert.deepEqual(got.Resource, { 'Fn::Join': ['', [tableArn(), '/index/byService']] });
          assert.deepEqual(asArray(got.Action), ['dynamodb:Query'], 'the index is only ever queried');
          assert.equal(got.Condition, undefined);
        }
      }
    });
  }

  it('read-only handlers (rollout-check) have no write action, and insight-plan no ledger access at all', () => {
    assert.deepEqual(ledgerStatements('insight-plan'), [], 'insight-plan plans from the config alone');
    for (const name of ['rollout-check'] as HandlerName[]) {
      const actions = ledgerStatements(name).flatMap((s) => asArray(s.Action));
      assert.ok(actions.length > 0, name);
      assert.deepEqual(
        actions.filter((a) => WRITES.includes(a)),
        [],
        name,
      );
      const kms = roleStatements(logicalId(cp().functions[name].role)).filter((s) => asArray(s.Action).some((a: string) => a.startsWith('kms:')));
      assert.deepEqual(kms.flatMap((s) => asArray(s.Action)).sort(), ['kms:Decrypt', 'kms:DescribeKey'], `${name} only decrypts`);
    }
  });
});

describe('who may write which item of the ledger (read from the template)', () => {
  /** The owners: for each item kind and write action, the handlers whose code writes it. */
  const OWNERS: Record<string, string[]> = {
    'PutItem release': [
      'alarm-gate',
      'alarm-watch',
      'approval-decide',
      'approval-request',
      'bake-register',
      'bake-timer',
      'canary-analysis',
      'deploy-check',
      'drill-step',
      'image-gates',
      'intake',
      // gantry abort's abort.requested (decision 053), recorded for the caller before StopExecution.
      'operator-api',
      'prepare-release',
      'reconciler',
      'record-step',
      'rollback-prepare',
      'stage-lease',
      'window-gate',
    ],
    'PutItem stage': ['stage-lease'],
    'UpdateItem stage': ['deploy-check', 'reconciler', 'record-step', 'stage-lease'],
    'DeleteItem stage': ['reconciler', 'record-step', 'stage-lease'],
    // Scan waits (decision 040): image-gates stores the token against the image, scan-watch claims it (and gives it back on a failed send).
    'PutItem token': ['alarm-watch', 'approval-decide', 'approval-request', 'bake-register', 'bake-timer', 'image-gates', 'scan-watch', 'stage-lease'],
    'DeleteItem token': [
      'alarm-watch',
      'approval-decide',
      'approval-request',
      'bake-register',
      'bake-timer',
      'image-gates',
      'reconciler',
      'record-step',
      'scan-watch',
      'stage-lease',
    ],
    'PutItem alarmIndex': ['alarm-watch', 'bake-register', 'bake-timer', 'image-gates', 'scan-watch', 'stage-lease'],
    'DeleteItem alarmIndex': ['alarm-watch', 'bake-register', 'bake-timer', 'image-gates', 'reconciler', 'record-step', 'scan-watch', 'stage-lease'],
    'PutItem skip': ['intake'],
    'PutItem skipListing': ['intake'],
    // Only the operator API writes start records; intake records the pusher it put in the execution input.
    'PutItem initiator': ['operator-api'],
    'PutItem pusher': ['intake'],
    'UpdateItem freeze': ['operator-api'],
    'PutItem insight': ['insight-record'],
    // Refused approvals are their own items, counted and throttled per caller, by the approval API only.
    'PutItem refusal': ['approval-decide'],
    'UpdateItem refusal': ['approval-decide'],
    'UpdateItem throttle': ['approval-decide'],
    // Signatures of a release's end and of the insight head (decision 048): only the two signers, never a release writer.
    'PutItem signature': ['anchor-sign', 'insight-record'],
  };

  function writersInTemplate(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const name of Object.keys(HANDLERS) as HandlerName[]) {
      for (const s of ledgerStatements(name)) {
        const patterns: string[] = asArray(s.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys']);
        for (const action of asArray(s.Action).filter((a: string) => WRITES.includes(a))) {
          for (const [kind, k] of Object.entries(LEDGER_ITEM_KINDS)) {
            if (!patterns.includes(k.partition)) continue;
            const key = `${action.replace('dynamodb:', '')} ${kind}`;
            out[key] = [...(out[key] ?? []), name].sort();
          }
        }
        assert.ok(
          patterns.every((p) => Object.values(LEDGER_ITEM_KINDS).some((k) => k.partition === p)),
          `${name}: ${patterns.join(', ')} are item kind partitions`,
        );
      }
    }
    return out;
  }

  it('matches the owners: no role writes an item kind another owns', () => {
    assert.deepEqual(writersInTemplate(), OWNERS);
  });

  it("lets nothing delete or update a release's items (events are never deleted or changed in place)", () => {
    const w = writersInTemplate();

    assert.equal(w['DeleteItem release'], undefined);
    assert.equal(w['UpdateItem release'], undefined);
  });

  it('lets intake write no stage, token or freeze, and approval-decide no stage pointer or lease', () => {
    const w = writersInTemplate();
    const writes = (name: string, kind: string) => Object.entries(w).some(([k, names]) => k.endsWith(` ${kind}`) && names.includes(name));

    for (const kind of ['stage', 'token', 'alarmIndex', 'freeze', 'insight']) assert.ok(!writes('intake', kind), `intake writes ${kind}`);
    for (const kind of ['stage', 'alarmIndex', 'initiator', 'freeze', 'skip', 'insight']) assert.ok(!writes('approval-decide', kind), `approval-decide writes ${kind}`);
  });

  it('grants no write to the ledger table, anywhere in the template, without a LeadingKeys condition', () => {
    const ledgerRef = logicalId(cp().table);
    const unconditioned = allPolicyStatements(built.template).filter(({ statement }) => {
      const actions = asArray(statement.Action as string | string[]);
      const writesLedger = actions.some((a) => WRITES.includes(a) || a === 'dynamodb:*') && JSON.stringify(statement.Resource ?? '').includes(ledgerRef);
      const held = (statement.Condition as Statement | undefined)?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'] !== undefined;
      return writesLedger && !held;
    });

    assert.deepEqual(
      unconditioned.map((u) => u.where),
      [],
    );
  });
});

describe('people', () => {
  it('get no ledger write and no StartExecution from grantOperate, grantApprove or grantAudit', () => {
    const roles = {
      operator: new Role(built.stack, 'TestOperator', { assumedBy: new AccountRootPrincipal() }),
      approver: new Role(built.stack, 'TestApprover', { assumedBy: new AccountRootPrincipal() }),
      auditor: new Role(built.stack, 'TestAuditor', { assumedBy: new AccountRootPrincipal() }),
    };
    cp().grantOperate(roles.operator);
    cp().grantApprove(roles.approver);
    cp().grantAudit(roles.auditor);
    const statements = Object.fromEntries(
      Object.entries(roles).map(([who, role]) => [
        who,
        (built.stack.resolve((role.node.tryFindChild('DefaultPolicy') as IConstruct & { document: unknown }).document) as { Statement: Statement[] }).Statement,
      ]),
    );
    const actions = (who: string) => statements[who]?.flatMap((s: Statement) => asArray(s.Action)) ?? [];

    for (const who of Object.keys(roles)) {
      assert.deepEqual(
        actions(who).filter((a) => WRITES.includes(a) || a === 'dynamodb:*' || a === 'states:StartExecution'),
        [],
        who,
      );
    }
    const invoke = statements.operator?.find((s: Statement) => asArray(s.Action).includes('execute-api:Invoke'));
    assert.deepEqual(
      asArray(invoke?.Resource)
        .map((r) => /\/v1\/(POST|PUT)\/(releases|rollbacks|freeze|drills|aborts)"/.exec(JSON.stringify(r))?.slice(1).join(' /'))
        .sort(),
      ['POST /aborts', 'POST /drills', 'POST /releases', 'POST /rollbacks', 'PUT /freeze'],
    );
    assert.ok(actions('operator').includes('states:StopExecution') && actions('operator').includes('dynamodb:Query'));
    assert.deepEqual(actions('approver'), ['execute-api:Invoke']);
    assert.ok(actions('auditor').includes('dynamodb:GetItem'));
  });

  it("docs/security.md shows the handlers' ledger access exactly as lib/ledger-access.ts derives it", () => {
    const text = readFileSync(join(ROOT, 'docs', 'security.md'), 'utf8');

    assert.ok(text.includes(ledgerAccessMarkdown()), 'regenerate the table in docs/security.md from ledgerAccessMarkdown()');
  });

  for (const doc of ['deploying.md', 'security.md']) {
    it(`are given no ledger write in docs/${doc}: operators call the operator routes`, () => {
      const text = readFileSync(join(ROOT, 'docs', doc), 'utf8');
      const rows = text.split('\n').filter((l) => /^\| (operators|approvers|auditors|whoever[^|]*) \|/i.test(l));

      assert.ok(rows.length >= 3, `${doc} lists operators, approvers and auditors in a table`);
      for (const row of rows) assert.doesNotMatch(row, /dynamodb:(PutItem|UpdateItem|DeleteItem|BatchWriteItem|\*)/, row);
      const operators = rows.find((r) => /^\| operators \|/i.test(r)) ?? '';
      assert.match(operators, /execute-api:Invoke/);
      for (const route of ['POST/releases', 'POST/rollbacks', 'PUT/freeze']) assert.ok(operators.includes(route), `${doc}: the operators row names ${route}`);
      if (operators.includes('states:StartExecution')) assert.match(operators, /\b(Not|no) `states:StartExecution`/, 'operators are not told to hold StartExecution');
    });
  }
});
