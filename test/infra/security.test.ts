/**
 * The security review as tests, over the synthesized Gantry stack (synthesized once):
 * - IAM: no `Resource: "*"` except for actions AWS offers nothing narrower for (each with its reason),
 *   no NotAction / NotResource / NotPrincipal, no anonymous principal outside a Deny; the key policy's
 *   service principals are held to this account where the service passes the context.
 *   (No `*` or `svc:*` action is test/infra/release-control-plane.test.ts's "IAM" test.)
 * - Encryption: everything that stores or carries data is encrypted with the one customer-managed key.
 * - The approval API: AWS_IAM on every method, no authorizer to bypass it, no resource policy opening it
 *   to other accounts, and the stage as docs/security.md describes it.
 */
import assert from 'node:assert/strict';
import { beforeAll, describe, it } from 'vitest';
import type { CfnElement } from 'aws-cdk-lib';
import { allPolicyStatements, type BuiltGantry, buildGantry, resourcesOfType } from './fixtures';

/**
 * The actions a statement may grant on `Resource: "*"`, and why: AWS's Service Authorization Reference
 * lists no resource type for them (or, for DescribeAlarms, scoping it hides composite alarms).
 */
export const STAR_RESOURCE_ACTIONS: Readonly<Record<string, string>> = {
  'xray:PutTraceSegments': 'X-Ray defines no resource type for PutTraceSegments (active tracing of Lambda and Step Functions).',
  'xray:PutTelemetryRecords': 'X-Ray defines no resource type for PutTelemetryRecords (active tracing).',
  'xray:GetSamplingRules': 'X-Ray defines no resource type for GetSamplingRules (active tracing).',
  'xray:GetSamplingTargets': 'X-Ray defines no resource type for GetSamplingTargets (active tracing).',
  'cloudwatch:DescribeAlarms': 'Read-only; DescribeAlarms returns composite alarms only when allowed on "*", and a stage health alarm is often composite.',
  'cloudwatch:GetMetricData': 'Read-only; GetMetricData has no resource type in the Service Authorization Reference (the canary analysis, decision 043).',
  'cloudwatch:PutMetricData': 'CloudWatch defines no resource type for PutMetricData (only the cloudwatch:namespace condition key).',
  'logs:CreateLogDelivery': 'CloudWatch Logs vended delivery (Step Functions execution logging) supports no resource-level permissions.',
  'logs:GetLogDelivery': 'CloudWatch Logs vended delivery supports no resource-level permissions.',
  'logs:UpdateLogDelivery': 'CloudWatch Logs vended delivery supports no resource-level permissions.',
  'logs:DeleteLogDelivery': 'CloudWatch Logs vended delivery supports no resource-level permissions.',
  'logs:ListLogDeliveries': 'CloudWatch Logs vended delivery supports no resource-level permissions.',
  'logs:PutResourcePolicy': "Step Functions execution logging needs it; it acts on the account's log resource policy, which has no ARN.",
  'logs:DescribeResourcePolicies': "Lists the account's log resource policies, which have no ARN.",
  'logs:DescribeLogGroups': 'Step Functions execution logging needs it; listing takes no resource.',
  'inspector2:ListFindings': 'Amazon Inspector defines no resource type for ListFindings; ECR DescribeImageScanFindings needs it under enhanced scanning (image gates, read-only).',
  'inspector2:ListCoverage': 'Amazon Inspector defines no resource type for ListCoverage; ECR DescribeImageScanFindings needs it under enhanced scanning (image gates, read-only).',
  'ecr:GetAuthorizationToken': 'ECR defines no resource type for GetAuthorizationToken (registry login for OCI charts); pulls stay limited to the chart repositories.',
};

/**
 * Key policy statements for a service principal that carry no aws:SourceAccount / aws:SourceArn
 * condition, and why. Every other service statement in the key policy must carry one.
 */
export const UNCONDITIONED_KEY_GRANTS: Readonly<Record<string, string>> = {
  CloudWatchAlarmsEncryptForAlarmTopic:
    'CloudWatch alarm actions publishing to the encrypted alarm topic; the statement allows only kms:Decrypt and kms:GenerateDataKey, and the topic policy holds publishing to alarms of this account. To review: add aws:SourceAccount once verified that CloudWatch passes it to KMS.',
};

type Statement = Record<string, unknown>;
const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const IDENTITY = /\((AWS::IAM::Policy|AWS::IAM::Role|AWS::IAM::ManagedPolicy)\)/;

