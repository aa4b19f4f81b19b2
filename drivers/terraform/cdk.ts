/**
 * The Terraform driver: a CodeBuild project (no source) that runs `drivers/terraform/buildspec.yml`, with the
 * deploy script `drivers/terraform/deploy.sh` inlined into it, and the evidence bucket the
 * script writes each plan to.
 *
 * Its role may read the configured `deploy.source` objects, write under `evidence/` in the evidence
 * bucket and describe the clusters Terraform stages name — nothing else. What a module manages (its
 * backend, its resources) is granted by the operator, preferably by a role the module's provider and
 * backend assume (docs/drivers.md).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CfnElement, Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import { BuildEnvironmentVariableType, ComputeType, LinuxBuildImage, Project } from 'aws-cdk-lib/aws-codebuild';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership, StorageClass } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { DriverCdk } from '../../lib/drivers';
import { type GantryConfig, stageClusters } from '../../lambdas/domain/config';
import { driverTimeouts } from '../../lambdas/domain/release';
import { acknowledge, WILDCARD_REASONS } from '../../lib/acknowledge';
import { PROJECT_ROOT } from '../../lib/bundle';
import { inlineDriverScript, YamlTextBuildSpec } from '../buildspec';

// From the project root, not __dirname: the compiled package runs this file from dist/drivers/terraform/, and the
// buildspec and script ship as sources under drivers/terraform/ (decision 033).
export const TERRAFORM_BUILDSPEC_PATH = join(PROJECT_ROOT, 'drivers', 'terraform', 'buildspec.yml');
export const TERRAFORM_SCRIPT_PATH = join(PROJECT_ROOT, 'drivers', 'terraform', 'deploy.sh');
/** The buildspec command that the deployed buildspec replaces with the script itself. */
export const TERRAFORM_SCRIPT_COMMAND = 'bash drivers/terraform/deploy.sh';
const HEREDOC_DELIMITER = 'GANTRY_TERRAFORM_DEPLOY_SCRIPT';
/** The key prefix of every object the driver writes to the evidence bucket. */
export const EVIDENCE_PREFIX = 'evidence/';
/** The environment variable the project gives every build: the evidence bucket's name. */
export const EVIDENCE_BUCKET_VARIABLE = 'GANTRY_EVIDENCE_BUCKET';

export class TerraformDriverError extends Error {
  override readonly name = 'TerraformDriverError';
}

/**
 * The buildspec as deployed: `buildspec` with its one `- bash drivers/terraform/deploy.sh`
 * command replaced by a YAML literal block that writes `script` to a temporary file through a quoted
 * heredoc (nothing in it is expanded) and runs it with bash. Everything else is kept byte for byte.
 */
export function renderTerraformBuildSpec(buildspec: string, script: string): string {
  return inlineDriverScript({ buildspec, script, command: TERRAFORM_SCRIPT_COMMAND, delimiter: HEREDOC_DELIMITER, driver: 'Terraform', fail: (m) => new TerraformDriverError(m) });
}

/** `s3://bucket/key` → bucket and key (the config schema has validated the form). */
const S3_URI = /^s3:\/\/([a-z0-9.-]{3,63})\/([A-Za-z0-9._/-]+)$/;

export interface TerraformDriverProps {
  readonly config: GantryConfig;
  /** Encrypts build artifacts, the build log group and the evidence bucket. */
  readonly encryptionKey: IKey;
  readonly logRetention: RetentionDays;
  /** Applied to the log group, the evidence bucket and its access-log bucket. */
  readonly removalPolicy: RemovalPolicy;
}

export class TerraformDriver extends Construct {
  public readonly project: Project;
  /** The role builds run as. Give it what the modules manage (docs/drivers.md), and an EKS access entry where a module talks to a cluster. */
  public readonly role: Role;
  public readonly logGroup: LogGroup;
  /**
   * Every plan the driver made: `evidence/<release>/<stage>/<deploy|rollback>/{plan.json,plan.json.sha256,summary.json}`.
   * Versioned, encrypted with the Gantry key, never public, TLS only; old versions move to cheaper
   * storage and nothing expires.
   */
  public readonly evidenceBucket: Bucket;
  /** S3 server access logs of the evidence bucket: who read or wrote which piece of evidence. */
  public readonly accessLogsBucket: Bucket;
  /** The buildspec as deployed (terraform.yml with the driver script inlined). */
  public readonly buildSpecText: string;

