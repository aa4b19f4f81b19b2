/**
 * Per-handler bundle size and module init time. The bundles are built by lib/bundle.ts exactly as
 * `cdk synth` builds them (one esbuild run, the example config compiled in). Init time: a fresh `node`
 * process per sample `require`s the bundle and reports how long the require took (module load and
 * top-level code: Powertools logger and metrics, middy, the handler's schemas; the tracer only in a build
 * with `tracer: true`, which the bench does not use, as synth does not by default), median of 5. With
 * esbuild's metafile, a second table lists each bundle's largest contributors (decision 039).
 *
 * Each sample runs as Lambda runs it: NODE_OPTIONS=--enable-source-maps (set on every function), and
 * the AWS SDK v3 resolved outside the bundle (here from node_modules via NODE_PATH, in Lambda from the
 * runtime) unless the handler bundles it (lib/bundle.ts `LOCKED_SDK_HANDLERS`, which bundle
 * `LOCKED_SDK_PACKAGES` only). The SDK clients load on the first invocation (lambdas/shared/middleware.ts imports
 * adapters/aws-deps lazily), so a second figure, "first call", is require + one invocation with an
 * empty event: it builds the SDK clients and ends at the handler's input validation, without I/O.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parseConfig } from '../lambdas/domain/config';
import { type BundleContributor, bundleHandlers } from '../lib/bundle';
import { HANDLERS } from '../lib/ReleaseControlPlane';
import { kb, median, ms, verdict } from './stats';

const ROOT = join(__dirname, '..');
export const BUNDLE_GOAL_BYTES = 250 * 1024;
export const INIT_GOAL_MS = 150;

const CHILD = `
const t0 = process.hrtime.bigint();
const m = require(process.argv[1]);
const requireMs = Number(process.hrtime.bigint() - t0) / 1e6;
const ctx = { functionName: 'bench', functionVersion: '1', invokedFunctionArn: 'arn:aws:lambda:eu-west-2:111122223333:function:bench', memoryLimitInMB: '512', awsRequestId: 'bench', logGroupName: 'bench', logStreamName: 'bench', getRemainingTimeInMillis: () => 60000 };
Promise.resolve(m.handler({}, ctx)).then(() => 'returned', (e) => (e && e.name) || 'Error').then((outcome) => {
  process.stdout.write(JSON.stringify({ requireMs, firstCallMs: Number(process.hrtime.bigint() - t0) / 1e6, outcome }));
});
`;

const CHILD_ENV = {
  PATH: process.env.PATH ?? '',
  NODE_OPTIONS: '--enable-source-maps',
  NODE_PATH: join(ROOT, 'node_modules'),
  POWERTOOLS_LOG_LEVEL: 'SILENT',
  POWERTOOLS_DEV: 'false',
  AWS_REGION: 'eu-west-2',
  AWS_ACCESS_KEY_ID: 'AKIDBENCHONLY',
  AWS_SECRET_ACCESS_KEY: 'bench-only',
  AWS_EC2_METADATA_DISABLED: 'true',
  // Should any handler reach the network before validating its input, it fails fast here.
  AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
  TABLE_NAME: 'bench-ledger',
  EVENT_BUS_NAME: 'gantry',
  SCHEDULE_GROUP: 'gantry-bakes',
  SCHEDULER_ROLE_ARN: 'arn:aws:iam::111122223333:role/bench',
  BAKE_TIMER_FUNCTION_ARN: 'arn:aws:lambda:eu-west-2:111122223333:function:bench-bake-timer',
  RELEASE_STATE_MACHINE_ARN: 'arn:aws:states:eu-west-2:111122223333:stateMachine:bench',
  ECR_REGISTRY: '111122223333.dkr.ecr.eu-west-2.amazonaws.com',
};

export interface BundleFigures {
  handler: string;
  sdk: string;
  bytes: number;
  gzipBytes: number;
  mapBytes: number;
  requireMs: number[];
  firstCallMs: number[];
  outcome: string;
  buildMs: number;
  /** What index.js is made of (esbuild's metafile), largest first. */
  contributors: readonly BundleContributor[];
}

export function initSample(file: string): { requireMs: number; firstCallMs: number; outcome: string } {
  const r = spawnSync(process.execPath, ['-e', CHILD, file], { env: CHILD_ENV, encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0 || !r.stdout) throw new Error(`init of ${file} failed (exit ${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

export function measureBundles(samples = 5): BundleFigures[] {
  const config = parseConfig(JSON.parse(readFileSync(join(ROOT, 'examples', 'gantry.config.json'), 'utf8')), 'examples/gantry.config.json');
  const outdir = mkdtempSync(join(tmpdir(), 'gantry-bench-bundles-'));
  try {
    const t0 = process.hrtime.bigint();
    const built = bundleHandlers({ config, outdir, handlers: Object.keys(HANDLERS), metafile: true });
    const buildMs = Number(process.hrtime.bigint() - t0) / 1e6;
    return built.map((b) => {
      const file = join(b.dir, 'index.js');
      const runs = Array.from({ length: samples }, () => initSample(file));
      return {
        handler: b.handlerName,
        sdk: b.sdk,
        bytes: b.bytes,
        gzipBytes: gzipSync(readFileSync(file), { level: 9 }).length,
        mapBytes: b.mapBytes,
        requireMs: runs.map((r) => r.requireMs),
        firstCallMs: runs.map((r) => r.firstCallMs),
        outcome: [...new Set(runs.map((r) => r.outcome))].join(', '),
        buildMs,
        contributors: b.contributors ?? [],
      };
    });
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

export function bundleTable(figures: BundleFigures[]): string {
  const rows = [
    '| handler | AWS SDK | index.js (minified) | gzip -9 | source map | init: require, median of 5 | first call (require + SDK clients + input check), median of 5 | first call ended with | size ≤ 250 KB | init ≤ 150 ms |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const f of figures) {
    const init = median(f.requireMs);
    rows.push(
      `| ${f.handler} | ${f.sdk} | ${kb(f.bytes)} | ${kb(f.gzipBytes)} | ${kb(f.mapBytes)} | ${ms(init)} | ${ms(median(f.firstCallMs))} | ${f.outcome} | ${verdict(f.bytes <= BUNDLE_GOAL_BYTES)} | ${verdict(init <= INIT_GOAL_MS)} |`,
    );
  }
  const largest = Math.max(...figures.map((f) => f.bytes));
  const slowest = Math.max(...figures.map((f) => median(f.requireMs)));
  rows.push(`| **largest / slowest** | | ${kb(largest)} | | | ${ms(slowest)} | | | ${verdict(largest <= BUNDLE_GOAL_BYTES)} | ${verdict(slowest <= INIT_GOAL_MS)} |`);
  return `${rows.join('\n')}\n\n(one esbuild run built all ${figures.length} handlers in ${ms(figures[0]?.buildMs ?? Number.NaN)})\n\n${contributorTable(figures)}`;
}

/** Top contributors per handler (esbuild's metafile): packages by name, Gantry's code by folder. */
export function contributorTable(figures: BundleFigures[], top = 6): string {
  const rows = [`| handler | index.js | top ${top} contributors (KB of minified output) |`, '|---|---|---|'];
  for (const f of figures) {
    rows.push(
      `| ${f.handler} | ${kb(f.bytes)} | ${f.contributors
        .slice(0, top)
        .map((c) => `${c.name} ${kb(c.bytes)}`)
        .join(', ')} |`,
    );
  }
  return rows.join('\n');
}
