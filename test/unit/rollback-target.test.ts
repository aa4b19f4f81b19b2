import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { rollbackTarget } from '../../lambdas/rollback-prepare';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const A = d('a');
const B = d('b');
const C = d('c');
const NEVER = d('e');

describe('rollbackTarget', () => {
  it('returns the requested digest when it was promoted in the stage and is not running', () => {
    const target = rollbackTarget({ running: C, lastKnownGood: C, promoted: [A, B, C] }, A);

    assert.deepEqual(target, { digest: A });
  });

  it('refuses a requested digest that was never promoted in the stage, naming it', () => {
    const target = rollbackTarget({ running: C, lastKnownGood: C, promoted: [A, B, C] }, NEVER);

    assert.ok('refused' in target, `expected a refusal, got ${JSON.stringify(target)}`);
    assert.match(target.refused, new RegExp(`digest ${NEVER} was never promoted in this stage`));
  });

  it('refuses a requested digest in a stage where nothing was ever promoted', () => {
    const target = rollbackTarget(undefined, A);

    assert.deepEqual(target, { refused: `digest ${A} was never promoted in this stage (promoted: none)` });
  });

  it('refuses to roll back to the digest already running', () => {
    const target = rollbackTarget({ running: C, lastKnownGood: C, promoted: [A, B, C] }, C);

    assert.deepEqual(target, { refused: `digest ${C} is already running in this stage` });
  });

  it('defaults to the digest promoted just before the one running', () => {
    const target = rollbackTarget({ running: C, lastKnownGood: C, promoted: [A, B, C] }, undefined);

    assert.deepEqual(target, { digest: B });
  });

  it('defaults to the digest promoted before the running one even when that one was promoted again later', () => {
    const target = rollbackTarget({ running: B, lastKnownGood: B, promoted: [A, B, C, B] }, undefined);

    assert.deepEqual(target, { digest: C });
  });

  it('defaults to the last known good digest when the running one never passed its bake', () => {
    const target = rollbackTarget({ running: NEVER, lastKnownGood: B, promoted: [A, B] }, undefined);

    assert.deepEqual(target, { digest: B });
  });

  it('refuses when the running digest is the first one ever promoted', () => {
    const target = rollbackTarget({ running: A, lastKnownGood: A, promoted: [A] }, undefined);

    assert.ok('refused' in target, `expected a refusal, got ${JSON.stringify(target)}`);
    assert.match(target.refused, /nothing to roll back to/);
  });

  it('refuses when nothing was ever promoted in the stage', () => {
    const target = rollbackTarget({ promoted: [] }, undefined);

    assert.ok('refused' in target, `expected a refusal, got ${JSON.stringify(target)}`);
    assert.match(target.refused, /nothing to roll back to/);
  });

  it('refuses when the stage has no pointer at all', () => {
    const target = rollbackTarget(undefined, undefined);

    assert.ok('refused' in target, `expected a refusal, got ${JSON.stringify(target)}`);
  });
});
