/**
 * The Terraform driver as synthesized: its CodeBuild project, the evidence bucket and its access logs,
 * the least privilege of its role, and how the workflows are granted the driver projects they start.
 * Built from a config with Terraform stages (the example config has none) next to a Helm stage.
 */
import assert from 'node:assert/strict';
import type { Project } from 'aws-cdk-lib/aws-codebuild';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, it } from 'vitest';
import type { CfnElement } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { type GantryConfig, parseConfig } from '../../lambdas/domain/config';
import { renderTerraformBuildSpec, TERRAFORM_BUILDSPEC_PATH, TERRAFORM_SCRIPT_COMMAND, TERRAFORM_SCRIPT_PATH, TerraformDriverError } from './cdk';
import { CODEBUILD_SYNC_RULE, DRIVER_PROJECTS, WorkflowDefinition, WorkflowDefinitionError } from '../../lib/WorkflowDefinition';
import { type BuiltGantry, buildGantry, resourcesOfType, ROOT } from '../../test/infra/fixtures';

const CHART = 'oci://111122223333.dkr.ecr.eu-west-2.amazonaws.com/charts/payments';

const CONFIG: GantryConfig = parseConfig({
  services: {
    payments: {
      repository: 'payments-api',
      stages: [
        { name: 'dev', cluster: 'dev', namespace: 'payments', deploy: { driver: 'helm', release: 'payments', chart: CHART, version: '1.2.0' } },
        {
          name: 'staging',
          cluster: 'staging',
          namespace: 'payments',
          deploy: { driver: 'terraform', source: 's3://tf-sources/payments/module.zip', workdir: 'staging', imageVariable: 'image' },
        },
        {
          name: 'prod',
          cluster: 'prod',
          namespace: 'payments',
          deploy: { driver: 'terraform', source: 's3://tf-sources/payments/module.zip', workdir: 'prod', imageVariable: 'image', timeoutMinutes: 45 },
        },
      ],
    },
    ledger: {
      repository: 'ledger-service',
      stages: [
        {
          name: 'prod',
          cluster: 'prod',
          namespace: 'ledger',
          deploy: { driver: 'terraform', source: 's3://other-modules/ledger.zip', workdir: '.', imageVariable: 'container_image' },
        },
      ],
    },
  },
  clusters: { dev: { name: 'dev-eks', region: 'eu-west-2' }, staging: { name: 'staging-eks', region: 'eu-west-2' }, prod: { name: 'prod-eks', region: 'eu-west-1' } },
});

let built: BuiltGantry;
const logicalId = (c: IConstruct) => built.stack.getLogicalId(c.node.defaultChild as CfnElement);
const cp = () => built.stack.controlPlane;
const driver = () => cp().terraformDriver;
const keyArn = () => ({ 'Fn::GetAtt': [logicalId(cp().key), 'Arn'] });
const resource = (c: IConstruct) => built.template.toJSON().Resources[logicalId(c)] as { Type: string; Properties: Record<string, any>; DeletionPolicy?: string };
const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function rolePolicyStatements(template: BuiltGantry['template'], roleLogicalId: string): Array<Record<string, any>> {
  return Object.values(resourcesOfType(template, 'AWS::IAM::Policy'))
    .filter((p) => JSON.stringify((p.Properties as { Roles: unknown }).Roles).includes(`"${roleLogicalId}"`))
    .flatMap((p) => (p.Properties as { PolicyDocument: { Statement: Array<Record<string, any>> } }).PolicyDocument.Statement);
}
const driverStatements = () => rolePolicyStatements(built.template, logicalId(driver().role));
const bySid = (sid: string) => driverStatements().filter((s) => s.Sid === sid);

beforeAll(() => {
  built = buildGantry({ bundle: false, config: CONFIG });
});

