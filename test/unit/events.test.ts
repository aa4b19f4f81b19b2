import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import {
  describeEvent,
  isAlarmConfigurationChange,
  normalizeTimestamp,
  parseAlarmConfigurationChange,
  parseAlarmStateChange,
  parseCloudTrailPutImage,
  parseEcrImageAction,
  parseEcrScanEvent,
  parseExecutionStatusChange,
  parseGantryEvent,
  parseInspectorScanEvent,
} from '../../lambdas/domain/events';
import { putImageEvent, sample } from '../helpers/aws-samples';
import { problemsOf } from '../helpers/validation';

function clone<T>(v: T): T {
  return structuredClone(v);
}

describe('normalizeTimestamp', () => {
  it('turns a CloudWatch +0000 timestamp into ISO UTC with Z', () => {
    assert.equal(normalizeTimestamp('2019-10-02T17:04:40.989+0000'), '2019-10-02T17:04:40.989Z');
  });

  it('applies a non-zero offset', () => {
    assert.equal(normalizeTimestamp('2026-11-24T10:00:00+01:00'), '2026-11-24T09:00:00.000Z');
  });

  it('refuses impossible dates and strings without an offset', () => {
    assert.equal(normalizeTimestamp('2019-02-30T00:00:00Z'), undefined);
    assert.equal(normalizeTimestamp('2019-10-02T17:04:40'), undefined);
    assert.equal(normalizeTimestamp('Dec 3, 2021, 6:02:30 PM'), undefined);
  });
});

describe('parseEcrImageAction', () => {
  it('reads the tagged push sample', () => {
    const e = parseEcrImageAction(sample('ecr-image-action-push-success-tagged.json'));
    assert.deepEqual(e, {
      id: '13cde686-328b-6117-af20-0e5566167482',
      time: '2019-11-16T01:54:34.000Z',
      account: '123456789012',
      region: 'us-west-2',
      actionType: 'PUSH',
      result: 'SUCCESS',
      repositoryName: 'my-repository-name',
      repositoryArn: 'arn:aws:ecr:us-west-2:123456789012:repository/my-repository-name',
      digest: 'sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234',
      tag: 'latest',
    });
  });

  it('leaves the tag out of a push by digest', () => {
    const e = parseEcrImageAction(sample('ecr-image-action-push-by-digest-no-tag.constructed.json'));
    assert.equal(e.tag, undefined);
    assert.equal('tag' in e, false);
    assert.equal(e.digest, 'sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234');
  });

  it('reports the action type of a delete', () => {
    assert.equal(parseEcrImageAction(sample('ecr-image-action-delete.json')).actionType, 'DELETE');
  });

  it('reports the result of a failed push', () => {
    assert.equal(parseEcrImageAction(sample('ecr-image-action-push-failure.constructed.json')).result, 'FAILURE');
  });

  it('accepts fields AWS may add', () => {
    const raw = clone(sample('ecr-image-action-push-success-tagged.json'));
    (raw.detail as Record<string, unknown>)['artifact-media-type'] = 'application/vnd.docker.container.image.v1+json';
    raw['replay-name'] = 'r1';
    assert.equal(parseEcrImageAction(raw).tag, 'latest');
  });

  it('names the path of a missing digest', () => {
    const raw = clone(sample('ecr-image-action-push-success-tagged.json'));
    delete (raw.detail as Record<string, unknown>)['image-digest'];
    assert.deepEqual(
      problemsOf(() => parseEcrImageAction(raw)),
      ['detail["image-digest"]: expected an image digest such as sha256:…, got nothing'],
    );
  });

  it('names the path and the value of a malformed digest', () => {
    const raw = clone(sample('ecr-image-action-push-success-tagged.json'));
    (raw.detail as Record<string, unknown>)['image-digest'] = 'not a digest';
    assert.deepEqual(
      problemsOf(() => parseEcrImageAction(raw)),
      ['detail["image-digest"]: expected an image digest such as sha256:…, got "not a digest"'],
    );
  });

  it('refuses an event of another detail-type', () => {
    const problems = problemsOf(() => parseEcrImageAction(sample('ecr-image-scan-basic-complete.json')));
    assert.ok(
      problems.some((p) => p.startsWith('["detail-type"]: expected "ECR Image Action", got "ECR Image Scan"')),
      problems.join('\n'),
    );
  });
});

