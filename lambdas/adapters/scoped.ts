/**
 * Readers in a cluster's account and region (ports.ts `ScopedReaders`, decision 045): CloudWatch DescribeAlarms and
 * GetMetricData, EKS DescribeCluster. A scope with a `roleArn` (a cluster in another account) is read with that
 * role's temporary credentials (STS AssumeRole, the session named after the release, kept until 5 minutes before
 * they expire); a scope without one with the function's own credentials, in the cluster's region.
 *
 * One SDK client per (service, region, role, session) and Lambda container.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DescribeClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { ClusterAccessError, ClusterScopeError, SESSION_NAME_PATTERN } from '../domain/cluster-scope';
import { ROLE_ARN_PATTERN } from '../domain/config';
import type { AlarmReader, ClusterConnection, ClusterDescriber, MetricReader, ReadScope, ScopedReaders } from '../ports';
import { CloudWatchAlarms } from './cloudwatch';
import { CloudWatchMetrics } from './cloudwatch-metrics';
import { sdkClientConfig } from './retry';

/** The assumed role's session: 15 minutes (the least STS grants), renewed 5 minutes before it ends. */
export const ASSUMED_ROLE_SECONDS = 900;
const RENEW_BEFORE_MS = 5 * 60_000;

export { ClusterAccessError };

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}
export type CredentialProvider = () => Promise<AwsCredentials>;

/**
 * The temporary credentials of `roleArn` (AssumeRole through `sts`), cached until 5 minutes before they expire.
 * The ARN and session name are checked before the request; the credentials are never logged.
 */
export function assumedRoleCredentials(sts: STSClient, roleArn: string, sessionName: string, now: () => number = Date.now): CredentialProvider {
  if (!ROLE_ARN_PATTERN.test(roleArn)) throw new ClusterScopeError(`refusing to assume ${JSON.stringify(roleArn)} (expected ${ROLE_ARN_PATTERN.source})`);
  if (!SESSION_NAME_PATTERN.test(sessionName))
    throw new ClusterScopeError(`refusing the role session name ${JSON.stringify(sessionName)} (expected ${SESSION_NAME_PATTERN.source})`);
  let cached: AwsCredentials | undefined;
  return async () => {
    if (cached?.expiration && cached.expiration.getTime() - RENEW_BEFORE_MS > now()) return cached;
    let out;
    try {
      out = await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: sessionName, DurationSeconds: ASSUMED_ROLE_SECONDS }));
    } catch (e) {
      const err = e as Error;
      throw new ClusterAccessError(`could not assume ${roleArn}: ${err.name}: ${err.message}`, { cause: e });
    }
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey) throw new ClusterAccessError(`AssumeRole of ${roleArn} returned no credentials`);
    cached = {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}),
      ...(c.Expiration ? { expiration: c.Expiration } : {}),
    };
    return cached;
  };
}

/** eks:DescribeCluster over one EKS client. */
export class EksClusters implements ClusterDescriber {
  constructor(
    private readonly client: EKSClient,
    private readonly where: string,
  ) {}

  async describeCluster(name: string): Promise<ClusterConnection> {
    let out;
    try {
      out = await this.client.send(new DescribeClusterCommand({ name }));
    } catch (e) {
      const err = e as Error;
      throw new ClusterAccessError(`eks:DescribeCluster ${name} (${this.where}): ${err.name}: ${err.message}`, { cause: e });
    }
    const endpoint = out.cluster?.endpoint;
    const certificateAuthority = out.cluster?.certificateAuthority?.data;
    if (!endpoint || !certificateAuthority)
      throw new ClusterAccessError(`eks:DescribeCluster ${name} (${this.where}): no endpoint or certificate authority (status ${out.cluster?.status ?? 'unknown'})`);
    return { endpoint, certificateAuthority };
  }
}

/** The clients a scope is read with; tests give their own factories. */
export interface ScopedClientFactories {
  readonly sts: (region: string) => STSClient;
  readonly cloudwatch: (region: string, credentials?: CredentialProvider) => CloudWatchClient;
  readonly eks: (region: string, credentials?: CredentialProvider) => EKSClient;
}

export const DEFAULT_FACTORIES: ScopedClientFactories = {
  sts: (region) => new STSClient({ ...sdkClientConfig('sts'), region }),
  cloudwatch: (region, credentials) => new CloudWatchClient({ ...sdkClientConfig('cloudwatch'), region, ...(credentials ? { credentials } : {}) }),
  eks: (region, credentials) => new EKSClient({ ...sdkClientConfig('eks'), region, ...(credentials ? { credentials } : {}) }),
};

export class AwsScopedReaders implements ScopedReaders {
  private readonly cache = new Map<string, unknown>();

  constructor(private readonly factories: ScopedClientFactories = DEFAULT_FACTORIES) {}

  private credentials(scope: ReadScope, sessionName: string): CredentialProvider | undefined {
    if (scope.roleArn === undefined) return undefined;
    const roleArn = scope.roleArn;
    return this.once(`creds|${roleArn}|${sessionName}|${scope.region}`, () => assumedRoleCredentials(this.factories.sts(scope.region), roleArn, sessionName));
  }

  private once<T>(key: string, make: () => T): T {
    // A warm container serves many releases (one session each): keep the cache small.
    if (!this.cache.has(key) && this.cache.size >= 256) this.cache.clear();
    if (!this.cache.has(key)) this.cache.set(key, make());
    return this.cache.get(key) as T;
  }

  private key(kind: string, scope: ReadScope, sessionName: string): string {
    return `${kind}|${scope.region}|${scope.roleArn ?? ''}|${scope.roleArn ? sessionName : ''}`;
  }

  alarmsIn(scope: ReadScope, sessionName: string): AlarmReader {
    return this.once(this.key('alarms', scope, sessionName), () => new CloudWatchAlarms(this.factories.cloudwatch(scope.region, this.credentials(scope, sessionName))));
  }

  metricsIn(scope: ReadScope, sessionName: string): MetricReader {
    return this.once(this.key('metrics', scope, sessionName), () => new CloudWatchMetrics(this.factories.cloudwatch(scope.region, this.credentials(scope, sessionName))));
  }

  eksIn(scope: ReadScope, sessionName: string): ClusterDescriber {
    const where = `${scope.account ? `account ${scope.account}, ` : ''}region ${scope.region}${scope.roleArn ? ` as ${scope.roleArn}` : ''}`;
    return this.once(this.key('eks', scope, sessionName), () => new EksClusters(this.factories.eks(scope.region, this.credentials(scope, sessionName)), where));
  }
}
