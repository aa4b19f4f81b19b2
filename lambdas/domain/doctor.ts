/**
 * `gantry doctor`: is this account ready for Gantry? The checks are decided here, from facts already read
 * (cli/commands/doctor.ts reads them through a DoctorReader: AWS in cli/backends/doctor-aws.ts, the local cloud in
 * cli/backends/doctor-local.ts). Pure: no AWS SDK, no clock, no I/O.
 *
 * Each check ends `pass` (✓), `fail` (✗, with the fix), `skip` (–: not applicable, or nothing doctor can read
 * decides it; the message says which) or `error` (!: the read failed, so the check could not be made).
 */
import {
  ACCESS_POLICY_FOR,
  ACCESS_ROLE_LABELS,
  ACCESS_ROLE_OUTPUTS,
  type AccessRequirement,
  type AccessRole,
  accessPolicyName,
  accessRequirements,
  POLICIES_GRANTING,
} from './access-entries';
import { type GantryConfig, stageClusters } from './config';
import { isKmsKeyRef } from './image/signature';
import { type TagMutabilityFilter, wildcardMatches } from './image/tag-mutability';

/** A read that either answered or failed; `error` names the call and the AWS error. */
export type Fact<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

export const CHECK_STATUSES = ['pass', 'fail', 'skip', 'error'] as const;
export type CheckStatus = (typeof CHECK_STATUSES)[number];

export const CHECK_IDS = [
  'stack',
  'cluster.exists',
  'cluster.authentication-mode',
  'cluster.region',
  'cluster.endpoint',
  'access-entry',
  'repository.exists',
  'repository.tag-immutability',
  'repository.scanning',
  'alarm',
  'cloudtrail',
  'signing-key',
] as const;
export type CheckId = (typeof CHECK_IDS)[number];

export interface DoctorCheck {
  readonly id: CheckId;
  /** What was checked: a cluster, `cluster/role`, a repository, an alarm, a key ARN. */
  readonly subject: string;
  readonly status: CheckStatus;
  /** What was found, in words. */
  readonly message: string;
  /** What to do about a `fail` (a command where there is one). */
  readonly fix?: string;
}

// ------------------------------------------------------------------ facts

/** EKS DescribeCluster, the parts doctor reads. */
export interface ClusterFacts {
  readonly status: string;
  /** `accessConfig.authenticationMode`; absent on clusters that predate access entries (CONFIG_MAP). */
  readonly authenticationMode?: string;
  readonly endpointPublicAccess: boolean;
  readonly endpointPrivateAccess: boolean;
  readonly publicAccessCidrs: readonly string[];
}

export interface AccessPolicyAssociation {
  readonly policyArn: string;
  /** `cluster` or `namespace`. */
  readonly scopeType: string;
  readonly namespaces: readonly string[];
}

/** EKS DescribeAccessEntry and ListAssociatedAccessPolicies of one principal. */
export interface AccessEntryFacts {
  readonly principalArn: string;
  readonly type?: string;
  readonly kubernetesGroups: readonly string[];
  readonly policies: readonly AccessPolicyAssociation[];
}

/** ECR DescribeRepositories. */
export interface RepositoryFacts {
  readonly tagMutability: string;
  readonly exclusionFilters: readonly TagMutabilityFilter[];
  /** `imageScanningConfiguration.scanOnPush` (basic scanning). */
  readonly scanOnPush: boolean;
}

/** ECR GetRegistryScanningConfiguration. */
export interface RegistryScanningFacts {
  /** BASIC or ENHANCED (Amazon Inspector). */
  readonly scanType: string;
  readonly rules: ReadonlyArray<{ readonly scanFrequency: string; readonly filters: readonly TagMutabilityFilter[] }>;
}

/** CloudWatch DescribeAlarms. */
export interface AlarmFacts {
  readonly name: string;
  readonly state: string;
  readonly updatedAt?: string;
}

export interface FieldSelector {
  readonly field: string;
  readonly equals?: readonly string[];
  readonly notEquals?: readonly string[];
}

/** CloudTrail GetEventSelectors: basic selectors, or advanced ones. */
export interface EventSelectorsFacts {
  readonly basic: ReadonlyArray<{ readonly includeManagementEvents?: boolean; readonly readWriteType?: string }>;
  readonly advanced: ReadonlyArray<{ readonly name?: string; readonly fieldSelectors: readonly FieldSelector[] }>;
}

/** One trail of CloudTrail DescribeTrails, with GetTrailStatus and GetEventSelectors. */
export interface TrailFacts {
  readonly name: string;
  readonly homeRegion?: string;
  readonly multiRegion: boolean;
  readonly logging: Fact<boolean>;
  readonly selectors: Fact<EventSelectorsFacts>;
}

/** KMS DescribeKey. */
export interface KeyFacts {
  readonly keyUsage?: string;
  readonly keySpec?: string;
  readonly keyState?: string;
}

