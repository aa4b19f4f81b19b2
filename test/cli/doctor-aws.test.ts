/**
 * `gantry doctor` against AWS, without an account: the request of every call it makes (aws-sdk-client-mock), answers
 * shaped like AWS's (test/fixtures/aws-samples), each ✗ reached through what AWS answers, a read that fails as !
 * (exit 4), the check before a deploy, and bad input (exit 2).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, it } from 'vitest';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudTrailClient, DescribeTrailsCommand, GetEventSelectorsCommand, GetTrailStatusCommand } from '@aws-sdk/client-cloudtrail';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeRepositoriesCommand, ECRClient, GetRegistryScanningConfigurationCommand } from '@aws-sdk/client-ecr';
import { DescribeAccessEntryCommand, DescribeClusterCommand, EKSClient, ListAccessEntriesCommand, ListAssociatedAccessPoliciesCommand } from '@aws-sdk/client-eks';
import { DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { DescribeStateMachineCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { CHECK_IDS } from '../../lambdas/domain/doctor';
import { doctorOutputSchema } from '../../cli/render/schemas';
import { gantry, ROOT, tmp } from './helpers';

const fixture = (name: string) => JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'aws-samples', name), 'utf8'));
const awsError = (name: string, message = `${name} (mocked)`) => Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 400 } });

const CHART = 'oci://111122223333.dkr.ecr.eu-west-2.amazonaws.com/charts/payments';
const KEY = 'arn:aws:kms:eu-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const RELEASE_SM = 'arn:aws:states:eu-west-2:111122223333:stateMachine:Gantry-Release';
const ROLLBACK_SM = 'arn:aws:states:eu-west-2:111122223333:stateMachine:Gantry-Rollback';
const role = (name: string) => `arn:aws:iam::111122223333:role/Gantry-${name}`;
const ROLES = {
  helm: role('HelmDriverRole'),
  terraform: role('TerraformDriverRole'),
  release: role('ReleaseWorkflowRole'),
  rollback: role('RollbackWorkflowRole'),
  insight: role('InsightWorkflowRole'),
  // The workflows' eks:call Tasks run as the ClusterAccessRole (decision 046): the access entries name it.
  cluster: role('ClusterAccessRole'),
};
const OUTPUTS = {
  ReleaseStateMachineArn: RELEASE_SM,
  RollbackStateMachineArn: ROLLBACK_SM,
  LedgerTableName: 'Gantry-Ledger',
  EventBusName: 'gantry',
  HelmDriverRoleArn: ROLES.helm,
  TerraformDriverRoleArn: ROLES.terraform,
  ReleaseWorkflowRoleArn: ROLES.release,
  RollbackWorkflowRoleArn: ROLES.rollback,
  InsightWorkflowRoleArn: ROLES.insight,
  ClusterAccessRoleArn: ROLES.cluster,
};

/** payments: Helm in dev (document), Kubernetes in prod (create); ledger: Terraform in prod; a KMS signing key. */
const CONFIG = (prodRegion = 'eu-west-2') => ({
  services: {
    payments: {
      repository: 'payments-api',
      imagePolicy: { requireImmutableTags: true, requireSignature: { keys: ['release-key'] } },
      stages: [
        { name: 'dev', cluster: 'dev', namespace: 'payments', deploy: { driver: 'helm', release: 'payments', chart: CHART, version: '1.2.0' }, alarms: ['payments-dev-5xx'] },
        { name: 'prod', cluster: 'prod', namespace: 'payments', deploy: { driver: 'kubernetes', deployment: 'payments-api', container: 'api' }, alarms: ['payments-prod-5xx'] },
      ],
    },
    ledger: {
      repository: 'ledger-service',
      imagePolicy: { requireImmutableTags: true },
      stages: [
        { name: 'prod', cluster: 'prod', namespace: 'ledger', deploy: { driver: 'terraform', source: 's3://tf-sources/ledger.zip', workdir: 'prod', imageVariable: 'image' } },
      ],
    },
  },
  clusters: { dev: { name: 'dev-eks', region: 'eu-west-2' }, prod: { name: 'prod-eks', region: prodRegion, accessEntries: 'create' } },
  signing: { keys: { 'release-key': KEY } },
});

