/**
 * Shared set-up of the infrastructure tests: the example config, the context of cdk.json (so tests
 * synthesize with the same feature flags as `cdk synth`), and the Gantry app built the way
 * bin/app.ts builds it.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { type GantryConfig, parseConfig } from '../../lambdas/domain/config';
import { addGantry } from '../../lib/GantryApp';
import type { GantryStack } from '../../lib/GantryStack';

export const ROOT = join(__dirname, '..', '..');
export const EXAMPLE_CONFIG_PATH = join(ROOT, 'examples', 'gantry.config.json');

/** Used only while examples/gantry.config.json does not exist: one Helm service in two stages. */
const INLINE_CONFIG = {
  services: {
    payments: {
      repository: 'payments-api',
      tagPattern: '^v[0-9]+\\.[0-9]+\\.[0-9]+$',
      stages: [
        {
          name: 'dev',
          cluster: 'dev',
          namespace: 'payments',
          deploy: { driver: 'helm', release: 'payments', chart: 'oci://111122223333.dkr.ecr.eu-west-2.amazonaws.com/charts/payments', version: '1.2.0' },
          alarms: ['payments-dev-5xx'],
          bakeMinutes: 10,
        },
        {
          name: 'prod',
          cluster: 'prod',
          namespace: 'payments',
          deploy: { driver: 'helm', release: 'payments', chart: 'oci://111122223333.dkr.ecr.eu-west-2.amazonaws.com/charts/payments', version: '1.2.0', timeoutMinutes: 20 },
          alarms: ['payments-prod-5xx'],
          bakeMinutes: 30,
        },
      ],
    },
  },
  clusters: { dev: { name: 'dev-eks', region: 'eu-west-2' }, prod: { name: 'prod-eks', region: 'eu-west-2' } },
};

/** The example config when it exists (it is what `cdk synth` falls back to), else the inline one. */
export function testConfig(): GantryConfig {
  const raw = existsSync(EXAMPLE_CONFIG_PATH) ? JSON.parse(readFileSync(EXAMPLE_CONFIG_PATH, 'utf8')) : INLINE_CONFIG;
  return parseConfig(raw, 'test config');
}

/** The example config plus a cluster in another account (222222222222, eu-central-1) and stages on it (issue 18). */
export const CROSS_ACCOUNT_CONFIG_PATH = join(ROOT, 'test', 'fixtures', 'cross-account.config.json');
/** That cluster's roleArn: the role a GantryTargetAccount stack for the `Gantry` stack creates there. */
export const TARGET_ROLE = 'arn:aws:iam::222222222222:role/gantry-target-Gantry';

export function crossAccountConfig(): GantryConfig {
  return parseConfig(JSON.parse(readFileSync(CROSS_ACCOUNT_CONFIG_PATH, 'utf8')), 'test/fixtures/cross-account.config.json');
}

/** The `context` of cdk.json: the feature flags `cdk synth` runs with. */
export function cdkJsonContext(): Record<string, unknown> {
  return JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')).context;
}

export interface BuiltGantry {
  readonly app: App;
  readonly stack: GantryStack;
  readonly template: Template;
}

/**
 * The Gantry app as bin/app.ts builds it. `bundle: false` skips esbuild (asset hashes are then
 * placeholders) for the tests that only read the template; the cdk-nag test bundles for real.
 */
export function buildGantry(options: { bundle: boolean; config?: GantryConfig }): BuiltGantry {
  const app = new App({
    outdir: mkdtempSync(join(tmpdir(), 'gantry-cdk-')),
    context: { ...cdkJsonContext(), ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }) },
  });
  const stack = addGantry(app, options.config ?? testConfig());
  return { app, stack, template: Template.fromStack(stack) };
}

/** Resources of one type in a synthesized template, by logical id. */
export function resourcesOfType(template: Template, type: string): Record<string, { Properties?: Record<string, unknown>; [k: string]: unknown }> {
  return template.findResources(type) as Record<string, { Properties?: Record<string, unknown> }>;
}

/** Every IAM policy statement in the template: identity policies, inline role policies and resource policies. */
export function allPolicyStatements(template: Template): Array<{ where: string; statement: Record<string, unknown> }> {
  const out: Array<{ where: string; statement: Record<string, unknown> }> = [];
  const json = template.toJSON() as { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };
  const visit = (where: string, node: unknown): void => {
    if (Array.isArray(node)) {
      for (const [i, n] of node.entries()) visit(`${where}[${i}]`, n);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const obj = node as Record<string, unknown>;
    if (Array.isArray(obj.Statement)) {
      for (const s of obj.Statement as Array<Record<string, unknown>>) out.push({ where, statement: s });
    }
    for (const [k, v] of Object.entries(obj)) if (k !== 'Statement') visit(`${where}.${k}`, v);
  };
  for (const [id, r] of Object.entries(json.Resources)) visit(`${id} (${r.Type})`, r.Properties);
  return out;
}
