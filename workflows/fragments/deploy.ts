/**
 * The deploy chain, once for every driver: the Choice on the stage's driver and each driver's
 * states. The release deploy, the release's stage rollback and the rollback workflow all compose
 * this one function; they differ only in state names, where the result goes and where it leads.
 *
 * The drivers are the registered list (drivers/index.ts); each driver's states come from its
 * `drivers/<name>/workflow.ts`, found by convention (docs/decisions/035-drivers-as-plug-ins.md).
 */
import { join } from 'node:path';
import { DRIVERS } from '../../drivers';
import type { AnyDriver } from '../../drivers/types';
import { choiceOn, states, type States } from '../builder';
import { requireDriverPart } from '../../drivers/require-part';

export interface DeployChain {
  /** `deploy` (a release's digest) or `rollback` (the stage's rollback target). */
  readonly kind: 'deploy' | 'rollback';
  /** The workflow the chain is part of: the release's stage rollback and the rollback workflow read differently. */
  readonly workflow: 'release' | 'rollback';
  /** Where the driver's result goes, e.g. `$.deploy`. */
  readonly resultPath: string;
  /** The validated environment for the CodeBuild drivers, e.g. `$.stage.deployEnv`. */
  readonly envPath: string;
  /**
   * A wave stage's chain (decision 044): where the cluster key of this run is, e.g. `$.target.cluster`; drivers that
   * plan in a function (Kubernetes) pass it on. Absent: the stage's one cluster.
   */
  readonly clusterPath?: string;
  /** The state after a successful deploy. */
  readonly onDeployed: string;
  /** The state a failed deploy goes to, with the error at `$.deployError`. */
  readonly onFailed: string;
  /** The state an unexpected failure of a Gantry function goes to. */
  readonly onInternalError: string;
  /**
   * Deploy chains: the state an aborted canary goes to (docs/decisions/043-canary-steps.md), its traffic and replicas
   * already taken back, with `$.canaryAbort` = { step, error, cleanup }. Absent: `onFailed`.
   */
  readonly onCanaryAborted?: string;
}

/** What `drivers/<name>/workflow.ts` exports as `workflow`. */
export interface DriverWorkflow {
  /** The driver's first state in a chain of this kind: where the Choice on `$.stage.driver` goes. */
  entry(kind: DeployChain['kind']): string;
  /** The driver's states. They end in `chain.onDeployed` or `chain.onFailed` (error at `$.deployError`). */
  states(chain: DeployChain): States;
}

export const DRIVERS_DIR = join(__dirname, '..', '..', 'drivers');

export class DriverWorkflowError extends Error {
  override readonly name = 'DriverWorkflowError';
}

/** A driver's workflow part, loaded by convention from its folder. */
export function driverWorkflow(driver: AnyDriver): DriverWorkflow {
  const file = join(driver.dir ?? join(DRIVERS_DIR, driver.name), 'workflow');
  const part = requireDriverPart<{ workflow?: DriverWorkflow }>(file);
  if (!part.workflow) throw new DriverWorkflowError(`${file}.ts exports no \`workflow\` (a DriverWorkflow) for the ${driver.name} driver`);
  return part.workflow;
}

/** The Choice state on `$.stage.driver` of a chain of this kind. */
export const chooseDriverState = (kind: DeployChain['kind']): string => (kind === 'deploy' ? 'ChooseDeployDriver' : 'ChooseRollbackDriver');

/** The Choice on `$.stage.driver` (the list's `choiceDefault` driver is its Default) and the states of every driver. */
export function deployChain(chain: DeployChain, drivers: readonly AnyDriver[] = DRIVERS): States {
  const parts = drivers.map((d) => ({ d, w: driverWorkflow(d) }));
  const fallback = parts.find((p) => p.d.choiceDefault);
  if (!fallback) throw new DriverWorkflowError('no driver is the choiceDefault (drivers/index.ts)');
  const cases = Object.fromEntries(parts.filter((p) => p !== fallback).map((p) => [p.d.name, p.w.entry(chain.kind)]));
  return states({ [chooseDriverState(chain.kind)]: choiceOn('$.stage.driver', cases, fallback.w.entry(chain.kind)) }, ...parts.map((p) => p.w.states(chain)));
}
