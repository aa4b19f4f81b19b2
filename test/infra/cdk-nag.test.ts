import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, it } from 'vitest';
import { type PolicyValidationPluginReport, Stack, Validations } from 'aws-cdk-lib';
import { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks, type NagPack, ServerlessChecks } from 'cdk-nag';
import { FAILURE_PATH_REASONS } from '../../lib/acknowledge';
import { type BuiltGantry, buildGantry, ROOT } from './fixtures';

/** The packs `lib/GantryApp.ts` registers, as `cdk synth` runs them. */
const PACKS: ReadonlyArray<{ readonly name: string; readonly create: () => NagPack; readonly idPattern: RegExp }> = [
  { name: 'AwsSolutions', create: () => new AwsSolutionsChecks(), idPattern: /^AwsSolutions-[A-Z]+[0-9]+(\[.+\])?$/ },
  { name: 'Serverless', create: () => new ServerlessChecks(), idPattern: /^Serverless-[A-Za-z0-9]+(\[.+\])?$/ },
];

interface Acknowledgement {
  readonly path: string;
  readonly id: string;
  readonly reason: unknown;
}

/** Every acknowledgement recorded in the construct tree (Validations.of(x).acknowledge). */
function acknowledgements(built: BuiltGantry): Acknowledgement[] {
  return built.app.node
    .findAll()
    .flatMap((c) =>
      c.node.metadata
        .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY && m.data)
        .flatMap((m) => Object.entries(m.data as Record<string, unknown>).map(([id, reason]) => ({ path: c.node.path, id: id.replace(/^annotation::/i, ''), reason }))),
    );
}

/** A pack's findings as if nothing were acknowledged (cdk-nag 3 checks acknowledgements in a private method). */
function unacknowledgedRun(built: BuiltGantry, create: () => NagPack): PolicyValidationPluginReport {
  const pack = create();
  Object.defineProperty(pack, 'isAcknowledged', { value: () => false });
  return pack.validateScope(built.app);
}

let built: BuiltGantry;
let synthError: unknown;

beforeAll(() => {
  // The real thing: bundling with esbuild and cdk-nag registered as a validation plugin, as `cdk synth` does.
  built = buildGantry({ bundle: true });
  try {
    built.app.synth();
  } catch (e) {
    synthError = e;
  }
});

