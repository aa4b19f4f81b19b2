/**
 * Template snapshots a reviewer reads in the diff (issue 16, decision 032): what every role of the example
 * config's stack may do, and the stack's resources with the workflows and alarms spelled out. Asset hashes
 * are masked, so a handler edit changes nothing here; a grant, a resource or an alarm that changes does.
 *
 * After an intended change: `npx vitest run test/infra/template-snapshot -u`, and review the JSON diff.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { buildGantry } from './fixtures';

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

let resources: Resources;

/** Masks what changes without a change of meaning: asset hashes (64 hex digits) and bootstrap qualifiers. */
function stable(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value)
      .replace(/[0-9a-f]{64}/g, '<asset-hash>')
      .replace(/cdk-hnb659fds-/g, 'cdk-<qualifier>-'),
  );
}

const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);
/** A `Ref`/`Fn::GetAtt` names a logical id: print it as such. */
const refName = (v: unknown): unknown => {
  const o = v as Record<string, unknown> | null;
  if (o && typeof o === 'object' && 'Ref' in o) return String(o.Ref);
  if (o && typeof o === 'object' && 'Fn::GetAtt' in o) return (o['Fn::GetAtt'] as string[]).join('.');
  return v;
};

/** A CloudFormation value as one readable string: `${Ref}`, `${Id.Attr}`, joins spelled out. */
function show(v: unknown): string {
  if (typeof v === 'string') return v;
  const o = v as Record<string, unknown>;
  if (o && typeof o === 'object' && 'Ref' in o) return `\${${String(o.Ref)}}`;
  if (o && typeof o === 'object' && 'Fn::GetAtt' in o) return `\${${(o['Fn::GetAtt'] as string[]).join('.')}}`;
  if (o && typeof o === 'object' && 'Fn::Join' in o) {
    const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
    return parts.map(show).join(sep);
  }
  return JSON.stringify(v);
}

/** One statement on one line: `Allow a:B, c:D on R1, R2 if {condition}` — a grant that changes is a line that changes. */
function statementLine(s: { Effect: string; Action?: unknown; NotAction?: unknown; Resource?: unknown; Principal?: unknown; Condition?: unknown }): string {
  const actions = asList(s.Action ?? s.NotAction)
    .map(show)
    .join(', ');
  const on = asList(s.Resource).map(show).join(', ');
  const who = s.Principal === undefined ? '' : ` to ${JSON.stringify(s.Principal)}`;
  const cond = s.Condition === undefined ? '' : ` if ${JSON.stringify(s.Condition)}`;
  return `${s.Effect}${s.NotAction ? ' all but' : ''} ${actions}${who} on ${on}${cond}`;
}

beforeAll(() => {
  resources = buildGantry({ bundle: false }).template.toJSON().Resources as Resources;
}, 300_000);

describe('the example config’s stack, as a reviewer reads it', () => {
  it('grants each role exactly these statements (IAM policies by role)', async () => {
    const byRole: Record<string, string[]> = {};
    type Statement = Parameters<typeof statementLine>[0];
    for (const [id, r] of Object.entries(resources)) {
      if (r.Type === 'AWS::IAM::Policy') {
        const doc = r.Properties?.PolicyDocument as { Statement: unknown[] };
        // The trust policies of roles are not here: only what each role may do.
        for (const role of asList(r.Properties?.Roles)) (byRole[String(refName(role))] ??= []).push(...doc.Statement.map((s) => `${statementLine(s as Statement)}  [${id}]`));
      }
      if (r.Type === 'AWS::IAM::Role') {
        const role = (byRole[id] ??= []);
        for (const p of asList(r.Properties?.Policies) as Array<{ PolicyName: string; PolicyDocument: { Statement: unknown[] } }>)
          role.push(...p.PolicyDocument.Statement.map((s) => `${statementLine(s as Statement)}  [inline ${p.PolicyName}]`));
        for (const arn of asList(r.Properties?.ManagedPolicyArns)) role.push(`managed policy ${show(arn)}`);
      }
    }
    const sorted = Object.fromEntries(Object.entries(byRole).sort(([a], [b]) => a.localeCompare(b)));
    expect(Object.keys(sorted).length).toBeGreaterThan(10);
    await expect(`${JSON.stringify(stable(sorted), null, 2)}\n`).toMatchFileSnapshot('./__snapshots__/iam-by-role.json');
  });

  it('has these resources, state machines and alarms', async () => {
    const inventory: Record<string, string[]> = {};
    for (const [id, r] of Object.entries(resources)) (inventory[r.Type] ??= []).push(id);
    for (const ids of Object.values(inventory)) ids.sort();
    const stateMachines = Object.fromEntries(
      Object.entries(resources)
        .filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine')
        .map(([id, r]) => [
          id,
          {
            type: r.Properties?.StateMachineType,
            role: refName(r.Properties?.RoleArn),
            substitutions: Object.keys((r.Properties?.DefinitionSubstitutions as object) ?? {}).sort(),
            logging: r.Properties?.LoggingConfiguration !== undefined,
            tracing: r.Properties?.TracingConfiguration,
          },
        ]),
    );
    const alarms = Object.fromEntries(
      Object.entries(resources)
        .filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm')
        .map(([id, r]) => {
          const { AlarmName, MetricName, Namespace, Statistic, Threshold, ComparisonOperator, EvaluationPeriods, Period, TreatMissingData, Dimensions } = r.Properties ?? {};
          return [
            id,
            {
              AlarmName,
              Namespace,
              MetricName,
              Statistic,
              Period,
              EvaluationPeriods,
              ComparisonOperator,
              Threshold,
              TreatMissingData,
              Dimensions: asList(Dimensions).map((d) => ({ ...(d as object), Value: refName((d as { Value: unknown }).Value) })),
            },
          ];
        }),
    );
    const sortedInventory = Object.fromEntries(Object.entries(inventory).sort(([a], [b]) => a.localeCompare(b)));
    expect(Object.keys(stateMachines).length).toBe(4);
    await expect(`${JSON.stringify(stable({ inventory: sortedInventory, stateMachines, alarms }), null, 2)}\n`).toMatchFileSnapshot('./__snapshots__/resources.json');
  });
});
