/**
 * The handlers' readers in other accounts and regions, over the local cloud (ports.ts `ScopedReaders`, issue 18):
 * a scope with a role is reached by assuming it first (the local STS refuses a role its IAM does not know), then
 * CloudWatch and EKS answer for the role's account in the scope's region; a scope without one is Gantry's own account.
 */
import type { AlarmReader, ClusterDescriber, MetricReader, ReadScope, ScopedReaders } from '../lambdas/ports';
import { ACCOUNT, type LocalCloud } from './cloud';

export class LocalScopedReaders implements ScopedReaders {
  constructor(private readonly cloud: LocalCloud) {}

  /** The account a scope's reads are made in: the assumed role's (checked by the local STS), or Gantry's own. */
  private accountOf(scope: ReadScope, sessionName: string): string {
    return scope.roleArn !== undefined ? this.cloud.assumeRole(scope.roleArn, sessionName).account : ACCOUNT;
  }

  alarmsIn(scope: ReadScope, sessionName: string): AlarmReader {
    return {
      describeAlarms: async (names) => this.cloud.alarmsIn({ account: this.accountOf(scope, sessionName), region: scope.region }).describeAlarms(names),
    };
  }

  metricsIn(scope: ReadScope, sessionName: string): MetricReader {
    return {
      // The local cloud keeps one set of metric series (the scenario's `metrics`): read after the role is assumed.
      getMetricData: async (queries, start, end) => {
        this.accountOf(scope, sessionName);
        return this.cloud.getMetricData(queries, start, end);
      },
    };
  }

  eksIn(scope: ReadScope, sessionName: string): ClusterDescriber {
    return { describeCluster: async (name) => this.cloud.describeEksCluster(name, this.accountOf(scope, sessionName), scope.region) };
  }
}