const eks = mockClient(EKSClient);
const ecr = mockClient(ECRClient);
const cloudwatch = mockClient(CloudWatchClient);
const cloudtrail = mockClient(CloudTrailClient);
const kms = mockClient(KMSClient);
const sfn = mockClient(SFNClient);
const cfn = mockClient(CloudFormationClient);
const mocks = [eks, ecr, cloudwatch, cloudtrail, kms, sfn, cfn];

/** An account where every check holds, each answer in AWS's shape. */
function healthyAccount(): void {
  for (const m of mocks) m.reset();
  eks.on(DescribeClusterCommand).callsFake((input: { name: string }) => {
    const out = fixture('eks-describe-cluster.constructed.json');
    out.cluster.name = input.name;
    return out;
  });
  eks.on(ListAccessEntriesCommand, { clusterName: 'dev-eks' }).resolves({ accessEntries: ['arn:aws:iam::111122223333:role/Admin', ROLES.helm] });
  eks.on(ListAccessEntriesCommand, { clusterName: 'prod-eks' }).resolves({ accessEntries: [ROLES.terraform, ROLES.cluster] });
  eks.on(DescribeAccessEntryCommand).callsFake((input: { clusterName: string; principalArn: string }) => {
    const out = fixture('eks-describe-access-entry.constructed.json');
    Object.assign(out.accessEntry, { clusterName: input.clusterName, principalArn: input.principalArn });
    return out;
  });
  eks
    .on(ListAssociatedAccessPoliciesCommand)
    .callsFake((input: { clusterName: string; principalArn: string }) => ({ ...fixture('eks-list-associated-access-policies.constructed.json'), ...input }));
  ecr.on(DescribeRepositoriesCommand).callsFake((input: { repositoryNames: string[] }) => {
    const out = fixture('ecr-describe-repositories-full.constructed.json');
    out.repositories[0].repositoryName = input.repositoryNames[0];
    return out;
  });
  ecr.on(GetRegistryScanningConfigurationCommand).resolves(fixture('ecr-get-registry-scanning-configuration-enhanced.constructed.json'));
  cloudwatch.on(DescribeAlarmsCommand).callsFake((input: { AlarmNames: string[] }) => {
    const sample = fixture('cloudwatch-describe-alarms-metric-alarm-ok.json').MetricAlarms[0];
    // The SDK deserializes timestamps into Dates.
    return { MetricAlarms: input.AlarmNames.map((name) => ({ ...sample, AlarmName: name, StateUpdatedTimestamp: new Date(sample.StateUpdatedTimestamp) })) };
  });
  cloudtrail.on(DescribeTrailsCommand).resolves(fixture('cloudtrail-describe-trails.constructed.json'));
  cloudtrail.on(GetTrailStatusCommand).resolves(fixture('cloudtrail-get-trail-status.constructed.json'));
  cloudtrail.on(GetEventSelectorsCommand).resolves(fixture('cloudtrail-get-event-selectors-advanced.constructed.json'));
  kms.on(DescribeKeyCommand).resolves(fixture('kms-describe-key-sign-verify.constructed.json'));
  sfn.on(DescribeStateMachineCommand).callsFake((input: { stateMachineArn: string }) => ({ stateMachineArn: input.stateMachineArn, status: 'ACTIVE' }));
  cfn.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'Gantry',
        CreationTime: new Date(),
        StackStatus: 'CREATE_COMPLETE',
        Outputs: Object.entries(OUTPUTS).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
      },
    ],
  });
}

let dir: string;
let configFile: string;
let outputsFile: string;
beforeAll(() => {
  dir = tmp();
  configFile = join(dir, 'gantry.config.json');
  outputsFile = join(dir, 'outputs.json');
  writeFileSync(configFile, JSON.stringify(CONFIG()));
  writeFileSync(outputsFile, JSON.stringify({ Gantry: OUTPUTS }));
});
afterEach(() => {
  for (const m of mocks) m.reset();
});

const inputs = (m: (typeof mocks)[number], command: unknown) => m.commandCalls(command as never).map((c) => c.args[0].input);
const doctorJson = async (...args: string[]) => {
  const r = await gantry('doctor', ...args, '--json');
  return { ...r, out: r.stdout ? doctorOutputSchema.parse(JSON.parse(r.stdout)) : undefined };
};

