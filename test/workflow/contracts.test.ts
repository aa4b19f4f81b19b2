/** docs/contracts.md §4 lifecycle events and the no-token rule, checked on whole simulations. */
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { LIFECYCLE_DETAIL_TYPES } from '../../lambdas/domain/types';
import { runExample } from './helpers';

describe('lifecycle events on the Gantry bus', () => {
  for (const name of ['demo', 'alarm-in-dev-bake', 'prod-alarm-blocks', 'abort-during-bake']) {
    it(`${name}: every event has a CONTRACTS detail-type and releaseId, service, digest, status and at`, async () => {
      const out = await runExample(name);
      assert.ok(out.lifecycle.length >= 2);
      for (const e of out.lifecycle) {
        assert.equal(e.source, 'gantry');
        assert.ok((LIFECYCLE_DETAIL_TYPES as readonly string[]).includes(e.detailType), e.detailType);
        for (const k of ['releaseId', 'service', 'digest', 'status', 'at']) assert.ok(k in e.detail, `${e.detailType} lacks ${k}`);
        if (e.detailType !== 'Release Started' && e.detailType !== 'Release Finished') assert.ok('stage' in e.detail, `${e.detailType} lacks stage`);
      }
      assert.equal(out.lifecycle[0]?.detailType, 'Release Started');
      assert.equal(out.lifecycle.at(-1)?.detailType, 'Release Finished');
    });
  }

  it('never carries a task token in the output, the timeline or the lifecycle events', async () => {
    const out = await runExample('alarm-in-dev-bake');
    const text = JSON.stringify(out);
    // Local task tokens are minted as "AQB…" (like real ones); none may leave the token store.
    assert.doesNotMatch(text, /AQB[0-9a-f]{20,}/);
    assert.doesNotMatch(text, /taskToken/i);
  });
});