describe('parseCloudTrailPutImage', () => {
  it('reads repository, tag, digest, pusher and event id from the PutImage record', () => {
    const e = parseCloudTrailPutImage(putImageEvent());
    assert.equal(e.repositoryName, 'testrepo');
    assert.equal(e.tag, 'latest');
    assert.equal(e.digest, 'sha256:98c8b060c21d9adbb6b8c41b916e95e6307102786973ab93a41e8b86d1fc6d3e');
    assert.equal(e.principalArn, 'arn:aws:sts::123456789012:user/Mary_Major');
    assert.equal(e.principalType, 'IAMUser');
    assert.equal(e.cloudTrailEventId, '2bfd4ee2-2178-4a82-a27d-b12939923f0f');
    assert.equal(e.repositoryArn, 'arn:aws:ecr:us-east-2:123456789012:repository/testrepo');
  });

  it('leaves the tag out of a push by digest', () => {
    const detail = clone(sample('ecr-cloudtrail-putimage-record.json')) as any;
    delete detail.requestParameters.imageTag;
    delete detail.responseElements.image.imageId.imageTag;
    assert.equal(parseCloudTrailPutImage(putImageEvent(detail)).tag, undefined);
  });

  it('accepts a call made by an AWS service, which has no principal ARN', () => {
    const detail = clone(sample('ecr-cloudtrail-putimage-record.json')) as any;
    detail.userIdentity = { type: 'AWSService', invokedBy: 'ecr.amazonaws.com' };
    const e = parseCloudTrailPutImage(putImageEvent(detail));
    assert.equal(e.principalArn, undefined);
    assert.equal(e.principalType, 'AWSService');
  });

  it('refuses a failed call, naming errorCode and the missing response', () => {
    const detail = clone(sample('ecr-cloudtrail-putimage-record.json')) as any;
    detail.errorCode = 'ImageAlreadyExistsException';
    detail.responseElements = null;
    const problems = problemsOf(() => parseCloudTrailPutImage(putImageEvent(detail)));
    assert.ok(problems.includes('detail.errorCode: expected no errorCode (a successful PutImage call), got "ImageAlreadyExistsException"'), problems.join('\n'));
    assert.ok(
      problems.some((p) => p.startsWith('detail.responseElements: ')),
      problems.join('\n'),
    );
  });

  it('refuses a CloudTrail record of another ECR call', () => {
    const detail = clone(sample('ecr-cloudtrail-createrepository-record.json'));
    const problems = problemsOf(() => parseCloudTrailPutImage(putImageEvent(detail)));
    assert.ok(problems.includes('detail.eventName: expected "PutImage", got "CreateRepository"'), problems.join('\n'));
  });
});