/** The problems of one statement as far as `Resource: "*"` goes (empty when it is fine). */
export function starResourceProblems(where: string, s: Statement): string[] {
  if (!asArray(s.Resource as unknown).includes('*') || s.Effect === 'Deny') return [];
  if (where.includes('(AWS::KMS::Key)')) return []; // a key policy's "*" is the key itself; its principals are checked below
  if (!IDENTITY.test(where)) return [`${where}: a resource policy with Resource "*"`];
  return asArray(s.Action as string | string[])
    .filter((a) => !(a in STAR_RESOURCE_ACTIONS))
    .map((a) => `${where.split(' ')[0]}: ${a} on Resource "*" (AWS offers a narrower resource for it, or it is not on the list with a reason)`);
}

let built: BuiltGantry;
let statements: Array<{ where: string; statement: Statement }>;
const json = () => built.template.toJSON() as { Resources: Record<string, { Type: string; Properties: Record<string, any> }> };
const keyArn = () => ({ 'Fn::GetAtt': [built.stack.getLogicalId(built.stack.controlPlane.key.node.defaultChild as CfnElement), 'Arn'] });
const keyRef = () => ({ Ref: built.stack.getLogicalId(built.stack.controlPlane.key.node.defaultChild as CfnElement) });
/** A property that names the key: by ARN (GetAtt) or by id (Ref). */
const isTheKey = (v: unknown) => JSON.stringify(v) === JSON.stringify(keyArn()) || JSON.stringify(v) === JSON.stringify(keyRef());

beforeAll(() => {
  built = buildGantry({ bundle: false });
  statements = allPolicyStatements(built.template);
});