/** A deployed stack: its outputs and workflows (Step Functions DescribeStateMachine). */
export interface StackFacts {
  readonly name: string;
  /** Role outputs the stack lacks (an older Gantry). */
  readonly missingOutputs: readonly string[];
  readonly workflows: Fact<ReadonlyArray<{ readonly name: string; readonly arn: string; readonly status?: string }>>;
}

/** Everything read, keyed as `doctorPlan` names it. */
export interface DoctorFacts {
  /** By cluster key; undefined value: no such cluster. */
  readonly clusters: Readonly<Record<string, Fact<ClusterFacts | undefined>>>;
  /** ListAccessEntries by cluster key: the principal ARNs with an entry. */
  readonly accessEntryLists: Readonly<Record<string, Fact<readonly string[]>>>;
  /** By `entryKey(clusterKey, principalArn)`; undefined value: no entry. */
  readonly accessEntries: Readonly<Record<string, Fact<AccessEntryFacts | undefined>>>;
  /** By repository name; undefined value: no such repository. */
  readonly repositories: Readonly<Record<string, Fact<RepositoryFacts | undefined>>>;
  readonly registryScanning: Fact<RegistryScanningFacts>;
  /** The alarms found (absent names do not exist). */
  readonly alarms: Fact<readonly AlarmFacts[]>;
  readonly trails: Fact<readonly TrailFacts[]>;
  /** By key ARN; undefined value: no such key. */
  readonly keys: Readonly<Record<string, Fact<KeyFacts | undefined>>>;
}

export interface DoctorInput {
  readonly config: GantryConfig;
  /** The region Gantry runs in (the stack's; the ECR repositories', alarms' and trail's). */
  readonly region: string;
  /** The role ARNs by role (from the stack outputs); undefined before the deploy, when they do not exist yet. */
  readonly roles: Partial<Record<AccessRole, string>> | undefined;
  /** A deployed stack's own state (absent before a deploy and for a local Gantry). */
  readonly stack?: StackFacts;
  readonly facts: DoctorFacts;
}

export const entryKey = (clusterKey: string, principalArn: string) => `${clusterKey} ${principalArn}`;

// ------------------------------------------------------------------ the plan

export interface DoctorPlan {
  /** Clusters the stages use, by key. */
  readonly clusters: ReadonlyArray<{ readonly key: string; readonly name: string; readonly region: string }>;
  /**
   * Clusters in another account (`clusters.<key>.account`, decision 045): doctor reads with the caller's credentials in
   * Gantry's account, so it does not read them; each gets a `skip` naming where to check it.
   */
  readonly otherAccountClusters: ReadonlyArray<{ readonly key: string; readonly name: string; readonly region: string; readonly account: string; readonly roleArn?: string }>;
  readonly requirements: readonly AccessRequirement[];
  readonly repositories: readonly string[];
  readonly alarms: readonly string[];
  /** KMS key ARNs of signing.keys. */
  readonly keys: readonly string[];
}

/** What doctor must read for a config. */
export function doctorPlan(config: GantryConfig): DoctorPlan {
  const used = new Set(Object.values(config.services).flatMap((s) => s.stages.flatMap((st) => stageClusters(st))));
  const usedClusters = Object.entries(config.clusters).filter(([key]) => used.has(key));
  const elsewhere = new Set(usedClusters.filter(([, c]) => c.account !== undefined).map(([key]) => key));
  return {
    clusters: usedClusters.filter(([key]) => !elsewhere.has(key)).map(([key, c]) => ({ key, name: c.name, region: c.region })),
    otherAccountClusters: usedClusters
      .filter(([key]) => elsewhere.has(key))
      .map(([key, c]) => ({ key, name: c.name, region: c.region, account: c.account as string, ...(c.roleArn ? { roleArn: c.roleArn } : {}) })),
    // The access entries of a cluster in another account are the companion stack's (its target role), not Gantry's roles.
    requirements: accessRequirements(config).filter((r) => !elsewhere.has(r.clusterKey)),
    repositories: [...new Set(Object.values(config.services).map((s) => s.repository))],
    // A stage's alarms are read where its clusters are (decision 045): here, those of stages with a cluster in this account.
    alarms: [...new Set(Object.values(config.services).flatMap((s) => s.stages.filter((st) => stageClusters(st).some((k) => !elsewhere.has(k))).flatMap((st) => st.alarms)))],
    keys: [...new Set(Object.values(config.signing.keys).filter(isKmsKeyRef))],
  };
}

// ------------------------------------------------------------------ the checks

const list = (xs: readonly string[]) => xs.join(', ');

