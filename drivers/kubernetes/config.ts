/** The Kubernetes driver's `deploy` block (docs/config.md). Pure: zod only. */
import * as z from 'zod';
import { k8sName, positiveMinutes } from '../../lambdas/domain/config-fields';

/** Native driver: Step Functions `eks:call` patches the Deployment's container image and watches its rollout. */
export const kubernetesDeploy = z.strictObject({
  driver: z.literal('kubernetes'),
  deployment: k8sName('a Deployment name'),
  container: k8sName('a container name'),
  timeoutMinutes: positiveMinutes(120).default(10),
  /** Seconds between rollout status reads. */
  pollSeconds: z
    .number({ error: 'expected a whole number of seconds from 5 to 300' })
    .int('expected a whole number of seconds from 5 to 300')
    .min(5, 'expected a whole number of seconds from 5 to 300')
    .max(300, 'expected a whole number of seconds from 5 to 300')
    .default(10),
});
export type KubernetesDeploy = z.output<typeof kubernetesDeploy>;