describe('cdk-nag AwsSolutions and Serverless checks', () => {
  it('let the app synthesize: no finding of either pack is left unacknowledged', () => {
    assert.equal(synthError, undefined, String((synthError as Error | undefined)?.message));
    const left = PACKS.flatMap((p) => p.create().validateScope(built.app).violations);
    assert.deepEqual(
      left.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`),
      [],
    );
  });

  for (const pack of PACKS) {
    it(`still find what was acknowledged when acknowledgements are ignored: the ${pack.name} pack is live`, () => {
      assert.ok(unacknowledgedRun(built, pack.create).violations.length > 0);
    });
  }

  it('acknowledge each finding by its full id, with a reason that says why', () => {
    const acks = acknowledgements(built);
    assert.ok(acks.length > 0);
    for (const a of acks) {
      assert.equal(typeof a.reason, 'string', `${a.id} at ${a.path}`);
      assert.ok((a.reason as string).trim().length >= 20, `${a.id} at ${a.path} has the reason ${JSON.stringify(a.reason)}`);
      assert.ok(
        PACKS.some((p) => p.idPattern.test(a.id)),
        `${a.path}: ${a.id} is not a full finding id of ${PACKS.map((p) => p.name).join(' or ')}`,
      );
    }
  });

  it('acknowledge nothing that is not found: every acknowledgement covers a finding below its construct', () => {
    const findings = PACKS.flatMap((p) => unacknowledgedRun(built, p.create).violations).flatMap((v) =>
      v.violatingResources.map((r) => ({ id: v.ruleName, path: r.constructPath ?? '' })),
    );
    const unused = acknowledgements(built).filter((a) => !findings.some((f) => f.id === a.id && (f.path === a.path || f.path.startsWith(`${a.path}/`))));
    assert.deepEqual(
      unused.map((a) => `${a.id} at ${a.path}`),
      [],
    );
  });

  it('acknowledge at the narrowest construct: a role, a policy, a function or a queue, never the stack or the control plane', () => {
    for (const a of acknowledgements(built)) {
      assert.ok(!['Gantry', 'Gantry/ReleaseControlPlane'].includes(a.path), `${a.id} is acknowledged at ${a.path}`);
    }
  });
});

// ---------------------------------------------------------------- what the Serverless-LambdaDLQ acknowledgements claim

type Resources = Record<string, { Type: string; Properties?: Record<string, any> }>;

/** Principals that invoke a function synchronously here: Step Functions Task states (RequestResponse) and API Gateway's proxy integration. */
const SYNCHRONOUS_INVOKERS = /^(states|apigateway)(\.[a-z0-9-]+)?\.amazonaws\.com$/;

function servicePrincipals(trust: unknown): string[] {
  const statements = (trust as { Statement?: Array<{ Principal?: { Service?: string | string[] } }> })?.Statement ?? [];
  return statements.flatMap((s) => {
    const svc = s.Principal?.Service;
    return svc === undefined ? [] : Array.isArray(svc) ? svc : [svc];
  });
}

/** By function logical id, who may invoke it: service principals of Lambda permissions, rule targets and the roles granted lambda:InvokeFunction on it. */
function invokersByFunction(resources: Resources): Map<string, Set<string>> {
  const functions = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function');
  const invokers = new Map<string, Set<string>>(functions.map(([id]) => [id, new Set<string>()]));
  const add = (fnId: string, principal: string) => invokers.get(fnId)?.add(principal);
  /** The functions an ARN expression names: `Fn::GetAtt [fn, Arn]`, or an ARN formatted from a fixed FunctionName. */
  const named = (arn: unknown): string[] => {
    const text = JSON.stringify(arn);
    return functions
      .filter(
        ([id, r]) =>
          text.includes(`"Fn::GetAtt":["${id}","Arn"]`) ||
          text.includes(`{"Ref":"${id}"}`) ||
          (typeof r.Properties?.FunctionName === 'string' && text.includes(`:function:${r.Properties.FunctionName}`)),
      )
      .map(([id]) => id);
  };
  for (const r of Object.values(resources)) {
    const p = r.Properties ?? {};
    if (r.Type === 'AWS::Lambda::Permission') for (const fn of named(p.FunctionName)) add(fn, String(p.Principal));
    if (r.Type === 'AWS::Events::Rule') for (const t of p.Targets ?? []) for (const fn of named(t.Arn)) add(fn, 'events.amazonaws.com');
    if (r.Type === 'AWS::Scheduler::Schedule') for (const fn of named(p.Target?.Arn)) add(fn, 'scheduler.amazonaws.com');
  }
  const rolePolicies: Array<{ roleIds: string[]; document: any }> = [];
  for (const [id, r] of Object.entries(resources)) {
    if (r.Type === 'AWS::IAM::Policy') rolePolicies.push({ roleIds: (r.Properties?.Roles ?? []).map((ref: { Ref?: string }) => ref.Ref), document: r.Properties?.PolicyDocument });
    if (r.Type === 'AWS::IAM::Role') for (const inline of r.Properties?.Policies ?? []) rolePolicies.push({ roleIds: [id], document: inline.PolicyDocument });
  }
  for (const { roleIds, document } of rolePolicies) {
    for (const s of document?.Statement ?? []) {
      const actions: string[] = [s.Action].flat();
      if (s.Effect !== 'Allow' || !actions.some((a) => a === 'lambda:InvokeFunction' || a === 'lambda:*')) continue;
      for (const roleId of roleIds) {
        for (const principal of servicePrincipals(resources[roleId]?.Properties?.AssumeRolePolicyDocument)) {
          for (const fn of named(s.Resource)) add(fn, principal);
        }
      }
    }
  }
  return invokers;
}

interface LambdaTask {
  readonly file: string;
  readonly state: string;
  readonly invocationType: unknown;
  readonly retries: boolean;
  readonly catches: boolean;
}

/** Every Task state of statemachines/*.asl.json that invokes a Gantry function (`${XFunctionArn}`). */
function lambdaTasks(): LambdaTask[] {
  const out: LambdaTask[] = [];
  const walk = (file: string, states: Record<string, any>) => {
    for (const [name, s] of Object.entries(states)) {
      const params = s.Parameters ?? s.Arguments ?? {};
      if (s.Type === 'Task' && /\$\{[A-Za-z0-9]+FunctionArn\}/.test(JSON.stringify([s.Resource, params.FunctionName]))) {
        out.push({ file, state: name, invocationType: params.InvocationType, retries: (s.Retry ?? []).length > 0, catches: (s.Catch ?? []).length > 0 });
      }
      for (const branch of s.Branches ?? []) walk(file, branch.States);
      for (const nested of [s.Iterator, s.ItemProcessor]) if (nested) walk(file, nested.States);
    }
  };
  for (const file of readdirSync(join(ROOT, 'statemachines')).filter((f) => f.endsWith('.asl.json'))) {
    walk(file, JSON.parse(readFileSync(join(ROOT, 'statemachines', file), 'utf8')).States);
  }
  return out;
}

describe('the failure path of every function (what its Serverless-LambdaDLQ acknowledgement says)', () => {
  it('send failed asynchronous invocations of a function any rule, schedule or service invokes to an on-failure destination; invoke every other one only from workflows or API Gateway', () => {
    const stack = Stack.of(built.stack);
    const resources = (built.template.toJSON() as { Resources: Resources }).Resources;
    const invokers = invokersByFunction(resources);
    const acks = acknowledgements(built).filter((a) => a.id === 'Serverless-LambdaDLQ');
    const wrong: string[] = [];
    const functions = built.stack.node.findAll().filter((c): c is CfnFunction => c instanceof CfnFunction);
    assert.ok(functions.length >= 17, `${functions.length} functions`);

    for (const fn of functions) {
      const id = stack.getLogicalId(fn);
      const by = [...(invokers.get(id) ?? [])].sort();
      const asynchronous = by.filter((p) => !SYNCHRONOUS_INVOKERS.test(p));
      const onFailure = Object.values(resources).some(
        (r) =>
          r.Type === 'AWS::Lambda::EventInvokeConfig' &&
          JSON.stringify(r.Properties?.FunctionName) === JSON.stringify({ Ref: id }) &&
          r.Properties?.DestinationConfig?.OnFailure?.Destination,
      );
      const reasons = acks.filter((a) => fn.node.path.startsWith(`${a.path}/`)).map((a) => a.reason);
      const expected = asynchronous.length > 0 ? FAILURE_PATH_REASONS.onFailureDestination : FAILURE_PATH_REASONS.synchronousOnly;
      if (asynchronous.length > 0 && !onFailure) wrong.push(`${fn.node.path} is invoked by ${asynchronous.join(', ')} but has no on-failure destination`);
      if (reasons.length !== 1 || reasons[0] !== expected) {
        wrong.push(`${fn.node.path} (invoked by ${by.join(', ') || 'nothing'}) is acknowledged as ${JSON.stringify(reasons.map((r) => String(r).slice(0, 40)))}`);
      }
    }
    assert.deepEqual(wrong, []);
  });

  it('invoke functions from workflows synchronously, each Task with a Retry, and a Catch unless it is the last-resort HandleInternalError', () => {
    const tasks = lambdaTasks();
    assert.ok(tasks.length > 0);

    const wrong = tasks.filter(
      (t) => (t.invocationType !== undefined && t.invocationType !== 'RequestResponse') || !t.retries || (!t.catches && t.state !== 'HandleInternalError'),
    );

    assert.deepEqual(
      wrong.map((t) => `${t.file} ${t.state}: InvocationType ${String(t.invocationType)}, Retry ${t.retries}, Catch ${t.catches}`),
      [],
    );
  });
});
