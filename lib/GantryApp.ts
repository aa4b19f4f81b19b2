/**
 * What `bin/app.ts` puts in the CDK app once the config is loaded: the `Gantry` stack and the cdk-nag
 * AwsSolutions and Serverless checks. cdk-nag 3 packs are CDK validation plugins: an unacknowledged
 * finding of either fails synth.
 * Tests build the very same app through this function.
 */
import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { GantryConfig } from '../lambdas/domain/config';
import { GantryStack } from './GantryStack';

export const STACK_NAME = 'Gantry';

export function addGantry(app: App, config: GantryConfig): GantryStack {
  const stack = new GantryStack(app, STACK_NAME, {
    config,
    description: 'Gantry: serverless release control plane for Amazon EKS',
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  return stack;
}
