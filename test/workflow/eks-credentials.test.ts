/**
 * Every `eks:call` of every workflow runs with the target cluster's role (issue 18, decision 045): the Task state's
 * `Credentials.RoleArn.$` points at the `roleArn` the plan put beside the target, and no workflow describes a cluster
 * through `aws-sdk:eks:describeCluster` any more (an SDK integration reaches only its own region and account).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { eksCallTask, EKS_CALL_READ_RETRY } from '../../workflows/builder';
import { prepareForEngine, TASK_ROLE_PARAMETER } from '../../local/engine';
import { ROOT } from './helpers';

type State = { Type: string; Resource?: string; Credentials?: Record<string, string>; Parameters?: Record<string, unknown>; ItemProcessor?: { States: Record<string, State> } };

function allStates(states: Record<string, State>, out: Array<[string, State]> = []): Array<[string, State]> {
  for (const [name, s] of Object.entries(states)) {
    out.push([name, s]);
    if (s.ItemProcessor) allStates(s.ItemProcessor.States, out);
  }
  return out;
}

const machines = readdirSync(join(ROOT, 'statemachines'))
  .filter((f) => f.endsWith('.asl.json'))
  .map((f) => [f, JSON.parse(readFileSync(join(ROOT, 'statemachines', f), 'utf8')) as { States: Record<string, State> }] as const);

describe('eks:call credentials', () => {
  it('gives every eks:call state of every workflow the role beside its target', () => {
    const calls = machines.flatMap(([file, def]) =>
      allStates(def.States)
        .filter(([, s]) => s.Resource === 'arn:aws:states:::eks:call')
        .map(([name, s]) => [file, name, s] as const),
    );
    const names = new Set(calls.map(([file, name]) => `${file}:${name}`));
    assert.ok(calls.length > 10, 'the canary chain has eks:call states too');
    // The driver's and the insight check's own; the canary chain's are checked by the loop below with them.
    for (const expected of [
      'insight.asl.json:ReadDeployment',
      'release.asl.json:ReadDeployment',
      'release.asl.json:ReadRollbackDeployment',
      'release.asl.json:ReadRollbackRollout',
      'release.asl.json:ReadRollout',
      'release.asl.json:ReplaceDeployment',
      'release.asl.json:ReplaceRollbackDeployment',
      'rollback.asl.json:ReadRollbackDeployment',
      'rollback.asl.json:ReadRollbackRollout',
      'rollback.asl.json:ReplaceRollbackDeployment',
    ]) {
      assert.ok(names.has(expected), expected);
    }
    for (const [file, name, s] of calls) {
      const expected = file === 'insight.asl.json' ? '$.cluster.roleArn' : '$.kube.target.roleArn';
      assert.deepEqual(s.Credentials, { 'RoleArn.$': expected }, `${file}:${name}`);
    }
  });

  it('describes no cluster through the aws-sdk integration any more (the plan does, in the cluster region)', () => {
    for (const [file, def] of machines) {
      for (const [name, s] of allStates(def.States)) assert.notEqual(s.Resource, 'arn:aws:states:::aws-sdk:eks:describeCluster', `${file}:${name}`);
    }
  });

  it('eksCallTask refuses a target that is not a JSONPath', () => {
    assert.throws(() => eksCallTask('kube.target', [EKS_CALL_READ_RETRY], {}), /expected a JSONPath/);
    assert.deepEqual(eksCallTask('$.t', [EKS_CALL_READ_RETRY], { Parameters: { Method: 'GET' } }).Credentials, { 'RoleArn.$': '$.t.roleArn' });
  });

  it('the local engine hands the role to the task in its parameters (aws-local-stepfunctions does not pass Credentials on)', () => {
    const def = { StartAt: 'A', States: { A: eksCallTask('$.kube.target', [EKS_CALL_READ_RETRY], { Parameters: { Method: 'GET' }, End: true }) } };
    const prepared = prepareForEngine(def, new Map(), new Map()) as { States: { A: State } };
    assert.equal(prepared.States.A.Credentials, undefined);
    assert.deepEqual(prepared.States.A.Parameters, { Method: 'GET', [`${TASK_ROLE_PARAMETER}.$`]: '$.kube.target.roleArn' });
  });
});
