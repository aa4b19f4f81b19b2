/** The Helm driver's `deploy` block (docs/config.md). Pure: zod only. */
import * as z from 'zod';
import { k8sName, positiveMinutes } from '../../lambdas/domain/config-fields';

export const helmDeploy = z.strictObject({
  driver: z.literal('helm'),
  release: k8sName('a Helm release name'),
  chart: z
    .string()
    .regex(/^(oci:\/\/|https:\/\/)[A-Za-z0-9._/:@-]+$|^[a-z0-9][a-z0-9._-]*\/[a-z0-9][a-z0-9._-]*$/, 'expected an oci:// or https:// chart reference, or repo/chart'),
  version: z.string().regex(/^[0-9A-Za-z.+-]{1,64}$/, 'expected a chart version such as 1.2.0'),
  timeoutMinutes: positiveMinutes(120).default(10),
  values: z
    .strictObject({
      repositoryKey: z
        .string()
        .regex(/^[A-Za-z0-9_.]+$/)
        .default('image.repository'),
      digestKey: z
        .string()
        .regex(/^[A-Za-z0-9_.]+$/)
        .default('image.digest'),
    })
    .default({ repositoryKey: 'image.repository', digestKey: 'image.digest' }),
});
export type HelmDeploy = z.output<typeof helmDeploy>;
