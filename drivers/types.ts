/**
 * What a driver is, as the rest of Gantry sees it (docs/decisions/035-drivers-as-plug-ins.md).
 *
 * A driver is a folder `drivers/<name>/` registered by one line in `drivers/index.ts`. The list holds
 * PURE descriptors (this interface): the Lambda handlers reach it through the config schema and are
 * bundled with esbuild, so nothing here may import aws-cdk-lib, local/ or the workflow builder.
 * The other parts of a driver are found by convention from its name, in its folder:
 *
 *   drivers/<name>/workflow.ts  exports `workflow: DriverWorkflow`  (drivers/workflow-types.ts; workflows/)
 *   drivers/<name>/cdk.ts       exports `cdk: DriverCdk`            (lib/drivers.ts; the CDK stack)
 *   drivers/<name>/local.ts     exports `local: DriverLocal`        (local/engine.ts; CodeBuild drivers only)
 */
import type { z } from 'zod';
import type { DriverEvidencePart } from './evidence-kit';

/** The zod schema of one driver's `deploy` block: a strict object whose `driver` is the literal name. */
export type DriverConfigSchema<N extends string = string> = z.ZodObject<{ driver: z.ZodLiteral<N> } & z.ZodRawShape, z.core.$strict>;

export interface DriverDescriptor<N extends string = string, S extends DriverConfigSchema<N> = DriverConfigSchema<N>> {
  /** `deploy.driver` in the config; also the folder name under drivers/. */
  readonly name: N;
  /** The driver's name in prose ("Helm"). */
  readonly title: string;
  /** The `deploy` block of a stage that uses this driver. */
  readonly config: S;
  /**
   * Set on exactly one driver: the deploy Choice on `$.stage.driver` falls through to it (its `Default`).
   * The other drivers get a `StringEquals` branch each, in list order.
   */
  readonly choiceDefault?: true;
  /** Drivers that run as a CodeBuild project: its workflow placeholder and the variables its buildspec exports. */
  readonly codeBuild?: {
    /** `${…}` in the workflows, substituted with the project's name at synth (e.g. `HelmProjectName`). */
    readonly projectPlaceholder: string;
    /** `env.exported-variables` of its buildspec: the driver evidence (lambdas/domain/driver-evidence.ts). */
    readonly exports: readonly string[];
  };
  /** The driver's own `GANTRY_*` inputs for a run, beside the common ones (lambdas/domain/release.ts deployEnvironment). */
  readonly deployEnv: (deploy: z.output<S>) => Record<string, string>;
  /** Its member of the recorded evidence (`evidence.<name>`): extraction and completeness (lambdas/domain/driver-evidence.ts). */
  readonly evidence?: DriverEvidencePart;
  /** The longest the deploy tool may run for one stage, in minutes (lambdas/domain/release.ts timeouts). */
  readonly toolMinutes: (deploy: z.output<S>) => number;
  /** Where the convention parts (workflow.ts, cdk.ts, local.ts) are: `drivers/<name>` unless set (a test's toy driver). */
  readonly dir?: string;
}

/** Keeps the literal types of a descriptor (its name and schema) for the config's discriminated union. */
export function defineDriver<const N extends string, S extends DriverConfigSchema<N>>(d: DriverDescriptor<N, S>): DriverDescriptor<N, S> {
  return d;
}

export class DriverRegistryError extends Error {
  override readonly name = 'DriverRegistryError';
}

/**
 * Any registered driver, whatever its config schema: the list and the code that iterates it take drivers whose
 * schemas are different zod object types, which no narrower type parameter admits (zod's object types are invariant).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyDriver = DriverDescriptor<string, any>;
