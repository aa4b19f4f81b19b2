/**
 * The audit's pure half, split by job: the export format (export.ts), the tamper check (verify.ts),
 * evidence completeness (evidence.ts) and a release's audit record (report-model.ts).
 * Import from here (`lambdas/domain/audit`).
 */
export * from './evidence';
export * from './export';
export * from './report-model';
export * from './signature';
export * from './verify';
export * from './change';