/** Every check, in the order they are printed: stack, clusters (and their access entries), repositories, alarms, trail, keys. */
export function evaluateDoctor(input: DoctorInput): DoctorCheck[] {
  const plan = doctorPlan(input.config);
  const checks: DoctorCheck[] = [];
  if (input.stack) checks.push(stackCheck(input.stack));
  for (const c of plan.clusters)
    checks.push(
      ...clusterChecks(
        input,
        c,
        plan.requirements.filter((r) => r.clusterKey === c.key),
      ),
    );
  for (const c of plan.otherAccountClusters)
    checks.push({
      id: 'cluster.exists',
      subject: `${c.name} (${c.region}, account ${c.account})`,
      status: 'skip',
      message: `in account ${c.account}: Gantry reaches it as ${c.roleArn ?? 'its roleArn'}; doctor reads only Gantry's own account, so the cluster, its access entries and its alarms are not checked from here`,
      fix: `in account ${c.account}, deploy the companion stack (GantryTargetAccount, docs/deploying.md) and check there: aws eks describe-cluster --name ${c.name} --region ${c.region}`,
    });
  for (const repository of plan.repositories) checks.push(...repositoryChecks(input, repository));
  checks.push(...alarmChecks(input, plan.alarms));
  checks.push(trailCheck(input));
  checks.push(...keyChecks(input));
  return checks;
}

/** 0 when every check holds (skips allowed), 1 when one fails, 4 when one could not be read (cli/backends/backend.ts EXIT). */
export function doctorExitCode(checks: readonly DoctorCheck[]): 0 | 1 | 4 {
  if (checks.some((c) => c.status === 'error')) return 4;
  return checks.some((c) => c.status === 'fail') ? 1 : 0;
}

function stackCheck(stack: StackFacts): DoctorCheck {
  const subject = stack.name;
  if (!stack.workflows.ok) return { id: 'stack', subject, status: 'error', message: stack.workflows.error };
  const inactive = stack.workflows.value.filter((w) => w.status !== 'ACTIVE');
  if (inactive.length > 0 || stack.missingOutputs.length > 0) {
    const problems = [
      ...inactive.map((w) => `the ${w.name} workflow ${w.arn} is ${w.status ?? 'missing'}`),
      ...(stack.missingOutputs.length ? [`no output ${list(stack.missingOutputs)} (an older Gantry)`] : []),
    ];
    return {
      id: 'stack',
      subject,
      status: 'fail',
      message: `stack ${subject}: ${problems.join('; ')}`,
      fix: 'deploy this version of Gantry: npx cdk deploy -c config=<your config>',
    };
  }
  return {
    id: 'stack',
    subject,
    status: 'pass',
    message: `stack ${subject}: ${stack.workflows.value.map((w) => `${w.name} workflow ACTIVE`).join(', ')}; every role output present`,
  };
}

/** The drivers that reach a cluster's API, for messages: `helm (payments/dev), kubernetes (…)`. */
function driversOn(config: GantryConfig, clusterKey: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [service, svc] of Object.entries(config.services)) {
    for (const st of svc.stages.filter((s) => stageClusters(s).includes(clusterKey))) out.set(st.deploy.driver, [...(out.get(st.deploy.driver) ?? []), `${service}/${st.name}`]);
  }
  return out;
}

function clusterChecks(input: DoctorInput, c: DoctorPlan['clusters'][number], requirements: readonly AccessRequirement[]): DoctorCheck[] {
  const subject = `${c.name} (${c.region})`;
  const where = `clusters.${c.key}`;
  const fact = input.facts.clusters[c.key];
  const out: DoctorCheck[] = [];
  const cfg = input.config.clusters[c.key];
  const drivers = driversOn(input.config, c.key);
  const workflowsCall = drivers.has('kubernetes') || requirements.some((r) => r.role === 'insightWorkflow');

  // Region: CloudFormation creates access entries in the stack's region; the workflows describe clusters in their own.
  const regionReasons = [...(cfg?.accessEntries === 'create' ? ['accessEntries "create": the stack creates the entries in its own region'] : [])];
  const regionCheck: DoctorCheck[] =
    regionReasons.length === 0
      ? []
      : [
          c.region === input.region
            ? { id: 'cluster.region', subject, status: 'pass', message: `in ${input.region}, Gantry's region (${regionReasons.join('; ')})` }
            : {
                id: 'cluster.region',
                subject,
                status: 'fail',
                message: `${c.name} is in ${c.region}, but Gantry runs in ${input.region} (${regionReasons.join('; ')})`,
                fix: `deploy Gantry in ${c.region}, or (for access entries) set ${where}.accessEntries to "document" and create them in ${c.region} yourself`,
              },
        ];

  if (!fact) return [{ id: 'cluster.exists', subject, status: 'error', message: `EKS DescribeCluster ${c.name} was not read` }, ...regionCheck];
  if (!fact.ok) return [{ id: 'cluster.exists', subject, status: 'error', message: fact.error }, ...regionCheck];
  const cluster = fact.value;
  if (!cluster) {
    out.push({
      id: 'cluster.exists',
      subject,
      status: 'fail',
      message: `no EKS cluster ${c.name} in ${c.region} (${where})`,
      fix: `create it, or correct ${where}.name / .region (aws eks list-clusters --region ${c.region} lists those there)`,
    });
    return [...out, ...regionCheck];
  }
  out.push(
    cluster.status === 'ACTIVE'
      ? { id: 'cluster.exists', subject, status: 'pass', message: 'ACTIVE' }
      : {
          id: 'cluster.exists',
          subject,
          status: 'fail',
          message: `${c.name} is ${cluster.status}, not ACTIVE: deploys to it fail`,
          fix: `wait until aws eks describe-cluster --name ${c.name} --region ${c.region} shows ACTIVE (or repair it)`,
        },
  );

  const mode = cluster.authenticationMode ?? 'CONFIG_MAP';
  out.push(
    mode === 'API' || mode === 'API_AND_CONFIG_MAP'
      ? { id: 'cluster.authentication-mode', subject, status: 'pass', message: `authentication mode ${mode} allows access entries` }
      : {
          id: 'cluster.authentication-mode',
          subject,
          status: 'fail',
          message: `authentication mode ${mode} does not allow access entries, so no Gantry role can be given access`,
          fix: `aws eks update-cluster-config --name ${c.name} --region ${c.region} --access-config authenticationMode=API_AND_CONFIG_MAP (keeps the aws-auth ConfigMap working; it cannot be undone)`,
        },
  );

  out.push(...regionCheck);
  out.push(endpointCheck(subject, c, cluster, drivers, workflowsCall));
  for (const r of requirements) out.push(accessEntryCheck(input, r));
  return out;
}

