/** The step keys (lambdas/domain/step-keys.ts): stored data, so their spelling is pinned, and no other module spells one. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'vitest';
import fc from 'fast-check';
import { parseStepKey, RELEASE_STEP, stageStep } from '../../lambdas/domain/step-keys';

const ROOT = join(__dirname, '..', '..');

describe('step keys', () => {
  it('spells the release-level keys as the ledgers hold them', () => {
    assert.deepEqual(RELEASE_STEP, { started: 'release.started', finished: 'release.finished', attributed: 'release.attributed', abortRequested: 'release.abort-requested' });
  });

  it('spells the place of an approval in an N-of-M count (decision 050) as the ledgers hold it', () => {
    assert.deepEqual([stageStep.approvalRecorded('prod', 1), stageStep.approvalRecorded('prod', 2)], ['stage:prod:approval:1', 'stage:prod:approval:2']);
    assert.deepEqual(parseStepKey(stageStep.approvalRecorded('prod', 3)), { stage: 'prod', step: 'approval:3' });
  });

  it('spells every stage-level key as the ledgers hold them', () => {
    const s = 'prod';
    assert.deepEqual(
      [
        stageStep.started(s),
        stageStep.finished(s),
        stageStep.promoted(s),
        stageStep.leaseAcquired(s),
        stageStep.leaseReleased(s),
        stageStep.leaseLost(s),
        stageStep.gate(s, 'window'),
        stageStep.gate(s, 'image.scan'),
        stageStep.waiting(s, 'approval'),
        stageStep.waiting(s, 'lease'),
        stageStep.waiting(s, 'scan'),
        stageStep.waitingForWindow(s, '2026-11-24T09:00:00.000Z'),
        stageStep.bakeStarted(s),
        stageStep.bakeFinished(s),
        stageStep.bakeEventIgnored(s, 'payments-5xx', '2026-11-24T10:00:00.000Z'),
        stageStep.deployStarted(s),
        stageStep.deployFinished(s),
        stageStep.rollbackStarted(s),
        stageStep.rollbackDeployStarted(s),
        stageStep.rollbackDeployFinished(s),
        stageStep.rollbackFinished(s),
        stageStep.atDeploy(s, 2, 'gate:window'),
        stageStep.atRollbackGate(s, 'window'),
      ],
      [
        'stage:prod:started',
        'stage:prod:finished',
        'stage:prod:promoted',
        'stage:prod:lease.acquired',
        'stage:prod:lease.released',
        'stage:prod:lease.lost',
        'stage:prod:gate:window',
        'stage:prod:gate:image.scan',
        'stage:prod:waiting:approval',
        'stage:prod:waiting:lease',
        'stage:prod:waiting:scan',
        'stage:prod:waiting:window:2026-11-24T09:00:00.000Z',
        'stage:prod:bake.started',
        'stage:prod:bake.finished',
        'stage:prod:bake.event-ignored:payments-5xx:2026-11-24T10:00:00.000Z',
        'stage:prod:deploy.started',
        'stage:prod:deploy.finished',
        'stage:prod:rollback.started',
        'stage:prod:rollback.deploy.started',
        'stage:prod:rollback.deploy.finished',
        'stage:prod:rollback.finished',
        'stage:prod:at-deploy:2:gate:window',
        'stage:prod:at-rollback:gate:window',
      ],
    );
  });

  it('splits a key back into its stage and step, for any stage name', () => {
    const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
    const steps = Object.values(stageStep).filter((f) => f.length === 1) as Array<(s: string) => string>;
    fc.assert(
      fc.property(label, fc.constantFrom(...steps), (stage, step) => {
        const key = step(stage);
        assert.deepEqual(parseStepKey(key), { stage, step: key.slice(`stage:${stage}:`.length) });
      }),
    );
    assert.deepEqual(parseStepKey('release.finished'), { step: 'release.finished' });
  });

  it('refuses a text that is not a step key', () => {
    for (const bad of ['', 'stage:', 'stage::finished', 'stage:prod:', 'stage:prod']) assert.equal(parseStepKey(bad), undefined, JSON.stringify(bad));
  });

  it('gives different steps of one stage different keys', () => {
    const keys = Object.values(stageStep)
      .filter((f) => f.length === 1)
      .map((f) => (f as (s: string) => string)('dev'));
    assert.equal(new Set(keys).size, keys.length);
  });
});

describe('who spells step keys', () => {
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((n) => {
      const p = join(dir, n);
      return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
    });

  it('finds no step-key template outside lambdas/domain/step-keys.ts (lambdas, local, cli, lib)', () => {
    const inline = /`stage:\$\{/;
    const found = ['lambdas', 'local', 'cli', 'lib']
      .flatMap((d) => walk(join(ROOT, d)))
      .map((f) => relative(ROOT, f).split('\\').join('/'))
      .filter((f) => f !== 'lambdas/domain/step-keys.ts')
      .filter((f) => inline.test(readFileSync(join(ROOT, f), 'utf8')));
    assert.deepEqual(found, []);
  });
});
