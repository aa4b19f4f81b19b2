/** DescribeImageScanFindings as ECR sends it (wire JSON of the real samples), normalised for image.scan. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'vitest';
import { parseScanFindingsPage } from '../../lambdas/domain/image/findings';
import { ValidationError } from '../../lambdas/domain/validation';

const SAMPLES = path.join(__dirname, '../fixtures/aws-samples');
const sample = (name: string) => JSON.parse(readFileSync(path.join(SAMPLES, name), 'utf8'));

describe('parseScanFindingsPage', () => {
  it('normalises the basic sample: CVE name as id, package from the attribute list, epoch seconds as ISO', () => {
    const page = parseScanFindingsPage(sample('ecr-describe-image-scan-findings-basic.json'));

    assert.deepEqual(page, {
      status: 'COMPLETE',
      description: 'The scan was completed successfully.',
      completedAt: '2020-01-24T04:11:45.000Z',
      findings: [{ id: 'CVE-2019-5188', severity: 'MEDIUM', package: 'e2fsprogs' }],
    });
  });

  it('normalises the enhanced sample, keeping UNTRIAGED and the exploit and fix flags', () => {
    const page = parseScanFindingsPage(sample('ecr-describe-image-scan-findings-enhanced.json'));

    assert.deepEqual(page.findings, [
      { id: 'CVE-2024-9681', severity: 'MEDIUM', package: 'curl', exploitAvailable: false, fixAvailable: false },
      { id: 'CVE-2025-24528', severity: 'UNTRIAGED', package: 'krb5', exploitAvailable: false, fixAvailable: false },
    ]);
  });

  it('falls back to the title, then the finding ARN, for an enhanced finding without a vulnerability id', () => {
    const raw = sample('ecr-describe-image-scan-findings-enhanced.json');
    const [a, b] = raw.imageScanFindings.enhancedFindings;
    delete a.packageVulnerabilityDetails.vulnerabilityId;
    delete b.packageVulnerabilityDetails;
    delete b.title;

    const ids = parseScanFindingsPage(raw).findings.map((f) => f.id);

    assert.deepEqual(ids, ['CVE-2024-9681 - curl', 'arn:aws:inspector2:eu-west-1:000000000000:finding/9ff1469a4702529c61a8f00661a27576']);
  });

  it('refuses a finding with no identifier at all, naming it', () => {
    const raw = sample('ecr-describe-image-scan-findings-basic.json');
    delete raw.imageScanFindings.findings[0].name;
    delete raw.imageScanFindings.findings[0].uri;

    assert.throws(
      () => parseScanFindingsPage(raw),
      (e: unknown) => e instanceof ValidationError && e.problems[0] === 'imageScanFindings.findings[0]: expected a finding with a name or uri, got neither',
    );
  });

  it('refuses a severity that is not a string and a timestamp that is not a time', () => {
    const bad = sample('ecr-describe-image-scan-findings-basic.json');
    bad.imageScanFindings.findings[0].severity = 5;
    const badTime = sample('ecr-describe-image-scan-findings-basic.json');
    badTime.imageScanFindings.imageScanCompletedAt = 'yesterday';

    assert.throws(
      () => parseScanFindingsPage(bad),
      (e: unknown) => e instanceof ValidationError && /^imageScanFindings\.findings\[0\]\.severity: /.test(e.problems[0] ?? ''),
    );
    assert.throws(
      () => parseScanFindingsPage(badTime),
      (e: unknown) => e instanceof ValidationError && /^imageScanFindings\.imageScanCompletedAt: expected a timestamp/.test(e.problems[0] ?? ''),
    );
  });

  it('reads a page without a status as having none (the gate then refuses it as UNKNOWN)', () => {
    assert.deepEqual(parseScanFindingsPage({}), { findings: [] });
  });
});
