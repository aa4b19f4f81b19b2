import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { type PolicyValidationPluginReport, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { type BuiltGantry, buildGantry } from './fixtures';

interface Acknowledgement {
  readonly path: string;
  readonly id: string;
  readonly reason: unknown;
}

/** Every acknowledgement recorded in the construct tree (Validations.of(x).acknowledge). */
function acknowledgements(built: BuiltGantry): Acknowledgement[] {
  return built.app.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY && m.data)
      .flatMap((m) => Object.entries(m.data as Record<string, unknown>).map(([id, reason]) => ({ path: c.node.path, id: id.replace(/^annotation::/i, ''), reason }))),
  );
}

/** The AwsSolutions findings as if nothing were acknowledged (cdk-nag 3 checks acknowledgements in a private method). */
function unacknowledgedRun(built: BuiltGantry): PolicyValidationPluginReport {
  const pack = new AwsSolutionsChecks();
  Object.defineProperty(pack, 'isAcknowledged', { value: () => false });
  return pack.validateScope(built.app);
}

let built: BuiltGantry;
let synthError: unknown;

before(() => {
  // The real thing: bundling with esbuild and cdk-nag registered as a validation plugin, as `cdk synth` does.
  built = buildGantry({ bundle: true });
  try {
    built.app.synth();
  } catch (e) {
    synthError = e;
  }
});

describe('cdk-nag AwsSolutions checks', () => {
  it('let the app synthesize: no finding is left unacknowledged', () => {
    assert.equal(synthError, undefined, String((synthError as Error | undefined)?.message));
    const report = new AwsSolutionsChecks().validateScope(built.app);
    assert.deepEqual(
      report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`),
      [],
    );
  });

  it('still find what was acknowledged when acknowledgements are ignored (the check is live)', () => {
    assert.ok(unacknowledgedRun(built).violations.length > 0);
  });

  it('acknowledge each finding with a reason that says why', () => {
    const acks = acknowledgements(built);
    assert.ok(acks.length > 0);
    for (const a of acks) {
      assert.equal(typeof a.reason, 'string', `${a.id} at ${a.path}`);
      assert.ok((a.reason as string).trim().length >= 20, `${a.id} at ${a.path} has the reason ${JSON.stringify(a.reason)}`);
      assert.match(a.id, /^AwsSolutions-[A-Z]+[0-9]+(\[.+\])?$/, `${a.path}: a full finding id`);
    }
  });

  it('acknowledge nothing that is not found: every acknowledgement covers a finding below its construct', () => {
    const findings = unacknowledgedRun(built).violations.flatMap((v) => v.violatingResources.map((r) => ({ id: v.ruleName, path: r.constructPath ?? '' })));
    const unused = acknowledgements(built).filter((a) => !findings.some((f) => f.id === a.id && (f.path === a.path || f.path.startsWith(`${a.path}/`))));
    assert.deepEqual(unused.map((a) => `${a.id} at ${a.path}`), []);
  });

  it('acknowledge at the narrowest construct: a role or a policy, never the stack or the control plane', () => {
    for (const a of acknowledgements(built)) {
      assert.ok(!['Gantry', 'Gantry/ReleaseControlPlane'].includes(a.path), `${a.id} is acknowledged at ${a.path}`);
    }
  });
});
