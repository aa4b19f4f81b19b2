/** The problems of the ValidationError `fn` throws (the test fails when it throws nothing, or something else). */
import assert from 'node:assert/strict';
import { ValidationError } from '../../lambdas/domain/validation';

export function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ValidationError, `expected a ValidationError, got ${String(e)}`);
    return e.problems;
  }
  assert.fail('expected a ValidationError, but nothing was thrown');
}
