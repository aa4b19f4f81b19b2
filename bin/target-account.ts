#!/usr/bin/env node
/**
 * CDK entry of the companion stack for a target account (docs/deploying.md, "Stages in other accounts: the companion
 * stack"), deployed with credentials of that account, in the region of its clusters:
 *
 *   npx cdk deploy --app "npx tsx bin/target-account.ts" -c target=gantry-target.json
 *
 * where gantry-target.json is the construct's props (lib/GantryTargetAccount.ts), e.g.
 *
 *   { "gantryAccount": "111122223333", "gantryRegion": "eu-west-2", "gantryStackName": "Gantry",
 *     "clusters": [{ "name": "prod-b-eks", "namespaces": ["payments"] }] }
 *
 * The stack is `GantryTarget` (or `-c stackName=`). Its output `TargetRoleArn` goes in `clusters.<key>.roleArn`. A file
 * that is missing, not JSON, or props that are invalid stop synth with exit code 2 and one line per problem.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { GantryTargetAccountStack, type GantryTargetAccountProps, targetAccountProblems } from '../lib/GantryTargetAccount';

function stop(lines: string[]): never {
  for (const line of lines) process.stderr.write(`${line}\n`);
  process.exit(2);
}

const app = new App();
const requested = app.node.tryGetContext('target');
if (typeof requested !== 'string') stop(['gantry: -c target=<file> is required: a JSON file with the GantryTargetAccount props (docs/deploying.md)']);
const path = resolve(process.cwd(), requested);
if (!existsSync(path)) stop([`gantry: target props file ${path} does not exist (-c target=${requested})`]);
let props: GantryTargetAccountProps;
try {
  props = JSON.parse(readFileSync(path, 'utf8')) as GantryTargetAccountProps;
} catch (e) {
  stop([`gantry: ${path} is not readable JSON: ${(e as Error).message}`]);
}
const problems = targetAccountProblems(props);
if (problems.length > 0) stop([`gantry: ${path} is invalid:`, ...problems.map((p) => `  ${p}`)]);
const stackName = app.node.tryGetContext('stackName') ?? 'GantryTarget';
new GantryTargetAccountStack(app, String(stackName), {
  ...props,
  description: `Gantry companion stack: the role and alarm forwarding for Gantry ${props.gantryStackName} in ${props.gantryAccount}`,
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