describe('the Terraform driver project', () => {
  it('runs the rendered buildspec with no source, encrypted with the key, unprivileged on the standard 7.0 image', () => {
    const expected = renderTerraformBuildSpec(readFileSync(TERRAFORM_BUILDSPEC_PATH, 'utf8'), readFileSync(TERRAFORM_SCRIPT_PATH, 'utf8'));
    built.template.hasResourceProperties('AWS::CodeBuild::Project', {
      Source: { Type: 'NO_SOURCE', BuildSpec: expected },
      EncryptionKey: keyArn(),
      Environment: Match.objectLike({ Image: 'aws/codebuild/standard:7.0', PrivilegedMode: false, Type: 'LINUX_CONTAINER' }),
      LogsConfig: { CloudWatchLogs: { Status: 'ENABLED', GroupName: { Ref: logicalId(driver().logGroup) } } },
    });
  });

  it('tells every build where the evidence bucket is, and nothing else', () => {
    assert.deepEqual(resource(driver().project).Properties.Environment.EnvironmentVariables, [
      { Name: 'GANTRY_EVIDENCE_BUCKET', Type: 'PLAINTEXT', Value: { Ref: logicalId(driver().evidenceBucket) } },
    ]);
  });

  it('allows the longest Terraform stage its deploy timeout, two state-lock waits and ten minutes of start-up', () => {
    // 45 + 2 × 5 + 10 (lambdas/domain/release.ts driverTimeouts).
    assert.equal(resource(driver().project).Properties.TimeoutInMinutes, 65);
  });

  it('logs to its own log group, encrypted with the key and with a retention', () => {
    const group = resource(driver().logGroup).Properties;
    assert.deepEqual(group.KmsKeyId, keyArn());
    assert.equal(typeof group.RetentionInDays, 'number');
  });

  it('is exposed by the control plane beside the Helm driver', () => {
    assert.notEqual(logicalId(driver().project), logicalId(cp().helmDriver.project));
    assert.equal(cp().evidenceBucket, driver().evidenceBucket);
  });
});

describe('the evidence bucket', () => {
  const props = () => resource(driver().evidenceBucket).Properties;

  it('is versioned', () => {
    assert.deepEqual(props().VersioningConfiguration, { Status: 'Enabled' });
  });

  it('is encrypted with the Gantry key (with an S3 bucket key)', () => {
    assert.deepEqual(props().BucketEncryption, {
      ServerSideEncryptionConfiguration: [{ BucketKeyEnabled: true, ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyArn() } }],
    });
  });

  it('blocks every form of public access and disables ACLs', () => {
    assert.deepEqual(props().PublicAccessBlockConfiguration, { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    assert.deepEqual(props().OwnershipControls, { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
  });

  it('refuses requests without TLS', () => {
    built.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logicalId(driver().evidenceBucket) },
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('moves older versions to colder storage and expires nothing', () => {
    const rules = props().LifecycleConfiguration.Rules as Array<Record<string, unknown>>;
    assert.ok(rules.length > 0);
    assert.deepEqual(
      rules.flatMap((r) => (r.NoncurrentVersionTransitions as Array<{ StorageClass: string; TransitionInDays: number }>) ?? []),
      [
        { StorageClass: 'STANDARD_IA', TransitionInDays: 30 },
        { StorageClass: 'GLACIER_IR', TransitionInDays: 90 },
      ],
    );
    for (const rule of rules) {
      assert.equal(rule.Status, 'Enabled');
      for (const key of ['ExpirationInDays', 'ExpirationDate', 'ExpiredObjectDeleteMarker', 'NoncurrentVersionExpiration', 'NoncurrentVersionExpirationInDays']) {
        assert.equal(rule[key], undefined, `${String(rule.Id)} has ${key}`);
      }
    }
  });

  it('is retained when it leaves the stack', () => {
    assert.equal(resource(driver().evidenceBucket).DeletionPolicy, 'Retain');
    assert.equal(resource(driver().accessLogsBucket).DeletionPolicy, 'Retain');
  });

  it('logs every access to the access-log bucket', () => {
    assert.deepEqual(props().LoggingConfiguration, { DestinationBucketName: { Ref: logicalId(driver().accessLogsBucket) }, LogFilePrefix: 'evidence-bucket/' });
  });
});

describe('the access-log bucket', () => {
  const props = () => resource(driver().accessLogsBucket).Properties;

  it('is private, TLS only and encrypted with S3-managed keys (the only encryption log delivery supports)', () => {
    assert.deepEqual(props().PublicAccessBlockConfiguration, { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    assert.deepEqual(props().BucketEncryption, { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] });
    assert.equal(props().AccessControl, undefined, 'no log-delivery ACL');
  });

  it('lets S3 log delivery write only the evidence bucket’s logs, from this account', () => {
    built.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logicalId(driver().accessLogsBucket) },
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Effect: 'Allow',
            Principal: { Service: 'logging.s3.amazonaws.com' },
            Action: 's3:PutObject',
            Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalId(driver().accessLogsBucket), 'Arn'] }, '/evidence-bucket/*']] },
            Condition: {
              ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [logicalId(driver().evidenceBucket), 'Arn'] } },
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
            },
          },
        ]),
      },
    });
  });
});

