/**
 * The anchor signing key in the template (decision 048): ECC_NIST_P256 / SIGN_VERIFY, the longest pending window,
 * RETAIN; a key policy that lets only the anchoring roles call kms:Sign (the account root administers it and reads
 * its public half, and nothing else signs — not through `kms:*`, not through IAM); the Release Finished rule on the
 * Gantry bus; the CloudTrail guard rule and the failed-signature alarm to the alarm topic.
 */
import assert from 'node:assert/strict';
import type { CfnElement } from 'aws-cdk-lib';
import { beforeAll, describe, it } from 'vitest';
import { ANCHOR_KEY_ADMIN_ACTIONS } from '../../lib/AnchorSigning';
import { HANDLER_NAMES, handlerEntry } from '../../lambdas/registry';
import { allPolicyStatements, type BuiltGantry, buildGantry, resourcesOfType } from './fixtures';

let built: BuiltGantry;
type Statement = { Sid?: string; Effect: string; Principal?: unknown; Action: string | string[]; Resource?: unknown; Condition?: unknown };
const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const idOf = (c: { node: { defaultChild?: unknown } }) => built.stack.getLogicalId(c.node.defaultChild as CfnElement);
const keyId = () => idOf(built.stack.controlPlane.anchorSigning.key);
const key = () => resourcesOfType(built.template, 'AWS::KMS::Key')[keyId()] as { Properties: Record<string, any>; DeletionPolicy?: string; UpdateReplacePolicy?: string };
const keyStatements = (): Statement[] => key().Properties.KeyPolicy.Statement as Statement[];
/** Whether an action pattern (kms:*, kms:Sign, kms:S*) covers `action`. */
const covers = (pattern: string, action: string) => new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(action);

beforeAll(() => {
  built = buildGantry({ bundle: false });
});