function endpointCheck(subject: string, c: DoctorPlan['clusters'][number], cluster: ClusterFacts, drivers: Map<string, string[]>, workflowsCall: boolean): DoctorCheck {
  const callers = [
    ...(drivers.has('helm') ? ['the Helm driver (CodeBuild, outside your VPC)'] : []),
    ...(drivers.has('terraform') ? ['the Terraform driver (CodeBuild), when its module reaches the cluster'] : []),
    ...(workflowsCall ? ['Step Functions eks:call (kubernetes driver, drift check)'] : []),
  ];
  if (cluster.endpointPublicAccess) {
    const open = cluster.publicAccessCidrs.length === 0 || cluster.publicAccessCidrs.includes('0.0.0.0/0');
    return {
      id: 'cluster.endpoint',
      subject,
      status: 'pass',
      message: open
        ? `the API endpoint is public, reachable by ${list(callers)}`
        : `the API endpoint is public, limited to ${list(cluster.publicAccessCidrs)}: the addresses of ${list(callers)} in ${c.region} must be among them (AWS ip-ranges.json)`,
    };
  }
  if (!workflowsCall && !drivers.has('helm')) {
    return {
      id: 'cluster.endpoint',
      subject,
      status: 'skip',
      message: `the API endpoint is private; only Terraform stages use ${c.name}, whose driver needs it only when the module reaches the cluster: then turn on public access, or give the Terraform driver's CodeBuild project a VpcConfig in the cluster's VPC (not set by Gantry's stack)`,
    };
  }
  const fixes = [
    `aws eks update-cluster-config --name ${c.name} --region ${c.region} --resources-vpc-config endpointPublicAccess=true,endpointPrivateAccess=true (add publicAccessCidrs=<CIDRs> to restrict it)`,
    ...(drivers.has('helm') || drivers.has('terraform')
      ? [
          "or, for the CodeBuild drivers only: give their projects a VpcConfig in the cluster's VPC (subnets with a route to the private endpoint, a security group the cluster security group allows on 443), which Gantry's stack does not set",
        ]
      : []),
    ...(workflowsCall ? ['Step Functions eks:call has no private alternative: it reaches public endpoints only'] : []),
  ];
  return { id: 'cluster.endpoint', subject, status: 'fail', message: `the API endpoint is private only: ${list(callers)} cannot reach it`, fix: fixes.join('; ') };
}

/** Whether an association grants `level` in `namespace`. */
function covers(p: AccessPolicyAssociation, level: AccessRequirement['level'], namespace: string): boolean {
  const name = accessPolicyName(p.policyArn);
  if (!name || !POLICIES_GRANTING[level].includes(name)) return false;
  return p.scopeType === 'cluster' || (p.scopeType === 'namespace' && p.namespaces.includes(namespace));
}