describe('the Terraform driver role', () => {
  it('can be assumed by CodeBuild only', () => {
    const trust = resource(driver().role).Properties.AssumeRolePolicyDocument.Statement;
    assert.deepEqual(trust, [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'codebuild.amazonaws.com' } }]);
  });

  it('may read exactly the configured module sources', () => {
    const [read] = bySid('ReadConfiguredModuleSources');
    assert.equal(read?.Action, 's3:GetObject');
    assert.deepEqual(
      asArray(read?.Resource).map((r) => JSON.stringify(r)),
      ['tf-sources/payments/module.zip', 'other-modules/ledger.zip']
        .sort()
        .map((object) => JSON.stringify({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:s3:::${object}`]] })),
    );
  });

  it('may only write, under evidence/, to the evidence bucket', () => {
    const [write] = bySid('WritePlanEvidence');
    assert.deepEqual(asArray(write?.Action).sort(), ['s3:AbortMultipartUpload', 's3:PutObject']);
    assert.deepEqual(write?.Resource, { 'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalId(driver().evidenceBucket), 'Arn'] }, '/evidence/*']] });
  });

  it('may describe exactly the clusters Terraform stages deploy to', () => {
    const [describe] = bySid('DescribeConfiguredClusters');
    const resources = asArray(describe?.Resource).map((r) => JSON.stringify(r));
    assert.equal(resources.length, 2);
    assert.ok(resources.some((r) => r.includes(':eks:eu-west-2:') && r.includes(':cluster/staging-eks"')));
    assert.ok(resources.some((r) => r.includes(':eks:eu-west-1:') && r.includes(':cluster/prod-eks"')));
    assert.ok(!resources.some((r) => r.includes('dev-eks')), 'dev is a Helm stage only');
  });

  it('may do nothing else: its logs, the key, and the three statements above', () => {
    const actions = new Set(driverStatements().flatMap((s) => asArray(s.Action as string | string[])));
    assert.deepEqual([...actions].sort(), [
      'eks:DescribeCluster',
      'kms:Decrypt',
      'kms:Encrypt',
      'kms:GenerateDataKey*',
      'kms:ReEncrypt*',
      'logs:CreateLogGroup',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      's3:AbortMultipartUpload',
      's3:GetObject',
      's3:PutObject',
    ]);
    for (const s of driverStatements().filter((x) => asArray(x.Action as string[]).some((a) => a.startsWith('kms:')))) assert.deepEqual(s.Resource, keyArn());
    for (const s of driverStatements()) assert.equal(s.Effect, 'Allow');
  });

  it('reads no source and describes no cluster when no stage uses Terraform', () => {
    const helmOnly = parseConfig({
      services: {
        payments: {
          repository: 'payments-api',
          stages: [{ name: 'dev', cluster: 'dev', namespace: 'payments', deploy: { driver: 'helm', release: 'payments', chart: CHART, version: '1.2.0' } }],
        },
      },
      clusters: { dev: { name: 'dev-eks', region: 'eu-west-2' } },
    });
    const other = buildGantry({ bundle: false, config: helmOnly });
    const role = other.stack.controlPlane.terraformDriver.role;
    const statements = rolePolicyStatements(other.template, other.stack.getLogicalId(role.node.defaultChild as CfnElement));
    const actions = statements.flatMap((s) => asArray(s.Action as string | string[]));
    assert.ok(!actions.includes('s3:GetObject'));
    assert.ok(!actions.includes('eks:DescribeCluster'));
    assert.ok(actions.includes('s3:PutObject'));
  });
});

describe('cdk-nag over a control plane with Terraform stages', () => {
  it('finds nothing left unacknowledged', () => {
    const report = new AwsSolutionsChecks().validateScope(built.app);
    assert.deepEqual(
      report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`),
      [],
    );
  });
});

