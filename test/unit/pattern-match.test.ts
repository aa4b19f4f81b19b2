import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { alarmStateChangePattern, cloudTrailPutImagePattern, ecrPushPattern, executionStatusChangePattern } from '../../lambdas/domain/event-patterns';
import { matchesPattern, PatternError } from '../../lambdas/domain/pattern-match';
import { putImageEvent, sample } from '../helpers/aws-samples';

describe('the patterns of event-patterns.ts against the AWS samples', () => {
  it('ecrPushPattern matches the successful tagged push', () => {
    assert.equal(matchesPattern(ecrPushPattern, sample('ecr-image-action-push-success-tagged.json')), true);
  });

  it('ecrPushPattern matches the push by digest without a tag', () => {
    assert.equal(matchesPattern(ecrPushPattern, sample('ecr-image-action-push-by-digest-no-tag.constructed.json')), true);
  });

  it('ecrPushPattern does not match a delete', () => {
    assert.equal(matchesPattern(ecrPushPattern, sample('ecr-image-action-delete.json')), false);
  });

  it('ecrPushPattern does not match a failed push', () => {
    assert.equal(matchesPattern(ecrPushPattern, sample('ecr-image-action-push-failure.constructed.json')), false);
  });

  it('ecrPushPattern does not match a scan event of the same source', () => {
    assert.equal(matchesPattern(ecrPushPattern, sample('ecr-image-scan-basic-complete.json')), false);
  });

  it('cloudTrailPutImagePattern matches a successful PutImage record', () => {
    assert.equal(matchesPattern(cloudTrailPutImagePattern, putImageEvent(sample('ecr-cloudtrail-putimage-record.json'))), true);
  });

  it('cloudTrailPutImagePattern does not match a PutImage that failed (errorCode present)', () => {
    const detail = { ...sample('ecr-cloudtrail-putimage-record.json'), errorCode: 'ImageAlreadyExistsException', responseElements: null };
    assert.equal(matchesPattern(cloudTrailPutImagePattern, putImageEvent(detail)), false);
  });

  it('cloudTrailPutImagePattern does not match another ECR call', () => {
    assert.equal(matchesPattern(cloudTrailPutImagePattern, putImageEvent(sample('ecr-cloudtrail-createrepository-record.json'))), false);
  });

  it('alarmStateChangePattern matches the OK → ALARM sample', () => {
    assert.equal(matchesPattern(alarmStateChangePattern, sample('cloudwatch-alarm-state-change-metric-alarm-to-alarm.json')), true);
  });

  it('alarmStateChangePattern matches the transition into INSUFFICIENT_DATA', () => {
    assert.equal(matchesPattern(alarmStateChangePattern, sample('cloudwatch-alarm-state-change-metric-alarm-insufficient-data.constructed.json')), true);
  });

  it('alarmStateChangePattern matches the composite alarm going to ALARM', () => {
    assert.equal(matchesPattern(alarmStateChangePattern, sample('cloudwatch-alarm-state-change-composite-with-suppressor.json')), true);
  });

  it('alarmStateChangePattern does not match the back-to-OK sample', () => {
    assert.equal(matchesPattern(alarmStateChangePattern, sample('cloudwatch-alarm-state-change-metric-alarm-back-to-ok.constructed.json')), false);
  });

  it('alarmStateChangePattern does not match the third-party INSUFFICIENT_DATA → OK capture', () => {
    assert.equal(matchesPattern(alarmStateChangePattern, sample('cloudwatch-alarm-state-change-insufficient-to-ok-thirdparty.json')), false);
  });

  it('alarmStateChangePattern does not match a configuration change, though its state is INSUFFICIENT_DATA', () => {
    assert.equal(matchesPattern(alarmStateChangePattern, sample('cloudwatch-alarm-config-change-composite-create.json')), false);
  });

  it('alarmStateChangePattern does not match the direct Lambda-action payload', () => {
    assert.equal(matchesPattern(alarmStateChangePattern, sample('cloudwatch-alarm-lambda-action-single-metric-powertools.json')), false);
  });

  const machine = 'arn:aws:states:us-east-1:012345678912:stateMachine:state-machine';

  it('executionStatusChangePattern matches FAILED and ABORTED executions of the named machine', () => {
    const pattern = executionStatusChangePattern([machine]);
    assert.equal(matchesPattern(pattern, sample('stepfunctions-execution-status-change-failed.json')), true);
    assert.equal(matchesPattern(pattern, sample('stepfunctions-execution-status-change-aborted.json')), true);
  });

  it('executionStatusChangePattern does not match RUNNING or SUCCEEDED executions', () => {
    const pattern = executionStatusChangePattern([machine]);
    assert.equal(matchesPattern(pattern, sample('stepfunctions-execution-status-change-running.json')), false);
    assert.equal(matchesPattern(pattern, sample('stepfunctions-execution-status-change-succeeded.json')), false);
  });

  it('executionStatusChangePattern does not match executions of another machine', () => {
    const pattern = executionStatusChangePattern(['arn:aws:states:us-east-1:012345678912:stateMachine:other']);
    assert.equal(matchesPattern(pattern, sample('stepfunctions-execution-status-change-failed.json')), false);
  });
});