function createCommands(r: AccessRequirement, principal: string, uncovered: readonly string[], createEntry: boolean): string {
  const policy = ACCESS_POLICY_FOR[r.level];
  return [
    ...(createEntry ? [`aws eks create-access-entry --cluster-name ${r.clusterName} --region ${r.region} --principal-arn ${principal} --type STANDARD`] : []),
    `aws eks associate-access-policy --cluster-name ${r.clusterName} --region ${r.region} --principal-arn ${principal} --policy-arn arn:aws:eks::aws:cluster-access-policy/${policy} --access-scope type=namespace,namespaces=${uncovered.join(',')}`,
  ].join(' && ');
}

function accessEntryCheck(input: DoctorInput, r: AccessRequirement): DoctorCheck {
  const subject = `${r.clusterName}/${r.role}`;
  const who = ACCESS_ROLE_LABELS[r.role];
  const need = `${ACCESS_POLICY_FOR[r.level]} in ${list(r.namespaces)} (${r.stages.join(', ')})`;
  if (input.roles === undefined) {
    return {
      id: 'access-entry',
      subject,
      status: 'skip',
      message:
        r.mode === 'create'
          ? `${who} needs ${need}: the stack creates its access entry (clusters.${r.clusterKey}.accessEntries "create"); run gantry doctor after the deploy`
          : `${who} needs ${need}: create its access entry after the deploy (the role ARN is the stack output ${ACCESS_ROLE_OUTPUTS[r.role]}), or set clusters.${r.clusterKey}.accessEntries to "create"`,
    };
  }
  const principal = input.roles[r.role];
  if (!principal) {
    return {
      id: 'access-entry',
      subject,
      status: 'fail',
      message: `${who} needs ${need}, but the stack has no output ${ACCESS_ROLE_OUTPUTS[r.role]}`,
      fix: 'deploy this version of Gantry (npx cdk deploy), then run gantry doctor again',
    };
  }
  const listed = input.facts.accessEntryLists[r.clusterKey];
  if (!listed) return { id: 'access-entry', subject, status: 'error', message: `EKS ListAccessEntries ${r.clusterName} was not read` };
  if (!listed.ok) return { id: 'access-entry', subject, status: 'error', message: listed.error };
  const byStack = r.mode === 'create' ? ' (the stack creates it: was the deploy of this config completed?)' : '';
  if (!listed.value.includes(principal)) {
    if (r.optional) {
      return {
        id: 'access-entry',
        subject,
        status: 'skip',
        message: `${who} has no access entry on ${r.clusterName}: needed only when the Terraform module of ${r.stages.join(', ')} reaches the cluster with the kubernetes or helm provider through the driver's credentials; then: ${createCommands(r, principal, r.namespaces, true)}`,
      };
    }
    return {
      id: 'access-entry',
      subject,
      status: 'fail',
      message: `${who} (${principal}) has no access entry on ${r.clusterName}${byStack}; it needs ${need}`,
      fix: r.mode === 'create' ? `deploy the stack (npx cdk deploy), or: ${createCommands(r, principal, r.namespaces, true)}` : createCommands(r, principal, r.namespaces, true),
    };
  }
  const fact = input.facts.accessEntries[entryKey(r.clusterKey, principal)];
  if (!fact) return { id: 'access-entry', subject, status: 'error', message: `EKS DescribeAccessEntry ${r.clusterName} ${principal} was not read` };
  if (!fact.ok) return { id: 'access-entry', subject, status: 'error', message: fact.error };
  const entry = fact.value;
  if (!entry) {
    return {
      id: 'access-entry',
      subject,
      status: 'fail',
      message: `${who} (${principal}) has no access entry on ${r.clusterName}${byStack}; it needs ${need}`,
      fix: createCommands(r, principal, r.namespaces, true),
    };
  }
  if (entry.type !== undefined && entry.type !== 'STANDARD') {
    return {
      id: 'access-entry',
      subject,
      status: 'fail',
      message: `the access entry of ${who} on ${r.clusterName} is of type ${entry.type}: only STANDARD entries take access policies`,
      fix: `aws eks delete-access-entry --cluster-name ${r.clusterName} --region ${r.region} --principal-arn ${principal} && ${createCommands(r, principal, r.namespaces, true)}`,
    };
  }
  const uncovered = r.namespaces.filter((ns) => !entry.policies.some((p) => covers(p, r.level, ns)));
  if (uncovered.length === 0) {
    const granting = entry.policies.filter((p) => r.namespaces.some((ns) => covers(p, r.level, ns)));
    const named = granting.map((p) => `${accessPolicyName(p.policyArn)} (${p.scopeType === 'cluster' ? 'cluster-wide' : list(p.namespaces)})`);
    return { id: 'access-entry', subject, status: 'pass', message: `${who} has ${list(named)}, covering ${list(r.namespaces)}` };
  }
  if (entry.kubernetesGroups.length > 0) {
    return {
      id: 'access-entry',
      subject,
      status: 'skip',
      message: `${who} has an access entry, but no access policy covers ${list(uncovered)}; it names the Kubernetes groups ${list(entry.kubernetesGroups)}, whose RBAC doctor cannot read. Check it: kubectl auth can-i ${r.level === 'view' ? 'get' : 'update'} deployments -n ${uncovered[0]} --as <the role's username> --as-group ${entry.kubernetesGroups[0]}`,
    };
  }
  const has = entry.policies.length
    ? `it has ${list(entry.policies.map((p) => `${accessPolicyName(p.policyArn) ?? p.policyArn} (${p.scopeType === 'cluster' ? 'cluster-wide' : list(p.namespaces)})`))}`
    : 'it has no access policy';
  return {
    id: 'access-entry',
    subject,
    status: 'fail',
    message: `${who} cannot reach ${list(uncovered)} on ${r.clusterName}: ${has}; it needs ${need}`,
    fix: createCommands(r, principal, uncovered, false),
  };
}

