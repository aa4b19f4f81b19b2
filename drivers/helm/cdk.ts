/**
 * The Helm driver: a CodeBuild project (no source) that runs `drivers/helm/buildspec.yml`, with the deploy
 * script `drivers/helm/deploy.sh` inlined into it, against the EKS cluster a stage names.
 *
 * Its role may describe the configured clusters and pull OCI charts from the configured ECR chart
 * repositories — nothing else. Kubernetes access is NOT granted by IAM: each cluster needs an EKS
 * access entry for `role` (see docs/deploying.md).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CfnElement, Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import { ComputeType, LinuxBuildImage, Project } from 'aws-cdk-lib/aws-codebuild';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { DriverCdk } from '../../lib/drivers';
import { type GantryConfig, stageClusters } from '../../lambdas/domain/config';
import { driverTimeouts } from '../../lambdas/domain/release';
import { acknowledge, WILDCARD_REASONS } from '../../lib/acknowledge';
import { PROJECT_ROOT } from '../../lib/bundle';
import { inlineDriverScript, YamlTextBuildSpec } from '../buildspec';

// From the project root, not __dirname: the compiled package runs this file from dist/drivers/helm/, and the
// buildspec and script ship as sources under drivers/helm/ (decision 033).
export const HELM_BUILDSPEC_PATH = join(PROJECT_ROOT, 'drivers', 'helm', 'buildspec.yml');
export const HELM_SCRIPT_PATH = join(PROJECT_ROOT, 'drivers', 'helm', 'deploy.sh');
/** The buildspec command that the deployed buildspec replaces with the script itself. */
export const HELM_SCRIPT_COMMAND = 'bash drivers/helm/deploy.sh';
const HEREDOC_DELIMITER = 'GANTRY_HELM_DEPLOY_SCRIPT';

export class HelmDriverError extends Error {
  override readonly name = 'HelmDriverError';
}

/**
 * The buildspec as deployed: `buildspec` with its one `- bash drivers/helm/deploy.sh` command
 * replaced by a YAML literal block that writes `script` to a temporary file through a quoted heredoc
 * (nothing in it is expanded) and runs it with bash. Everything else in the buildspec is kept byte for byte.
 */
export function renderHelmBuildSpec(buildspec: string, script: string): string {
  return inlineDriverScript({ buildspec, script, command: HELM_SCRIPT_COMMAND, delimiter: HEREDOC_DELIMITER, driver: 'Helm', fail: (m) => new HelmDriverError(m) });
}

/** An OCI chart in an ECR registry: `oci://<account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>`. */
const ECR_CHART = /^oci:\/\/(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?\/(.+)$/;

export interface HelmDriverProps {
  readonly config: GantryConfig;
  /** Encrypts build artifacts and the build log group. */
  readonly encryptionKey: IKey;
  readonly logRetention: RetentionDays;
  /** Applied to the log group. */
  readonly removalPolicy: RemovalPolicy;
}

export class HelmDriver extends Construct {
  public readonly project: Project;
  /** The role builds run as. Give it an EKS access entry on every cluster a Helm stage deploys to. */
  public readonly role: Role;
  public readonly logGroup: LogGroup;
  /** The buildspec as deployed (helm.yml with the driver script inlined). */
  public readonly buildSpecText: string;

  constructor(scope: Construct, id: string, props: HelmDriverProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const helmStages = Object.values(props.config.services).flatMap((svc) => svc.stages.flatMap((st) => (st.deploy.driver === 'helm' ? [st] : [])));

    this.buildSpecText = renderHelmBuildSpec(readFileSync(HELM_BUILDSPEC_PATH, 'utf8'), readFileSync(HELM_SCRIPT_PATH, 'utf8'));
    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention,
      encryptionKey: props.encryptionKey,
      removalPolicy: props.removalPolicy,
    });
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('codebuild.amazonaws.com'),
      description: 'Gantry Helm driver (CodeBuild). Needs an EKS access entry on each cluster it deploys to.',
    });

    const clusterArns = [...new Set(helmStages.flatMap((st) => stageClusters(st)))].sort().flatMap((key) => {
      const cluster = props.config.clusters[key];
      return cluster ? [stack.formatArn({ service: 'eks', region: cluster.region, resource: 'cluster', resourceName: cluster.name })] : [];
    });
    if (clusterArns.length > 0) {
      this.role.addToPolicy(new PolicyStatement({ sid: 'DescribeConfiguredClusters', actions: ['eks:DescribeCluster'], resources: clusterArns }));
    }

    const chartRepositoryArns = [
      ...new Set(
        helmStages.flatMap((st) => {
          if (st.deploy.driver !== 'helm') return [];
          const m = ECR_CHART.exec(st.deploy.chart);
          return m ? [stack.formatArn({ service: 'ecr', account: m[1], region: m[2], resource: 'repository', resourceName: m[4] })] : [];
        }),
      ),
    ].sort();
    if (chartRepositoryArns.length > 0) {
      this.role.addToPolicy(
        new PolicyStatement({
          sid: 'PullConfiguredCharts',
          actions: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'],
          resources: chartRepositoryArns,
        }),
      );
      this.role.addToPolicy(new PolicyStatement({ sid: 'RegistryLogin', actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }));
      acknowledge(this.role, 'AwsSolutions-IAM5[Resource::*]', WILDCARD_REASONS.ecrAuthorizationToken);
    }

    // One formula for the build, queue and workflow task timeouts (lambdas/domain/release.ts driverTimeouts).
    const timeouts = driverTimeouts(props.config, 'helm');
    this.project = new Project(this, 'Project', {
      description: 'Gantry Helm driver: helm upgrade --install --atomic --wait with the image pinned by digest',
      role: this.role,
      buildSpec: new YamlTextBuildSpec(this.buildSpecText),
      environment: { buildImage: LinuxBuildImage.STANDARD_7_0, computeType: ComputeType.SMALL, privileged: false },
      encryptionKey: props.encryptionKey,
      logging: { cloudWatch: { logGroup: this.logGroup } },
      // The slowest Helm stage's upgrade and --atomic rollback (2 × --timeout), plus start-up; the workflow's task waits longer.
      timeout: Duration.minutes(timeouts.buildMinutes),
      queuedTimeout: Duration.minutes(timeouts.queuedMinutes),
      grantReportGroupPermissions: false,
    });
    const projectLogicalId = Stack.of(this).getLogicalId(this.project.node.defaultChild as CfnElement);
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
    const driver = new HelmDriver(scope, id, props);
    return { construct: driver, project: driver.project, role: driver.role };
  },
};