describe('parseAlarmStateChange', () => {
  it('reads the OK → ALARM sample, normalizing +0000 timestamps and decoding reasonData', () => {
    const e = parseAlarmStateChange(sample('cloudwatch-alarm-state-change-metric-alarm-to-alarm.json'));
    assert.equal(e.alarmName, 'ServerCpuTooHigh');
    assert.equal(e.alarmArn, 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:ServerCpuTooHigh');
    assert.equal(e.state.value, 'ALARM');
    assert.equal(e.previousState.value, 'OK');
    assert.equal(e.state.timestamp, '2019-10-02T17:04:40.989Z');
    assert.equal(e.previousState.timestamp, '2019-10-01T13:56:40.987Z');
    assert.match(e.state.reason, /^Threshold Crossed: 1 out of the last 1 datapoints \[99\.50160229693434/);
    assert.deepEqual(e.state.reasonData?.recentDatapoints, [99.50160229693434]);
    assert.equal(e.state.reasonData?.threshold, 50);
    assert.equal(e.metrics?.length, 1);
    assert.equal((e.metrics?.[0] as { id: string }).id, '30b6c6b2-a864-43a2-4877-c09a1afc3b87');
  });

  it('reads the back-to-OK sample', () => {
    const e = parseAlarmStateChange(sample('cloudwatch-alarm-state-change-metric-alarm-back-to-ok.constructed.json'));
    assert.deepEqual([e.previousState.value, e.state.value], ['ALARM', 'OK']);
    assert.equal(e.state.timestamp, '2019-10-02T17:24:40.987Z');
  });

  it('reads the INSUFFICIENT_DATA sample with its empty datapoints', () => {
    const e = parseAlarmStateChange(sample('cloudwatch-alarm-state-change-metric-alarm-insufficient-data.constructed.json'));
    assert.equal(e.state.value, 'INSUFFICIENT_DATA');
    assert.equal(e.state.reason, 'Insufficient Data: 1 datapoint was unknown.');
    assert.deepEqual(e.state.reasonData?.recentDatapoints, []);
  });

  it('reads a composite alarm: alarm rule, suppression, triggering alarms, no metrics', () => {
    const e = parseAlarmStateChange(sample('cloudwatch-alarm-state-change-composite-with-suppressor.json'));
    assert.equal(e.alarmName, 'ServiceAggregatedAlarm');
    assert.equal(e.alarmRule, 'ALARM(ServerCpuTooHigh) OR ALARM(TotalNetworkTrafficTooHigh)');
    assert.equal(e.metrics, undefined);
    assert.equal(e.state.actionsSuppressedBy, 'WaitPeriod');
    const triggering = e.state.reasonData?.triggeringAlarms as Array<{ arn: string }>;
    assert.equal(triggering[0]?.arn, 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:ServerCpuTooHigh');
  });

  it('reads the partial-data sample whose previous state has no reasonData', () => {
    const e = parseAlarmStateChange(sample('cloudwatch-alarm-state-change-metrics-insights-partial-data.json'));
    assert.equal(e.state.evaluationState, 'PARTIAL_DATA');
    assert.equal(e.previousState.value, 'INSUFFICIENT_DATA');
    assert.equal(e.previousState.reasonData, undefined);
    assert.equal(e.previousState.reason, 'Unchecked: Initial alarm creation');
  });

  it('reads the third-party INSUFFICIENT_DATA → OK capture despite its 13-digit account', () => {
    const e = parseAlarmStateChange(sample('cloudwatch-alarm-state-change-insufficient-to-ok-thirdparty.json'));
    assert.equal(e.alarmName, 'test-service-alarm-abcd');
    assert.equal(e.alarmArn, 'arn:aws:cloudwatch:us-east-1:1234567890123:alarm:test-service-alarm-abcd');
    assert.equal(e.state.timestamp, '2020-07-31T06:56:05.606Z');
  });

  it('keeps a reasonData that is not JSON as raw text instead of failing', () => {
    const raw = clone(sample('cloudwatch-alarm-state-change-metric-alarm-to-alarm.json')) as any;
    raw.detail.state.reasonData = '{not json';
    const e = parseAlarmStateChange(raw);
    assert.equal(e.state.reasonData, undefined);
    assert.equal(e.state.reasonDataRaw, '{not json');
  });

  it('names the path of an unknown state value', () => {
    const raw = clone(sample('cloudwatch-alarm-state-change-metric-alarm-to-alarm.json')) as any;
    raw.detail.state.value = 'FIRING';
    assert.deepEqual(
      problemsOf(() => parseAlarmStateChange(raw)),
      ['detail.state.value: expected one of "OK", "ALARM", "INSUFFICIENT_DATA", got "FIRING"'],
    );
  });

  it('names the path of a timestamp without an offset', () => {
    const raw = clone(sample('cloudwatch-alarm-state-change-metric-alarm-to-alarm.json')) as any;
    raw.detail.state.timestamp = '02/10/19 17:04:40';
    assert.deepEqual(
      problemsOf(() => parseAlarmStateChange(raw)),
      ['detail.state.timestamp: expected an ISO-8601 timestamp such as 2019-10-02T17:04:40.989+0000, got "02/10/19 17:04:40"'],
    );
  });

  it('refuses an event whose resources do not hold the alarm ARN', () => {
    const raw = clone(sample('cloudwatch-alarm-state-change-metric-alarm-to-alarm.json'));
    raw.resources = [];
    assert.deepEqual(
      problemsOf(() => parseAlarmStateChange(raw)),
      ['resources: expected an array whose first element is the alarm ARN, got []'],
    );
  });

  it('refuses a configuration change', () => {
    const problems = problemsOf(() => parseAlarmStateChange(sample('cloudwatch-alarm-config-change-composite-create.json')));
    assert.ok(
      problems.some((p) => p.startsWith('["detail-type"]: expected "CloudWatch Alarm State Change"')),
      problems.join('\n'),
    );
  });

  it('refuses the payload of an alarm that invokes Lambda directly (not an EventBridge event)', () => {
    const problems = problemsOf(() => parseAlarmStateChange(sample('cloudwatch-alarm-lambda-action-single-metric-powertools.json')));
    assert.ok(problems.includes('["detail-type"]: expected "CloudWatch Alarm State Change", got nothing'), problems.join('\n'));
    assert.ok(problems.includes('detail: expected the event detail (an object), got nothing'), problems.join('\n'));
  });
});

describe('alarm configuration changes', () => {
  it('isAlarmConfigurationChange tells a configuration change from a state change', () => {
    assert.equal(isAlarmConfigurationChange(sample('cloudwatch-alarm-config-change-composite-create.json')), true);
    assert.equal(isAlarmConfigurationChange(sample('cloudwatch-alarm-state-change-metric-alarm-to-alarm.json')), false);
    assert.equal(isAlarmConfigurationChange('CloudWatch Alarm Configuration Change'), false);
  });

  it('parseAlarmConfigurationChange reads the operation and the alarm', () => {
    const e = parseAlarmConfigurationChange(sample('cloudwatch-alarm-config-change-composite-create.json'));
    assert.equal(e.alarmName, 'ServiceAggregatedAlarm');
    assert.equal(e.operation, 'create');
    assert.equal(e.stateValue, 'INSUFFICIENT_DATA');
    assert.equal(e.alarmArn, 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:ServiceAggregatedAlarm');
  });
});

describe('parseExecutionStatusChange', () => {
  it('reads the FAILED sample, turning epoch milliseconds into ISO', () => {
    const e = parseExecutionStatusChange(sample('stepfunctions-execution-status-change-failed.json'));
    assert.equal(e.executionArn, 'arn:aws:states:us-east-1:012345678912:execution:state-machine-name:execution-name');
    assert.equal(e.stateMachineArn, 'arn:aws:states:us-east-1:012345678912:stateMachine:state-machine');
    assert.equal(e.name, 'execution-name');
    assert.equal(e.status, 'FAILED');
    assert.equal(e.startDate, new Date(1551225146847).toISOString());
    assert.equal(e.startDate, '2019-02-26T23:52:26.847Z');
    assert.equal(e.stopDate, '2019-02-26T23:52:31.881Z');
    assert.equal(e.input, '{}');
    assert.equal(e.output, undefined);
    assert.equal(e.error, undefined);
  });

  it('reads the RUNNING sample whose stopDate is null', () => {
    const e = parseExecutionStatusChange(sample('stepfunctions-execution-status-change-running.json'));
    assert.equal(e.status, 'RUNNING');
    assert.equal(e.stopDate, undefined);
    assert.equal('stopDate' in e, false);
  });

  it('reads the SUCCEEDED sample output as a JSON string', () => {
    const e = parseExecutionStatusChange(sample('stepfunctions-execution-status-change-succeeded.json'));
    assert.equal(e.output, '"Hello World!"');
  });

  it('reads the ABORTED sample', () => {
    assert.equal(parseExecutionStatusChange(sample('stepfunctions-execution-status-change-aborted.json')).status, 'ABORTED');
  });

  it('keeps error and cause when the event carries them', () => {
    const raw = clone(sample('stepfunctions-execution-status-change-failed.json')) as any;
    raw.detail.error = 'States.TaskFailed';
    raw.detail.cause = 'deploy failed';
    const e = parseExecutionStatusChange(raw);
    assert.deepEqual([e.error, e.cause], ['States.TaskFailed', 'deploy failed']);
  });

  it('names the path of a startDate that is not epoch milliseconds', () => {
    const raw = clone(sample('stepfunctions-execution-status-change-failed.json')) as any;
    raw.detail.startDate = '2019-02-26T19:42:21Z';
    assert.deepEqual(
      problemsOf(() => parseExecutionStatusChange(raw)),
      ['detail.startDate: expected epoch milliseconds (a whole number), got "2019-02-26T19:42:21Z"'],
    );
  });
});

describe('image scan events', () => {
  it('parseEcrScanEvent reads the basic scan sample: counts, empty tags, repository ARN', () => {
    const e = parseEcrScanEvent(sample('ecr-image-scan-basic-complete.json'));
    assert.equal(e.scanStatus, 'COMPLETE');
    assert.equal(e.repositoryName, 'my-repository-name');
    assert.equal(e.repositoryArn, 'arn:aws:ecr:us-east-1:123456789012:repository/my-repository-name');
    assert.equal(e.digest, 'sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234');
    assert.deepEqual(e.tags, []);
    assert.deepEqual(e.findingSeverityCounts, { CRITICAL: 10, MEDIUM: 9 });
  });

  it('parseInspectorScanEvent turns the repository ARN in repository-name into the name', () => {
    const e = parseInspectorScanEvent(sample('inspector2-scan-ecr-initial-scan-complete-2021.json'));
    assert.equal(e.repositoryName, 'amazon/amazon-ecs-sample');
    assert.equal(e.repositoryArn, 'arn:aws:ecr:us-east-2:123456789012:repository/amazon/amazon-ecs-sample');
    assert.equal(e.scanStatus, 'INITIAL_SCAN_COMPLETE');
    assert.deepEqual(e.tags, ['latest']);
    assert.deepEqual(e.findingSeverityCounts, { CRITICAL: 7, HIGH: 61, MEDIUM: 62, TOTAL: 158 });
    assert.equal(e.digest, 'sha256:36c7b282abd0186e01419f2e58743e1bf635808231049bbc9d77e5EXAMPLE');
  });

  it('parseInspectorScanEvent reads the 2023 sample with zero counts and a full digest', () => {
    const e = parseInspectorScanEvent(sample('inspector2-scan-ecr-initial-scan-complete-2023.json'));
    assert.equal(e.repositoryName, 'inspector2');
    assert.equal(e.digest, 'sha256:965fbcae990b0467ed5657caceaec165018ef44a4d2d46c7cdea80a9dff0d1ea');
    assert.deepEqual(e.tags, ['ubuntu22']);
    assert.equal(e.findingSeverityCounts.TOTAL, 0);
  });

  it('names the path of a negative count', () => {
    const raw = clone(sample('ecr-image-scan-basic-complete.json')) as any;
    raw.detail['finding-severity-counts'].HIGH = -1;
    assert.deepEqual(
      problemsOf(() => parseEcrScanEvent(raw)),
      ['detail["finding-severity-counts"].HIGH: expected a count, got -1'],
    );
  });
});

describe('parseGantryEvent', () => {
  const cases: Array<[string, string]> = [
    ['ecr-image-action-push-success-tagged.json', 'ecr-push'],
    ['ecr-image-action-push-by-digest-no-tag.constructed.json', 'ecr-push'],
    ['ecr-image-action-push-failure.constructed.json', 'ecr-push'],
    ['ecr-image-action-delete.json', 'unknown'],
    ['cloudwatch-alarm-state-change-metric-alarm-to-alarm.json', 'alarm-state'],
    ['cloudwatch-alarm-state-change-composite-with-suppressor.json', 'alarm-state'],
    ['cloudwatch-alarm-config-change-composite-create.json', 'alarm-config'],
    ['stepfunctions-execution-status-change-failed.json', 'execution-status'],
    ['ecr-image-scan-basic-complete.json', 'ecr-scan'],
    ['inspector2-scan-ecr-initial-scan-complete-2023.json', 'inspector-scan'],
    ['inspector2-finding-ecr-package-vulnerability-2021.json', 'unknown'],
    ['ecr-scan-resource-change-enhanced.json', 'unknown'],
  ];
  for (const [file, kind] of cases) {
    it(`recognizes ${file} as ${kind}`, () => {
      assert.equal(parseGantryEvent(sample(file)).kind, kind);
    });
  }

  it('recognizes a CloudTrail PutImage event and carries its fields', () => {
    const e = parseGantryEvent(putImageEvent());
    assert.equal(e.kind, 'cloudtrail-put-image');
    assert.equal(e.kind === 'cloudtrail-put-image' && e.principalArn, 'arn:aws:sts::123456789012:user/Mary_Major');
  });

  it('returns unknown for a failed PutImage rather than throwing', () => {
    const detail = clone(sample('ecr-cloudtrail-putimage-record.json')) as any;
    detail.errorCode = 'LayersNotFoundException';
    detail.responseElements = null;
    const e = parseGantryEvent(putImageEvent(detail));
    assert.equal(e.kind, 'unknown');
    assert.equal(e.kind === 'unknown' && e.reason, 'PutImage failed with LayersNotFoundException');
  });

  it('returns unknown for another CloudTrail call of ECR', () => {
    assert.equal(parseGantryEvent(putImageEvent(sample('ecr-cloudtrail-lifecycle-policy-execution-record.json'))).kind, 'unknown');
  });

  it('throws ValidationError for a consumed kind that is malformed', () => {
    const raw = clone(sample('cloudwatch-alarm-state-change-metric-alarm-to-alarm.json')) as any;
    delete raw.detail.alarmName;
    assert.deepEqual(
      problemsOf(() => parseGantryEvent(raw)),
      ['detail.alarmName: expected an alarm name, got nothing'],
    );
  });

  it('throws ValidationError for something that is not an EventBridge event', () => {
    const problems = problemsOf(() => parseGantryEvent(sample('ecr-describe-images-cli-v1.json')));
    assert.deepEqual(problems, [
      'source: expected an event source such as "aws.ecr", got nothing',
      '["detail-type"]: expected a detail-type such as "ECR Image Action", got nothing',
    ]);
  });

  it('describes events in one line', () => {
    assert.equal(describeEvent(parseGantryEvent(sample('ecr-image-action-push-success-tagged.json'))), 'ECR PUSH SUCCESS my-repository-name:latest@sha256:7f5b2640fe6f…');
    assert.equal(
      describeEvent(parseGantryEvent(sample('cloudwatch-alarm-state-change-metric-alarm-to-alarm.json'))),
      'alarm ServerCpuTooHigh OK -> ALARM at 2019-10-02T17:04:40.989Z',
    );
    assert.equal(describeEvent(parseGantryEvent(sample('stepfunctions-execution-status-change-aborted.json'))), 'execution execution-name ABORTED');
    assert.equal(
      describeEvent(parseGantryEvent(sample('ecr-image-scan-basic-complete.json'))),
      'ECR scan COMPLETE my-repository-name@sha256:7f5b2640fe6f… (10 CRITICAL, 9 MEDIUM)',
    );
    assert.match(describeEvent(parseGantryEvent(sample('ecr-image-action-delete.json'))), /^ignored aws\.ecr "ECR Image Action": ECR Image Action DELETE is not a push$/);
  });
});