describe('the workflows and the driver projects', () => {
  const workflows = () => [
    { file: 'release.asl.json', sm: cp().releaseStateMachine },
    { file: 'rollback.asl.json', sm: cp().rollbackStateMachine },
  ];

  it('may run exactly the driver projects their definitions start, in one statement', () => {
    const projects: Record<string, Project> = { helm: cp().helmDriver.project, terraform: driver().project };
    for (const { file, sm } of workflows()) {
      const started = WorkflowDefinition.fromFile(join(ROOT, 'statemachines', file)).codeBuildDrivers;
      const statements = rolePolicyStatements(built.template, logicalId(sm.role)).filter((s) => asArray(s.Action as string[]).includes('codebuild:StartBuild'));
      assert.equal(statements.length, 1, file);
      assert.deepEqual(
        asArray(statements[0]?.Resource)
          .map((r) => JSON.stringify(r))
          .sort(),
        started.map((d) => JSON.stringify({ 'Fn::GetAtt': [logicalId(projects[d]), 'Arn'] })).sort(),
        file,
      );
    }
  });

  it('substitute the Terraform project name wherever a definition names it', () => {
    for (const { file, sm } of workflows()) {
      const text = readFileSync(join(ROOT, 'statemachines', file), 'utf8');
      const substitutions = resource(sm).Properties.DefinitionSubstitutions as Record<string, unknown>;
      if (text.includes(`\${${DRIVER_PROJECTS.terraform}}`)) assert.deepEqual(substitutions[DRIVER_PROJECTS.terraform], { Ref: logicalId(driver().project) }, file);
      else assert.equal(substitutions[DRIVER_PROJECTS.terraform], undefined, file);
    }
  });

  it('warn at synth about a Terraform stage exactly while the release workflow does not start the Terraform project', () => {
    const started = WorkflowDefinition.fromFile(join(ROOT, 'statemachines', 'release.asl.json')).codeBuildDrivers;
    const warnings = Annotations.fromStack(built.stack).findWarning('/Gantry/ReleaseControlPlane', Match.stringLikeRegexp('uses the terraform driver'));
    assert.equal(warnings.length, started.includes('terraform') ? 0 : 3);
    assert.equal(Annotations.fromStack(built.stack).findWarning('/Gantry/ReleaseControlPlane', Match.stringLikeRegexp('uses the helm driver')).length, 0);
  });
});

