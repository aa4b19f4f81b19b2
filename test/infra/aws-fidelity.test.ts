/**
 * What the first real deploy needs of the synthesized template (issue 15, docs/decisions/020-aws-fidelity.md),
 * over the example config:
 * - every workflow logs to a log group under /aws/vendedlogs/states/ (CloudWatch Logs resource-policy limit);
 * - the image-gates role may call inspector2:ListFindings and ListCoverage (DescribeImageScanFindings under
 *   Amazon Inspector enhanced scanning), and no other role may;
 * - the driver projects' build and queue timeouts are driverTimeouts', and no deploy task of any stage gives up
 *   before its build (queue included) has ended.
 */
import assert from 'node:assert/strict';
import { beforeAll, describe, it } from 'vitest';
import type { CfnElement } from 'aws-cdk-lib';
import { DRIVER_START_UP_MINUTES, deployTimeoutSeconds, driverTimeouts } from '../../lambdas/domain/release';
import { VENDED_LOGS_PREFIX } from '../../lib/WorkflowLogGroup';
import { allPolicyStatements, type BuiltGantry, buildGantry, resourcesOfType, testConfig } from './fixtures';

type Statement = Record<string, unknown>;
const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

let built: BuiltGantry;
const logicalId = (c: { node: { defaultChild?: unknown } }) => built.stack.getLogicalId(c.node.defaultChild as CfnElement);

beforeAll(() => {
  built = buildGantry({ bundle: false });
});

describe('workflow log groups', () => {
  it('are named under /aws/vendedlogs/states/, for every state machine of the stack', () => {
    const machines = Object.entries(resourcesOfType(built.template, 'AWS::StepFunctions::StateMachine'));
    const groups = resourcesOfType(built.template, 'AWS::Logs::LogGroup');

    assert.equal(machines.length, 4, 'release, rollback, insight and drill');
    for (const [id, sm] of machines) {
      const arn = (sm.Properties?.LoggingConfiguration as any)?.Destinations?.[0]?.CloudWatchLogsLogGroup?.LogGroupArn;
      const groupId = arn?.['Fn::GetAtt']?.[0] as string;
      const name = groups[groupId]?.Properties?.LogGroupName;
      assert.equal(typeof name, 'string', `${id} logs to ${JSON.stringify(arn)}, a log group with a name`);
      assert.ok((name as string).startsWith(VENDED_LOGS_PREFIX), `${id}: ${name}`);
      assert.match(name as string, /^[.\-_/#A-Za-z0-9]{1,512}$/, 'a valid log group name');
    }
  });

  it('have names unique to the stack and the workflow', () => {
    const groups = Object.values(resourcesOfType(built.template, 'AWS::Logs::LogGroup'))
      .map((g) => g.Properties?.LogGroupName as string | undefined)
      .filter((n): n is string => typeof n === 'string' && n.startsWith(VENDED_LOGS_PREFIX));

    assert.equal(groups.length, 4);
    assert.equal(new Set(groups).size, groups.length);
    for (const g of groups) assert.ok(g.includes(built.stack.stackName), `${g} names the stack ${built.stack.stackName}`);
  });
});

describe('Amazon Inspector enhanced scanning', () => {
  const inspectorGrants = () =>
    allPolicyStatements(built.template).filter(
      ({ statement }) => statement.Effect === 'Allow' && asArray(statement.Action as string | string[]).some((a) => a.startsWith('inspector2:')),
    );

  it('lets the image-gates role list Inspector findings and coverage, which DescribeImageScanFindings needs', () => {
    const role = logicalId(built.stack.controlPlane.functions['image-gates'].role);
    const grants = inspectorGrants();

    assert.equal(grants.length, 1, grants.map((g) => g.where).join(', '));
    const [{ where, statement }] = grants as [{ where: string; statement: Statement }];
    assert.deepEqual(asArray(statement.Action as string[]).sort(), ['inspector2:ListCoverage', 'inspector2:ListFindings']);
    assert.deepEqual(statement.Resource, '*');
    const policy = resourcesOfType(built.template, 'AWS::IAM::Policy')[where.split(' ')[0] as string];
    assert.deepEqual(policy?.Properties?.Roles, [{ Ref: role }], `${where} is the image-gates role's policy`);
  });

  it('keeps the ECR reads of the image gates on the configured repositories', () => {
    const ecr = allPolicyStatements(built.template).filter(({ statement }) => asArray(statement.Action as string | string[]).includes('ecr:DescribeImageScanFindings'));

    assert.ok(ecr.length > 0);
    for (const { statement } of ecr) assert.notDeepEqual(statement.Resource, '*');
  });
});

describe('driver timeouts', () => {
  const config = testConfig();

  for (const driver of ['helm', 'terraform'] as const) {
    it(`${driver}: the project's build and queue timeouts are the formula's`, () => {
      const project = driver === 'helm' ? built.stack.controlPlane.helmDriver.project : built.stack.controlPlane.terraformDriver.project;
      const props = resourcesOfType(built.template, 'AWS::CodeBuild::Project')[logicalId(project)]?.Properties ?? {};
      const t = driverTimeouts(config, driver);

      assert.equal(props.TimeoutInMinutes, t.buildMinutes);
      assert.equal(props.QueuedTimeoutInMinutes, t.queuedMinutes);
    });
  }

  it('give every stage of the example config a task that outlasts its build, queue included, and a build with room for Helm’s rollback', () => {
    const projects = resourcesOfType(built.template, 'AWS::CodeBuild::Project');
    const helm = projects[logicalId(built.stack.controlPlane.helmDriver.project)]?.Properties ?? {};
    let checked = 0;
    for (const svc of Object.values(config.services)) {
      for (const st of svc.stages) {
        if (st.deploy.driver !== 'helm') continue;
        const build = helm.TimeoutInMinutes as number;
        const queued = helm.QueuedTimeoutInMinutes as number;
        assert.ok(st.deploy.timeoutMinutes * 2 + DRIVER_START_UP_MINUTES <= build, `${st.name}: helm --timeout ${st.deploy.timeoutMinutes}m × 2 + start-up > build ${build}`);
        assert.ok((queued + build) * 60 < deployTimeoutSeconds(config, st), `${st.name}: task ${deployTimeoutSeconds(config, st)} s ends before the build`);
        checked++;
      }
    }
    assert.ok(checked >= 3, 'the example config has Helm stages');
  });
});
