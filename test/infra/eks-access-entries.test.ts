/**
 * EKS access entries from the stack (lib/EksAccessEntries.ts): one AWS::EKS::AccessEntry per principal that needs one on
 * each cluster whose config says `accessEntries: "create"`, with the right principal, access policies and namespaces;
 * the workflows' eks:call Tasks run as the ClusterAccessRole (decision 046), so the three workflows share its one entry;
 * nothing for "document" clusters; a cluster outside a known stack region, or in another account, is refused at synth.
 * cdk-nag and cfn-lint run over the example config, which uses "create" for prod (test/infra/cdk-nag.test.ts,
 * test/infra/cfn-lint.test.ts).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, it } from 'vitest';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { parseConfig } from '../../lambdas/domain/config';
import { EksAccessEntriesError } from '../../lib/EksAccessEntries';
import { ReleaseControlPlane } from '../../lib/ReleaseControlPlane';
import { type BuiltGantry, buildGantry, cdkJsonContext, resourcesOfType, testConfig } from './fixtures';

const CHART = 'oci://111122223333.dkr.ecr.eu-west-2.amazonaws.com/charts/payments';

/** payments: helm in dev, kubernetes in staging; ledger: terraform and helm in prod. dev documents, staging and prod create. */
const rawConfig = (overrides: { stagingRegion?: string } = {}) => ({
  services: {
    payments: {
      repository: 'payments-api',
      stages: [
        { name: 'dev', cluster: 'dev', namespace: 'payments', deploy: { driver: 'helm', release: 'payments', chart: CHART, version: '1.2.0' } },
        { name: 'staging', cluster: 'staging', namespace: 'payments', deploy: { driver: 'kubernetes', deployment: 'payments-api', container: 'api' } },
      ],
    },
    ledger: {
      repository: 'ledger-service',
      stages: [
        { name: 'staging', cluster: 'staging', namespace: 'ledger-staging', deploy: { driver: 'kubernetes', deployment: 'ledger', container: 'app' } },
        { name: 'prod', cluster: 'prod', namespace: 'ledger', deploy: { driver: 'terraform', source: 's3://tf-sources/ledger.zip', workdir: 'prod', imageVariable: 'image' } },
      ],
    },
    audit: {
      repository: 'audit-api',
      stages: [{ name: 'prod', cluster: 'prod', namespace: 'audit', deploy: { driver: 'helm', release: 'audit', chart: CHART, version: '1.0.0' } }],
    },
  },
  clusters: {
    dev: { name: 'dev-eks', region: 'eu-west-2' },
    staging: { name: 'staging-eks', region: overrides.stagingRegion ?? 'eu-west-2', accessEntries: 'create' },
    prod: { name: 'prod-eks', region: 'eu-west-2', accessEntries: 'create' },
  },
});

type Entry = {
  Type: string;
  Properties: { ClusterName: string; PrincipalArn: unknown; Type: string; AccessPolicies: Array<{ PolicyArn: unknown; AccessScope: { Type: string; Namespaces: string[] } }> };
};

const cfnLint = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
const CFN_LINT_SKIP = cfnLint.error || cfnLint.status !== 0 ? 'cfn-lint is not on PATH' : undefined;