describe('gantry doctor against a deployed Gantry (AWS)', () => {
  it('reads each AWS API with the request AWS documents, and passes a ready account (exit 0)', async () => {
    healthyAccount();

    const r = await doctorJson('--outputs', outputsFile, '--config', configFile, '--region', 'eu-west-2');

    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.out?.mode, 'deployed');
    assert.deepEqual(
      r.out?.checks.filter((c) => c.status === 'fail' || c.status === 'error'),
      [],
    );
    assert.deepEqual(inputs(eks, DescribeClusterCommand), [{ name: 'dev-eks' }, { name: 'prod-eks' }]);
    assert.deepEqual(inputs(eks, ListAccessEntriesCommand), [
      { clusterName: 'dev-eks', maxResults: 100 },
      { clusterName: 'prod-eks', maxResults: 100 },
    ]);
    assert.deepEqual(inputs(eks, DescribeAccessEntryCommand), [
      { clusterName: 'dev-eks', principalArn: ROLES.helm },
      { clusterName: 'prod-eks', principalArn: ROLES.terraform },
      { clusterName: 'prod-eks', principalArn: ROLES.cluster },
    ]);
    assert.deepEqual(inputs(eks, ListAssociatedAccessPoliciesCommand)[0], { clusterName: 'dev-eks', principalArn: ROLES.helm, maxResults: 100 });
    assert.deepEqual(inputs(ecr, DescribeRepositoriesCommand), [{ repositoryNames: ['payments-api'] }, { repositoryNames: ['ledger-service'] }]);
    assert.deepEqual(inputs(ecr, GetRegistryScanningConfigurationCommand), [{}]);
    assert.deepEqual(inputs(cloudwatch, DescribeAlarmsCommand), [
      { AlarmNames: ['payments-dev-5xx', 'payments-prod-5xx'], AlarmTypes: ['MetricAlarm', 'CompositeAlarm'], MaxRecords: 100 },
    ]);
    assert.deepEqual(inputs(cloudtrail, DescribeTrailsCommand), [{ includeShadowTrails: true }]);
    assert.deepEqual(inputs(cloudtrail, GetTrailStatusCommand)[0], { Name: 'arn:aws:cloudtrail:us-east-1:111122223333:trail/Trail1' });
    assert.deepEqual(inputs(cloudtrail, GetEventSelectorsCommand)[0], { TrailName: 'arn:aws:cloudtrail:us-east-1:111122223333:trail/Trail1' });
    assert.deepEqual(inputs(kms, DescribeKeyCommand), [{ KeyId: KEY }]);
    assert.deepEqual(inputs(sfn, DescribeStateMachineCommand), [{ stateMachineArn: RELEASE_SM }, { stateMachineArn: ROLLBACK_SM }]);
    assert.equal(cfn.commandCalls(DescribeStacksCommand).length, 0, '--outputs: no DescribeStacks');
  });

  it("asks each service in the right region: EKS in the cluster's, a trail's status in its home region", async () => {
    healthyAccount();
    writeFileSync(join(dir, 'regions.config.json'), JSON.stringify(CONFIG('eu-west-1')));

    await doctorJson('--outputs', outputsFile, '--config', join(dir, 'regions.config.json'), '--region', 'eu-west-2');

    const eksRegions = await Promise.all(
      eks.commandCalls(DescribeClusterCommand).map(async (c) => [(c.args[0].input as { name: string }).name, await (c.thisValue as EKSClient).config.region()]),
    );
    const trailRegion = await (cloudtrail.commandCalls(GetTrailStatusCommand)[0]?.thisValue as CloudTrailClient).config.region();
    const listRegion = await (cloudtrail.commandCalls(DescribeTrailsCommand)[0]?.thisValue as CloudTrailClient).config.region();
    assert.deepEqual(eksRegions, [
      ['dev-eks', 'eu-west-2'],
      ['prod-eks', 'eu-west-1'],
    ]);
    assert.equal(listRegion, 'eu-west-2');
    assert.equal(trailRegion, 'us-east-1');
  });

  it('finds the stack by name through CloudFormation DescribeStacks when no --outputs is given', async () => {
    healthyAccount();

    const r = await doctorJson('--stack', 'Gantry', '--config', configFile, '--region', 'eu-west-2');

    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(inputs(cfn, DescribeStacksCommand), [{ StackName: 'Gantry' }]);
  });

  it('reads every page of access entries', async () => {
    healthyAccount();
    eks.on(ListAccessEntriesCommand, { clusterName: 'dev-eks', maxResults: 100 }).resolves({ accessEntries: ['arn:aws:iam::111122223333:role/Admin'], nextToken: 'page-2' });
    eks.on(ListAccessEntriesCommand, { clusterName: 'dev-eks', maxResults: 100, nextToken: 'page-2' }).resolves({ accessEntries: [ROLES.helm] });

    const r = await doctorJson('--outputs', outputsFile, '--config', configFile, '--region', 'eu-west-2');

    assert.equal(r.code, 0, r.stdout);
    assert.deepEqual(inputs(eks, ListAccessEntriesCommand).slice(0, 2), [
      { clusterName: 'dev-eks', maxResults: 100 },
      { clusterName: 'dev-eks', maxResults: 100, nextToken: 'page-2' },
    ]);
  });

  it('reaches every ✗ through what AWS answers, each with its fix, and exits 1', async () => {
    healthyAccount();
    writeFileSync(join(dir, 'broken.config.json'), JSON.stringify(CONFIG('eu-west-1')));
    eks.on(DescribeClusterCommand, { name: 'dev-eks' }).rejects(awsError('ResourceNotFoundException', 'No cluster found for name: dev-eks.'));
    eks.on(DescribeClusterCommand, { name: 'prod-eks' }).resolves({
      cluster: {
        name: 'prod-eks',
        status: 'ACTIVE',
        accessConfig: { authenticationMode: 'CONFIG_MAP' },
        resourcesVpcConfig: { endpointPublicAccess: false, endpointPrivateAccess: true },
      },
    });
    eks.on(ListAccessEntriesCommand, { clusterName: 'prod-eks' }).resolves({ accessEntries: [ROLES.cluster] });
    eks.on(ListAssociatedAccessPoliciesCommand).resolves({
      associatedAccessPolicies: [{ policyArn: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy', accessScope: { type: 'namespace', namespaces: ['other'] } }],
    });
    ecr.on(DescribeRepositoriesCommand, { repositoryNames: ['payments-api'] }).rejects(awsError('RepositoryNotFoundException'));
    ecr
      .on(DescribeRepositoriesCommand, { repositoryNames: ['ledger-service'] })
      .resolves({ repositories: [{ repositoryName: 'ledger-service', imageTagMutability: 'MUTABLE', imageScanningConfiguration: { scanOnPush: false } }] });
    ecr.on(GetRegistryScanningConfigurationCommand).resolves({ registryId: '111122223333', scanningConfiguration: { scanType: 'BASIC', rules: [] } });
    cloudwatch
      .on(DescribeAlarmsCommand)
      .resolves({ MetricAlarms: [{ AlarmName: 'payments-prod-5xx', StateValue: 'INSUFFICIENT_DATA', StateUpdatedTimestamp: new Date('2026-11-01T00:00:00Z') }] });
    cloudtrail.on(DescribeTrailsCommand).resolves({ trailList: [] });
    kms.on(DescribeKeyCommand).rejects(awsError('NotFoundException'));
    sfn.on(DescribeStateMachineCommand, { stateMachineArn: ROLLBACK_SM }).rejects(awsError('StateMachineDoesNotExist'));

    const r = await doctorJson('--outputs', outputsFile, '--config', join(dir, 'broken.config.json'), '--region', 'eu-west-2');

    assert.equal(r.code, 1, r.stderr);
    const failed = r.out?.checks.filter((c) => c.status === 'fail') ?? [];
    assert.deepEqual([...new Set(failed.map((c) => c.id))].sort(), [...CHECK_IDS].sort(), JSON.stringify(r.out?.checks, null, 1));
    assert.ok(
      failed.every((c) => c.fix !== null && c.fix.length > 0),
      'every ✗ has a fix',
    );
    const text = await gantry('doctor', '--outputs', outputsFile, '--config', join(dir, 'broken.config.json'), '--region', 'eu-west-2');
    assert.match(text.stdout, /✗ cluster dev-eks \(eu-west-2\): no EKS cluster dev-eks in eu-west-2 \(clusters\.dev\)/);
    assert.match(text.stdout, /✗ access entry prod-eks\/insightWorkflow: .*cannot reach payments on prod-eks: it has AmazonEKSViewPolicy \(other\)/);
    assert.match(text.stdout, /^ {4}fix: aws ecr put-image-tag-mutability --region eu-west-2 --repository-name ledger-service --image-tag-mutability IMMUTABLE$/m);
    assert.match(text.stdout, /Not ready: fix each ✗\.$/m);
  });

  it('reports a read AWS refuses as !, naming the call and the error, still makes the other checks, and exits 4', async () => {
    healthyAccount();
    cloudtrail.on(DescribeTrailsCommand).rejects(awsError('AccessDeniedException', 'User is not authorized to perform: cloudtrail:DescribeTrails'));

    const r = await doctorJson('--outputs', outputsFile, '--config', configFile, '--region', 'eu-west-2');

    assert.equal(r.code, 4);
    const trail = r.out?.checks.find((c) => c.id === 'cloudtrail');
    assert.equal(trail?.status, 'error');
    assert.equal(trail?.message, 'CloudTrail DescribeTrails (eu-west-2): AccessDeniedException: User is not authorized to perform: cloudtrail:DescribeTrails');
    assert.ok((r.out?.checks.filter((c) => c.status === 'pass').length ?? 0) > 10);
  });

  it('says once that there are no credentials (exit 4)', async () => {
    healthyAccount();
    eks.on(DescribeClusterCommand).rejects(awsError('CredentialsProviderError', 'Could not load credentials from any providers'));

    const r = await gantry('doctor', '--outputs', outputsFile, '--config', configFile, '--region', 'eu-west-2');

    assert.equal(r.code, 4);
    assert.match(r.stderr, /no AWS credentials .*aws sso login/);
    assert.equal(r.stdout, '');
  });
});

describe('gantry doctor --config before deploying', () => {
  it('checks the account without a stack: no DescribeStacks, no access-entry reads, and says who makes each entry', async () => {
    healthyAccount();

    const r = await doctorJson('--config', configFile, '--region', 'eu-west-2');

    assert.equal(r.code, 0, r.stdout);
    assert.equal(r.out?.mode, 'config');
    assert.equal(r.out?.config, configFile);
    assert.equal(cfn.commandCalls(DescribeStacksCommand).length, 0);
    assert.equal(eks.commandCalls(ListAccessEntriesCommand).length, 0);
    assert.equal(sfn.commandCalls(DescribeStateMachineCommand).length, 0);
    const entries = r.out?.checks.filter((c) => c.id === 'access-entry') ?? [];
    assert.equal(entries.length, 5);
    assert.ok(entries.every((c) => c.status === 'skip'));
    assert.match(entries.find((c) => c.subject === 'dev-eks/helmDriver')?.message ?? '', /stack output HelmDriverRoleArn/);
  });
});

describe('gantry doctor: bad input (exit 2)', () => {
  it('refuses --local together with AWS options', async () => {
    const r = await gantry('doctor', '--local', dir, '--region', 'eu-west-2');

    assert.equal(r.code, 2);
    assert.match(r.stderr, /leave out --region/);
  });

  it('refuses an invalid config, one line per problem', async () => {
    const bad = CONFIG() as { clusters: Record<string, Record<string, unknown>> };
    (bad.clusters.prod as Record<string, unknown>).accessEntries = 'always';
    writeFileSync(join(dir, 'bad.config.json'), JSON.stringify(bad));

    const r = await gantry('doctor', '--config', join(dir, 'bad.config.json'), '--region', 'eu-west-2');

    assert.equal(r.code, 2);
    assert.match(r.stderr, /clusters\.prod\.accessEntries: expected "create" \(the stack creates the access entries\) or "document" \(you create them\), got "always"/);
  });

  it('asks for the config when a stack is checked without one', async () => {
    healthyAccount();

    const r = await gantry('doctor', '--outputs', outputsFile, '--region', 'eu-west-2');

    assert.equal(r.code, 2);
    assert.match(r.stderr, /needs the deployment config .*--config <file>/);
  });
});
