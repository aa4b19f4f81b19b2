/**
 * `gantry doctor`'s checks (lambdas/domain/doctor.ts), from facts alone: an account where everything holds passes,
 * and each ✗ is reached by changing one fact, with the fix it names.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { ACCESS_POLICY_FOR, type AccessRole, accessPolicyArn } from '../../lambdas/domain/access-entries';
import { type GantryConfig, parseConfig } from '../../lambdas/domain/config';
import {
  type AccessEntryFacts,
  type CheckId,
  type DoctorCheck,
  type DoctorFacts,
  type DoctorInput,
  doctorExitCode,
  doctorPlan,
  entryKey,
  evaluateDoctor,
  type EventSelectorsFacts,
  logsManagementWrites,
  type TrailFacts,
} from '../../lambdas/domain/doctor';

const CHART = 'oci://111122223333.dkr.ecr.eu-west-2.amazonaws.com/charts/payments';
const KEY = 'arn:aws:kms:eu-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const ROLES: Record<AccessRole, string> = {
  helmDriver: 'arn:aws:iam::111122223333:role/Gantry-HelmDriverRole',
  terraformDriver: 'arn:aws:iam::111122223333:role/Gantry-TerraformDriverRole',
  releaseWorkflow: 'arn:aws:iam::111122223333:role/Gantry-ReleaseWorkflowRole',
  rollbackWorkflow: 'arn:aws:iam::111122223333:role/Gantry-RollbackWorkflowRole',
  insightWorkflow: 'arn:aws:iam::111122223333:role/Gantry-InsightWorkflowRole',
};

/** payments: Helm in dev, Kubernetes in prod (create); ledger: Terraform in prod; a KMS and a PEM signing key. */
function config(): GantryConfig {
  return parseConfig({
    services: {
      payments: {
        repository: 'payments-api',
        imagePolicy: { requireImmutableTags: true, requireSignature: { keys: ['kms-key'] } },
        stages: [
          { name: 'dev', cluster: 'dev', namespace: 'payments', deploy: { driver: 'helm', release: 'payments', chart: CHART, version: '1.2.0' }, alarms: ['payments-dev-5xx'] },
          {
            name: 'prod',
            cluster: 'prod',
            namespace: 'payments',
            deploy: { driver: 'kubernetes', deployment: 'payments-api', container: 'api' },
            alarms: ['payments-prod-5xx'],
            insufficientData: 'fail',
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
            deploy: { driver: 'terraform', source: 's3://tf-sources/ledger.zip', workdir: 'prod', imageVariable: 'image' },
            alarms: ['payments-prod-5xx'],
          },
        ],
      },
    },
    clusters: { dev: { name: 'dev-eks', region: 'eu-west-2' }, prod: { name: 'prod-eks', region: 'eu-west-2', accessEntries: 'create' } },
    signing: { keys: { 'kms-key': KEY, 'pem-key': '-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----' } },
  });
}

const ok = <T>(value: T) => ({ ok: true as const, value });
const failed = (error: string) => ({ ok: false as const, error });
const trail = (over: Partial<TrailFacts> = {}): TrailFacts => ({
  name: 'org-trail',
  homeRegion: 'eu-west-2',
  multiRegion: true,
  logging: ok(true),
  selectors: ok({ basic: [{ includeManagementEvents: true, readWriteType: 'All' }], advanced: [] }),
  ...over,
});

/** DoctorFacts that a test may change. */
interface MutableFacts {
  clusters: Record<string, DoctorFacts['clusters'][string]>;
  accessEntryLists: Record<string, DoctorFacts['accessEntryLists'][string]>;
  accessEntries: Record<string, DoctorFacts['accessEntries'][string]>;
  repositories: Record<string, DoctorFacts['repositories'][string]>;
  registryScanning: DoctorFacts['registryScanning'];
  alarms: DoctorFacts['alarms'];
  trails: DoctorFacts['trails'];
  keys: Record<string, DoctorFacts['keys'][string]>;
}

