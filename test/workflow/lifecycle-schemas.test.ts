/**
 * schemas/events/*.json: one JSON Schema per lifecycle detail-type (docs/contracts.md §4), checked against the
 * events the real handlers publish while every example scenario runs, and against hand-built events
 * for the detail-types no scenario produces yet.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import Ajv, { type ValidateFunction } from 'ajv';
import { LIFECYCLE_DETAIL_TYPES } from '../../lambdas/domain/types';
import type { LifecycleEvent } from '../../lambdas/ports';
import { LocalCloud } from '../../local/cloud';
import { loadScenarioFile } from '../../local/scenario';
import { simulate } from '../../local/simulate';
import { eventEnvelope as envelope, ROOT } from './helpers';

const SCHEMAS = join(ROOT, 'schemas', 'events');
const SCENARIOS = join(ROOT, 'examples', 'scenarios');
const fileOf = (detailType: string) => `${detailType.toLowerCase().replace(/ /g, '-')}.json`;

const ajv = new Ajv({ allErrors: true, strict: true });
const validators = new Map<string, ValidateFunction>();
for (const dt of LIFECYCLE_DETAIL_TYPES) validators.set(dt, ajv.compile(JSON.parse(readFileSync(join(SCHEMAS, fileOf(dt)), 'utf8'))));
// The insight check's events (Service Stale, Drift Detected) are not release events: their schemas live in schemas/insight.
const INSIGHT_SCHEMAS = join(ROOT, 'schemas', 'insight');
for (const f of readdirSync(INSIGHT_SCHEMAS).filter((n) => n.endsWith('.json'))) {
  const schema = JSON.parse(readFileSync(join(INSIGHT_SCHEMAS, f), 'utf8')) as { properties: { 'detail-type': { const: string } } };
  validators.set(schema.properties['detail-type'].const, ajv.compile(schema));
}

/** The event as a rule target receives it: EventBridge's envelope around the JSON detail. */

function problems(e: Record<string, unknown>): string[] {
  const v = validators.get(String(e['detail-type']));
  if (!v) return [`no schema for ${String(e['detail-type'])}`];
  return v(e) ? [] : (v.errors ?? []).map((x) => `${x.instancePath || '(root)'} ${x.message}`);
}

const D = `sha256:${'2'.repeat(64)}`;
const base = { releaseId: 'payments-20261124T100000Z-6abdef', service: 'payments', digest: D, at: '2026-11-24T10:00:00.000Z' };
/** One event per detail-type, shaped as the handlers' announce() calls shape them. */
const HAND_BUILT: LifecycleEvent[] = [
  {
    detailType: 'Release Started',
    detail: { ...base, status: 'RUNNING', tag: 'v1.4.2', initiator: 'arn:aws:sts::111122223333:assumed-role/Deployers/alice', stages: ['dev', 'prod'], breakGlass: null },
  },
  { detailType: 'Stage Gate Failed', detail: { ...base, stage: 'prod', status: 'BLOCKED', gate: 'alarms.pre-deploy', reason: 'alarm payments-prod-5xx is in ALARM' } },
  {
    detailType: 'Approval Requested',
    detail: {
      ...base,
      stage: 'prod',
      status: 'WAITING',
      tag: 'v1.4.2',
      commit: '9f2c1e7',
      initiator: 'arn:aws:sts::111122223333:assumed-role/Deployers/alice',
      approvers: ['arn:aws:iam::111122223333:role/ReleaseApprovers'],
      expiresAt: '2026-11-25T10:00:00.000Z',
      gates: [{ gate: 'image.scan', result: 'PASS', reason: '0 CRITICAL' }],
      executionArn: 'arn:aws:states:eu-west-2:111122223333:execution:gantry-release:x',
      executionUrl: null,
    },
  },
  {
    detailType: 'Approval Decided',
    detail: {
      ...base,
      stage: 'prod',
      status: 'APPROVED',
      decision: 'APPROVED',
      principal: 'arn:aws:sts::111122223333:assumed-role/ReleaseApprovers/bob',
      comment: 'ok',
      reason: 'approved',
      initiator: null,
    },
  },
  { detailType: 'Approval Decided', detail: { ...base, stage: 'prod', status: 'REJECTED', decision: 'TIMED_OUT', reason: 'no decision within 1440 minutes' } },
  { detailType: 'Stage Deployed', detail: { ...base, stage: 'dev', status: 'DEPLOYED', buildId: 'gantry-helm:1234' } },
  { detailType: 'Stage Promoted', detail: { ...base, stage: 'dev', status: 'PROMOTED' } },
  {
    detailType: 'Rollback Started',
    detail: { ...base, stage: 'prod', status: 'ROLLING_BACK', toDigest: `sha256:${'1'.repeat(64)}`, reason: 'alarm in ALARM', detectedAt: '2026-11-24T10:35:00.000Z' },
  },
  { detailType: 'Release Finished', detail: { ...base, status: 'ROLLED_BACK', reason: 'prod: rolled back' } },
  { detailType: 'Release Finished', detail: { ...base, digest: null, status: 'FAILED', reason: 'tag v9 not found' } },
  // gantry abort (decision 053): who asked and why.
  {
    detailType: 'Release Finished',
    detail: {
      ...base,
      status: 'ABORTED',
      reason: 'aborted by arn:aws:iam::111122223333:user/carol: wrong digest',
      abortedBy: 'arn:aws:iam::111122223333:user/carol',
      abortReason: 'wrong digest',
    },
  },
  {
    detailType: 'Rollback Drilled',
    detail: {
      ...base,
      releaseId: 'payments-drill-20261124T100000Z-bb834f',
      stage: 'staging',
      status: 'SUCCEEDED',
      reason: 'restored in 360 s, back in 360 s',
      toDigest: `sha256:${'1'.repeat(64)}`,
      initiator: 'arn:aws:sts::111122223333:assumed-role/ReleaseOperators/alice',
      trigger: 'operator',
      timeToRestoreSeconds: 360,
      rollForwardSeconds: 360,
      legs: [
        { leg: 'back', releaseId: 'payments-drill-20261124T100000Z-bb834f-back', status: 'ROLLED_BACK', seconds: 360 },
        { leg: 'forward', releaseId: 'payments-drill-20261124T100000Z-bb834f-fwd', status: 'ROLLED_BACK', seconds: 360 },
      ],
    },
  },
];