let built: BuiltGantry;
const logicalId = (c: { node: { defaultChild?: unknown } }) => built.stack.getLogicalId(c.node.defaultChild as CfnElement);
const entries = () => Object.values(resourcesOfType(built.template, 'AWS::EKS::AccessEntry')) as unknown as Entry[];
const policyArn = (name: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:eks::aws:cluster-access-policy/${name}`]] });

beforeAll(() => {
  built = buildGantry({ bundle: false, config: parseConfig(rawConfig()) });
});

describe('EKS access entries from the stack', () => {
  /** The entry of a role (by its construct) on a cluster, or undefined. */
  const entryOf = (cluster: string, role: { node: { defaultChild?: unknown } }) =>
    entries().find((e) => e.Properties.ClusterName === cluster && JSON.stringify(e.Properties.PrincipalArn) === JSON.stringify({ 'Fn::GetAtt': [logicalId(role), 'Arn'] }));

  it('creates one entry per role that needs one, on the "create" clusters only', () => {
    const cp = built.stack.controlPlane;
    const made = entries()
      .map((e) => e.Properties.ClusterName)
      .sort();

    assert.deepEqual(made, ['prod-eks', 'prod-eks', 'staging-eks']);
    assert.ok(entryOf('staging-eks', cp.clusterAccess.role), 'the ClusterAccessRole (release, rollback and insight workflows) on staging');
    for (const role of [cp.releaseStateMachine.role, cp.rollbackStateMachine.role, cp.insightCheck.stateMachine.role]) {
      assert.equal(entryOf('staging-eks', role), undefined, `${logicalId(role)}: its eks:call Tasks run as the ClusterAccessRole, it needs no entry`);
    }
    assert.ok(entryOf('prod-eks', cp.helmDriver.role), 'Helm driver on prod');
    assert.ok(entryOf('prod-eks', cp.terraformDriver.role), 'Terraform driver on prod');
  });

  it('makes none for a cluster that documents its entries (dev, Helm)', () => {
    assert.equal(entries().filter((e) => e.Properties.ClusterName === 'dev-eks').length, 0);
    assert.equal(entryOf('dev-eks', built.stack.controlPlane.helmDriver.role), undefined);
  });

  it('gives the drivers and the Kubernetes workflows AmazonEKSEditPolicy in the namespaces of their stages on that cluster', () => {
    const cp = built.stack.controlPlane;
    const cases: Array<[string, { node: { defaultChild?: unknown } }, string[]]> = [
      ['staging-eks', cp.clusterAccess.role, ['ledger-staging', 'payments']],
      ['prod-eks', cp.helmDriver.role, ['audit']],
      ['prod-eks', cp.terraformDriver.role, ['ledger']],
    ];
    for (const [cluster, role, namespaces] of cases) {
      const e = entryOf(cluster, role);
      assert.equal(e?.Properties.Type, 'STANDARD');
      assert.deepEqual(
        e?.Properties.AccessPolicies,
        [{ PolicyArn: policyArn('AmazonEKSEditPolicy'), AccessScope: { Type: 'namespace', Namespaces: namespaces } }],
        `${cluster} ${logicalId(role)}`,
      );
    }
  });

  it('adds AmazonEKSViewPolicy for the drift check only where the Kubernetes stages do not already give edit', () => {
    // helm stage `audit` on prod with a workload: the insight check reads it (view), nothing there edits it with eks:call.
    const raw = rawConfig();
    const audit = raw.services.audit.stages[0] as Record<string, unknown>;
    const withWorkload = { ...raw, services: { ...raw.services, audit: { ...raw.services.audit, stages: [{ ...audit, workload: { deployment: 'audit', container: 'app' } }] } } };
    const b = buildGantry({ bundle: false, config: parseConfig(withWorkload) });
    const role = JSON.stringify({ 'Fn::GetAtt': [b.stack.getLogicalId(b.stack.controlPlane.clusterAccess.role.node.defaultChild as CfnElement), 'Arn'] });
    const ofCluster = (cluster: string) =>
      (Object.values(resourcesOfType(b.template, 'AWS::EKS::AccessEntry')) as unknown as Entry[]).filter(
        (e) => e.Properties.ClusterName === cluster && JSON.stringify(e.Properties.PrincipalArn) === role,
      );

    assert.deepEqual(
      ofCluster('prod-eks').map((e) => e.Properties.AccessPolicies),
      [[{ PolicyArn: policyArn('AmazonEKSViewPolicy'), AccessScope: { Type: 'namespace', Namespaces: ['audit'] } }]],
    );
    // On staging the Kubernetes stages' edit covers what the drift check reads: edit only, no second policy.
    assert.deepEqual(
      ofCluster('staging-eks').map((e) => e.Properties.AccessPolicies),
      [[{ PolicyArn: policyArn('AmazonEKSEditPolicy'), AccessScope: { Type: 'namespace', Namespaces: ['ledger-staging', 'payments'] } }]],
    );
  });

  it('refuses, at synth, "create" on a cluster in another account, pointing at the companion stack', () => {
    const raw = rawConfig();
    const foreign = {
      ...raw,
      clusters: { ...raw.clusters, staging: { ...raw.clusters.staging, account: '222222222222', roleArn: 'arn:aws:iam::222222222222:role/gantry-target-Gantry' } },
    };

    assert.throws(
      () => buildGantry({ bundle: false, config: parseConfig(foreign) }),
      (e: unknown) =>
        e instanceof EksAccessEntriesError &&
        /clusters\.staging: accessEntries "create" applies to clusters in Gantry's own account.*GantryTargetAccount/.test((e as Error).message),
    );
  });

  it("the example config creates the Helm driver's entry on prod, for both services' namespaces", () => {
    const b = buildGantry({ bundle: false, config: testConfig() });
    const made = Object.values(resourcesOfType(b.template, 'AWS::EKS::AccessEntry')) as unknown as Entry[];
    const helmRole = { 'Fn::GetAtt': [b.stack.getLogicalId(b.stack.controlPlane.helmDriver.role.node.defaultChild as CfnElement), 'Arn'] };

    assert.equal(made.length, 1);
    assert.equal(made[0]?.Properties.ClusterName, 'prod-eks');
    assert.deepEqual(made[0]?.Properties.PrincipalArn, helmRole);
    assert.deepEqual(made[0]?.Properties.AccessPolicies[0]?.AccessScope, { Type: 'namespace', Namespaces: ['ledger', 'payments'] });
  });

  it('refuses, at synth, a "create" cluster outside the stack\'s known region, naming it', () => {
    const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Gantry', { env: { account: '111122223333', region: 'eu-west-2' } });

    assert.throws(
      () => new ReleaseControlPlane(stack, 'ReleaseControlPlane', { config: parseConfig(rawConfig({ stagingRegion: 'eu-west-1' })) }),
      (e: unknown) => e instanceof EksAccessEntriesError && /clusters\.staging \(staging-eks in eu-west-1\).*stack's region eu-west-2/.test((e as Error).message),
    );
  });

  it.skipIf(CFN_LINT_SKIP)('passes cfn-lint: every entry of the mixed config (drivers, workflows, insight), principals as literal role ARNs', () => {
    const resources = Object.fromEntries(
      Object.entries(resourcesOfType(built.template, 'AWS::EKS::AccessEntry')).map(([id, r], i) => [
        id,
        { ...r, Properties: { ...r.Properties, PrincipalArn: `arn:aws:iam::111122223333:role/gantry-role-${i}` } },
      ]),
    );
    const file = join(mkdtempSync(join(tmpdir(), 'gantry-access-entries-')), 'template.json');
    writeFileSync(file, JSON.stringify({ AWSTemplateFormatVersion: '2010-09-09', Resources: resources }));

    const r = spawnSync('cfn-lint', ['--format', 'json', '--regions', 'us-east-1', 'eu-west-2', '--', file], { encoding: 'utf8' });

    assert.ok(r.status !== null && (r.status & 1) === 0, `cfn-lint failed to run: ${r.stderr}`);
    assert.equal(Object.keys(resources).length, 3);
    assert.deepEqual(JSON.parse(r.stdout || '[]'), []);
  });

  it('accepts "create" clusters in the stack\'s known region', () => {
    const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Gantry', { env: { account: '111122223333', region: 'eu-west-2' } });

    const cp = new ReleaseControlPlane(stack, 'ReleaseControlPlane', { config: parseConfig(rawConfig()) });

    // One entry object per requirement: the three workflows' requirements on staging share the ClusterAccessRole's entry.
    assert.equal(cp.accessEntries.entries.length, 5);
    assert.equal(new Set(cp.accessEntries.entries.map((e) => e.entry)).size, 3);
  });
});