describe('WorkflowDefinition with both driver projects', () => {
  const ph = (name: string) => `\${${name}}`;
  const choosing = JSON.stringify({
    StartAt: 'Choose',
    States: {
      Choose: { Type: 'Choice', Choices: [{ Variable: '$.stage.driver', StringEquals: 'terraform', Next: 'Terraform' }], Default: 'Helm' },
      Helm: { Type: 'Task', Resource: 'arn:aws:states:::codebuild:startBuild.sync', Parameters: { ProjectName: ph('HelmProjectName') }, End: true },
      Terraform: { Type: 'Task', Resource: 'arn:aws:states:::codebuild:startBuild.sync', Parameters: { ProjectName: ph('TerraformProjectName') }, End: true },
    },
  });
  const RULE = `arn:aws:events:eu-west-2:111122223333:rule/${CODEBUILD_SYNC_RULE}`;

  it('knows which drivers a definition that chooses by the stage driver runs', () => {
    assert.deepEqual(new WorkflowDefinition('t', choosing).codeBuildDrivers, ['helm', 'terraform']);
  });

  it('grants both projects in one statement, and the managed rule once', () => {
    const grants = new WorkflowDefinition('t', choosing).codeBuildGrants({ HelmProjectName: 'arn:helm', TerraformProjectName: 'arn:tf' }, RULE);
    assert.deepEqual(grants, [
      { sid: 'RunDriverBuilds', actions: ['codebuild:StartBuild', 'codebuild:StopBuild', 'codebuild:BatchGetBuilds'], resources: ['arn:helm', 'arn:tf'] },
      { sid: 'ManagedCodeBuildCompletionRule', actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'], resources: [RULE] },
    ]);
  });

  it('grants StartBuild alone for a build it does not wait for', () => {
    const text = JSON.stringify({
      StartAt: 'A',
      States: { A: { Type: 'Task', Resource: 'arn:aws:states:::codebuild:startBuild', Parameters: { ProjectName: ph('TerraformProjectName') }, End: true } },
    });
    assert.deepEqual(new WorkflowDefinition('t', text).codeBuildGrants({ TerraformProjectName: 'arn:tf' }, RULE), [
      { sid: 'StartDriverBuilds', actions: ['codebuild:StartBuild'], resources: ['arn:tf'] },
    ]);
  });

  it('grants nothing for a definition that starts no build', () => {
    const text = JSON.stringify({ StartAt: 'A', States: { A: { Type: 'Pass', End: true } } });
    assert.deepEqual(new WorkflowDefinition('t', text).codeBuildGrants({}, RULE), []);
  });

  it('names a started project it has no ARN for', () => {
    assert.throws(
      () => new WorkflowDefinition('t.asl.json', choosing).codeBuildGrants({ HelmProjectName: 'arn:helm' }, RULE),
      /t\.asl\.json: starts CodeBuild project\(s\) \$\{TerraformProjectName\}/,
    );
  });

  it('refuses a CodeBuild project that is not a driver project, naming the state', () => {
    const text = JSON.stringify({
      StartAt: 'A',
      States: { A: { Type: 'Task', Resource: 'arn:aws:states:::codebuild:startBuild.sync', Parameters: { ProjectName: ph('AnyProjectName') }, End: true } },
    });
    assert.throws(
      () => new WorkflowDefinition('t.asl.json', text),
      (e: unknown) => e instanceof WorkflowDefinitionError && /state A starts the CodeBuild project \$\{AnyProjectName\}, which is not a driver project/.test(e.message),
    );
  });
});

describe('renderTerraformBuildSpec', () => {
  const buildspec = readFileSync(TERRAFORM_BUILDSPEC_PATH, 'utf8');
  const script = readFileSync(TERRAFORM_SCRIPT_PATH, 'utf8');

  it('replaces only the driver command: every other line of terraform.yml is deployed as written', () => {
    const lines = buildspec.split('\n');
    const at = lines.findIndex((l) => l.trim() === `- ${TERRAFORM_SCRIPT_COMMAND}`);
    const out = renderTerraformBuildSpec(buildspec, script).split('\n');
    assert.deepEqual(out.slice(0, at), lines.slice(0, at));
    assert.deepEqual(out.slice(out.length - (lines.length - at - 1)), lines.slice(at + 1));
  });

  it('carries the driver script verbatim inside a quoted heredoc', () => {
    const out = renderTerraformBuildSpec(buildspec, script);
    assert.ok(out.includes("<<'GANTRY_TERRAFORM_DEPLOY_SCRIPT'"));
    const indented = script
      .replace(/\n+$/, '')
      .split('\n')
      .map((l) => (l === '' ? '' : `        ${l}`))
      .join('\n');
    assert.ok(out.includes(indented));
  });

  it('refuses a buildspec without the driver command, and a script containing the heredoc delimiter', () => {
    assert.throws(() => renderTerraformBuildSpec(buildspec.replaceAll(TERRAFORM_SCRIPT_COMMAND, 'echo nothing'), script), TerraformDriverError);
    assert.throws(() => renderTerraformBuildSpec(buildspec, `${script}\nGANTRY_TERRAFORM_DEPLOY_SCRIPT\n`), TerraformDriverError);
  });
});
