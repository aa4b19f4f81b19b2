/** The rollout-check handler: what it accepts from the workflow state, checked again before it decides. */
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { ValidationError } from '../../lambdas/domain/validation';
import type { Deps } from '../../lambdas/ports';
import { run } from '../../lambdas/rollout-check';

const D2 = `sha256:${'2'.repeat(64)}`;
const IMAGE = `000000000000.dkr.ecr.local.amazonaws.com/payments-api@${D2}`;
const deps = { now: () => new Date('2026-11-24T10:00:00Z') } as unknown as Deps;
const target = {
  releaseId: 'payments-2222222222222222',
  kind: 'deploy',
  service: 'payments',
  stage: 'prod',
  clusterName: 'prod-eks',
  region: 'eu-west-2',
  cluster: 'prod',
  roleArn: 'arn:aws:iam::111122223333:role/gantry-cluster-access',
  namespace: 'payments',
  deployment: 'payments-api',
  container: 'api',
  digest: D2,
  image: IMAGE,
  path: '/apis/apps/v1/namespaces/payments/deployments/payments-api',
  pollSeconds: 10,
  timeoutSeconds: 600,
};
const deployment = {
  generation: 2,
  resourceVersion: '17',
  spec: { replicas: 2, template: { spec: { containers: [{ name: 'api', image: IMAGE }] } } },
  status: { observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2, readyReplicas: 2, conditions: [] },
};

describe('the rollout-check handler', () => {
  it('decides DONE for a rolled-out Deployment, keeping the deadline for the next state', async () => {
    const out = await run({ action: 'check', target, deployment, deadline: '2026-11-24T10:10:00.000Z', previousImage: null }, deps);
    assert.equal(out.decision, 'DONE');
    assert.equal(out.deadline, '2026-11-24T10:10:00.000Z');
  });

  it('refuses a target whose path is not the Deployment it names, naming the field', async () => {
    await assert.rejects(
      run({ action: 'update', target: { ...target, path: '/api/v1/namespaces/kube-system/secrets/x' }, deployment }, deps),
      (e: unknown) => e instanceof ValidationError && /target\.path/.test(e.message),
    );
  });

  it('refuses a target whose image is not pinned to its digest', async () => {
    await assert.rejects(
      run({ action: 'update', target: { ...target, image: 'payments-api:latest' }, deployment }, deps),
      (e: unknown) => e instanceof ValidationError && /target\.image/.test(e.message),
    );
  });

  it('refuses a deadline that is not a timestamp', async () => {
    await assert.rejects(run({ action: 'check', target, deployment, deadline: 'soon' }, deps), ValidationError);
  });
});
