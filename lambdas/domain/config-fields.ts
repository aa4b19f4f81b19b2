/**
 * Config field helpers shared by lambdas/domain/config.ts and each driver's own schema
 * (drivers/<name>/config.ts). Pure: zod only. It imports nothing of the config itself, so a driver's
 * schema can use these without an import cycle (config.ts imports drivers/index.ts).
 */
import * as z from 'zod';

export const K8S_NAME_PATTERN = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** A whole number of minutes from 1 to `max`, with one message for every way of missing it. */
export const positiveMinutes = (max: number) =>
  z
    .number({ error: `expected a whole number from 1 to ${max}` })
    .int(`expected a whole number from 1 to ${max}`)
    .min(1, `expected a whole number from 1 to ${max}`)
    .max(max, `expected a whole number from 1 to ${max}`);

/** A Kubernetes object name (a DNS label). */
export const k8sName = (what: string) => z.string().regex(K8S_NAME_PATTERN, `expected ${what} (a Kubernetes DNS label)`);