/** Facts of an account where every check holds: what the stack and a careful deployer leave behind. */
function healthy(cfg: GantryConfig): MutableFacts {
  const plan = doctorPlan(cfg);
  const accessEntryLists: Record<string, ReturnType<typeof ok<string[]>>> = {};
  const accessEntries: Record<string, ReturnType<typeof ok<AccessEntryFacts | undefined>>> = {};
  for (const c of plan.clusters) {
    const here = plan.requirements.filter((r) => r.clusterKey === c.key);
    accessEntryLists[c.key] = ok(here.map((r) => ROLES[r.role]));
    for (const r of here) {
      accessEntries[entryKey(c.key, ROLES[r.role])] = ok({
        principalArn: ROLES[r.role],
        type: 'STANDARD',
        kubernetesGroups: [],
        policies: [{ policyArn: accessPolicyArn(ACCESS_POLICY_FOR[r.level]), scopeType: 'namespace', namespaces: [...r.namespaces] }],
      });
    }
  }
  return {
    clusters: Object.fromEntries(
      plan.clusters.map((c) => [
        c.key,
        ok({ status: 'ACTIVE', authenticationMode: 'API_AND_CONFIG_MAP', endpointPublicAccess: true, endpointPrivateAccess: false, publicAccessCidrs: ['0.0.0.0/0'] }),
      ]),
    ),
    accessEntryLists,
    accessEntries,
    repositories: Object.fromEntries(plan.repositories.map((r) => [r, ok({ tagMutability: 'IMMUTABLE', exclusionFilters: [], scanOnPush: true })])),
    registryScanning: ok({ scanType: 'BASIC', rules: [] }),
    alarms: ok(plan.alarms.map((name) => ({ name, state: 'OK', updatedAt: '2026-11-20T08:00:00.000Z' }))),
    trails: ok([trail()]),
    keys: { [KEY]: ok({ keyUsage: 'SIGN_VERIFY', keySpec: 'ECC_NIST_P256', keyState: 'Enabled' }) },
  };
}

function run(change: (f: ReturnType<typeof healthy>, cfg: GantryConfig) => void = () => undefined, input: Partial<DoctorInput> = {}): DoctorCheck[] {
  const cfg = input.config ?? config();
  const facts = healthy(cfg);
  change(facts, cfg);
  return evaluateDoctor({ config: cfg, region: 'eu-west-2', roles: ROLES, facts, ...input });
}

const find = (checks: readonly DoctorCheck[], id: CheckId, subject?: string | RegExp) =>
  checks.filter((c) => c.id === id && (subject === undefined || (typeof subject === 'string' ? c.subject === subject : subject.test(c.subject))));
const only = (checks: readonly DoctorCheck[], id: CheckId, subject?: string | RegExp): DoctorCheck => {
  const found = find(checks, id, subject);
  assert.equal(found.length, 1, `one ${id} ${subject ?? ''} check, got ${JSON.stringify(found)}`);
  return found[0] as DoctorCheck;
};
const failures = (checks: readonly DoctorCheck[]) => checks.filter((c) => c.status !== 'pass' && c.status !== 'skip');

describe('gantry doctor: an account where everything holds', () => {
  it('passes every check and exits 0 (the Terraform entry and the PEM key are not AWS-checked failures)', () => {
    const checks = run();

    assert.deepEqual(failures(checks), []);
    assert.equal(doctorExitCode(checks), 0);
    assert.deepEqual([...new Set(checks.map((c) => c.id))].sort(), [
      'access-entry',
      'alarm',
      'cloudtrail',
      'cluster.authentication-mode',
      'cluster.endpoint',
      'cluster.exists',
      'cluster.region',
      'repository.exists',
      'repository.scanning',
      'repository.tag-immutability',
      'signing-key',
    ]);
  });

  it('checks each role that needs an entry on each cluster', () => {
    const subjects = find(run(), 'access-entry').map((c) => c.subject);

    assert.deepEqual(subjects, ['dev-eks/helmDriver', 'prod-eks/terraformDriver', 'prod-eks/releaseWorkflow', 'prod-eks/rollbackWorkflow', 'prod-eks/insightWorkflow']);
  });
});