describe('the anchor signing key', () => {
  it('is ECC_NIST_P256 for SIGN_VERIFY, with the longest pending window, and retained', () => {
    const k = key();
    assert.equal(k.Properties.KeySpec, 'ECC_NIST_P256');
    assert.equal(k.Properties.KeyUsage, 'SIGN_VERIFY');
    assert.equal(k.Properties.PendingWindowInDays, 30);
    assert.equal(k.DeletionPolicy, 'Retain');
    assert.equal(k.UpdateReplacePolicy, 'Retain');
  });

  it('lets only the anchoring roles call kms:Sign: no statement grants it (or kms:*) to the account root or anyone else', () => {
    const signers = HANDLER_NAMES.filter((n) => handlerEntry(n).capabilities.includes('signAnchors')).sort();
    assert.deepEqual(signers, ['anchor-sign', 'insight-record']);
    const roleArns = signers.map((n) => ({ 'Fn::GetAtt': [idOf(built.stack.controlPlane.functions[n].role), 'Arn'] }));
    const signing = keyStatements().filter((s) => s.Effect === 'Allow' && asArray(s.Action).some((a) => covers(a, 'kms:Sign')));
    assert.equal(signing.length, 1, JSON.stringify(signing));
    assert.deepEqual(asArray(signing[0]?.Action), ['kms:Sign']);
    assert.deepEqual(
      asArray((signing[0]?.Principal as { AWS: unknown }).AWS)
        .map((p) => JSON.stringify(p))
        .sort(),
      roleArns.map((p) => JSON.stringify(p)).sort(),
    );
    // CDK's default key policy (`kms:*` for the account root) would let any IAM principal with a kms:Sign policy sign.
    assert.ok(!keyStatements().some((s) => asArray(s.Action).includes('kms:*')), 'no kms:* in the key policy');
  });

  it('gives the account root the administration CDK lists, and reading the public half — never a crypto operation', () => {
    const root = keyStatements().filter((s) => /:root"/.test(JSON.stringify(s.Principal)));
    const actions = root.flatMap((s) => asArray(s.Action));
    for (const a of ANCHOR_KEY_ADMIN_ACTIONS) assert.ok(actions.includes(a), `root lacks ${a}`);
    for (const a of ['kms:GetPublicKey', 'kms:DescribeKey', 'kms:Verify'])
      assert.ok(
        actions.some((p) => covers(p, a)),
        `root cannot ${a}`,
      );
    for (const forbidden of ['kms:Sign', 'kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey', 'kms:ReEncryptFrom']) {
      assert.ok(!actions.some((p) => covers(p, forbidden)), `root may ${forbidden}`);
    }
    assert.ok(actions.includes('kms:ScheduleKeyDeletion') && actions.includes('kms:DisableKey') === false, 'DisableKey comes through kms:Disable*');
  });

  it('is signed with by identity policy only from the anchoring roles (kms:Sign on the key itself)', () => {
    const grants = allPolicyStatements(built.template).filter(
      ({ where, statement }) => !where.includes('(AWS::KMS::Key)') && asArray(statement.Action as string | string[]).some((a) => covers(a, 'kms:Sign')),
    );
    assert.ok(grants.length >= 2, JSON.stringify(grants.map((g) => g.where)));
    for (const g of grants) {
      assert.deepEqual(g.statement.Resource, { 'Fn::GetAtt': [keyId(), 'Arn'] }, g.where);
      assert.match(g.where, /(AnchorSign|InsightRecord)/, g.where);
    }
  });

  it("gives the two signers, and no other function, the key's ARN", () => {
    const fns = resourcesOfType(built.template, 'AWS::Lambda::Function');
    const withKey = Object.entries(fns).filter(([, f]) => JSON.stringify(f.Properties?.Environment ?? {}).includes('ANCHOR_KEY_ARN'));
    assert.deepEqual(
      withKey
        .map(([id]) => id.replace(/[A-F0-9]{8}$/, ''))
        .sort()
        .map((id) => /AnchorSign/.test(id) || /InsightRecord/.test(id)),
      [true, true],
    );
  });
});

describe('the rules and alarms of the anchor key', () => {
  it('sends Release Finished and Rollback Drilled (the end of a drill) on the Gantry bus to anchor-sign, with retries and its dead-letter queue', () => {
    const rules = Object.values(resourcesOfType(built.template, 'AWS::Events::Rule'));
    const rule = rules.find((r) => JSON.stringify(r.Properties?.EventPattern) === JSON.stringify({ source: ['gantry'], 'detail-type': ['Release Finished', 'Rollback Drilled'] }));
    assert.ok(rule, 'no Release Finished / Rollback Drilled rule');
    assert.deepEqual(rule?.Properties?.EventBusName, { Ref: idOf(built.stack.controlPlane.eventBus) });
    const target = (rule?.Properties?.Targets as Array<Record<string, any>>)[0];
    assert.deepEqual(target?.Arn, { 'Fn::GetAtt': [idOf(built.stack.controlPlane.functions['anchor-sign'].function), 'Arn'] });
    assert.deepEqual(target?.DeadLetterConfig, { Arn: { 'Fn::GetAtt': [idOf(built.stack.controlPlane.deadLetterQueues.anchorSign), 'Arn'] } });
    assert.equal(target?.RetryPolicy?.MaximumRetryAttempts, 8);
  });

  it('notifies the alarm topic when CloudTrail records ScheduleKeyDeletion, DisableKey or PutKeyPolicy of this key', () => {
    const guard = built.stack.controlPlane.anchorSigning.guardRule;
    assert.ok(guard);
    const r = resourcesOfType(built.template, 'AWS::Events::Rule')[idOf(guard)];
    const p = r?.Properties as Record<string, any>;
    assert.deepEqual(p.EventPattern.source, ['aws.kms']);
    assert.deepEqual(p.EventPattern['detail-type'], ['AWS API Call via CloudTrail']);
    assert.deepEqual(p.EventPattern.detail.eventName, ['ScheduleKeyDeletion', 'DisableKey', 'PutKeyPolicy']);
    assert.deepEqual(p.EventPattern.detail.resources.ARN, [{ 'Fn::GetAtt': [keyId(), 'Arn'] }]);
    assert.equal(p.EventBusName, undefined, 'CloudTrail events arrive on the default bus');
    assert.deepEqual(p.Targets[0].Arn, { Ref: idOf(built.stack.controlPlane.notifications.alarmTopic) });
    assert.ok(p.Targets[0].DeadLetterConfig?.Arn);
  });

  it('alarms on AnchorSignaturesFailed ≥ 1 to the alarm topic', () => {
    const alarm = built.stack.controlPlane.anchorSigning.failedSignaturesAlarm;
    assert.ok(alarm);
    const a = resourcesOfType(built.template, 'AWS::CloudWatch::Alarm')[idOf(alarm)]?.Properties as Record<string, any>;
    assert.equal(a.MetricName, 'AnchorSignaturesFailed');
    assert.equal(a.Namespace, 'Gantry');
    assert.equal(a.Threshold, 1);
    assert.deepEqual(a.AlarmActions, [{ Ref: idOf(built.stack.controlPlane.notifications.alarmTopic) }]);
  });
});
