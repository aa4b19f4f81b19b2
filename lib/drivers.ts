/**
 * The CDK side of the drivers (docs/decisions/035-drivers-as-plug-ins.md): for every driver in the
 * list (drivers/index.ts), its `drivers/<name>/cdk.ts` is loaded BY CONVENTION from the name and asked
 * for its resources. The list itself stays pure (the Lambda bundles reach it through the config
 * schema); only this module, on the CDK side, loads the CDK parts.
 */
import { join } from 'node:path';
import type { RemovalPolicy } from 'aws-cdk-lib';
import type { IProject } from 'aws-cdk-lib/aws-codebuild';
import type { IRole } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { DRIVERS } from '../drivers';
import type { AnyDriver } from '../drivers/types';
import type { GantryConfig } from '../lambdas/domain/config';
import { requireDriverPart } from '../drivers/require-part';

export interface DriverCdkProps {
  readonly config: GantryConfig;
  /** Encrypts what the driver stores (build artifacts, log groups, buckets). */
  readonly encryptionKey: IKey;
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/** What a driver adds to the stack, as the workflows and the stack use it. */
export interface DriverResources {
  /** The driver's construct, when it has one (id `<Title>Driver`, e.g. `HelmDriver`). */
  readonly construct?: Construct;
  /** A CodeBuild driver's project: substituted for its `codeBuild.projectPlaceholder`, and what the workflows may start. */
  readonly project?: IProject;
  /** The role the driver's builds run as (needs EKS access entries). */
  readonly role?: IRole;
  /** EKS clusters the workflows describe for this driver (`eks:DescribeCluster` on exactly these). */
  readonly describedClusterArns?: readonly string[];
}

/** What `drivers/<name>/cdk.ts` exports as `cdk`. */
export interface DriverCdk {
  create(scope: Construct, id: string, props: DriverCdkProps): DriverResources;
}

export class DriverCdkError extends Error {
  override readonly name = 'DriverCdkError';
}

const DRIVERS_DIR = join(__dirname, '..', 'drivers');

/** A driver's CDK part, loaded by convention from its folder. */
export function driverCdk(driver: AnyDriver): DriverCdk {
  const file = join(driver.dir ?? join(DRIVERS_DIR, driver.name), 'cdk');
  const part = requireDriverPart<{ cdk?: DriverCdk }>(file);
  if (!part.cdk) throw new DriverCdkError(`${file}.ts exports no \`cdk\` (a DriverCdk) for the ${driver.name} driver`);
  return part.cdk;
}

/** Every driver's resources, by name, in list order; each under the construct id `<Title>Driver`. */
export function createDrivers(scope: Construct, props: DriverCdkProps, drivers: readonly AnyDriver[] = DRIVERS): Record<string, DriverResources> {
  return Object.fromEntries(drivers.map((d) => [d.name, driverCdk(d).create(scope, `${d.title}Driver`, props)]));
}