describe('gantry doctor: clusters', () => {
  it('✗ a cluster that does not exist, naming the config path', () => {
    const c = only(
      run((f) => void (f.clusters.dev = ok(undefined))),
      'cluster.exists',
      /dev-eks/,
    );

    assert.equal(c.status, 'fail');
    assert.match(c.message, /no EKS cluster dev-eks in eu-west-2 \(clusters\.dev\)/);
    assert.match(c.fix ?? '', /correct clusters\.dev\.name/);
  });

  it('✗ a cluster that is not ACTIVE', () => {
    const c = only(
      run((f) => void (f.clusters.dev = ok({ status: 'CREATING', authenticationMode: 'API', endpointPublicAccess: true, endpointPrivateAccess: false, publicAccessCidrs: [] }))),
      'cluster.exists',
      /dev-eks/,
    );

    assert.equal(c.status, 'fail');
    assert.match(c.message, /CREATING, not ACTIVE/);
  });

  for (const mode of ['CONFIG_MAP', undefined]) {
    it(`✗ an authentication mode that does not allow access entries (${mode ?? 'absent: an older cluster'})`, () => {
      const c = only(
        run(
          (f) =>
            void (f.clusters.dev = ok({
              status: 'ACTIVE',
              ...(mode ? { authenticationMode: mode } : {}),
              endpointPublicAccess: true,
              endpointPrivateAccess: false,
              publicAccessCidrs: [],
            })),
        ),
        'cluster.authentication-mode',
        /dev-eks/,
      );

      assert.equal(c.status, 'fail');
      assert.match(c.message, /CONFIG_MAP does not allow access entries/);
      assert.equal(c.fix?.startsWith('aws eks update-cluster-config --name dev-eks --region eu-west-2 --access-config authenticationMode=API_AND_CONFIG_MAP'), true);
    });
  }

  it('✗ a "create" or Kubernetes cluster outside Gantry\'s region', () => {
    const c = only(run(undefined, { region: 'eu-west-1' }), 'cluster.region', /prod-eks/);

    assert.equal(c.status, 'fail');
    assert.match(c.message, /prod-eks is in eu-west-2, but Gantry runs in eu-west-1 \(accessEntries "create": [^;]*\)$/);
    assert.equal(find(run(undefined, { region: 'eu-west-1' }), 'cluster.region', /dev-eks/).length, 0, 'a document Helm cluster may be anywhere');
  });

  it('a Kubernetes cluster in another region of a "document" cluster passes: the plan describes it in its own region (decision 045)', () => {
    const raw = JSON.parse(JSON.stringify(config())) as Record<string, any>;
    delete raw.clusters.prod.accessEntries;
    assert.equal(find(run(undefined, { region: 'eu-west-1', config: parseConfig(raw) }), 'cluster.region', /prod-eks/).length, 0);
  });

  it('skips a cluster in another account, naming where to check it, and reads nothing of it from here (no access entries, no alarms of its stages)', () => {
    const raw = JSON.parse(JSON.stringify(config())) as Record<string, any>;
    raw.clusters.far = { name: 'far-eks', region: 'us-east-1', account: '222222222222', roleArn: 'arn:aws:iam::222222222222:role/gantry-target-Gantry' };
    raw.services.payments.stages.push({
      name: 'far',
      cluster: 'far',
      namespace: 'payments',
      deploy: { driver: 'kubernetes', deployment: 'payments-api', container: 'api' },
      alarms: ['payments-far-5xx'],
    });
    const cfg = parseConfig(raw);
    const plan = doctorPlan(cfg);
    assert.deepEqual(
      plan.clusters.map((c) => c.key),
      ['dev', 'prod'],
    );
    assert.equal(plan.requirements.filter((r) => r.clusterKey === 'far').length, 0);
    assert.ok(!plan.alarms.includes('payments-far-5xx'));
    const checks = run(undefined, { config: cfg });
    const c = only(checks, 'cluster.exists', /far-eks/);
    assert.equal(c.status, 'skip');
    assert.match(c.message, /^in account 222222222222: Gantry reaches it as arn:aws:iam::222222222222:role\/gantry-target-Gantry/);
    assert.match(c.fix ?? '', /GantryTargetAccount/);
    assert.equal(doctorExitCode(checks), 0);
  });

  it('✗ a private-only endpoint that the drivers and eks:call cannot reach, saying what the private alternative needs', () => {
    const checks = run((f) => {
      f.clusters.dev = ok({ status: 'ACTIVE', authenticationMode: 'API', endpointPublicAccess: false, endpointPrivateAccess: true, publicAccessCidrs: [] });
      f.clusters.prod = ok({ status: 'ACTIVE', authenticationMode: 'API', endpointPublicAccess: false, endpointPrivateAccess: true, publicAccessCidrs: [] });
    });
    const dev = only(checks, 'cluster.endpoint', /dev-eks/);
    const prod = only(checks, 'cluster.endpoint', /prod-eks/);

    assert.equal(dev.status, 'fail');
    assert.match(dev.fix ?? '', /endpointPublicAccess=true/);
    assert.match(dev.fix ?? '', /VpcConfig in the cluster's VPC/);
    assert.equal(prod.status, 'fail');
    assert.match(prod.fix ?? '', /eks:call has no private alternative/);
  });

  it('– a private endpoint of a cluster only Terraform stages use, and ✓ a public one limited by CIDRs (with a note)', () => {
    const cfg = parseConfig({ ...config(), services: { ledger: config().services.ledger }, signing: { keys: {} } } as never);
    const priv = only(
      run((f) => void (f.clusters.prod = ok({ status: 'ACTIVE', authenticationMode: 'API', endpointPublicAccess: false, endpointPrivateAccess: true, publicAccessCidrs: [] })), {
        config: cfg,
      }),
      'cluster.endpoint',
    );
    const limited = only(
      run(
        (f) =>
          void (f.clusters.dev = ok({
            status: 'ACTIVE',
            authenticationMode: 'API',
            endpointPublicAccess: true,
            endpointPrivateAccess: true,
            publicAccessCidrs: ['203.0.113.0/24'],
          })),
      ),
      'cluster.endpoint',
      /dev-eks/,
    );

    assert.equal(priv.status, 'skip');
    assert.match(priv.message, /only Terraform stages/);
    assert.equal(limited.status, 'pass');
    assert.match(limited.message, /limited to 203\.0\.113\.0\/24/);
  });

  it('! a cluster that could not be read, and exit 4', () => {
    const checks = run((f) => void (f.clusters.dev = failed('EKS DescribeCluster dev-eks (eu-west-2): AccessDeniedException: not authorized')));
    const c = only(checks, 'cluster.exists', /dev-eks/);

    assert.equal(c.status, 'error');
    assert.match(c.message, /AccessDeniedException/);
    assert.equal(find(checks, 'access-entry', /^dev-eks/).length, 0, 'nothing more is claimed about an unread cluster');
    assert.equal(doctorExitCode(checks), 4);
  });
});

describe('gantry doctor: access entries', () => {
  const withoutEntry = (clusterKey: string, role: AccessRole) => (f: ReturnType<typeof healthy>) => {
    const listed = f.accessEntryLists[clusterKey];
    if (listed?.ok) f.accessEntryLists[clusterKey] = ok(listed.value.filter((p) => p !== ROLES[role]));
  };
  const entry = (clusterKey: string, role: AccessRole, e: Partial<AccessEntryFacts>) => (f: ReturnType<typeof healthy>) => {
    const k = entryKey(clusterKey, ROLES[role]);
    const current = f.accessEntries[k];
    f.accessEntries[k] = ok({ ...(current?.ok ? (current.value as AccessEntryFacts) : { principalArn: ROLES[role], kubernetesGroups: [], policies: [] }), ...e });
  };

  it('✗ a role with no entry, with the commands that create it scoped to its namespaces', () => {
    const c = only(run(withoutEntry('dev', 'helmDriver')), 'access-entry', 'dev-eks/helmDriver');

    assert.equal(c.status, 'fail');
    assert.match(c.message, /Gantry-HelmDriverRole\) has no access entry on dev-eks/);
    assert.equal(
      c.fix,
      'aws eks create-access-entry --cluster-name dev-eks --region eu-west-2 --principal-arn arn:aws:iam::111122223333:role/Gantry-HelmDriverRole --type STANDARD && aws eks associate-access-policy --cluster-name dev-eks --region eu-west-2 --principal-arn arn:aws:iam::111122223333:role/Gantry-HelmDriverRole --policy-arn arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy --access-scope type=namespace,namespaces=payments',
    );
  });

  it('✗ a missing entry on a "create" cluster asks whether the deploy completed', () => {
    const c = only(run(withoutEntry('prod', 'releaseWorkflow')), 'access-entry', 'prod-eks/releaseWorkflow');

    assert.equal(c.status, 'fail');
    assert.match(c.message, /the stack creates it/);
    assert.match(c.fix ?? '', /^deploy the stack/);
  });

  it('– no entry for the Terraform driver: needed only when the module reaches the cluster', () => {
    const c = only(run(withoutEntry('prod', 'terraformDriver')), 'access-entry', 'prod-eks/terraformDriver');

    assert.equal(c.status, 'skip');
    assert.match(c.message, /only when the Terraform module of ledger\/prod reaches the cluster/);
  });

  it('✗ an access policy that does not cover the stage namespace, naming only what is missing', () => {
    const c = only(
      run(entry('dev', 'helmDriver', { policies: [{ policyArn: accessPolicyArn('AmazonEKSEditPolicy'), scopeType: 'namespace', namespaces: ['other'] }] })),
      'access-entry',
      'dev-eks/helmDriver',
    );

    assert.equal(c.status, 'fail');
    assert.match(c.message, /cannot reach payments on dev-eks: it has AmazonEKSEditPolicy \(other\)/);
    assert.match(c.fix ?? '', /^aws eks associate-access-policy .*namespaces=payments$/);
    assert.doesNotMatch(c.fix ?? '', /create-access-entry/);
  });

  it('✗ a view policy where the role writes', () => {
    const c = only(
      run(entry('prod', 'releaseWorkflow', { policies: [{ policyArn: accessPolicyArn('AmazonEKSViewPolicy'), scopeType: 'cluster', namespaces: [] }] })),
      'access-entry',
      'prod-eks/releaseWorkflow',
    );

    assert.equal(c.status, 'fail');
    assert.match(c.message, /needs AmazonEKSEditPolicy in payments/);
  });

  it('✓ a cluster-wide or broader policy covers the namespace', () => {
    const checks = run((f) => {
      entry('dev', 'helmDriver', { policies: [{ policyArn: accessPolicyArn('AmazonEKSClusterAdminPolicy'), scopeType: 'cluster', namespaces: [] }] })(f);
      entry('prod', 'insightWorkflow', { policies: [{ policyArn: accessPolicyArn('AmazonEKSEditPolicy'), scopeType: 'namespace', namespaces: ['payments'] }] })(f);
    });

    assert.equal(only(checks, 'access-entry', 'dev-eks/helmDriver').status, 'pass');
    assert.equal(only(checks, 'access-entry', 'prod-eks/insightWorkflow').status, 'pass');
  });

  it('✗ an entry that is not STANDARD (it cannot take access policies)', () => {
    const c = only(run(entry('dev', 'helmDriver', { type: 'EC2_LINUX' })), 'access-entry', 'dev-eks/helmDriver');

    assert.equal(c.status, 'fail');
    assert.match(c.message, /type EC2_LINUX/);
  });

  it('– an entry authorised through Kubernetes groups, whose RBAC doctor cannot read', () => {
    const c = only(run(entry('prod', 'releaseWorkflow', { kubernetesGroups: ['gantry-deployers'], policies: [] })), 'access-entry', 'prod-eks/releaseWorkflow');

    assert.equal(c.status, 'skip');
    assert.match(c.message, /gantry-deployers, whose RBAC doctor cannot read.*kubectl auth can-i update deployments -n payments/);
  });

  it('– before a deploy, says who creates each entry (the stack for "create", you for "document")', () => {
    const checks = run(undefined, { roles: undefined });

    assert.match(only(checks, 'access-entry', 'dev-eks/helmDriver').message, /create its access entry after the deploy \(the role ARN is the stack output HelmDriverRoleArn\)/);
    assert.match(only(checks, 'access-entry', 'prod-eks/releaseWorkflow').message, /the stack creates its access entry/);
    assert.ok(find(checks, 'access-entry').every((c) => c.status === 'skip'));
  });

  it('✗ a stack without the role output (an older Gantry)', () => {
    const { insightWorkflow: _, ...roles } = ROLES;
    const c = only(run(undefined, { roles }), 'access-entry', 'prod-eks/insightWorkflow');

    assert.equal(c.status, 'fail');
    assert.match(c.message, /no output ClusterAccessRoleArn/);
  });

  it('! entries that could not be listed', () => {
    const checks = run((f) => void (f.accessEntryLists.prod = failed('EKS ListAccessEntries prod-eks (eu-west-2): AccessDeniedException: denied')));

    assert.ok(find(checks, 'access-entry', /^prod-eks/).every((c) => c.status === 'error'));
    assert.equal(doctorExitCode(checks), 4);
  });
});