  constructor(scope: Construct, id: string, props: TerraformDriverProps) {
    super(scope, id);
    // Server access logs are delivered under a bucket policy (logging.s3.amazonaws.com, this bucket and
    // account only), not the legacy log-delivery ACL. Set before any child exists, for this construct only.
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    const stack = Stack.of(this);
    const terraformStages = Object.values(props.config.services).flatMap((svc) => svc.stages.flatMap((st) => (st.deploy.driver === 'terraform' ? [st] : [])));

    this.buildSpecText = renderTerraformBuildSpec(readFileSync(TERRAFORM_BUILDSPEC_PATH, 'utf8'), readFileSync(TERRAFORM_SCRIPT_PATH, 'utf8'));

    // ---------------------------------------------------------------- evidence
    // Not logged itself (logging it into itself would log its own deliveries); cdk-nag's AwsSolutions-S1
    // counts a bucket that receives another bucket's access logs as compliant.
    this.accessLogsBucket = new Bucket(this, 'EvidenceAccessLogs', {
      // S3 delivers server access logs only to a bucket encrypted with S3-managed keys.
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      removalPolicy: props.removalPolicy,
    });
    this.evidenceBucket = new Bucket(this, 'Evidence', {
      versioned: true,
      encryption: BucketEncryption.KMS,
      encryptionKey: props.encryptionKey,
      bucketKeyEnabled: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'evidence-bucket/',
      removalPolicy: props.removalPolicy,
      lifecycleRules: [
        {
          id: 'OlderVersionsToColderStorage',
          // A re-run of a driver overwrites its evidence; the earlier version stays, in cheaper storage. Nothing expires.
          noncurrentVersionTransitions: [
            { storageClass: StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(30) },
            { storageClass: StorageClass.GLACIER_INSTANT_RETRIEVAL, transitionAfter: Duration.days(90) },
          ],
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
    });

    // ---------------------------------------------------------------- role and project
    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention,
      encryptionKey: props.encryptionKey,
      removalPolicy: props.removalPolicy,
    });
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('codebuild.amazonaws.com'),
      description: 'Gantry Terraform driver (CodeBuild). Reads the configured module sources, writes plan evidence.',
    });

    const sourceObjectArns = [
      ...new Set(
        terraformStages.flatMap((st) => {
          if (st.deploy.driver !== 'terraform') return [];
          const m = S3_URI.exec(st.deploy.source);
          if (!m) throw new TerraformDriverError(`deploy.source ${JSON.stringify(st.deploy.source)} of stage ${st.name} is not s3://bucket/key`);
          return [stack.formatArn({ service: 's3', region: '', account: '', resource: m[1] as string, resourceName: m[2] })];
        }),
      ),
    ].sort();
    if (sourceObjectArns.length > 0) {
      this.role.addToPolicy(new PolicyStatement({ sid: 'ReadConfiguredModuleSources', actions: ['s3:GetObject'], resources: sourceObjectArns }));
    }

    this.role.addToPolicy(
      new PolicyStatement({
        sid: 'WritePlanEvidence',
        actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
        resources: [this.evidenceBucket.arnForObjects(`${EVIDENCE_PREFIX}*`)],
      }),
    );
    const bucketLogicalId = stack.getLogicalId(this.evidenceBucket.node.defaultChild as CfnElement);
    acknowledge(
      this.role,
      `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/${EVIDENCE_PREFIX}*]`,
      'Evidence keys are named per release, stage and kind at run time; the grant is write-only (no read, no delete, no version delete) and limited to the evidence/ prefix of the evidence bucket, which is versioned.',
    );

    const clusterArns = [...new Set(terraformStages.flatMap((st) => stageClusters(st)))].sort().flatMap((key) => {
      const cluster = props.config.clusters[key];
      return cluster ? [stack.formatArn({ service: 'eks', region: cluster.region, resource: 'cluster', resourceName: cluster.name })] : [];
    });
    if (clusterArns.length > 0) {
      this.role.addToPolicy(new PolicyStatement({ sid: 'DescribeConfiguredClusters', actions: ['eks:DescribeCluster'], resources: clusterArns }));
    }

    // One formula for the build, queue and workflow task timeouts (lambdas/domain/release.ts driverTimeouts).
    const timeouts = driverTimeouts(props.config, 'terraform');
    this.project = new Project(this, 'Project', {
      description: 'Gantry Terraform driver: plan -out with the image pinned by digest, plan evidence, apply of that plan',
      role: this.role,
      buildSpec: new YamlTextBuildSpec(this.buildSpecText),
      environment: {
        buildImage: LinuxBuildImage.STANDARD_7_0,
        computeType: ComputeType.SMALL,
        privileged: false,
        environmentVariables: { [EVIDENCE_BUCKET_VARIABLE]: { type: BuildEnvironmentVariableType.PLAINTEXT, value: this.evidenceBucket.bucketName } },
      },
      encryptionKey: props.encryptionKey,
      logging: { cloudWatch: { logGroup: this.logGroup } },
      // The slowest Terraform stage (timeoutMinutes + two state-lock waits), plus start-up; the workflow's task waits longer.
      timeout: Duration.minutes(timeouts.buildMinutes),
      queuedTimeout: Duration.minutes(timeouts.queuedMinutes),
      grantReportGroupPermissions: false,
    });
    const projectLogicalId = stack.getLogicalId(this.project.node.defaultChild as CfnElement);
    acknowledge(
      this.role,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/codebuild/<${projectLogicalId}>:*]`,
      WILDCARD_REASONS.codeBuildDefaultLogGroup,
    );
    acknowledge(this.role, 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', WILDCARD_REASONS.kmsGrantActions);
    acknowledge(this.role, 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]', WILDCARD_REASONS.kmsGrantActions);
  }
}

export const cdk: DriverCdk = {
  create(scope, id, props) {
    const driver = new TerraformDriver(scope, id, props);
    return { construct: driver, project: driver.project, role: driver.role };
  },
};
