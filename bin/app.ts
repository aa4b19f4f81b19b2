#!/usr/bin/env node
/**
 * CDK entry: `npx cdk deploy -c config=path/to/gantry.config.json`. The only place of the Gantry app that reads context (bin/target-account.ts reads the companion stack's).
 *
 * The config path defaults to `gantry.config.json` (relative to the working directory); when that file
 * does not exist, the example config is used with a warning. An explicit `-c config=` that does not
 * exist, a file that is not JSON, a file with a duplicate key or nested too deep
 * (lambdas/domain/strict-json.ts), or a config that does not validate stops synth with exit code 2 and
 * one line per problem.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { type GantryConfig, parseConfigText } from '../lambdas/domain/config';
import { JsonReadError } from '../lambdas/domain/strict-json';
import { ValidationError } from '../lambdas/domain/validation';
import { addGantry } from '../lib/GantryApp';

const DEFAULT_CONFIG = 'gantry.config.json';
const EXAMPLE_CONFIG = join(__dirname, '..', 'examples', 'gantry.config.json');

function stop(lines: string[]): never {
  for (const line of lines) process.stderr.write(`${line}\n`);
  process.exit(2);
}

function loadConfig(requested: unknown): GantryConfig {
  if (requested !== undefined && typeof requested !== 'string') stop([`gantry: -c config= must be a file path, got ${JSON.stringify(requested)}`]);
  let path = resolve(process.cwd(), requested ?? DEFAULT_CONFIG);
  if (!existsSync(path)) {
    if (requested !== undefined) stop([`gantry: config file ${path} does not exist (-c config=${requested})`]);
    process.stderr.write(`gantry: WARNING ${path} does not exist; synthesizing with the example config ${EXAMPLE_CONFIG}. Pass -c config=<file> for a real deployment.\n`);
    path = EXAMPLE_CONFIG;
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    stop([`gantry: ${path} is not readable JSON: ${(e as Error).message}`]);
  }
  try {
    // Strict: a duplicate key (which of two bakeMinutes counts?) or nesting past the limit is refused with its path.
    return parseConfigText(text, path);
  } catch (e) {
    if (e instanceof JsonReadError) stop([`gantry: ${path} is not readable JSON: ${e.message}`]);
    if (e instanceof ValidationError) stop([`gantry: ${e.source} is invalid:`, ...e.problems.map((p) => `  ${p}`)]);
    throw e;
  }
}

const app = new App();
addGantry(app, loadConfig(app.node.tryGetContext('config')));