describe('gantry doctor: repositories', () => {
  it('✗ a repository that does not exist, with the command that makes it as the policy wants', () => {
    const c = only(
      run((f) => void (f.repositories['payments-api'] = ok(undefined))),
      'repository.exists',
      'payments-api',
    );

    assert.equal(c.status, 'fail');
    assert.match(
      c.fix ?? '',
      /aws ecr create-repository --region eu-west-2 --repository-name payments-api --image-tag-mutability IMMUTABLE --image-scanning-configuration scanOnPush=true/,
    );
    assert.equal(
      find(
        run((f) => void (f.repositories['payments-api'] = ok(undefined))),
        'repository.scanning',
        'payments-api',
      ).length,
      0,
    );
  });

  it('✗ a MUTABLE repository when the image policy requires immutable tags; ✓ when it does not', () => {
    const checks = run((f) => {
      f.repositories['payments-api'] = ok({ tagMutability: 'MUTABLE', exclusionFilters: [], scanOnPush: true });
      f.repositories['ledger-service'] = ok({ tagMutability: 'MUTABLE', exclusionFilters: [], scanOnPush: true });
    });
    const payments = only(checks, 'repository.tag-immutability', 'payments-api');

    assert.equal(payments.status, 'fail');
    assert.match(payments.fix ?? '', /put-image-tag-mutability .* --image-tag-mutability IMMUTABLE/);
    assert.equal(only(checks, 'repository.tag-immutability', 'ledger-service').status, 'pass');
  });

  it('✓ IMMUTABLE_WITH_EXCLUSION, naming the filters the gate will refuse', () => {
    const c = only(
      run(
        (f) =>
          void (f.repositories['payments-api'] = ok({
            tagMutability: 'IMMUTABLE_WITH_EXCLUSION',
            exclusionFilters: [{ filterType: 'WILDCARD', filter: 'latest' }],
            scanOnPush: true,
          })),
      ),
      'repository.tag-immutability',
      'payments-api',
    );

    assert.equal(c.status, 'pass');
    assert.match(c.message, /every tag but those matching latest is immutable/);
  });

  it('✗ nothing scans the repository on push (image.scan would refuse every image)', () => {
    const c = only(
      run((f) => void (f.repositories['payments-api'] = ok({ tagMutability: 'IMMUTABLE', exclusionFilters: [], scanOnPush: false }))),
      'repository.scanning',
      'payments-api',
    );

    assert.equal(c.status, 'fail');
    assert.match(c.fix ?? '', /put-image-scanning-configuration .*scanOnPush=true/);
  });

  it('✓ a basic registry rule that matches the repository replaces scanOnPush; a MANUAL rule does not', () => {
    const repos = (f: ReturnType<typeof healthy>) => void (f.repositories['payments-api'] = ok({ tagMutability: 'IMMUTABLE', exclusionFilters: [], scanOnPush: false }));
    const onPush = run((f) => {
      repos(f);
      f.registryScanning = ok({ scanType: 'BASIC', rules: [{ scanFrequency: 'SCAN_ON_PUSH', filters: [{ filterType: 'WILDCARD', filter: 'payments-*' }] }] });
    });
    const manual = run((f) => {
      repos(f);
      f.registryScanning = ok({ scanType: 'BASIC', rules: [{ scanFrequency: 'MANUAL', filters: [{ filterType: 'WILDCARD', filter: '*' }] }] });
    });

    assert.equal(only(onPush, 'repository.scanning', 'payments-api').status, 'pass');
    assert.equal(only(manual, 'repository.scanning', 'payments-api').status, 'fail');
  });

  it('✗ enhanced scanning whose rules miss the repository; ✓ one that matches it', () => {
    const missing = run(
      (f) => void (f.registryScanning = ok({ scanType: 'ENHANCED', rules: [{ scanFrequency: 'CONTINUOUS_SCAN', filters: [{ filterType: 'WILDCARD', filter: 'ledger-*' }] }] })),
    );

    assert.equal(only(missing, 'repository.scanning', 'payments-api').status, 'fail');
    assert.match(only(missing, 'repository.scanning', 'payments-api').fix ?? '', /--scan-type ENHANCED/);
    assert.equal(only(missing, 'repository.scanning', 'ledger-service').status, 'pass');
  });
});

