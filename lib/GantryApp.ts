/**
 * What `bin/app.ts` puts in the CDK app once the config is loaded: the `Gantry` stack and the cdk-nag
 * AwsSolutions checks. cdk-nag 3 is a CDK validation plugin: an unacknowledged finding fails synth.
 * Tests build the very same app through this function.
 */
import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { GantryConfig } from '../lambdas/domain/config';
import { GantryStack } from './GantryStack';

export const STACK_NAME = 'Gantry';

export function addGantry(app: App, config: GantryConfig): GantryStack {
  const stack = new GantryStack(app, STACK_NAME, {
    config,
    description: 'Gantry: serverless release control plane for Amazon EKS',
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}
