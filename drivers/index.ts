/**
 * THE list of drivers (docs/extending.md, docs/decisions/035-drivers-as-plug-ins.md). Adding a driver is a
 * folder `drivers/<name>/` and one line here. Everything else iterates this list: the config's discriminated
 * union on `deploy.driver`, the workflows' Choice on `$.stage.driver`, the CDK stack (projects, placeholders,
 * grants), the local runtime's driver runs, the evidence checks and the timeouts.
 *
 * Pure: the Lambda handlers reach this module through the config schema (import-graph test).
 */
import * as z from 'zod';
import { helm } from './helm';
import { kubernetes } from './kubernetes';
import { terraform } from './terraform';
import { DriverRegistryError, type AnyDriver } from './types';

/** In this order: the workflows' Choice tests the non-default drivers in it, and states follow it. */
export const DRIVERS = [helm, terraform, kubernetes] as const;

export type Drivers = typeof DRIVERS;
export type DriverName = Drivers[number]['name'];

/** The config schemas of a list, as a tuple (what `z.discriminatedUnion` takes). */
export function configSchemas<const T extends readonly AnyDriver[]>(drivers: T): { -readonly [K in keyof T]: T[K]['config'] } {
  return drivers.map((d) => d.config) as { -readonly [K in keyof T]: T[K]['config'] };
}

/** The `deploy` block of a stage: a discriminated union on `driver` over the list's schemas (lambdas/domain/config.ts). */
export function deploySchemaOf<const T extends readonly [AnyDriver, ...AnyDriver[]]>(drivers: T) {
  return z.discriminatedUnion('driver', configSchemas(drivers), {
    error: () => `expected a deploy with driver ${driverNamesInProse(drivers)}`,
  });
}

/** `"helm", "terraform" or "kubernetes"`: the names of a list in prose, for messages. */
export function driverNamesInProse(drivers: readonly AnyDriver[] = DRIVERS): string {
  const names = drivers.map((d) => JSON.stringify(d.name));
  return names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
}

/** The registered driver called `name`. */
export function driverOf(name: string, drivers: readonly AnyDriver[] = DRIVERS): AnyDriver {
  const d = drivers.find((x) => x.name === name);
  if (!d) throw new DriverRegistryError(`no driver "${name}" (registered: ${drivers.map((x) => x.name).join(', ')})`);
  return d;
}

/** The drivers that run as a CodeBuild project, by name. */
export const CODEBUILD_DRIVER_NAMES: readonly string[] = DRIVERS.filter((d) => 'codeBuild' in d && d.codeBuild).map((d) => d.name);

/**
 * A list is usable when its names are unique folder-safe words and exactly one driver is the Choice's default.
 * @throws DriverRegistryError naming the problem
 */
export function checkDrivers(drivers: readonly AnyDriver[]): void {
  const seen = new Set<string>();
  for (const d of drivers) {
    if (!/^[a-z][a-z0-9-]*$/.test(d.name)) throw new DriverRegistryError(`driver name "${d.name}": expected lower-case letters, digits and -`);
    if (seen.has(d.name)) throw new DriverRegistryError(`driver "${d.name}" is registered twice`);
    seen.add(d.name);
  }
  const defaults = drivers.filter((d) => d.choiceDefault).map((d) => d.name);
  if (defaults.length !== 1) throw new DriverRegistryError(`expected exactly one driver with choiceDefault, got ${defaults.length} (${defaults.join(', ')})`);
}
checkDrivers(DRIVERS);