describe('gantry doctor: alarms', () => {
  it('✗ an alarm the config names that does not exist, with the stages it blocks', () => {
    const c = only(
      run((f) => void (f.alarms = ok([{ name: 'payments-dev-5xx', state: 'OK' }]))),
      'alarm',
      'payments-prod-5xx',
    );

    assert.equal(c.status, 'fail');
    assert.match(c.message, /alarms\.pre-deploy blocks every deploy of payments\/prod, ledger\/prod/);
  });

  it('✗ an alarm with no recent data (INSUFFICIENT_DATA), naming the stages that will not deploy', () => {
    const c = only(
      run(
        (f) =>
          void (f.alarms = ok([
            { name: 'payments-dev-5xx', state: 'OK' },
            { name: 'payments-prod-5xx', state: 'INSUFFICIENT_DATA', updatedAt: '2026-11-01T00:00:00.000Z' },
          ])),
      ),
      'alarm',
      'payments-prod-5xx',
    );

    assert.equal(c.status, 'fail');
    assert.match(c.message, /no data since 2026-11-01T00:00:00.000Z.*and payments\/prod, ledger\/prod \(insufficientData "fail"\) will not deploy/);
  });

  it('✓ an alarm in ALARM has data (doctor is not a gate)', () => {
    assert.equal(
      only(
        run(
          (f) =>
            void (f.alarms = ok([
              { name: 'payments-dev-5xx', state: 'ALARM' },
              { name: 'payments-prod-5xx', state: 'OK' },
            ])),
        ),
        'alarm',
        'payments-dev-5xx',
      ).status,
      'pass',
    );
  });
});