function repositoryChecks(input: DoctorInput, repository: string): DoctorCheck[] {
  const services = Object.entries(input.config.services).filter(([, s]) => s.repository === repository);
  const [serviceName, svc] = services[0] as [string, GantryConfig['services'][string]];
  const fact = input.facts.repositories[repository];
  if (!fact) return [{ id: 'repository.exists', subject: repository, status: 'error', message: `ECR DescribeRepositories ${repository} was not read` }];
  if (!fact.ok) return [{ id: 'repository.exists', subject: repository, status: 'error', message: fact.error }];
  const repo = fact.value;
  if (!repo) {
    return [
      {
        id: 'repository.exists',
        subject: repository,
        status: 'fail',
        message: `no ECR repository ${repository} in ${input.region} (services.${serviceName}.repository): no push can start a release`,
        fix: `aws ecr create-repository --region ${input.region} --repository-name ${repository} --image-tag-mutability ${svc.imagePolicy.requireImmutableTags ? 'IMMUTABLE' : 'MUTABLE'} --image-scanning-configuration scanOnPush=true`,
      },
    ];
  }
  const out: DoctorCheck[] = [{ id: 'repository.exists', subject: repository, status: 'pass', message: `${repository} exists (services.${serviceName})` }];

  // Tag immutability against requireImmutableTags (image.immutable-tag, lambdas/domain/image/tag-mutability.ts).
  const filters = repo.exclusionFilters.map((f) => f.filter);
  if (!svc.imagePolicy.requireImmutableTags) {
    out.push({
      id: 'repository.tag-immutability',
      subject: repository,
      status: 'pass',
      message: `${repo.tagMutability}; services.${serviceName}.imagePolicy does not require immutable tags`,
    });
  } else if (repo.tagMutability === 'IMMUTABLE') {
    out.push({ id: 'repository.tag-immutability', subject: repository, status: 'pass', message: 'IMMUTABLE, as the image policy requires (requireImmutableTags)' });
  } else if (repo.tagMutability === 'IMMUTABLE_WITH_EXCLUSION' || repo.tagMutability === 'MUTABLE_WITH_EXCLUSION') {
    const which =
      repo.tagMutability === 'IMMUTABLE_WITH_EXCLUSION'
        ? `every tag but those matching ${list(filters) || '(no filter)'} is immutable`
        : `only tags matching ${list(filters) || '(no filter)'} are immutable`;
    out.push({
      id: 'repository.tag-immutability',
      subject: repository,
      status: 'pass',
      message: `${repo.tagMutability}: ${which}; image.immutable-tag refuses a release whose tag can be moved (tagPattern ${svc.tagPattern})`,
    });
  } else {
    out.push({
      id: 'repository.tag-immutability',
      subject: repository,
      status: 'fail',
      message: `${repo.tagMutability}, but services.${serviceName}.imagePolicy.requireImmutableTags is true: image.immutable-tag blocks every release of ${serviceName}`,
      fix: `aws ecr put-image-tag-mutability --region ${input.region} --repository-name ${repository} --image-tag-mutability IMMUTABLE`,
    });
  }

  // Scanning: image.scan runs for every stage and refuses an image with no scan (lambdas/domain/gates.ts evaluateScan).
  const reg = input.facts.registryScanning;
  if (!reg.ok) {
    out.push({ id: 'repository.scanning', subject: repository, status: 'error', message: reg.error });
    return out;
  }
  const rule = reg.value.rules.find(
    (r) => r.scanFrequency !== 'MANUAL' && r.filters.some((f) => f.filterType.toUpperCase() === 'WILDCARD' && wildcardMatches(f.filter, repository)),
  );
  if (reg.value.scanType === 'ENHANCED') {
    out.push(
      rule
        ? {
            id: 'repository.scanning',
            subject: repository,
            status: 'pass',
            message: `enhanced scanning (Amazon Inspector), ${rule.scanFrequency} by the registry rule ${list(rule.filters.map((f) => f.filter))}`,
          }
        : {
            id: 'repository.scanning',
            subject: repository,
            status: 'fail',
            message: `the registry uses enhanced scanning, but no rule scans ${repository}: image.scan refuses every image of ${serviceName} (no scan exists)`,
            fix: `add ${repository} to a rule of the registry scanning configuration: aws ecr put-registry-scanning-configuration --region ${input.region} --scan-type ENHANCED --rules '[{"scanFrequency":"SCAN_ON_PUSH","repositoryFilters":[{"filter":"${repository}","filterType":"WILDCARD"}]}]' (this replaces the existing rules: include them)`,
          },
    );
    return out;
  }
  if (rule || repo.scanOnPush) {
    out.push({
      id: 'repository.scanning',
      subject: repository,
      status: 'pass',
      message: `basic scanning on push (${rule ? `registry rule ${list(rule.filters.map((f) => f.filter))}` : 'repository scanOnPush'})`,
    });
  } else {
    out.push({
      id: 'repository.scanning',
      subject: repository,
      status: 'fail',
      message: `nothing scans ${repository} on push (basic scanning, no matching registry rule, scanOnPush off): image.scan refuses every image of ${serviceName}`,
      fix: `aws ecr put-image-scanning-configuration --region ${input.region} --repository-name ${repository} --image-scanning-configuration scanOnPush=true (or a registry scanning rule that matches it)`,
    });
  }
  return out;
}

