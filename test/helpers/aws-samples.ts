/**
 * The real AWS payloads copied into test/fixtures/aws-samples (SOURCES.md there says where each came from), for tests.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const SAMPLES = path.join(__dirname, '../fixtures/aws-samples');

// biome-ignore lint/suspicious/noExplicitAny: samples are arbitrary JSON that tests edit freely
type Json = Record<string, any>;

/** One sample file, parsed afresh (callers may edit it). */
export function sample(name: string): Json {
  return JSON.parse(readFileSync(path.join(SAMPLES, name), 'utf8')) as Json;
}

/**
 * The CloudTrail PutImage record sample is the `detail` only; EventBridge delivers it in this envelope
 * ("AWS API Call via CloudTrail").
 */
export function putImageEvent(detail: unknown = sample('ecr-cloudtrail-putimage-record.json')): Json {
  return {
    version: '0',
    id: '6f9c1a52-5c2e-4e8e-9a63-0d8ad5f0e2b1',
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.ecr',
    account: '123456789012',
    time: '2019-04-15T16:45:00Z',
    region: 'us-east-2',
    resources: [],
    detail,
  };
}