describe('gantry doctor: CloudTrail', () => {
  const cloudtrail = (trails: TrailFacts[]) =>
    only(
      run((f) => void (f.trails = ok(trails))),
      'cloudtrail',
    );

  it('✗ no trail at all, with the commands that make one', () => {
    const c = cloudtrail([]);

    assert.equal(c.status, 'fail');
    assert.match(c.message, /no trail logs eu-west-2/);
    assert.match(c.fix ?? '', /create-trail .*--is-multi-region-trail && aws cloudtrail start-logging/);
  });

  it('✗ a trail of another region only', () => {
    const c = cloudtrail([trail({ name: 'us-only', homeRegion: 'us-east-1', multiRegion: false })]);

    assert.equal(c.status, 'fail');
    assert.match(c.message, /us-only \(us-east-1 only\)/);
  });

  it('✗ a trail that is not logging', () => {
    const c = cloudtrail([trail({ logging: ok(false) })]);

    assert.equal(c.status, 'fail');
    assert.equal(c.fix, 'aws cloudtrail start-logging --region eu-west-2 --name org-trail');
  });

  it('✗ a trail that logs only read-only management events', () => {
    const c = cloudtrail([trail({ selectors: ok({ basic: [{ includeManagementEvents: true, readWriteType: 'ReadOnly' }], advanced: [] }) })]);

    assert.equal(c.status, 'fail');
    assert.match(c.fix ?? '', /put-event-selectors/);
  });

  it('! a trail whose selectors could not be read, when no other trail passes', () => {
    const c = cloudtrail([trail({ selectors: failed('CloudTrail GetEventSelectors org-trail: AccessDeniedException: organization trail') })]);

    assert.equal(c.status, 'error');
    assert.match(c.message, /AccessDeniedException: organization trail/);
  });

  it('✓ any one trail that logs management writes in the region is enough', () => {
    assert.equal(cloudtrail([trail({ name: 'off', logging: ok(false) }), trail({ name: 'on' })]).status, 'pass');
  });

  it('reads advanced event selectors: management events, not read-only, not excluding ECR or Step Functions', () => {
    const adv = (...fieldSelectors: EventSelectorsFacts['advanced'][number]['fieldSelectors']): EventSelectorsFacts => ({
      basic: [],
      advanced: [{ name: 'management', fieldSelectors }],
    });
    const management = { field: 'eventCategory', equals: ['Management'] };

    assert.equal(logsManagementWrites(adv(management)), true);
    assert.equal(logsManagementWrites(adv(management, { field: 'readOnly', equals: ['false'] })), true);
    assert.equal(logsManagementWrites(adv(management, { field: 'readOnly', equals: ['true'] })), false);
    assert.equal(logsManagementWrites(adv(management, { field: 'eventSource', notEquals: ['states.amazonaws.com'] })), false);
    assert.equal(logsManagementWrites(adv(management, { field: 'eventSource', equals: ['ecr.amazonaws.com'] })), false);
    assert.equal(logsManagementWrites(adv({ field: 'eventCategory', equals: ['Data'] })), false);
    assert.equal(logsManagementWrites({ basic: [{ includeManagementEvents: false, readWriteType: 'All' }], advanced: [] }), false);
    assert.equal(logsManagementWrites({ basic: [{}], advanced: [] }), true, 'IncludeManagementEvents and ReadWriteType All are the defaults');
  });
});

