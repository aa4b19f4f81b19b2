/**
 * The package's public API (decision 033): what another CDK app imports.
 *
 *   import { ReleaseControlPlane, parseConfig } from 'gantry';
 *   new ReleaseControlPlane(stack, 'Gantry', { config: parseConfig(JSON.parse(readFileSync('gantry.config.json', 'utf8'))) });
 *
 * The handlers are bundled with esbuild at synth from the package's own `lambdas/` sources, so `esbuild`
 * must be installed beside `aws-cdk-lib` (as aws-lambda-nodejs asks too).
 */
export {
  ReleaseControlPlane,
  ReleaseControlPlaneError,
  type ReleaseControlPlaneProps,
  EVENT_BUS_NAME,
  SCHEDULE_GROUP_NAME,
  HANDLERS,
  type HandlerName,
} from './ReleaseControlPlane';
export { GantryStack, type GantryStackProps } from './GantryStack';
export {
  GantryTargetAccount,
  GantryTargetAccountError,
  type GantryTargetAccountProps,
  type GantryTargetCluster,
  GantryTargetAccountStack,
  type GantryTargetAccountStackProps,
  targetRoleName,
} from './GantryTargetAccount';
export { ClusterAccessRole, CLUSTER_ACCESS_ROLE_ENV, clusterAccess } from './ClusterAccessRole';
export { addGantry, STACK_NAME } from './GantryApp';
export { parseConfig, parseConfigText, configHash, type GantryConfig } from '../lambdas/domain/config';
export { ValidationError } from '../lambdas/domain/validation';
export { JsonReadError } from '../lambdas/domain/strict-json';
