/** The reads `gantry doctor` makes (cli/commands/doctor.ts), from AWS (doctor-aws.ts) or a local Gantry (doctor-local.ts). */
import type { AccessEntryFacts, AlarmFacts, ClusterFacts, KeyFacts, RegistryScanningFacts, RepositoryFacts, TrailFacts } from '../../lambdas/domain/doctor';

/** What doctor reads, from AWS or the local cloud. "Not found" is `undefined`; any other failure throws, naming the call. */
export interface DoctorReader {
  describeCluster(name: string, region: string): Promise<ClusterFacts | undefined>;
  /** The principal ARNs with an access entry on the cluster. */
  listAccessEntries(cluster: string, region: string): Promise<string[]>;
  /** One principal's entry with its associated access policies. */
  describeAccessEntry(cluster: string, region: string, principalArn: string): Promise<AccessEntryFacts | undefined>;
  describeRepository(name: string): Promise<RepositoryFacts | undefined>;
  registryScanning(): Promise<RegistryScanningFacts>;
  /** The alarms of these names that exist. */
  describeAlarms(names: readonly string[]): Promise<AlarmFacts[]>;
  /** The trails that Gantry's region sees, each with its status and selectors (or why they could not be read). */
  trails(): Promise<TrailFacts[]>;
  describeKey(arn: string): Promise<KeyFacts | undefined>;
  /** A deployed stack's workflows (Step Functions DescribeStateMachine). */
  describeWorkflows?(workflows: ReadonlyArray<{ readonly name: string; readonly arn: string }>): Promise<Array<{ name: string; arn: string; status?: string }>>;
}