describe('gantry doctor: signing keys', () => {
  const key = (facts: Parameters<typeof ok>[0] | undefined) =>
    only(
      run((f) => void (f.keys[KEY] = ok(facts as never))),
      'signing-key',
      /kms-key/,
    );

  it('✗ a KMS key that does not exist', () => {
    const c = key(undefined);

    assert.equal(c.status, 'fail');
    assert.match(c.message, /no such KMS key: image.signature refuses every image that needs kms-key/);
  });

  it('✗ a symmetric ENCRYPT_DECRYPT key', () => {
    const c = key({ keyUsage: 'ENCRYPT_DECRYPT', keySpec: 'SYMMETRIC_DEFAULT', keyState: 'Enabled' });

    assert.equal(c.status, 'fail');
    assert.match(c.message, /usage is ENCRYPT_DECRYPT, not SIGN_VERIFY; its spec SYMMETRIC_DEFAULT is not an asymmetric key cosign signs with/);
  });

  it('✗ a disabled key, with the command that enables it', () => {
    const c = key({ keyUsage: 'SIGN_VERIFY', keySpec: 'ECC_NIST_P384', keyState: 'Disabled' });

    assert.equal(c.status, 'fail');
    assert.equal(c.fix, `aws kms enable-key --key-id ${KEY}`);
  });

  it('– a PEM key (nothing to check in AWS)', () => {
    assert.equal(only(run(), 'signing-key', 'pem-key').status, 'skip');
  });
});