describe('IAM wildcards', () => {
  it('grant Resource "*" only for actions AWS offers nothing narrower for', () => {
    const problems = statements.flatMap(({ where, statement }) => starResourceProblems(where, statement));

    assert.deepEqual(problems, []);
  });

  it('would catch a Resource "*" grant of an action that has a resource (the check is live)', () => {
    const role = 'SomeRole (AWS::IAM::Policy).PolicyDocument';

    assert.equal(starResourceProblems(role, { Effect: 'Allow', Action: ['dynamodb:PutItem', 'xray:PutTraceSegments'], Resource: '*' }).length, 1);
    assert.equal(starResourceProblems('Q (AWS::SQS::QueuePolicy).PolicyDocument', { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: '*' }).length, 1);
    assert.deepEqual(starResourceProblems(role, { Effect: 'Allow', Action: 'xray:PutTraceSegments', Resource: '*' }), []);
  });

  it('give a reason for every action allowed on Resource "*"', () => {
    for (const [action, reason] of Object.entries(STAR_RESOURCE_ACTIONS)) {
      assert.match(action, /^[a-z0-9-]+:[A-Za-z]+$/, 'a single action, not a pattern');
      assert.ok(reason.length >= 40, `${action}: a reason that says why`);
    }
  });

  it('use Resource "*" somewhere, so the list is exercised (tracing and alarm reads need it)', () => {
    const granted = statements
      .filter(({ where, statement }) => IDENTITY.test(where) && asArray(statement.Resource as unknown).includes('*'))
      .flatMap(({ statement }) => asArray(statement.Action as string | string[]));

    assert.ok(granted.includes('xray:PutTraceSegments') && granted.includes('cloudwatch:DescribeAlarms'), granted.join(', '));
  });

  it('use no NotAction, NotResource or NotPrincipal (wildcards by exclusion)', () => {
    const found = statements.filter(({ statement }) => ['NotAction', 'NotResource', 'NotPrincipal'].some((k) => k in statement)).map(({ where }) => where);

    assert.deepEqual(found, []);
  });

  it('allow no anonymous principal: Principal "*" appears only in Deny statements', () => {
    const anonymous = statements.filter(({ statement }) => {
      const p = statement.Principal as unknown;
      const star = p === '*' || (typeof p === 'object' && p !== null && asArray((p as { AWS?: unknown }).AWS).includes('*'));
      return star && statement.Effect !== 'Deny';
    });

    assert.deepEqual(
      anonymous.map(({ where }) => where),
      [],
    );
  });

  it('let only IAM principals of this account administer the key, and AWS services only where a statement says which', () => {
    // The Gantry data key; the anchor signing key's policy has its own tests (test/infra/anchor-signing.test.ts).
    const anchorKey = built.stack.getLogicalId(built.stack.controlPlane.anchorSigning.key.node.defaultChild as CfnElement);
    const keyStatements = statements.filter(({ where }) => where.includes('(AWS::KMS::Key)') && !where.startsWith(`${anchorKey} `)).map(({ statement }) => statement);
    const aws = keyStatements.filter((s) => (s.Principal as { AWS?: unknown })?.AWS !== undefined);
    const services = keyStatements.filter((s) => (s.Principal as { Service?: unknown })?.Service !== undefined);

    assert.equal(aws.length, 1, 'one statement for IAM principals: the account root, delegating to IAM policies');
    assert.match(JSON.stringify(aws[0]?.Principal), /":iam::",\{"Ref":"AWS::AccountId"\},":root"/);
    assert.equal(aws.length + services.length, keyStatements.length, 'every statement names an IAM or service principal');
    const unconditioned = services
      .filter((s) => !/aws:SourceAccount|aws:SourceArn|kms:EncryptionContext|kms:ViaService|kms:CallerAccount/.test(JSON.stringify(s.Condition ?? {})))
      .map((s) => String(s.Sid));
    assert.deepEqual(
      unconditioned.sort(),
      Object.keys(UNCONDITIONED_KEY_GRANTS)
        .filter((sid) => unconditioned.includes(sid))
        .sort(),
    );
    for (const sid of unconditioned) {
      const s = services.find((x) => x.Sid === sid);
      assert.ok(
        asArray(s?.Action as string | string[]).every((a) => ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:GenerateDataKey*'].includes(a)),
        `${sid} is limited to data-key use`,
      );
    }
  });

  it("let no role be assumed by anyone but the AWS service that runs it, except the ClusterAccessRole: by the stack's own workflow and plan-handler roles", () => {
    const roles = Object.entries(resourcesOfType(built.template, 'AWS::IAM::Role'));
    const clusterAccess = built.stack.getLogicalId(built.stack.controlPlane.clusterAccess.role.node.defaultChild as CfnElement);
    const roleIds = new Set(roles.map(([id]) => id));
    for (const [id, role] of roles) {
      for (const s of (role.Properties?.AssumeRolePolicyDocument as { Statement: Statement[] }).Statement) {
        if (id !== clusterAccess) {
          assert.deepEqual(Object.keys(s.Principal as object), ['Service'], `${id} trusts ${JSON.stringify(s.Principal)}`);
          continue;
        }
        // Decision 046: each principal is a role of this stack, by GetAtt (never an account root, never "*").
        const principals = [(s.Principal as { AWS: unknown }).AWS].flat() as Array<{ 'Fn::GetAtt'?: [string, string] }>;
        assert.deepEqual(Object.keys(s.Principal as object), ['AWS'], `${id} trusts ${JSON.stringify(s.Principal)}`);
        for (const p of principals) assert.ok(p['Fn::GetAtt'] && roleIds.has(p['Fn::GetAtt'][0]) && p['Fn::GetAtt'][1] === 'Arn', `${id} trusts ${JSON.stringify(p)}`);
        assert.equal(principals.length, 5);
      }
    }
  });
});

describe('encryption with the customer-managed key', () => {
  const encrypted: Array<[string, string, (p: Record<string, any>) => unknown]> = [
    ['the ledger table', 'AWS::DynamoDB::Table', (p) => p.SSESpecification?.KMSMasterKeyId],
    ['every log group', 'AWS::Logs::LogGroup', (p) => p.KmsKeyId],
    ['every SQS queue (the dead-letter queues)', 'AWS::SQS::Queue', (p) => p.KmsMasterKeyId],
    ['every SNS topic', 'AWS::SNS::Topic', (p) => p.KmsMasterKeyId],
    ['the Gantry event bus', 'AWS::Events::EventBus', (p) => p.KmsKeyIdentifier],
    ['every CodeBuild driver project', 'AWS::CodeBuild::Project', (p) => p.EncryptionKey],
  ];
  for (const [what, type, key] of encrypted) {
    it(`covers ${what}`, () => {
      const resources = Object.entries(resourcesOfType(built.template, type));

      assert.ok(resources.length > 0, `the stack has a ${type}`);
      for (const [id, r] of resources) assert.ok(isTheKey(key(r.Properties ?? {})), `${id} is encrypted with ${JSON.stringify(key(r.Properties ?? {}))}`);
    });
  }

  it('covers the evidence bucket, which also refuses plain HTTP and public access', () => {
    const id = built.stack.getLogicalId(built.stack.controlPlane.evidenceBucket.node.defaultChild as CfnElement);
    const bucket = json().Resources[id]?.Properties ?? {};

    const [rule] = bucket.BucketEncryption.ServerSideEncryptionConfiguration;
    assert.equal(rule.ServerSideEncryptionByDefault.SSEAlgorithm, 'aws:kms');
    assert.ok(isTheKey(rule.ServerSideEncryptionByDefault.KMSMasterKeyID));
    assert.deepEqual(bucket.PublicAccessBlockConfiguration, { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    const policy = Object.values(resourcesOfType(built.template, 'AWS::S3::BucketPolicy')).find((p) => JSON.stringify(p.Properties?.Bucket) === JSON.stringify({ Ref: id }));
    assert.match(JSON.stringify(policy?.Properties?.PolicyDocument), /"aws:SecureTransport":"false"/);
  });

  it('covers every bucket of the stack, except a server access log bucket, which S3 can only deliver to with SSE-S3', () => {
    const buckets = Object.entries(resourcesOfType(built.template, 'AWS::S3::Bucket'));
    const logTargets = new Set(buckets.map(([, b]) => JSON.stringify((b.Properties?.LoggingConfiguration as any)?.DestinationBucketName ?? null)));
    for (const [id, b] of buckets) {
      const sse = (b.Properties?.BucketEncryption as any)?.ServerSideEncryptionConfiguration?.[0]?.ServerSideEncryptionByDefault;
      if (logTargets.has(JSON.stringify({ Ref: id }))) assert.equal(sse?.SSEAlgorithm, 'AES256', `${id} (access logs) is encrypted`);
      else assert.ok(sse?.SSEAlgorithm === 'aws:kms' && isTheKey(sse.KMSMasterKeyID), `${id}: ${JSON.stringify(sse)}`);
    }
  });

  it('refuses plain HTTP on every topic', () => {
    for (const [id] of Object.entries(resourcesOfType(built.template, 'AWS::SNS::Topic'))) {
      const policy = Object.values(resourcesOfType(built.template, 'AWS::SNS::TopicPolicy')).find((p) => JSON.stringify(p.Properties?.Topics).includes(`"${id}"`));
      const statements = ((policy?.Properties?.PolicyDocument as { Statement?: Statement[] })?.Statement ?? []) as Array<
        Statement & { Condition?: { Bool?: Record<string, string> } }
      >;
      assert.ok(
        statements.some((st) => st.Effect === 'Deny' && st.Principal === '*' && st.Condition?.Bool?.['aws:SecureTransport'] === 'false'),
        id,
      );
    }
  });
});

describe('the approval API', () => {
  it('authorizes every method with AWS_IAM: no method is NONE, none relies on an API key or an authorizer', () => {
    const methods = Object.entries(resourcesOfType(built.template, 'AWS::ApiGateway::Method'));

    assert.ok(methods.length > 0);
    for (const [id, m] of methods) {
      assert.equal(m.Properties?.AuthorizationType, 'AWS_IAM', id);
      assert.equal(m.Properties?.AuthorizerId, undefined, id);
      assert.notEqual(m.Properties?.ApiKeyRequired, true, id);
    }
    assert.deepEqual(Object.keys(resourcesOfType(built.template, 'AWS::ApiGateway::Authorizer')), []);
  });

  it('has no resource policy, so only IAM principals of this account with execute-api:Invoke can call it', () => {
    for (const [id, api] of Object.entries(resourcesOfType(built.template, 'AWS::ApiGateway::RestApi'))) {
      assert.equal(api.Properties?.Policy, undefined, id);
      assert.deepEqual(api.Properties?.EndpointConfiguration, { Types: ['REGIONAL'] }, id);
    }
  });

  it('is deployed to one stage that logs the caller ARN of every request but never request or response data', () => {
    const stages = Object.values(resourcesOfType(built.template, 'AWS::ApiGateway::Stage'));

    assert.equal(stages.length, 1);
    const stage = stages[0]?.Properties as Record<string, any>;
    assert.match(stage.AccessLogSetting.Format, /"userArn":"\$context\.identity\.userArn"/);
    assert.doesNotMatch(stage.AccessLogSetting.Format, /requestOverride|\$input|\$context\.authorizer|authorization/i);
    for (const s of stage.MethodSettings) assert.equal(s.DataTraceEnabled, false);
  });
});