function alarmChecks(input: DoctorInput, names: readonly string[]): DoctorCheck[] {
  if (names.length === 0) return [];
  const fact = input.facts.alarms;
  if (!fact.ok) return [{ id: 'alarm', subject: list(names), status: 'error', message: fact.error }];
  const stagesOf = (name: string) =>
    Object.entries(input.config.services).flatMap(([service, svc]) =>
      svc.stages.filter((st) => st.alarms.includes(name)).map((st) => ({ where: `${service}/${st.name}`, insufficientData: st.insufficientData })),
    );
  return names.map((name): DoctorCheck => {
    const stages = stagesOf(name);
    const used = stages.map((s) => s.where).join(', ');
    const alarm = fact.value.find((a) => a.name === name);
    if (!alarm) {
      return {
        id: 'alarm',
        subject: name,
        status: 'fail',
        message: `no CloudWatch alarm ${name} in ${input.region}: alarms.pre-deploy blocks every deploy of ${used} while it is missing`,
        fix: `create the alarm (aws cloudwatch put-metric-alarm --alarm-name ${name} …), or correct the name in the alarms of ${used}`,
      };
    }
    if (alarm.state === 'INSUFFICIENT_DATA') {
      const failing = stages.filter((s) => s.insufficientData === 'fail').map((s) => s.where);
      return {
        id: 'alarm',
        subject: name,
        status: 'fail',
        message: `${name} has reported no data${alarm.updatedAt ? ` since ${alarm.updatedAt}` : ''} (INSUFFICIENT_DATA): it cannot see a bad deploy${failing.length ? `, and ${failing.join(', ')} (insufficientData "fail") will not deploy` : ''}`,
        fix: `check the alarm's metric, namespace and dimensions (aws cloudwatch describe-alarms --alarm-names ${name}) and that the service emits it`,
      };
    }
    return { id: 'alarm', subject: name, status: 'pass', message: `${alarm.state}${alarm.updatedAt ? ` since ${alarm.updatedAt}` : ''} (${used})` };
  });
}

/** Event sources whose management write events Gantry reads from CloudTrail: ECR PutImage (the pusher) and Step Functions StartExecution (console starts). */
export const TRAIL_EVENT_SOURCES = ['ecr.amazonaws.com', 'states.amazonaws.com'] as const;

/** Whether a trail's selectors log the management write events of every source Gantry reads. */
export function logsManagementWrites(s: EventSelectorsFacts): boolean {
  if (s.basic.some((b) => (b.includeManagementEvents ?? true) && ['All', 'WriteOnly'].includes(b.readWriteType ?? 'All'))) return true;
  return s.advanced.some((a) => {
    const field = (name: string) => a.fieldSelectors.find((f) => f.field === name);
    const category = field('eventCategory');
    if (!category?.equals?.includes('Management')) return false;
    if (field('readOnly')?.equals?.every((v) => v === 'true')) return false;
    const source = field('eventSource');
    return TRAIL_EVENT_SOURCES.every((src) => (!source?.equals || source.equals.includes(src)) && !source?.notEquals?.includes(src));
  });
}

