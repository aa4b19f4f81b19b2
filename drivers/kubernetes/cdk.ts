/**
 * The Kubernetes driver in the stack: no project and no role of its own (the workflows change the
 * Deployment with `eks:call`, which needs no IAM but an EKS access entry for the workflow roles;
 * lib/EksAccessEntries.ts). It names the clusters the workflows may describe: those of its stages.
 */
import { Stack } from 'aws-cdk-lib';
import type { DriverCdk } from '../../lib/drivers';
import { stageClusters } from '../../lambdas/domain/config';

export const cdk: DriverCdk = {
  create(scope, _id, { config }) {
    const stack = Stack.of(scope);
    const describedClusterArns = [
      ...new Set(
        Object.values(config.services)
          .flatMap((svc) => svc.stages.filter((st) => st.deploy.driver === 'kubernetes'))
          .flatMap((st) => stageClusters(st).map((key) => config.clusters[key]))
          .filter((c) => c !== undefined)
          .map((c) => stack.formatArn({ service: 'eks', region: c.region, resource: 'cluster', resourceName: c.name })),
      ),
    ];
    return { describedClusterArns };
  },
};
