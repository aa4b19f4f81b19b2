/** The native Kubernetes driver in CDK: eks:DescribeCluster on the Kubernetes stages' clusters only, the rollout-check handler, no synth warning. */
import assert from 'node:assert/strict';
import { beforeAll, describe, it } from 'vitest';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { parseConfig } from '../../lambdas/domain/config';
import { ReleaseControlPlane } from '../../lib/ReleaseControlPlane';
import { type BuiltGantry, buildGantry, cdkJsonContext, resourcesOfType } from '../../test/infra/fixtures';

const kubernetesConfig = () =>
  parseConfig({
    services: {
      payments: {
        repository: 'payments-api',
        stages: [
          {
            name: 'dev',
            cluster: 'dev',
            namespace: 'payments',
            deploy: { driver: 'helm', release: 'payments', chart: 'oci://111122223333.dkr.ecr.eu-west-2.amazonaws.com/charts/payments', version: '1.2.0' },
          },
          { name: 'staging', cluster: 'staging', namespace: 'payments', deploy: { driver: 'kubernetes', deployment: 'payments-api', container: 'api' } },
          { name: 'prod', cluster: 'prod', namespace: 'payments', deploy: { driver: 'kubernetes', deployment: 'payments-api', container: 'api', timeoutMinutes: 15 } },
        ],
      },
    },
    clusters: {
      dev: { name: 'dev-eks', region: 'eu-west-2' },
      staging: { name: 'staging-eks', region: 'eu-west-1' },
      prod: { name: 'prod-eks', region: 'eu-west-2' },
    },
  });

let built: BuiltGantry;
const logicalId = (c: { node: { defaultChild?: unknown } }) => built.stack.getLogicalId(c.node.defaultChild as CfnElement);
const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function roleStatements(roleLogicalId: string): Array<Record<string, unknown>> {
  return Object.values(resourcesOfType(built.template, 'AWS::IAM::Policy'))
    .filter((p) => JSON.stringify((p.Properties as { Roles: unknown }).Roles).includes(`"${roleLogicalId}"`))
    .flatMap((p) => (p.Properties as { PolicyDocument: { Statement: Array<Record<string, unknown>> } }).PolicyDocument.Statement);
}

beforeAll(() => {
  built = buildGantry({ bundle: false, config: kubernetesConfig() });
});

describe('the workflows with Kubernetes stages', () => {
  const machines = () => [built.stack.controlPlane.releaseStateMachine, built.stack.controlPlane.rollbackStateMachine];

  it('describe no cluster themselves: the plan handler does, in the cluster region, as the ClusterAccessRole (decision 045)', () => {
    for (const sm of machines()) {
      const describe = roleStatements(logicalId(sm.role)).filter((s) => asArray(s.Action as string | string[]).includes('eks:DescribeCluster'));
      assert.deepEqual(describe, []);
    }
  });

  it('get no EKS action: eks:call runs as the ClusterAccessRole (Credentials) and is authorised by the cluster (access entry)', () => {
    for (const sm of machines()) {
      const eks = roleStatements(logicalId(sm.role))
        .flatMap((s) => asArray(s.Action as string | string[]))
        .filter((a) => a.startsWith('eks:'));
      assert.deepEqual(eks, []);
    }
  });

  it('substitute the rollout-check function wherever a definition names it', () => {
    const fn = built.stack.controlPlane.functions['rollout-check'].function;
    for (const sm of machines()) {
      const props = built.template.toJSON().Resources[logicalId(sm)].Properties;
      assert.deepEqual(props.DefinitionSubstitutions.RolloutCheckFunctionArn, { 'Fn::GetAtt': [logicalId(fn), 'Arn'] });
    }
  });

  it('give the rollout-check handler the registry host its image references are built with', () => {
    const fn = built.stack.controlPlane.functions['rollout-check'].function;
    const env = built.template.toJSON().Resources[logicalId(fn)].Properties.Environment.Variables;
    assert.match(JSON.stringify(env.ECR_REGISTRY), /dkr\.ecr\./);
  });

  it('raise no "driver not deployed" warning for a Kubernetes stage', () => {
    const warnings = Annotations.fromStack(built.stack).findWarning('*', Match.stringLikeRegexp('uses the kubernetes driver'));
    assert.deepEqual(warnings, []);
  });
});

describe('a stack in a known region', () => {
  it('does not warn at synth about a Kubernetes stage whose cluster is in another region: the plan describes it there (decision 045)', () => {
    const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Regional', { env: { account: '111122223333', region: 'eu-west-2' } });
    new ReleaseControlPlane(stack, 'ReleaseControlPlane', { config: kubernetesConfig() });
    const warnings = (pattern: string) => Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp(pattern));
    assert.equal(warnings('staging-eks').length, 0);
    assert.equal(warnings('cluster prod-eks in').length, 0);
  });
});

describe('the workflows without Kubernetes stages', () => {
  it('describe no cluster (no eks:DescribeCluster statement with an empty or wildcard resource)', () => {
    const helmOnly = buildGantry({
      bundle: false,
      config: parseConfig({
        services: {
          payments: {
            repository: 'payments-api',
            stages: [{ name: 'dev', cluster: 'dev', namespace: 'payments', deploy: { driver: 'helm', release: 'payments', chart: 'repo/payments', version: '1.2.0' } }],
          },
        },
        clusters: { dev: { name: 'dev-eks', region: 'eu-west-2' } },
      }),
    });
    const sm = helmOnly.stack.controlPlane.releaseStateMachine;
    const roleId = helmOnly.stack.getLogicalId(sm.role.node.defaultChild as CfnElement);
    const statements = Object.values(resourcesOfType(helmOnly.template, 'AWS::IAM::Policy'))
      .filter((p) => JSON.stringify((p.Properties as { Roles: unknown }).Roles).includes(`"${roleId}"`))
      .flatMap((p) => (p.Properties as { PolicyDocument: { Statement: Array<Record<string, unknown>> } }).PolicyDocument.Statement);
    assert.deepEqual(
      statements.filter((s) => s.Sid === 'DescribeKubernetesClusters'),
      [],
    );
  });
});