describe('gantry doctor: the deployed stack', () => {
  const stack = (workflows: Array<{ name: string; arn: string; status?: string }>, missingOutputs: string[] = []) => ({ name: 'Gantry', missingOutputs, workflows: ok(workflows) });
  const SM = 'arn:aws:states:eu-west-2:111122223333:stateMachine:Gantry-Release';

  it('✓ both workflows ACTIVE and every role output present', () => {
    assert.equal(
      only(
        run(undefined, {
          stack: stack([
            { name: 'release', arn: SM, status: 'ACTIVE' },
            { name: 'rollback', arn: SM, status: 'ACTIVE' },
          ]),
        }),
        'stack',
      ).status,
      'pass',
    );
  });

  it('✗ a workflow that is gone, or a role output missing', () => {
    const c = only(
      run(undefined, {
        stack: stack(
          [
            { name: 'release', arn: SM },
            { name: 'rollback', arn: SM, status: 'ACTIVE' },
          ],
          ['TerraformDriverRoleArn'],
        ),
      }),
      'stack',
    );

    assert.equal(c.status, 'fail');
    assert.match(c.message, /the release workflow .* is missing; no output TerraformDriverRoleArn/);
  });

  it('exit codes: 1 when a check fails, 4 when one could not be read (even with failures)', () => {
    const fail = run((f) => void (f.repositories['payments-api'] = ok(undefined)));
    const both = run((f) => {
      f.repositories['payments-api'] = ok(undefined);
      f.trails = failed('CloudTrail DescribeTrails (eu-west-2): AccessDeniedException: denied');
    });

    assert.equal(doctorExitCode(fail), 1);
    assert.equal(doctorExitCode(both), 4);
  });
});