function trailCheck(input: DoctorInput): DoctorCheck {
  const subject = input.region;
  const fact = input.facts.trails;
  if (!fact.ok) return { id: 'cloudtrail', subject, status: 'error', message: fact.error };
  const create = `aws cloudtrail create-trail --region ${input.region} --name gantry-management-events --s3-bucket-name <a bucket with the CloudTrail bucket policy> --is-multi-region-trail && aws cloudtrail start-logging --region ${input.region} --name gantry-management-events`;
  const covering = fact.value.filter((t) => t.multiRegion || t.homeRegion === input.region);
  const problems: string[] = [];
  const errors: string[] = [];
  let fixOne: string | undefined;
  for (const t of covering) {
    if (!t.logging.ok || !t.selectors.ok) {
      errors.push(...(!t.logging.ok ? [t.logging.error] : []), ...(!t.selectors.ok ? [t.selectors.error] : []));
      continue;
    }
    const manages = logsManagementWrites(t.selectors.value);
    if (t.logging.value && manages) {
      return {
        id: 'cloudtrail',
        subject,
        status: 'pass',
        message: `trail ${t.name}${t.multiRegion ? ' (multi-region)' : ''} logs management write events in ${input.region} (ECR PutImage: who pushed; Step Functions StartExecution: who started)`,
      };
    }
    if (!t.logging.value) {
      problems.push(`trail ${t.name} is not logging`);
      fixOne ??= `aws cloudtrail start-logging --region ${t.homeRegion ?? input.region} --name ${t.name}`;
    }
    if (!manages) {
      problems.push(`trail ${t.name} does not log management write events of ${TRAIL_EVENT_SOURCES.join(' and ')}`);
      fixOne ??= `aws cloudtrail put-event-selectors --region ${t.homeRegion ?? input.region} --trail-name ${t.name} --event-selectors '[{"ReadWriteType":"All","IncludeManagementEvents":true}]' (this replaces its selectors: keep any data-event selectors)`;
    }
  }
  if (errors.length > 0) return { id: 'cloudtrail', subject, status: 'error', message: `no trail found to log management events; could not read: ${errors.join('; ')}` };
  const elsewhere = fact.value.filter((t) => !covering.includes(t)).map((t) => `${t.name} (${t.homeRegion ?? '?'} only)`);
  const found = problems.length ? problems.join('; ') : `no trail logs ${input.region}${elsewhere.length ? ` (${list(elsewhere)})` : ''}`;
  return {
    id: 'cloudtrail',
    subject,
    status: 'fail',
    message: `${found}: without a trail, pushes and console starts stay "unattributed (…)" and a stage that needs an approval can never be approved for them`,
    fix: fixOne ?? create,
  };
}

/** KMS key specs a cosign signature can be made with and image.signature verifies (lambdas/domain/image/signature.ts). */
export const SIGNING_KEY_SPECS = ['ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'RSA_2048', 'RSA_3072', 'RSA_4096'] as const;

function keyChecks(input: DoctorInput): DoctorCheck[] {
  return Object.entries(input.config.signing.keys).map(([name, ref]): DoctorCheck => {
    if (!isKmsKeyRef(ref)) return { id: 'signing-key', subject: name, status: 'skip', message: `signing.keys.${name} is a PEM public key in the config: nothing to check in AWS` };
    const subject = `${name} (${ref})`;
    const fact = input.facts.keys[ref];
    if (!fact) return { id: 'signing-key', subject, status: 'error', message: `KMS DescribeKey ${ref} was not read` };
    if (!fact.ok) return { id: 'signing-key', subject, status: 'error', message: fact.error };
    const key = fact.value;
    if (!key)
      return {
        id: 'signing-key',
        subject,
        status: 'fail',
        message: `no such KMS key: image.signature refuses every image that needs ${name}`,
        fix: `correct signing.keys.${name} (aws kms describe-key --key-id <alias or id> prints the key ARN), or create the key: aws kms create-key --key-usage SIGN_VERIFY --key-spec ECC_NIST_P256`,
      };
    const problems = [
      ...(key.keyState !== 'Enabled' ? [`it is ${key.keyState ?? 'in an unknown state'}, not Enabled`] : []),
      ...(key.keyUsage !== 'SIGN_VERIFY' ? [`its usage is ${key.keyUsage ?? 'unknown'}, not SIGN_VERIFY`] : []),
      ...(!SIGNING_KEY_SPECS.includes(key.keySpec as never)
        ? [`its spec ${key.keySpec ?? 'unknown'} is not an asymmetric key cosign signs with (${SIGNING_KEY_SPECS.join(', ')})`]
        : []),
    ];
    if (problems.length === 0) return { id: 'signing-key', subject, status: 'pass', message: `asymmetric ${key.keySpec} SIGN_VERIFY key, Enabled` };
    return {
      id: 'signing-key',
      subject,
      status: 'fail',
      message: `${problems.join('; ')}: image.signature cannot verify with it`,
      fix:
        key.keyState === 'Disabled' && problems.length === 1
          ? `aws kms enable-key --key-id ${ref}`
          : `point signing.keys.${name} at an asymmetric SIGN_VERIFY key: aws kms create-key --key-usage SIGN_VERIFY --key-spec ECC_NIST_P256`,
    };
  });
}
