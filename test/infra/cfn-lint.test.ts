/**
 * cfn-lint (AWS CloudFormation Linter) over the template synthesized from the example config, the one of the
 * cross-account fixture config and the GantryTargetAccount companion stack's (issue 18): no error, and no
 * warning but those acknowledged below with their reason (docs/security.md, "cfn-lint"). Runs when `cfn-lint` is
 * on PATH (.ci/run installs it where the machine's package manager has it); skipped with a printed reason otherwise.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, it } from 'vitest';
import { App } from 'aws-cdk-lib';
import { GantryTargetAccountStack } from '../../lib/GantryTargetAccount';
import { buildGantry, cdkJsonContext, crossAccountConfig, testConfig } from './fixtures';

/** One finding of `cfn-lint --format json`. */
export interface CfnLintFinding {
  readonly Level: 'Error' | 'Warning' | 'Informational';
  readonly Message: string;
  readonly Rule: { readonly Id: string };
  readonly Location: { readonly Path?: ReadonlyArray<string | number> };
}

/**
 * Warnings Gantry keeps, each with the shape of the finding it covers and why (docs/security.md lists them).
 * Any other warning, and every error, fails the test.
 */
export const ACKNOWLEDGED_WARNINGS: ReadonlyArray<{ readonly rule: string; readonly message: RegExp; readonly reason: string }> = [
  {
    rule: 'W3005',
    message: /^'\w+Role\w*' dependency already enforced by a 'GetAtt' at 'Resources\/\w+\/Properties\/(Role|RoleArn)'$/,
    reason:
      "CDK makes every Lambda function and state machine DependsOn its execution role (and that role's policy) as well as naming the role by GetAtt. The explicit dependency on the role is redundant, not wrong; the one on the policy is what keeps a function from running before its permissions exist, and it is not flagged.",
  },
];

/** The findings that fail the check: every error, and every warning not acknowledged. */
export function unacknowledged(findings: readonly CfnLintFinding[]): CfnLintFinding[] {
  return findings.filter((f) => f.Level === 'Error' || (f.Level === 'Warning' && !ACKNOWLEDGED_WARNINGS.some((a) => a.rule === f.Rule.Id && a.message.test(f.Message))));
}

const available = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
const SKIP = available.error || available.status !== 0 ? 'cfn-lint is not on PATH (install the Debian or pip package cfn-lint to run this check)' : undefined;
if (SKIP) process.stdout.write(`# skipped test/infra/cfn-lint.test.ts: ${SKIP}\n`);

/** Regions to check resource and property availability in: us-east-1 (cfn-lint's default) and the config's. */
const REGIONS = [
  ...new Set(['us-east-1', ...Object.values(testConfig().clusters).map((c) => c.region), ...Object.values(crossAccountConfig().clusters).map((c) => c.region)]),
].sort();

function lint(template: unknown): CfnLintFinding[] {
  const file = join(mkdtempSync(join(tmpdir(), 'gantry-cfn-lint-')), 'template.json');
  writeFileSync(file, JSON.stringify(template, null, 1));
  const r = spawnSync('cfn-lint', ['--format', 'json', '--regions', ...REGIONS, '--', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  // Exit codes are a bit mask (2 error, 4 warning, 8 informational); 1 is cfn-lint failing itself.
  assert.ok(r.status !== null && (r.status & 1) === 0, `cfn-lint failed to run (exit ${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout || '[]') as CfnLintFinding[];
}

describe.skipIf(SKIP)('cfn-lint', () => {
  let findings: CfnLintFinding[];
  beforeAll(() => {
    findings = lint(buildGantry({ bundle: false }).template.toJSON());
  });

  it(`reports no error and no unacknowledged warning on the example config's template (${cfnLintVersion()})`, () => {
    const problems = unacknowledged(findings).map((f) => `${f.Rule.Id} ${f.Level} at ${(f.Location.Path ?? []).join('/')}: ${f.Message}`);

    assert.deepEqual(problems, []);
  });

  it('gives a reason for each acknowledged warning, and each is still found (no stale acknowledgement)', () => {
    for (const a of ACKNOWLEDGED_WARNINGS) {
      assert.ok(a.reason.length >= 80, `${a.rule}: a reason that says why`);
      assert.ok(
        findings.some((f) => f.Rule.Id === a.rule && a.message.test(f.Message)),
        `${a.rule} is acknowledged but cfn-lint no longer reports it: remove it here and from docs/security.md`,
      );
    }
  });

  it('reports no error and no unacknowledged warning on the stack of a config with a cluster in another account (ClusterAccessRole, bus policy)', () => {
    const problems = unacknowledged(lint(buildGantry({ bundle: false, config: crossAccountConfig() }).template.toJSON())).map(
      (f) => `${f.Rule.Id} ${f.Level} at ${(f.Location.Path ?? []).join('/')}: ${f.Message}`,
    );

    assert.deepEqual(problems, []);
  });

  it('reports nothing at all on the GantryTargetAccount companion stack', () => {
    const app = new App({ context: cdkJsonContext() });
    const stack = new GantryTargetAccountStack(app, 'GantryTarget', {
      env: { account: '222222222222', region: 'eu-central-1' },
      gantryAccount: '111122223333',
      gantryRegion: 'eu-west-2',
      gantryStackName: 'Gantry',
      clusters: [{ name: 'prod-b-eks', namespaces: ['checkout', 'inventory'] }],
    });

    const findings = lint(app.synth().getStackByName(stack.stackName).template);

    assert.deepEqual(
      findings.map((f) => `${f.Rule.Id} ${f.Level} at ${(f.Location.Path ?? []).join('/')}: ${f.Message}`),
      [],
    );
  });

  it('would fail on an error (the check is live): a Lambda function without its required Role', () => {
    const broken = { Resources: { Fn: { Type: 'AWS::Lambda::Function', Properties: { Runtime: 'nodejs22.x', Handler: 'index.handler', Code: { ZipFile: 'x' } } } } };

    const errors = unacknowledged(lint(broken));

    assert.ok(
      errors.some((f) => f.Level === 'Error' && /Role/.test(f.Message)),
      JSON.stringify(errors),
    );
  });
});

function cfnLintVersion(): string {
  return (available.stdout ?? '').trim() || 'cfn-lint';
}
