/**
 * `gantry doctor` against AWS: the DoctorReader (cli/commands/doctor.ts) over the SDK v3 clients of EKS
 * (@aws-sdk/client-eks), ECR, CloudWatch, CloudTrail (@aws-sdk/client-cloudtrail), KMS and Step Functions.
 * Read-only calls only. "Not found" answers become `undefined`; every other error is a DoctorReadError naming
 * the call, its target and the AWS error, which doctor reports on that check (exit 4).
 */
import { CloudTrailClient, DescribeTrailsCommand, GetEventSelectorsCommand, GetTrailStatusCommand } from '@aws-sdk/client-cloudtrail';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DescribeRepositoriesCommand, ECRClient, GetRegistryScanningConfigurationCommand } from '@aws-sdk/client-ecr';
import { DescribeAccessEntryCommand, DescribeClusterCommand, EKSClient, ListAccessEntriesCommand, ListAssociatedAccessPoliciesCommand } from '@aws-sdk/client-eks';
import { DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { DescribeStateMachineCommand, SFNClient } from '@aws-sdk/client-sfn';
import { CloudWatchAlarms } from '../../lambdas/adapters/cloudwatch';
import type {
  AccessEntryFacts,
  AlarmFacts,
  ClusterFacts,
  EventSelectorsFacts,
  Fact,
  KeyFacts,
  RegistryScanningFacts,
  RepositoryFacts,
  TrailFacts,
} from '../../lambdas/domain/doctor';
import type { DoctorReader } from './doctor-reader';

/** A read doctor could not make: the call, its target, the AWS error. */
export class DoctorReadError extends Error {
  override readonly name = 'DoctorReadError';
}

/** Not-found answers, by the operation's service. */
const NOT_FOUND = new Set(['ResourceNotFoundException', 'RepositoryNotFoundException', 'NotFoundException', 'StateMachineDoesNotExist', 'TrailNotFoundException']);
/** Pages read at most per listing (a guard against a service that never stops paging). */
const MAX_PAGES = 100;

/** The clients, by region where a call goes to the resource's own region (tests pass mocked ones). */
export interface DoctorAwsClients {
  readonly eks: (region: string) => EKSClient;
  readonly ecr: ECRClient;
  readonly cloudwatch: CloudWatchClient;
  readonly cloudtrail: (region: string) => CloudTrailClient;
  readonly kms: (region: string) => KMSClient;
  readonly sfn: SFNClient;
}

/** SDK clients with one config (region, profile, credentials), made once per region. */
export function doctorAwsClients(config: { readonly region: string; readonly profile?: string; readonly credentials?: unknown }): DoctorAwsClients & { destroy(): void } {
  const made: Array<{ destroy(): void }> = [];
  const base = { ...(config.profile ? { profile: config.profile } : {}), ...(config.credentials ? { credentials: config.credentials as never } : {}) };
  const perRegion = <C extends { destroy(): void }>(make: (region: string) => C) => {
    const byRegion = new Map<string, C>();
    return (region: string) => {
      let c = byRegion.get(region);
      if (!c) {
        c = make(region);
        byRegion.set(region, c);
        made.push(c);
      }
      return c;
    };
  };
  const own = <C extends { destroy(): void }>(c: C) => {
    made.push(c);
    return c;
  };
  return {
    eks: perRegion((region) => new EKSClient({ ...base, region })),
    ecr: own(new ECRClient({ ...base, region: config.region })),
    cloudwatch: own(new CloudWatchClient({ ...base, region: config.region })),
    cloudtrail: perRegion((region) => new CloudTrailClient({ ...base, region })),
    kms: perRegion((region) => new KMSClient({ ...base, region })),
    sfn: own(new SFNClient({ ...base, region: config.region })),
    destroy: () => {
      for (const c of made) c.destroy();
    },
  };
}

/** Run one call; not found → undefined, anything else → DoctorReadError naming it. */
async function read<T>(what: string, fn: () => Promise<T>, notFound: 'undefined' | 'throw' = 'undefined'): Promise<T | undefined> {
  try {
    return await fn();
  } catch (e) {
    const err = e as Error;
    if (notFound === 'undefined' && NOT_FOUND.has(err?.name)) return undefined;
    // A missing credential is not this call's problem: the command reports it once (cli/commands/doctor.ts).
    if (err?.name === 'CredentialsProviderError') throw e;
    throw new DoctorReadError(`${what}: ${err?.name ?? 'Error'}: ${err?.message ?? String(e)}`, { cause: e });
  }
}

/** Region of a KMS key ARN (`arn:aws:kms:<region>:…`). */
const arnRegion = (arn: string, fallback: string) => arn.split(':')[3] || fallback;

export class AwsDoctorReader implements DoctorReader {
  constructor(
    private readonly clients: DoctorAwsClients,
    /** Gantry's region: ECR, CloudWatch, CloudTrail and Step Functions are read there. */
    private readonly region: string,
  ) {}

  async describeCluster(name: string, region: string): Promise<ClusterFacts | undefined> {
    const out = await read(`EKS DescribeCluster ${name} (${region})`, () => this.clients.eks(region).send(new DescribeClusterCommand({ name })));
    const c = out?.cluster;
    if (!c) return undefined;
    return {
      status: c.status ?? 'UNKNOWN',
      ...(c.accessConfig?.authenticationMode ? { authenticationMode: c.accessConfig.authenticationMode } : {}),
      endpointPublicAccess: c.resourcesVpcConfig?.endpointPublicAccess === true,
      endpointPrivateAccess: c.resourcesVpcConfig?.endpointPrivateAccess === true,
      publicAccessCidrs: c.resourcesVpcConfig?.publicAccessCidrs ?? [],
    };
  }

  async listAccessEntries(cluster: string, region: string): Promise<string[]> {
    const out: string[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const page = await read(
        `EKS ListAccessEntries ${cluster} (${region})`,
        () => this.clients.eks(region).send(new ListAccessEntriesCommand({ clusterName: cluster, maxResults: 100, ...(nextToken ? { nextToken } : {}) })),
        'throw',
      );
      out.push(...(page?.accessEntries ?? []));
      nextToken = page?.nextToken;
      pages++;
    } while (nextToken && pages < MAX_PAGES);
    return out;
  }

  async describeAccessEntry(cluster: string, region: string, principalArn: string): Promise<AccessEntryFacts | undefined> {
    const eks = this.clients.eks(region);
    const out = await read(`EKS DescribeAccessEntry ${cluster} ${principalArn} (${region})`, () =>
      eks.send(new DescribeAccessEntryCommand({ clusterName: cluster, principalArn })),
    );
    const entry = out?.accessEntry;
    if (!entry) return undefined;
    const policies: AccessEntryFacts['policies'][number][] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const page = await read(`EKS ListAssociatedAccessPolicies ${cluster} ${principalArn} (${region})`, () =>
        eks.send(new ListAssociatedAccessPoliciesCommand({ clusterName: cluster, principalArn, maxResults: 100, ...(nextToken ? { nextToken } : {}) })),
      );
      for (const p of page?.associatedAccessPolicies ?? []) {
        if (p.policyArn) policies.push({ policyArn: p.policyArn, scopeType: p.accessScope?.type ?? 'cluster', namespaces: p.accessScope?.namespaces ?? [] });
      }
      nextToken = page?.nextToken;
      pages++;
    } while (nextToken && pages < MAX_PAGES);
    return { principalArn: entry.principalArn ?? principalArn, ...(entry.type ? { type: entry.type } : {}), kubernetesGroups: entry.kubernetesGroups ?? [], policies };
  }

  async describeRepository(name: string): Promise<RepositoryFacts | undefined> {
    const out = await read(`ECR DescribeRepositories ${name} (${this.region})`, () => this.clients.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] })));
    const repo = out?.repositories?.find((r) => r.repositoryName === name) ?? out?.repositories?.[0];
    if (!repo) return undefined;
    return {
      tagMutability: repo.imageTagMutability ?? 'MUTABLE',
      exclusionFilters: (repo.imageTagMutabilityExclusionFilters ?? []).map((f) => ({ filterType: f.filterType ?? 'WILDCARD', filter: f.filter ?? '' })),
      scanOnPush: repo.imageScanningConfiguration?.scanOnPush === true,
    };
  }

  async registryScanning(): Promise<RegistryScanningFacts> {
    const out = await read(`ECR GetRegistryScanningConfiguration (${this.region})`, () => this.clients.ecr.send(new GetRegistryScanningConfigurationCommand({})), 'throw');
    const cfg = out?.scanningConfiguration;
    return {
      scanType: cfg?.scanType ?? 'BASIC',
      rules: (cfg?.rules ?? []).map((r) => ({
        scanFrequency: r.scanFrequency ?? 'MANUAL',
        filters: (r.repositoryFilters ?? []).map((f) => ({ filterType: f.filterType ?? 'WILDCARD', filter: f.filter ?? '' })),
      })),
    };
  }

  async describeAlarms(names: readonly string[]): Promise<AlarmFacts[]> {
    const found = await read(`CloudWatch DescribeAlarms (${this.region})`, () => new CloudWatchAlarms(this.clients.cloudwatch).describeAlarms(names), 'throw');
    return (found ?? []).map((a) => ({ name: a.name, state: a.state, ...(a.updatedAt ? { updatedAt: a.updatedAt } : {}) }));
  }

  async trails(): Promise<TrailFacts[]> {
    const out = await read(
      `CloudTrail DescribeTrails (${this.region})`,
      () => this.clients.cloudtrail(this.region).send(new DescribeTrailsCommand({ includeShadowTrails: true })),
      'throw',
    );
    const trails: TrailFacts[] = [];
    for (const t of out?.trailList ?? []) {
      const name = t.Name ?? t.TrailARN ?? '?';
      const id = t.TrailARN ?? name;
      // A trail's status and selectors are read in its home region (a multi-region trail is listed in every region).
      const client = this.clients.cloudtrail(t.HomeRegion ?? this.region);
      const logging = await fact(() =>
        read(`CloudTrail GetTrailStatus ${name}`, () => client.send(new GetTrailStatusCommand({ Name: id })), 'throw').then((s) => s?.IsLogging === true),
      );
      const selectors = await fact(async (): Promise<EventSelectorsFacts> => {
        const s = await read(`CloudTrail GetEventSelectors ${name}`, () => client.send(new GetEventSelectorsCommand({ TrailName: id })), 'throw');
        return {
          basic: (s?.EventSelectors ?? []).map((b) => ({
            ...(b.IncludeManagementEvents !== undefined ? { includeManagementEvents: b.IncludeManagementEvents } : {}),
            ...(b.ReadWriteType ? { readWriteType: b.ReadWriteType } : {}),
          })),
          advanced: (s?.AdvancedEventSelectors ?? []).map((a) => ({
            ...(a.Name ? { name: a.Name } : {}),
            fieldSelectors: (a.FieldSelectors ?? []).map((f) => ({
              field: f.Field ?? '',
              ...(f.Equals ? { equals: f.Equals } : {}),
              ...(f.NotEquals ? { notEquals: f.NotEquals } : {}),
            })),
          })),
        };
      });
      trails.push({ name, ...(t.HomeRegion ? { homeRegion: t.HomeRegion } : {}), multiRegion: t.IsMultiRegionTrail === true, logging, selectors });
    }
    return trails;
  }

  async describeKey(arn: string): Promise<KeyFacts | undefined> {
    const out = await read(`KMS DescribeKey ${arn}`, () => this.clients.kms(arnRegion(arn, this.region)).send(new DescribeKeyCommand({ KeyId: arn })));
    const k = out?.KeyMetadata;
    if (!k) return undefined;
    return { ...(k.KeyUsage ? { keyUsage: k.KeyUsage } : {}), ...(k.KeySpec ? { keySpec: k.KeySpec } : {}), ...(k.KeyState ? { keyState: k.KeyState } : {}) };
  }

  async describeWorkflows(workflows: ReadonlyArray<{ readonly name: string; readonly arn: string }>): Promise<Array<{ name: string; arn: string; status?: string }>> {
    const out: Array<{ name: string; arn: string; status?: string }> = [];
    for (const w of workflows) {
      const r = await read(`Step Functions DescribeStateMachine ${w.arn}`, () => this.clients.sfn.send(new DescribeStateMachineCommand({ stateMachineArn: w.arn })));
      out.push({ name: w.name, arn: w.arn, ...(r?.status ? { status: r.status } : {}) });
    }
    return out;
  }
}

/** A read as a Fact: its value, or the error that names it. Credential failures are rethrown (reported once). */
export async function fact<T>(fn: () => Promise<T>): Promise<Fact<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    const err = e as Error;
    if (err?.name === 'CredentialsProviderError' || /Could not load credentials/.test(err?.message ?? '')) throw e;
    return { ok: false, error: err instanceof DoctorReadError ? err.message : `${err?.name ?? 'Error'}: ${err?.message ?? String(e)}` };
  }
}