describe('lifecycle event schemas', () => {
  it('exist for exactly the detail-types of docs/contracts.md §4, one file each, titled by their detail-type', () => {
    const files = readdirSync(SCHEMAS)
      .filter((f) => f.endsWith('.json'))
      .sort();
    assert.deepEqual(files, LIFECYCLE_DETAIL_TYPES.map(fileOf).sort());
    for (const dt of LIFECYCLE_DETAIL_TYPES) {
      const s = JSON.parse(readFileSync(join(SCHEMAS, fileOf(dt)), 'utf8'));
      assert.equal(s.properties['detail-type'].const, dt);
      for (const k of ['releaseId', 'service', 'digest', 'status', 'at']) assert.ok(s.properties.detail.required.includes(k), `${dt} does not require ${k}`);
    }
  });

  it('accept an event of every detail-type shaped as the handlers announce it', () => {
    for (const e of HAND_BUILT) assert.deepEqual(problems(envelope(e)), [], e.detailType);
    assert.deepEqual([...new Set(HAND_BUILT.map((e) => e.detailType))].sort(), [...LIFECYCLE_DETAIL_TYPES].sort());
  });

  it('refuse an event without its release id, with another source, or with a status its detail-type never has', () => {
    const ok = envelope(HAND_BUILT[1] as LifecycleEvent);
    const { releaseId: _r, ...noId } = ok.detail as Record<string, unknown>;
    assert.match(problems({ ...ok, detail: noId }).join(), /releaseId/);
    assert.match(problems({ ...ok, source: 'aws.ecr' }).join(), /source/);
    assert.match(problems({ ...ok, detail: { ...(ok.detail as object), status: 'PROMOTED' } }).join(), /status/);
    assert.match(problems({ ...ok, detail: { ...(ok.detail as object), stage: undefined } }).join(), /stage/);
    const aborted = envelope(HAND_BUILT.find((e) => e.detail.abortedBy !== undefined) as LifecycleEvent);
    assert.match(problems({ ...aborted, detail: { ...(aborted.detail as object), abortedBy: '' } }).join(), /abortedBy/);
    assert.match(problems({ ...aborted, detail: { ...(aborted.detail as object), abortReason: 7 } }).join(), /abortReason/);
  });
});

describe('the lifecycle events the handlers publish in every example scenario', () => {
  const published: Array<{ scenario: string; event: LifecycleEvent }> = [];
  const original = LocalCloud.prototype.publish;
  let current = '';

  beforeAll(async () => {
    LocalCloud.prototype.publish = async function (this: LocalCloud, events: readonly LifecycleEvent[]) {
      for (const event of events) published.push({ scenario: current, event });
      return original.call(this, events);
    };
    for (const f of readdirSync(SCENARIOS)
      .filter((x) => x.endsWith('.json'))
      .sort()) {
      current = f;
      await simulate(loadScenarioFile(join(SCENARIOS, f)));
    }
  });

  afterAll(() => {
    LocalCloud.prototype.publish = original;
  });

  it('match the schema of their detail-type', () => {
    assert.ok(published.length > 0, 'no scenario published a lifecycle event');
    const bad = published.flatMap(({ scenario, event }) => problems(envelope(event)).map((p) => `${scenario}: ${event.detailType}: ${p}`));
    assert.deepEqual(bad, []);
  });

  it('include a release start and a release finish for every scenario that started one', () => {
    const types = new Set(published.map((p) => p.event.detailType));
    assert.ok(types.has('Release Started') && types.has('Release Finished'), [...types].join(', '));
  });
});
