/**
 * The handler registry (lambdas/registry.ts) against what uses it without going through it: the local
 * runtime's table of `run` functions, the workflows' `${XxxFunctionArn}` placeholders, the handler files.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { FUNCTION_PLACEHOLDERS } from '../../local/engine';
import { HANDLERS, LOCAL_HANDLERS } from '../../local/simulate';
import { functionPlaceholder, HANDLER_NAMES, handlerEntry, handlersWith, HandlerRegistryError, theHandler, workflowHandlers, type WorkflowName } from '../../lambdas/registry';

const ROOT = join(__dirname, '..', '..');

describe('the handler registry', () => {
  it('and the local runtime name the same handlers', () => {
    assert.deepEqual(Object.keys(LOCAL_HANDLERS).sort(), [...HANDLER_NAMES].sort());
    for (const name of HANDLER_NAMES) assert.equal(typeof LOCAL_HANDLERS[name], 'function', name);
  });

  it('gives the local Step Functions exactly the handlers the workflows invoke', () => {
    assert.deepEqual(Object.keys(HANDLERS).sort(), workflowHandlers().sort());
    assert.deepEqual(Object.values(FUNCTION_PLACEHOLDERS).sort(), workflowHandlers().sort());
    for (const [placeholder, name] of Object.entries(FUNCTION_PLACEHOLDERS)) assert.equal(placeholder, functionPlaceholder(name as never));
  });

  for (const workflow of ['release', 'rollback', 'insight'] as WorkflowName[]) {
    it(`says which handlers the ${workflow} workflow invokes, as statemachines/${workflow}.asl.json does`, () => {
      const text = readFileSync(join(ROOT, 'statemachines', `${workflow}.asl.json`), 'utf8');
      const used = [...new Set([...text.matchAll(/\$\{([A-Za-z]+)FunctionArn\}/g)].map((m) => `${m[1]}FunctionArn`))].sort();
      assert.deepEqual(used, workflowHandlers(workflow).map(functionPlaceholder).sort());
    });
  }

  it('names an entry file for each handler that exports handler and run', () => {
    for (const name of HANDLER_NAMES) {
      const entry = handlerEntry(name).entry;
      assert.equal(entry, `lambdas/${name}.ts`);
      assert.ok(existsSync(join(ROOT, entry)), entry);
      const source = readFileSync(join(ROOT, entry), 'utf8');
      assert.match(source, /export const handler\b/, entry);
      assert.match(source, /export async function run\b/, entry);
    }
  });

  it('gives every handler that touches bake timers the timer environment, and only those', () => {
    const timers = new Set([...handlersWith('cancelBakeTimers'), ...handlersWith('createBakeTimers')]);
    for (const name of HANDLER_NAMES) {
      const env = handlerEntry(name).environment ?? [];
      assert.equal(env.includes('BAKE_TIMER_FUNCTION_ARN') && env.includes('BAKE_TIMER_DLQ_ARN'), timers.has(name), name);
    }
  });

  it('gives every asynchronously invoked handler (rules, the scheduler) a dead-letter queue, and no other', () => {
    for (const name of HANDLER_NAMES) {
      const { invokedBy, deadLetterQueue } = handlerEntry(name);
      assert.equal(deadLetterQueue !== undefined, invokedBy.kind === 'event' || invokedBy.kind === 'schedule', name);
    }
  });

  it('finds the one handler invoked a given way, and refuses none or several', () => {
    assert.equal(
      theHandler('the scheduler', (inv) => inv.kind === 'schedule'),
      'bake-timer',
    );
    assert.throws(() => theHandler('a workflow', (inv) => inv.kind === 'workflow'), HandlerRegistryError);
    assert.throws(() => theHandler('nothing', () => false), /found 0 \(none\)/);
  });
});
