/**
 * AWS payloads copied into the repository (test/fixtures/aws-samples; each `<name>.SOURCE.md` says where it
 * came from). Tests that use these read nothing outside the repository.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const FIXTURE_SAMPLES = path.join(__dirname, '..', 'fixtures', 'aws-samples');

// biome-ignore lint/suspicious/noExplicitAny: samples are arbitrary JSON that tests edit freely
type Json = Record<string, any>;

/** One copied sample, parsed afresh (callers may edit it). */
export function fixtureSample(name: string): Json {
  return JSON.parse(readFileSync(path.join(FIXTURE_SAMPLES, name), 'utf8')) as Json;
}
