/**
 * Readers in a cluster's account and region (lambdas/adapters/scoped.ts, decision 045): the requests they make —
 * AssumeRole of the cluster's role (session named after the release), DescribeCluster in the cluster's region with
 * the assumed credentials, DescribeAlarms and GetMetricData likewise — and none for a scope without a role.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'vitest';
import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { AwsScopedReaders, assumedRoleCredentials, ClusterAccessError, type CredentialProvider, type ScopedClientFactories } from '../../../lambdas/adapters/scoped';
import { ClusterScopeError } from '../../../lambdas/domain/cluster-scope';

const ROLE = 'arn:aws:iam::222222222222:role/gantry-target-cluster-access';
const OTHER = { cluster: 'prod', account: '222222222222', region: 'eu-central-1', roleArn: ROLE };
const OWN_OTHER_REGION = { cluster: 'us', region: 'us-east-1' };
const EXPIRES = new Date('2030-01-01T00:00:00Z');

const sts = mockClient(STSClient);
const eks = mockClient(EKSClient);
const cw = mockClient(CloudWatchClient);

/** Clients as the adapter builds them, recording the region and credentials each was given. */
function recordingFactories() {
  const made: Array<{ service: string; region: string; credentials?: CredentialProvider }> = [];
  const factories: ScopedClientFactories = {
    sts: (region) => (made.push({ service: 'sts', region }), new STSClient({ region })),
    cloudwatch: (region, credentials) => (made.push({ service: 'cloudwatch', region, credentials }), new CloudWatchClient({ region, ...(credentials ? { credentials } : {}) })),
    eks: (region, credentials) => (made.push({ service: 'eks', region, credentials }), new EKSClient({ region, ...(credentials ? { credentials } : {}) })),
  };
  return { made, factories };
}

beforeEach(() => {
  sts.reset();
  eks.reset();
  cw.reset();
  sts.on(AssumeRoleCommand).resolves({ Credentials: { AccessKeyId: 'ASIAKEY', SecretAccessKey: 'secret', SessionToken: 'token', Expiration: EXPIRES } });
  eks
    .on(DescribeClusterCommand)
    .resolves({ cluster: { name: 'prod-eks', endpoint: 'https://ABC.gr7.eu-central-1.eks.amazonaws.com', certificateAuthority: { data: 'Q0E=' }, status: 'ACTIVE' } });
  cw.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [{ AlarmName: 'payments-prod-5xx', StateValue: 'OK' }] });
});

