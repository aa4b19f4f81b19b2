/** Which role needs an EKS access entry where (lambdas/domain/access-entries.ts), and the config's `clusters.<key>.accessEntries`. */
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { accessPolicyArn, accessPolicyName, accessRequirements } from '../../lambdas/domain/access-entries';
import { accessEntriesMode, parseConfig } from '../../lambdas/domain/config';
import { ValidationError } from '../../lambdas/domain/validation';

const CHART = 'oci://111122223333.dkr.ecr.eu-west-2.amazonaws.com/charts/payments';
const helm = (release: string) => ({ driver: 'helm', release, chart: CHART, version: '1.2.0' });

const raw = () => ({
  services: {
    payments: {
      repository: 'payments-api',
      stages: [
        { name: 'dev', cluster: 'shared', namespace: 'payments', deploy: helm('payments'), workload: { deployment: 'payments-api', container: 'api' } },
        { name: 'prod', cluster: 'prod', namespace: 'payments', deploy: { driver: 'kubernetes', deployment: 'payments-api', container: 'api' } },
      ],
    },
    ledger: {
      repository: 'ledger-service',
      stages: [
        { name: 'dev', cluster: 'shared', namespace: 'ledger', deploy: helm('ledger') },
        { name: 'qa', cluster: 'shared', namespace: 'ledger', deploy: helm('ledger-qa') },
        { name: 'prod', cluster: 'prod', namespace: 'ledger', deploy: { driver: 'terraform', source: 's3://tf-sources/ledger.zip', workdir: 'prod', imageVariable: 'image' } },
      ],
    },
  },
  clusters: { shared: { name: 'shared-eks', region: 'eu-west-2' }, prod: { name: 'prod-eks', region: 'eu-west-1', accessEntries: 'create' } },
});

describe('accessRequirements', () => {
  it('lists each role once per cluster, with the access it needs and the namespaces of its stages there', () => {
    const reqs = accessRequirements(parseConfig(raw()));

    assert.deepEqual(
      reqs.map((r) => [r.clusterKey, r.role, r.level, r.namespaces.join(',')]),
      [
        ['prod', 'terraformDriver', 'edit', 'ledger'],
        ['prod', 'releaseWorkflow', 'edit', 'payments'],
        ['prod', 'rollbackWorkflow', 'edit', 'payments'],
        ['prod', 'insightWorkflow', 'view', 'payments'],
        ['shared', 'helmDriver', 'edit', 'ledger,payments'],
        ['shared', 'insightWorkflow', 'view', 'payments'],
      ],
    );
  });

  it('names the stages, the cluster, its region and its mode (document unless it says create)', () => {
    const reqs = accessRequirements(parseConfig(raw()));
    const helmShared = reqs.find((r) => r.clusterKey === 'shared' && r.role === 'helmDriver');
    const release = reqs.find((r) => r.role === 'releaseWorkflow');

    assert.deepEqual(helmShared?.stages, ['payments/dev', 'ledger/dev', 'ledger/qa']);
    assert.equal(helmShared?.mode, 'document');
    assert.equal(release?.clusterName, 'prod-eks');
    assert.equal(release?.region, 'eu-west-1');
    assert.equal(release?.mode, 'create');
  });

  it("marks only the Terraform driver's entry optional (needed only when the module reaches the cluster)", () => {
    const optional = accessRequirements(parseConfig(raw())).filter((r) => r.optional);

    assert.deepEqual(
      optional.map((r) => r.role),
      ['terraformDriver'],
    );
  });

  it('leaves the insight role out when the drift check is off', () => {
    const reqs = accessRequirements(parseConfig({ ...raw(), insight: { driftCheck: false } }));

    assert.ok(reqs.length > 0);
    assert.equal(reqs.filter((r) => r.role === 'insightWorkflow').length, 0);
  });
});

describe('clusters.<key>.accessEntries', () => {
  it('is "document" when absent, and leaves the config hash of older configs alone (no default written)', () => {
    const cfg = parseConfig(raw());

    assert.equal(accessEntriesMode(cfg.clusters.shared as never), 'document');
    assert.equal('accessEntries' in (cfg.clusters.shared as object), false);
    assert.equal(accessEntriesMode(cfg.clusters.prod as never), 'create');
  });

  it('refuses any other value, naming the path and what is allowed', () => {
    const bad = raw() as { clusters: Record<string, Record<string, unknown>> };
    (bad.clusters.shared as Record<string, unknown>).accessEntries = 'yes';

    assert.throws(
      () => parseConfig(bad),
      (e: unknown) =>
        e instanceof ValidationError &&
        e.problems.some((p) => p === 'clusters.shared.accessEntries: expected "create" (the stack creates the access entries) or "document" (you create them), got "yes"'),
    );
  });
});

describe('access policy ARNs', () => {
  it('round-trip between a name and its ARN, in any partition', () => {
    assert.equal(accessPolicyArn('AmazonEKSEditPolicy'), 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy');
    assert.equal(accessPolicyName(accessPolicyArn('AmazonEKSViewPolicy', 'aws-cn')), 'AmazonEKSViewPolicy');
    assert.equal(accessPolicyName('arn:aws:iam::aws:policy/AdministratorAccess'), undefined);
  });
});
