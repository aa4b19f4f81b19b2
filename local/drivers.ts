/**
 * The local runtime's side of the drivers (docs/decisions/035-drivers-as-plug-ins.md): a CodeBuild
 * driver's simulated build is the engine's (local/engine.ts `runDriver`); what the build proves about
 * itself — its exported variables, a refusal — is the driver's own `drivers/<name>/local.ts`, loaded
 * BY CONVENTION from the driver's name. A driver with no CodeBuild project (kubernetes) has none: the
 * workflow talks to the local cluster (local/kube.ts) itself.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AnyDriver } from '../drivers/types';
import type { DeployConfig } from '../lambdas/domain/config';
import type { LocalCloud } from './cloud';
import { requireDriverPart } from '../drivers/require-part';

/** One driver run as a driver's local part sees it. */
export interface LocalDriverRun {
  readonly service: string;
  readonly stage: string;
  readonly digest: string;
  readonly kind: 'deploy' | 'rollback';
  readonly releaseId: string;
  /** `<registry>/<repository>@<digest>`. */
  readonly image: string;
  readonly at: string;
}

/** What a driver's local part is given: the run, the stage's deploy block, the scenario's line for it and the local cloud. */
export interface LocalDriverContext {
  readonly cloud: LocalCloud;
  readonly run: LocalDriverRun;
  readonly deploy: DeployConfig;
  /** The scenario's `deploy` line for this run, as the driver reads it (e.g. `planDestroys` for Terraform). */
  readonly scripted: Readonly<Record<string, unknown>> | undefined;
  /** The build's failure so far, when it failed. */
  readonly failure: string | undefined;
  /** The build's environment (EnvironmentVariablesOverride), e.g. the Terraform driver's GANTRY_TF_MODE (decision 049). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** What `drivers/<name>/local.ts` exports as `local`. */
export interface DriverLocal {
  /** The build's failure message when the scenario gives none (e.g. `helm upgrade failed`). */
  readonly failureMessage: string;
  /** The variables the build exports (its buildspec's `exported-variables`), and a refusal that fails a build that otherwise succeeded. */
  evidence(ctx: LocalDriverContext): {
    exported: Record<string, string>;
    refusal?: string;
    /** false: the run changed nothing on the cluster (a plan-only run, a refused or stale apply; decision 049). */
    applied?: boolean;
  };
}

const DRIVERS_DIR = join(__dirname, '..', 'drivers');

/** A driver's local part, or undefined when its folder has none. */
export function driverLocal(driver: AnyDriver): DriverLocal | undefined {
  const file = join(driver.dir ?? join(DRIVERS_DIR, driver.name), 'local');
  if (!existsSync(`${file}.ts`) && !existsSync(`${file}.js`)) return undefined;
  return requireDriverPart<{ local?: DriverLocal }>(file).local;
}
