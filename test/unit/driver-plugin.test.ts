/**
 * Drivers are plug-ins (docs/decisions/035-drivers-as-plug-ins.md): a toy fourth driver, `noop`, in a
 * fixture folder (test/fixtures/drivers/noop/) and added to the list by one entry, is picked up by the
 * config's union, the workflows' deploy Choice, the CDK stack's driver resources, the deploy environment,
 * the timeouts, the evidence and the local runtime — with no other file changed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Key } from 'aws-cdk-lib/aws-kms';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { checkDrivers, DRIVERS, deploySchemaOf, driverNamesInProse } from '../../drivers';
import { DriverRegistryError } from '../../drivers/types';
import { createDrivers } from '../../lib/drivers';
import { parseConfig } from '../../lambdas/domain/config';
import { driverLocal } from '../../local/drivers';
import { deployChain, type DeployChain } from '../../workflows/fragments/deploy';
import { noop } from '../fixtures/drivers/noop';
import { testConfig } from '../infra/fixtures';

const WITH_NOOP = [...DRIVERS, noop] as const;

const chain = (kind: DeployChain['kind']): DeployChain => ({
  kind,
  workflow: 'release',
  resultPath: kind === 'deploy' ? '$.deploy' : '$.rollbackDeploy',
  envPath: '$.stage.deployEnv',
  onDeployed: 'Deployed',
  onFailed: 'Failed',
  onInternalError: 'HandleInternalError',
});

describe('a fourth driver registered by one list entry', () => {
  it('is a deploy block the config accepts, with its defaults, and the registered list still refuses', () => {
    const parsed = deploySchemaOf(WITH_NOOP).parse({ driver: 'noop', message: 'hello' });
    assert.deepEqual(parsed, { driver: 'noop', message: 'hello', timeoutMinutes: 3 });
    const refused = deploySchemaOf(DRIVERS).safeParse({ driver: 'noop', message: 'hello' });
    assert.equal(refused.success, false);
    assert.match(refused.error?.issues[0]?.message ?? '', /^expected a deploy with driver "helm", "terraform" or "kubernetes"$/);
    assert.equal(driverNamesInProse(WITH_NOOP), '"helm", "terraform", "kubernetes" or "noop"');
    // Its own schema's rules apply, with the path of the field.
    const bad = deploySchemaOf(WITH_NOOP).safeParse({ driver: 'noop', message: 'LOUD' });
    assert.deepEqual(
      bad.error?.issues.map((i) => [i.path.join('.'), i.message]),
      [['message', 'expected a short lower-case message']],
    );
  });

  it('gets a branch of the deploy Choice on $.stage.driver and its own states, in both kinds of chain', () => {
    for (const kind of ['deploy', 'rollback'] as const) {
      const states = deployChain(chain(kind), WITH_NOOP);
      const choice = states[kind === 'deploy' ? 'ChooseDeployDriver' : 'ChooseRollbackDriver'] as unknown as {
        Choices: Array<{ StringEquals: string; Next: string }>;
        Default: string;
      };
      const entry = kind === 'deploy' ? 'DeployWithNoop' : 'DeployRollbackWithNoop';
      assert.deepEqual(
        choice.Choices.map((c) => c.StringEquals),
        ['terraform', 'kubernetes', 'noop'],
      );
      assert.equal(choice.Choices.at(-1)?.Next, entry);
      assert.equal(choice.Default, kind === 'deploy' ? 'DeployToStage' : 'DeployRollback');
      const task = states[entry] as unknown as { Resource: string; Parameters: Record<string, unknown>; Next: string };
      assert.equal(task.Resource, 'arn:aws:states:::codebuild:startBuild.sync');
      assert.equal(task.Parameters.ProjectName, '${NoopProjectName}');
      assert.equal(task.Next, 'Deployed');
    }
    // Without the entry, nothing of it appears.
    assert.equal(JSON.stringify(deployChain(chain('deploy'))).includes('Noop'), false);
  });

  it('adds its CDK resources to a stack under <Title>Driver, beside the three built in', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Drivers', { env: { account: '111122223333', region: 'eu-west-2' } });
    const props = { config: testConfig(), encryptionKey: new Key(stack, 'Key'), logRetention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY };
    const resources = createDrivers(stack, props, WITH_NOOP);
    assert.deepEqual(Object.keys(resources), ['helm', 'terraform', 'kubernetes', 'noop']);
    assert.equal(resources.noop?.construct?.node.id, 'NoopDriver');
    const projects = Template.fromStack(stack).findResources('AWS::CodeBuild::Project');
    assert.equal(Object.keys(projects).length, 3, 'Helm, Terraform and the noop project');
    assert.ok(
      Object.keys(projects).some((id) => id.startsWith('NoopDriver')),
      Object.keys(projects).join(', '),
    );
  });

  it('has its local part found by convention, and none for a driver without one', () => {
    const local = driverLocal(noop);
    assert.equal(local?.failureMessage, 'noop failed');
    const evidence = local?.evidence({
      cloud: undefined as never,
      run: undefined as never,
      deploy: { driver: 'noop', message: 'hi' } as never,
      scripted: undefined,
      failure: undefined,
    });
    assert.deepEqual(evidence, { exported: { NOOP_SAID: 'hi' } });
    assert.equal(driverLocal(DRIVERS[2]), undefined, 'kubernetes runs no build: no local part');
  });

  it('gives its deploy environment and tool minutes through the descriptor', () => {
    assert.deepEqual(noop.deployEnv({ driver: 'noop', message: 'hi', timeoutMinutes: 3 }), { GANTRY_NOOP_MESSAGE: 'hi' });
    assert.equal(noop.toolMinutes({ driver: 'noop', message: 'hi', timeoutMinutes: 7 }), 7);
  });
});

describe('the list itself', () => {
  it('registers helm, terraform and kubernetes, in that order, helm the Choice default', () => {
    assert.deepEqual(
      DRIVERS.map((d) => d.name),
      ['helm', 'terraform', 'kubernetes'],
    );
    assert.deepEqual(
      DRIVERS.filter((d) => d.choiceDefault).map((d) => d.name),
      ['helm'],
    );
  });

  it('refuses a name twice, a name that is no folder name, and no or two Choice defaults', () => {
    assert.throws(
      () => checkDrivers([...DRIVERS, DRIVERS[0]]),
      (e: Error) => e instanceof DriverRegistryError && /"helm" is registered twice/.test(e.message),
    );
    assert.throws(() => checkDrivers([...DRIVERS, { ...noop, name: 'No Op' }]), /expected lower-case letters/);
    assert.throws(() => checkDrivers([DRIVERS[1], DRIVERS[2]]), /exactly one driver with choiceDefault, got 0/);
    assert.throws(() => checkDrivers([...DRIVERS, { ...noop, choiceDefault: true }]), /got 2 \(helm, noop\)/);
    assert.doesNotThrow(() => checkDrivers(WITH_NOOP));
  });

  it('is what the parsed config accepts: every registered driver, nothing else', () => {
    const raw = JSON.parse(JSON.stringify(testConfig())) as { services: Record<string, { stages: Array<{ deploy: unknown }> }> };
    const [service, svc] = Object.entries(raw.services)[0] ?? [];
    assert.ok(service && svc?.stages[0]);
    svc.stages[0].deploy = { driver: 'noop', message: 'hello' };
    assert.throws(
      () => parseConfig(raw),
      (e: Error) => e.message.includes(`services.${service}.stages[0].deploy.driver: expected a deploy with driver "helm", "terraform" or "kubernetes", got "noop"`),
    );
  });
});