describe('matchesPattern: exact values', () => {
  const event = { source: 'x', detail: { n: 5, b: true, z: null, s: '', list: ['a', 'b'], objs: [{ k: 1 }, { k: 2 }] } };

  it('matches strings, numbers, booleans and null by value and type', () => {
    assert.equal(matchesPattern({ detail: { n: [5], b: [true], z: [null], s: [''] } }, event), true);
  });

  it('does not take a number for its string form', () => {
    assert.equal(matchesPattern({ detail: { n: ['5'] } }, event), false);
  });

  it('does not take an empty string for null', () => {
    assert.equal(matchesPattern({ detail: { z: [''] } }, event), false);
    assert.equal(matchesPattern({ detail: { s: [null] } }, event), false);
  });

  it('matches an array in the event when any element matches', () => {
    assert.equal(matchesPattern({ detail: { list: ['b'] } }, event), true);
    assert.equal(matchesPattern({ detail: { list: ['c'] } }, event), false);
  });

  it('descends into arrays of objects', () => {
    assert.equal(matchesPattern({ detail: { objs: { k: [2] } } }, event), true);
    assert.equal(matchesPattern({ detail: { objs: { k: [3] } } }, event), false);
  });

  it('requires every field named (AND) and any value listed (OR)', () => {
    assert.equal(matchesPattern({ source: ['y', 'x'], detail: { n: [5] } }, event), true);
    assert.equal(matchesPattern({ source: ['x'], detail: { n: [6] } }, event), false);
  });

  it('does not match a field the event lacks', () => {
    assert.equal(matchesPattern({ detail: { missing: ['a'] } }, event), false);
    assert.equal(matchesPattern({ nothing: { deeper: ['a'] } }, event), false);
  });

  it('does not match a leaf against an object value', () => {
    assert.equal(matchesPattern({ detail: ['x'] }, event), false);
  });

  it('matches every event with an empty pattern', () => {
    assert.equal(matchesPattern({}, event), true);
  });
});

