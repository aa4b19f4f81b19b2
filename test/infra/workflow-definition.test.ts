import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { WorkflowDefinition, WorkflowDefinitionError } from '../../lib/WorkflowDefinition';
import { ROOT } from './fixtures';

/** `${name}`, the ASL placeholder syntax. */
const ph = (name: string) => `\${${name}}`;
const task = (state: Record<string, unknown>) => JSON.stringify({ StartAt: 'A', States: { A: { Type: 'Task', End: true, ...state } } });

describe('WorkflowDefinition', () => {
  it('finds the functions and the CodeBuild project of the release workflow', () => {
    const d = WorkflowDefinition.fromFile(join(ROOT, 'statemachines', 'release.asl.json'));
    assert.deepEqual(d.functionPlaceholders, [
      'AlarmGateFunctionArn',
      'ApprovalRequestFunctionArn',
      'BakeRegisterFunctionArn',
      'CanaryAnalysisFunctionArn',
      'DeployCheckFunctionArn',
      'ImageGatesFunctionArn',
      'PrepareReleaseFunctionArn',
      'RecordStepFunctionArn',
      'RolloutCheckFunctionArn',
      'StageLeaseFunctionArn',
      'WindowGateFunctionArn',
    ]);
    assert.deepEqual(d.codeBuildProjects, [
      { placeholder: 'HelmProjectName', sync: true },
      { placeholder: 'TerraformProjectName', sync: true },
    ]);
  });

  it('reads the function of a lambda:invoke.waitForTaskToken task from its FunctionName', () => {
    const d = new WorkflowDefinition('t', task({ Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken', Parameters: { FunctionName: ph('BakeFunctionArn') } }));
    assert.deepEqual(d.tasks, [{ kind: 'lambda', state: 'A', functionPlaceholder: 'BakeFunctionArn' }]);
  });

  it('finds tasks inside Parallel branches and Map item processors', () => {
    const text = JSON.stringify({
      StartAt: 'P',
      States: {
        P: { Type: 'Parallel', End: true, Branches: [{ StartAt: 'B', States: { B: { Type: 'Task', Resource: ph('BFunctionArn'), End: true } } }] },
        M: { Type: 'Map', End: true, ItemProcessor: { StartAt: 'C', States: { C: { Type: 'Task', Resource: ph('CFunctionArn'), End: true } } } },
      },
    });
    assert.deepEqual(new WorkflowDefinition('t', text).functionPlaceholders, ['BFunctionArn', 'CFunctionArn']);
  });

  it('refuses an integration it has no grant for, naming the state and the resource', () => {
    assert.throws(
      () => new WorkflowDefinition('t.asl.json', task({ Resource: 'arn:aws:states:::sqs:sendMessage', Parameters: {} })),
      (e: unknown) => e instanceof WorkflowDefinitionError && /t\.asl\.json: state A uses "arn:aws:states:::sqs:sendMessage"/.test(e.message),
    );
  });

  it('knows the release workflow runs the Helm, Kubernetes and Terraform drivers', () => {
    const d = WorkflowDefinition.fromFile(join(ROOT, 'statemachines', 'release.asl.json'));
    assert.deepEqual(d.drivers, ['helm', 'kubernetes', 'terraform']);
  });

  it('grants eks:DescribeCluster on exactly the given clusters when the definition describes clusters, and nothing for eks:call', () => {
    const d = new WorkflowDefinition(
      't',
      JSON.stringify({
        StartAt: 'D',
        States: {
          D: { Type: 'Task', Resource: 'arn:aws:states:::aws-sdk:eks:describeCluster', Parameters: { 'Name.$': '$.name' }, Next: 'P' },
          P: { Type: 'Task', Resource: 'arn:aws:states:::eks:call', Parameters: { Method: 'PUT', 'Path.$': '$.path' }, End: true },
        },
      }),
    );
    assert.deepEqual(d.tasks, [
      { kind: 'eks-describe-cluster', state: 'D' },
      { kind: 'eks-call', state: 'P', method: 'PUT' },
    ]);
    const arns = ['arn:aws:eks:eu-west-2:111122223333:cluster/prod-eks', 'arn:aws:eks:eu-west-2:111122223333:cluster/dev-eks'];
    assert.deepEqual(d.eksGrants(arns), [{ sid: 'DescribeKubernetesClusters', actions: ['eks:DescribeCluster'], resources: [...arns].sort() }]);
    assert.deepEqual(d.eksGrants([]), []);
    assert.deepEqual(d.drivers, ['kubernetes']);
  });

  it('counts an eks:call that only reads (GET) as no driver', () => {
    const d = new WorkflowDefinition('t', task({ Resource: 'arn:aws:states:::eks:call', Parameters: { Method: 'GET' } }));
    assert.deepEqual(d.drivers, []);
    assert.deepEqual(d.eksGrants(['arn:aws:eks:eu-west-2:111122223333:cluster/dev-eks']), []);
  });

  it('refuses a Lambda task whose function is chosen at run time (it cannot be granted)', () => {
    assert.throws(() => new WorkflowDefinition('t', task({ Resource: 'arn:aws:states:::lambda:invoke', Parameters: { 'FunctionName.$': '$.fn' } })), WorkflowDefinitionError);
  });

  it('refuses JSONata definitions', () => {
    assert.throws(() => new WorkflowDefinition('t', JSON.stringify({ QueryLanguage: 'JSONata', StartAt: 'A', States: {} })), WorkflowDefinitionError);
  });

  it('gives substitutions for exactly its placeholders and names the ones it has no value for', () => {
    const d = new WorkflowDefinition('t', task({ Resource: ph('AFunctionArn'), Comment: ph('Other') }));
    assert.deepEqual(d.substitutions({ AFunctionArn: 'arn:a', Other: 'o', Unused: 'u' }), { AFunctionArn: 'arn:a', Other: 'o' });
    assert.throws(() => d.substitutions({ AFunctionArn: 'arn:a' }), /no value for placeholder\(s\) \$\{Other\}/);
  });
});
