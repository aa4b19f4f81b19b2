/**
 * DescribeImageScanFindings, basic (`findings`) and enhanced (`enhancedFindings`, Inspector) alike,
 * normalised into the ScanResult the image.scan gate decides on. Accepts the wire JSON (timestamps
 * as epoch seconds or ISO strings) and the SDK's output (timestamps as Date). A page that does not
 * have this shape, or a finding with no identifier at all, is a ValidationError: a finding that
 * cannot be named can be neither counted honestly nor allow-listed.
 */
import * as z from 'zod';
import type { ScanFinding, ScanResult } from '../../ports';
import { formatIssues, ValidationError } from '../validation';

const text = z.string().nullish();
const timestamp = z.union([z.date(), z.number(), z.string()]).nullish();

const basicFinding = z.looseObject({
  name: text,
  uri: text,
  severity: text,
  attributes: z.array(z.looseObject({ key: z.string(), value: text })).nullish(),
});

const enhancedFinding = z.looseObject({
  findingArn: text,
  title: text,
  severity: text,
  exploitAvailable: text,
  fixAvailable: text,
  packageVulnerabilityDetails: z
    .looseObject({
      vulnerabilityId: text,
      vulnerablePackages: z.array(z.looseObject({ name: text })).nullish(),
    })
    .nullish(),
});

const pageSchema = z.looseObject({
  imageScanStatus: z.looseObject({ status: text, description: text }).nullish(),
  imageScanFindings: z
    .looseObject({
      findings: z.array(basicFinding).nullish(),
      enhancedFindings: z.array(enhancedFinding).nullish(),
      imageScanCompletedAt: timestamp,
    })
    .nullish(),
  nextToken: text,
});

export interface ScanFindingsPage {
  readonly status?: string;
  readonly description?: string;
  readonly completedAt?: string;
  readonly findings: ScanFinding[];
  readonly nextToken?: string;
}

/** Epoch seconds (wire), ISO string (CLI v2) or Date (SDK) → ISO UTC; undefined when absent. */
export function toIsoTimestamp(v: Date | number | string | null | undefined, path: string, what: string): string | undefined {
  if (v === null || v === undefined) return undefined;
  const ms = v instanceof Date ? v.getTime() : typeof v === 'number' ? v * 1000 : Date.parse(v);
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15)
    throw new ValidationError(what, [`${path}: expected a timestamp, got ${JSON.stringify(v instanceof Date ? 'Invalid Date' : v)}`]);
  return new Date(ms).toISOString();
}

/** "YES"/"NO"/"PARTIAL" → boolean; anything else (absent, unknown) → undefined. */
function yesNo(value: string | null | undefined, truthy: readonly string[]): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  const v = value.toUpperCase();
  if (truthy.includes(v)) return true;
  if (v === 'NO' || v === 'PARTIAL') return false;
  return undefined;
}

const nonEmpty = (s: string | null | undefined): string | undefined => (typeof s === 'string' && s.trim() !== '' ? s : undefined);

/** One page of DescribeImageScanFindings. @throws ValidationError (source "scan findings") */
export function parseScanFindingsPage(raw: unknown): ScanFindingsPage {
  const what = 'scan findings';
  const r = pageSchema.safeParse(raw);
  if (!r.success) throw new ValidationError(what, formatIssues(r.error.issues, raw));
  const page = r.data;
  const problems: string[] = [];
  const findings: ScanFinding[] = [];
  (page.imageScanFindings?.findings ?? []).forEach((f, i) => {
    const id = nonEmpty(f.name) ?? nonEmpty(f.uri);
    if (!id) {
      problems.push(`imageScanFindings.findings[${i}]: expected a finding with a name or uri, got neither`);
      return;
    }
    const pkg = nonEmpty(f.attributes?.find((a) => a.key === 'package_name')?.value);
    findings.push({ id, severity: nonEmpty(f.severity) ?? 'UNDEFINED', ...(pkg ? { package: pkg } : {}) });
  });
  (page.imageScanFindings?.enhancedFindings ?? []).forEach((f, i) => {
    const details = f.packageVulnerabilityDetails;
    const id = nonEmpty(details?.vulnerabilityId) ?? nonEmpty(f.title) ?? nonEmpty(f.findingArn);
    if (!id) {
      problems.push(`imageScanFindings.enhancedFindings[${i}]: expected a finding with a vulnerabilityId, title or findingArn, got none`);
      return;
    }
    const pkg = nonEmpty(details?.vulnerablePackages?.[0]?.name);
    const exploit = yesNo(f.exploitAvailable, ['YES']);
    const fix = yesNo(f.fixAvailable, ['YES', 'PARTIAL']);
    findings.push({
      id,
      severity: nonEmpty(f.severity) ?? 'UNDEFINED',
      ...(pkg ? { package: pkg } : {}),
      ...(exploit === undefined ? {} : { exploitAvailable: exploit }),
      ...(fix === undefined ? {} : { fixAvailable: fix }),
    });
  });
  if (problems.length) throw new ValidationError(what, problems);
  const completedAt = toIsoTimestamp(page.imageScanFindings?.imageScanCompletedAt, 'imageScanFindings.imageScanCompletedAt', what);
  const status = nonEmpty(page.imageScanStatus?.status);
  const description = nonEmpty(page.imageScanStatus?.description);
  const nextToken = nonEmpty(page.nextToken);
  return {
    ...(status ? { status } : {}),
    ...(description ? { description } : {}),
    ...(completedAt ? { completedAt } : {}),
    findings,
    ...(nextToken ? { nextToken } : {}),
  };
}

/** Statuses that wait (the scan may still finish), that are done, and everything else (a refusal). */
const WAITING = ['IN_PROGRESS', 'PENDING'];
const DONE = ['COMPLETE', 'ACTIVE'];

function statusRank(status: string): number {
  if (DONE.includes(status)) return 0;
  if (WAITING.includes(status)) return 1;
  if (status === 'NONE') return 2;
  return 3;
}

/**
 * The scans of an index's platform images as one: the worst status decides (a refusal beats no
 * scan beats still running beats done), findings are the union (one per id, severity and package).
 */
export function mergeScanResults(parts: ReadonlyArray<{ readonly platform: string; readonly scan: ScanResult }>): ScanResult {
  if (parts.length === 0) return { status: 'NONE', findings: [] };
  const worst = [...parts].sort((a, b) => statusRank(b.scan.status) - statusRank(a.scan.status))[0] as { platform: string; scan: ScanResult };
  const status = worst.scan.status;
  const seen = new Set<string>();
  const findings: ScanFinding[] = [];
  for (const p of parts) {
    for (const f of p.scan.findings) {
      const key = `${f.id}|${f.severity.toUpperCase()}|${f.package ?? ''}`;
      if (seen.has(key)) continue;
      seen.add(key);
      findings.push(f);
    }
  }
  const descriptions = parts.filter((p) => p.scan.status === status && p.scan.description).map((p) => `${p.platform}: ${p.scan.description}`);
  const completed = parts
    .map((p) => p.scan.completedAt)
    .filter((c): c is string => typeof c === 'string')
    .sort();
  return {
    status,
    ...(descriptions.length ? { description: descriptions.join('; ') } : {}),
    ...(statusRank(status) === 0 && completed.length ? { completedAt: completed[completed.length - 1] as string } : {}),
    findings,
  };
}