describe('matchesPattern: operators', () => {
  const event = {
    region: 'us-east-1',
    detail: { file: 'Photo.PNG', state: 'initializing', count: 7, path: '/usr/lib/x.so', empty: [], flag: false },
  };

  it('prefix and suffix, with and without equals-ignore-case', () => {
    assert.equal(matchesPattern({ region: [{ prefix: 'us-' }] }, event), true);
    assert.equal(matchesPattern({ region: [{ prefix: 'eu-' }] }, event), false);
    assert.equal(matchesPattern({ detail: { file: [{ suffix: '.png' }] } }, event), false);
    assert.equal(matchesPattern({ detail: { file: [{ suffix: { 'equals-ignore-case': '.png' } }] } }, event), true);
    assert.equal(matchesPattern({ detail: { file: [{ prefix: { 'equals-ignore-case': 'photo' } }] } }, event), true);
  });

  it('prefix does not match a number', () => {
    assert.equal(matchesPattern({ detail: { count: [{ prefix: '7' }] } }, event), false);
  });

  it('equals-ignore-case', () => {
    assert.equal(matchesPattern({ detail: { state: [{ 'equals-ignore-case': 'INITIALIZING' }] } }, event), true);
    assert.equal(matchesPattern({ detail: { state: [{ 'equals-ignore-case': 'running' }] } }, event), false);
  });

  it('anything-but a value, a list, a prefix, a suffix, a case-folded value and a wildcard', () => {
    assert.equal(matchesPattern({ detail: { state: [{ 'anything-but': 'initializing' }] } }, event), false);
    assert.equal(matchesPattern({ detail: { state: [{ 'anything-but': 'running' }] } }, event), true);
    assert.equal(matchesPattern({ detail: { state: [{ 'anything-but': ['running', 'initializing'] }] } }, event), false);
    assert.equal(matchesPattern({ detail: { count: [{ 'anything-but': [1, 2] }] } }, event), true);
    assert.equal(matchesPattern({ detail: { count: [{ 'anything-but': 7 }] } }, event), false);
    assert.equal(matchesPattern({ region: [{ 'anything-but': { prefix: 'us-' } }] }, event), false);
    assert.equal(matchesPattern({ region: [{ 'anything-but': { prefix: 'eu-' } }] }, event), true);
    assert.equal(matchesPattern({ detail: { file: [{ 'anything-but': { suffix: '.PNG' } }] } }, event), false);
    assert.equal(matchesPattern({ detail: { state: [{ 'anything-but': { 'equals-ignore-case': 'INITIALIZING' } }] } }, event), false);
    assert.equal(matchesPattern({ detail: { state: [{ 'anything-but': { 'equals-ignore-case': ['A', 'INITIALIZING'] } }] } }, event), false);
    assert.equal(matchesPattern({ detail: { path: [{ 'anything-but': { wildcard: '*/lib/*' } }] } }, event), false);
    assert.equal(matchesPattern({ detail: { path: [{ 'anything-but': { wildcard: '*/bin/*' } }] } }, event), true);
  });

  it('anything-but does not match a field the event lacks', () => {
    assert.equal(matchesPattern({ detail: { missing: [{ 'anything-but': 'x' }] } }, event), false);
  });

  it('exists true and false', () => {
    assert.equal(matchesPattern({ detail: { state: [{ exists: true }] } }, event), true);
    assert.equal(matchesPattern({ detail: { state: [{ exists: false }] } }, event), false);
    assert.equal(matchesPattern({ detail: { missing: [{ exists: false }] } }, event), true);
    assert.equal(matchesPattern({ detail: { missing: [{ exists: true }] } }, event), false);
  });

  it('exists treats an empty array as absent and a false value as present', () => {
    assert.equal(matchesPattern({ detail: { empty: [{ exists: false }] } }, event), true);
    assert.equal(matchesPattern({ detail: { flag: [{ exists: true }] } }, event), true);
  });

  it('exists applies to leaves only: an object is not a leaf', () => {
    assert.equal(matchesPattern({ detail: [{ exists: true }] }, event), false);
  });

  it('numeric ranges and equality', () => {
    assert.equal(matchesPattern({ detail: { count: [{ numeric: ['>', 0, '<=', 7] }] } }, event), true);
    assert.equal(matchesPattern({ detail: { count: [{ numeric: ['>', 0, '<', 7] }] } }, event), false);
    assert.equal(matchesPattern({ detail: { count: [{ numeric: ['=', 7] }] } }, event), true);
    assert.equal(matchesPattern({ detail: { count: [{ numeric: ['>=', 8] }] } }, event), false);
  });

  it('numeric does not match a string that looks like a number', () => {
    assert.equal(matchesPattern({ n: [{ numeric: ['=', 7] }] }, { n: '7' }), false);
  });

  it('wildcard, with an escaped star', () => {
    assert.equal(matchesPattern({ detail: { path: [{ wildcard: '/usr/*/x.so' }] } }, event), true);
    assert.equal(matchesPattern({ detail: { path: [{ wildcard: '/usr/*.dll' }] } }, event), false);
    assert.equal(matchesPattern({ s: [{ wildcard: 'a\\*b' }] }, { s: 'a*b' }), true);
    assert.equal(matchesPattern({ s: [{ wildcard: 'a\\*b' }] }, { s: 'axxb' }), false);
  });

  it('wildcard treats regular-expression characters literally', () => {
    assert.equal(matchesPattern({ s: [{ wildcard: 'a.c' }] }, { s: 'abc' }), false);
    assert.equal(matchesPattern({ s: [{ wildcard: 'a.c' }] }, { s: 'a.c' }), true);
  });

  it('mixes values and operators in one list as alternatives', () => {
    assert.equal(matchesPattern({ detail: { state: ['running', { prefix: 'init' }] } }, event), true);
  });

  it('$or matches when any sub-pattern matches', () => {
    assert.equal(matchesPattern({ $or: [{ region: ['eu-west-2'] }, { detail: { count: [7] } }] }, event), true);
    assert.equal(matchesPattern({ $or: [{ region: ['eu-west-2'] }, { detail: { count: [8] } }] }, event), false);
  });
});

describe('matchesPattern: malformed patterns', () => {
  it('throws PatternError for an unknown operator', () => {
    assert.throws(
      () => matchesPattern({ a: [{ regex: '.*' }] }, { a: 'x' }),
      (e: unknown) => e instanceof PatternError && /unknown operator "regex"/.test(e.message),
    );
  });

  it('throws PatternError for a bare value where a list belongs', () => {
    assert.throws(() => matchesPattern({ a: 'x' }, { a: 'x' }), PatternError);
  });

  it('throws PatternError for a malformed numeric', () => {
    assert.throws(() => matchesPattern({ a: [{ numeric: ['~', 1] }] }, { a: 1 }), PatternError);
  });

  it('throws PatternError for a pattern that is not an object', () => {
    assert.throws(() => matchesPattern(['x'], {}), PatternError);
  });
});