describe('AwsScopedReaders', () => {
  it("describes a cluster of another account in its region, with the role assumed under the release's session name", async () => {
    const { made, factories } = recordingFactories();
    const readers = new AwsScopedReaders(factories);

    const c = await readers.eksIn(OTHER, 'gantry-payments-2222').describeCluster('prod-eks');

    assert.deepEqual(c, { endpoint: 'https://ABC.gr7.eu-central-1.eks.amazonaws.com', certificateAuthority: 'Q0E=' });
    assert.deepEqual(
      eks.commandCalls(DescribeClusterCommand).map((call) => call.args[0].input),
      [{ name: 'prod-eks' }],
    );
    const client = made.find((m) => m.service === 'eks');
    assert.equal(client?.region, 'eu-central-1');
    // The mocked client never resolves its credentials: resolve them as the SDK does before signing.
    assert.deepEqual(await client?.credentials?.(), { accessKeyId: 'ASIAKEY', secretAccessKey: 'secret', sessionToken: 'token', expiration: EXPIRES });
    assert.deepEqual(
      sts.commandCalls(AssumeRoleCommand).map((call) => call.args[0].input),
      [{ RoleArn: ROLE, RoleSessionName: 'gantry-payments-2222', DurationSeconds: 900 }],
    );
    assert.equal(made.find((m) => m.service === 'sts')?.region, 'eu-central-1');
  });

  it('reads alarms there with the assumed credentials (DescribeAlarms as today, in the cluster region)', async () => {
    const { made, factories } = recordingFactories();
    const readers = new AwsScopedReaders(factories);

    const states = await readers.alarmsIn(OTHER, 'gantry-r1').describeAlarms(['payments-prod-5xx']);

    assert.deepEqual(
      states.map((s) => [s.name, s.state]),
      [['payments-prod-5xx', 'OK']],
    );
    assert.deepEqual(cw.commandCalls(DescribeAlarmsCommand)[0]?.args[0].input, {
      AlarmNames: ['payments-prod-5xx'],
      AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
      MaxRecords: 100,
    });
    const client = made.find((m) => m.service === 'cloudwatch');
    assert.equal(client?.region, 'eu-central-1');
    assert.equal((await client?.credentials?.())?.accessKeyId, 'ASIAKEY');
  });

  it('asks GetMetricData with the metric stat and the window, in the cluster region', async () => {
    cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'canary', Timestamps: [new Date('2026-11-24T10:01:00Z')], Values: [3] }] });
    const { made, factories } = recordingFactories();

    const series = await new AwsScopedReaders(factories)
      .metricsIn(OTHER, 'gantry-r1')
      .getMetricData(
        [{ id: 'canary', namespace: 'AWS/ApplicationELB', name: 'HTTPCode_Target_5XX_Count', dimensions: { TargetGroup: 'tg/canary' }, stat: 'Sum', periodSeconds: 60 }],
        '2026-11-24T10:00:00.000Z',
        '2026-11-24T10:10:00.000Z',
      );

    assert.deepEqual(series, { canary: [3] });
    assert.deepEqual(cw.commandCalls(GetMetricDataCommand)[0]?.args[0].input, {
      StartTime: new Date('2026-11-24T10:00:00.000Z'),
      EndTime: new Date('2026-11-24T10:10:00.000Z'),
      ScanBy: 'TimestampAscending',
      MetricDataQueries: [
        {
          Id: 'canary',
          ReturnData: true,
          MetricStat: {
            Metric: { Namespace: 'AWS/ApplicationELB', MetricName: 'HTTPCode_Target_5XX_Count', Dimensions: [{ Name: 'TargetGroup', Value: 'tg/canary' }] },
            Period: 60,
            Stat: 'Sum',
          },
        },
      ],
    });
    assert.equal(made.find((m) => m.service === 'cloudwatch')?.region, 'eu-central-1');
  });

  it('makes no AssumeRole for a scope without a role (own account, another region): the function role, in that region', async () => {
    const { made, factories } = recordingFactories();
    const readers = new AwsScopedReaders(factories);

    await readers.alarmsIn(OWN_OTHER_REGION, 'gantry-r1').describeAlarms(['a']);
    await readers.eksIn(OWN_OTHER_REGION, 'gantry-r1').describeCluster('us-eks');

    assert.equal(sts.commandCalls(AssumeRoleCommand).length, 0);
    assert.deepEqual(
      made.map((m) => [m.service, m.region, m.credentials === undefined]),
      [
        ['cloudwatch', 'us-east-1', true],
        ['eks', 'us-east-1', true],
      ],
    );
  });

  it('assumes the role once for several reads of one session, and reuses the clients', async () => {
    const { made, factories } = recordingFactories();
    const readers = new AwsScopedReaders(factories);
    for (let i = 0; i < 3; i++) await readers.alarmsIn(OTHER, 'gantry-r1').describeAlarms(['payments-prod-5xx']);
    await readers.eksIn(OTHER, 'gantry-r1').describeCluster('prod-eks');
    const providers = made.filter((m) => m.credentials).map((m) => m.credentials);
    assert.equal(made.filter((m) => m.service === 'cloudwatch').length, 1);
    assert.equal(new Set(providers).size, 1, 'one credential provider per role and session');
    for (const p of providers) await p?.();
    assert.equal(sts.commandCalls(AssumeRoleCommand).length, 1);
  });

  it('fails with ClusterAccessError naming the role when AssumeRole is refused, and naming the cluster when DescribeCluster is', async () => {
    sts.on(AssumeRoleCommand).rejects(Object.assign(new Error('User is not authorized to perform: sts:AssumeRole'), { name: 'AccessDenied' }));
    const { made, factories } = recordingFactories();
    new AwsScopedReaders(factories).eksIn(OTHER, 'gantry-r1');
    const provider = made.find((m) => m.service === 'eks')?.credentials;
    assert.ok(provider);
    await assert.rejects(provider(), (e: Error) => e instanceof ClusterAccessError && /AccessDenied/.test(e.message) && e.message.includes(ROLE));

    eks.on(DescribeClusterCommand).rejects(Object.assign(new Error('No cluster found for name: prod-eks.'), { name: 'ResourceNotFoundException' }));
    await assert.rejects(
      new AwsScopedReaders(recordingFactories().factories).eksIn(OWN_OTHER_REGION, 'gantry-r1').describeCluster('prod-eks'),
      (e: Error) => e.name === 'ClusterAccessError' && /eks:DescribeCluster prod-eks \(region us-east-1\): ResourceNotFoundException/.test(e.message),
    );
  });
});

describe('assumedRoleCredentials', () => {
  it('refuses a role ARN or a session name that is not one, before any request', () => {
    const client = new STSClient({ region: 'eu-west-2' });
    assert.throws(() => assumedRoleCredentials(client, 'arn:aws:iam::222222222222:user/bob', 'gantry-r1'), ClusterScopeError);
    assert.throws(() => assumedRoleCredentials(client, ROLE, 'gantry r1; id'), ClusterScopeError);
    assert.equal(sts.commandCalls(AssumeRoleCommand).length, 0);
  });

  it('renews the credentials 5 minutes before they expire', async () => {
    let now = Date.parse('2029-12-31T23:00:00Z');
    const creds = assumedRoleCredentials(new STSClient({ region: 'eu-west-2' }), ROLE, 'gantry-r1', () => now);
    await creds();
    await creds();
    assert.equal(sts.commandCalls(AssumeRoleCommand).length, 1);
    now = Date.parse('2029-12-31T23:56:00Z');
    await creds();
    assert.equal(sts.commandCalls(AssumeRoleCommand).length, 2);
  });
});
