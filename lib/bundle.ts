/**
 * The handler bundles: every `lambdas/<name>.ts` that exports `handler`, built by **one** esbuild process
 * with several entry points (esbuild parses the shared modules once and uses every core), instead of
 * one esbuild process per function: one build for the handlers that take the AWS SDK from the Lambda
 * runtime, one for the few that bundle it (`LOCKED_SDK_HANDLERS`), side by side. Each function's asset
 * is then its own `<name>/index.js` (+ map),
 * which CDK stages under `cdk.out/asset.<sha256 of the output>` (docs/decisions/015-bundling.md).
 *
 * `handlerCode()` is what GantryFunction deploys. The build runs lazily, the first time a stack that
 * needs bundling stages a handler, and once per process for a given config; a stack excluded from
 * bundling (`aws:cdk:bundling-stacks`, as the template-only tests do) never runs it.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import { Code } from 'aws-cdk-lib/aws-lambda';
import { type GantryConfig, parseConfig } from '../lambdas/domain/config';

/**
 * The repository (or installed package) root: `lambdas/`, `statemachines/` and `drivers/` (buildspecs, scripts) live
 * under it. The nearest folder above this file holding `statemachines/`: `lib/` in the repository, `dist/lib/` in
 * the package (decision 033).
 */
export const PROJECT_ROOT = projectRoot(__dirname);

function projectRoot(from: string): string {
  for (let dir = resolve(from, '..'); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'statemachines'))) return dir;
    if (dirname(dir) === dir) return resolve(from, '..');
  }
}
const LAMBDAS_DIR = join(PROJECT_ROOT, 'lambdas');

/**
 * Packages the Lambda Node.js runtime provides (AWS SDK for JavaScript v3 and its Smithy core), left out
 * of the bundles. Everything else (Powertools, middy, zod, luxon, canonicalize) is bundled.
 */
export const RUNTIME_PROVIDED = ['@aws-sdk/*', '@smithy/*'] as const;

/**
 * Handlers that get the AWS SDK bundled at the version in package-lock.json instead of the runtime's:
 * they call operations, or read response fields, newer than a runtime's SDK may be. An SDK that predates
 * a field drops it silently, so a policy would be decided on missing data. `image-gates` reads ECR's
 * tag-mutability exclusion filters (2025), managed-signing status and image referrers.
 * test/infra/bundle.test.ts fails when another handler starts using those adapter methods.
 */
export const LOCKED_SDK_HANDLERS: ReadonlySet<string> = new Set(['image-gates']);

/**
 * The SDK clients those handlers get at the locked version (with the SDK core and credential chain they
 * need). Their other clients (DynamoDB, Step Functions, EventBridge, Scheduler, CloudWatch), which call
 * long-standing operations only, come from the runtime as in every other handler (decision 039): bundling
 * them cost image-gates ~340 KB.
 */
export const LOCKED_SDK_PACKAGES: readonly string[] = ['@aws-sdk/client-ecr'];

/** The `@aws-sdk/client-*` and `@aws-sdk/lib-*` packages Gantry depends on that are not locked. */
export function unlockedSdkClients(root: string = PROJECT_ROOT): string[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  return Object.keys(pkg.dependencies ?? {})
    .filter((d) => /^@aws-sdk\/(?:client|lib)-/.test(d) && !LOCKED_SDK_PACKAGES.includes(d))
    .sort();
}

/** esbuild settings shared by every handler. The config is added as a `define` per build. */
export const BUNDLE_SETTINGS = {
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'cjs',
  minify: true,
  // Stack traces through the map (the functions run with NODE_OPTIONS=--enable-source-maps). The sources
  // themselves are left out of the map: file:line is what a stack trace needs, and the map stays small.
  sourcemap: true,
  sourcesContent: false,
  logLevel: 'warning',
} as const;

export class HandlerBundleError extends Error {
  override readonly name = 'HandlerBundleError';
}

/** The built files of one handler. */
export interface HandlerBundle {
  readonly handlerName: string;
  /** Directory holding `index.js` and `index.js.map`. */
  readonly dir: string;
  /** Size of `index.js` in bytes (the code Lambda loads). */
  readonly bytes: number;
  /** Size of `index.js.map` in bytes. */
  readonly mapBytes: number;
  /** Where its AWS SDK comes from: the Lambda runtime, or bundled at the locked version. */
  readonly sdk: 'runtime' | 'bundled';
  /** Whether the Powertools tracer (and the X-Ray SDK) is compiled in. */
  readonly tracer: boolean;
  /** With `metafile: true`: what `index.js` is made of, largest first (esbuild's metafile). */
  readonly contributors?: readonly BundleContributor[];
}

/** Bytes of a bundle's `index.js` that come from one package (`zod`) or one folder of Gantry (`lambdas/domain`). */
export interface BundleContributor {
  readonly name: string;
  readonly bytes: number;
}

/** Options of a handler build besides the config. */
export interface BundleOptions {
  /**
   * Compile the Powertools tracer in (its `## index.handler` subsegment and cold-start annotation; the
   * X-Ray SDK, ~110 KB). Off by default: the functions' active tracing records each invocation without it
   * (decision 039). `cdk synth -c gantry:powertoolsTracer=true` turns it on for every function.
   */
  readonly tracer?: boolean;
}

/** The Lambda bundles' esbuild `define`s besides the config (decision 039). */
function buildFlags(options: BundleOptions): Record<string, string> {
  return {
    // lambdas/shared/middleware.ts: load the Powertools tracer or not (dead code, so not bundled, when false).
    GANTRY_POWERTOOLS_TRACER: String(options.tracer === true),
    // lambdas/domain/tag-pattern.ts: the compiled-in config passed parseConfig here (bundleHandlers
    // checks it), so the handlers skip re-checking its tag patterns with RE2 and carry no re2js.
    GANTRY_CONFIG_CHECKED_AT_SYNTH: 'true',
  };
}

/** Groups an esbuild metafile input path by package (`node_modules/<pkg>/...`) or Gantry folder. */
export function contributorOf(input: string): string {
  const pkg = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
  if (pkg?.[1]) return pkg[1];
  const slash = input.lastIndexOf('/');
  return slash < 0 ? input : input.slice(0, slash);
}

interface Metafile {
  readonly outputs: Record<string, { readonly bytes: number; readonly inputs: Record<string, { readonly bytesInOutput: number }> }>;
}

function contributorsFrom(meta: Metafile, handler: string): BundleContributor[] {
  const output = Object.entries(meta.outputs).find(([file]) => file.endsWith(`${handler}/index.js`))?.[1];
  if (!output) throw new HandlerBundleError(`esbuild's metafile has no output for ${handler}/index.js`);
  const sums = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    const name = contributorOf(input);
    sums.set(name, (sums.get(name) ?? 0) + bytesInOutput);
  }
  return [...sums].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes || a.name.localeCompare(b.name));
}

const HANDLER_EXPORT = /^export\s+(?:const|let|async\s+function|function)\s+handler\b|^export\s*\{[^}]*\bhandler\b[^}]*\}/m;

/** The handler names under `lambdas/`: each top-level `<name>.ts` that exports `handler`. */
export function discoverHandlers(lambdasDir: string = LAMBDAS_DIR): string[] {
  return readdirSync(lambdasDir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && statSync(join(lambdasDir, f)).isFile())
    .filter((f) => HANDLER_EXPORT.test(readFileSync(join(lambdasDir, f), 'utf8')))
    .map((f) => f.slice(0, -3))
    .sort();
}

function defineFor(config: GantryConfig): Record<string, string> {
  // The config is compiled in: the function runs exactly the document that was synthesized.
  return { 'process.env.GANTRY_CONFIG': JSON.stringify(JSON.stringify(config)) };
}

/**
 * Runs in a child `node` (CDK's local bundling hook is synchronous; esbuild plugins need the async
 * API). Reads `{ esbuild, builds, root }` on stdin, runs the builds, prints nothing on success.
 *
 * The plugin keeps zod's ~40 translated error locales out of the bundles (~270 KB each): zod 4's
 * `z` namespace re-exports them all as `z.locales`, so tree shaking cannot drop them. Gantry's messages
 * are English (zod's default, registered from `locales/en.js`, which stays); nothing calls `z.config`.
 *
 * Source map `sources` are rewritten relative to the project root (`lambdas/intake.ts`,
 * `node_modules/zod/...`): stack traces read well, and a bundle's bytes (so its asset hash) do not
 * depend on where the repository is checked out or where the build ran.
 */
const CHILD = `
const fs = require('node:fs');
const path = require('node:path');
const { esbuild, builds, root, metafileDir } = JSON.parse(fs.readFileSync(0, 'utf8'));
const write = (result) => {
  for (const f of result.outputFiles) {
    fs.mkdirSync(path.dirname(f.path), { recursive: true });
    if (!f.path.endsWith('.map')) { fs.writeFileSync(f.path, f.contents); continue; }
    const map = JSON.parse(f.text);
    map.sources = map.sources.map((s) => path.relative(root, path.resolve(path.dirname(f.path), s)).split(path.sep).join('/'));
    fs.writeFileSync(f.path, JSON.stringify(map));
  }
};
const zodLocales = {
  name: 'zod-english-only',
  setup(b) {
    b.onLoad({ filter: /[\\\\/]zod[\\\\/]v4[\\\\/]locales[\\\\/]index\\.c?js$/ }, (a) => ({
      contents: a.path.endsWith('.cjs') ? 'exports.en = require("./en.cjs").default;' : 'export { default as en } from "./en.js";',
      loader: 'js',
    }));
  },
};
Promise.all(builds.map((options, i) => require(esbuild).build({ ...options, write: false, metafile: Boolean(metafileDir), plugins: [zodLocales] }).then((result) => {
  write(result);
  if (metafileDir) fs.writeFileSync(path.join(metafileDir, 'meta-' + i + '.json'), JSON.stringify(result.metafile));
}))).catch((e) => {
  if (!e.errors) process.stderr.write(String(e.stack || e));
  process.exitCode = 1;
});
`;

/**
 * Builds the given handlers into `outdir/<name>/index.js` in one esbuild process, synchronously.
 * @throws HandlerBundleError with esbuild's messages when the build fails.
 */
export function bundleHandlers(
  options: BundleOptions & { readonly config: GantryConfig; readonly outdir: string; readonly handlers?: readonly string[]; readonly metafile?: boolean },
): HandlerBundle[] {
  const handlers = options.handlers ?? discoverHandlers();
  // The bundles trust their compiled-in config (GANTRY_CONFIG_CHECKED_AT_SYNTH): make that true here.
  parseConfig(options.config, 'the config compiled into the handler bundles');
  const sdkOf = (h: string) => (LOCKED_SDK_HANDLERS.has(h) ? 'bundled' : 'runtime');
  // Two esbuild builds at most (SDK from the runtime / SDK bundled), run concurrently in one child.
  const builds = (['runtime', 'bundled'] as const)
    .map((sdk) => ({ sdk, group: handlers.filter((h) => sdkOf(h) === sdk) }))
    .filter(({ group }) => group.length > 0)
    .map(({ sdk, group }) => ({
      ...BUNDLE_SETTINGS,
      external: sdk === 'runtime' ? [...RUNTIME_PROVIDED] : unlockedSdkClients(),
      entryPoints: Object.fromEntries(group.map((h) => [`${h}/index`, join(LAMBDAS_DIR, `${h}.ts`)])),
      outdir: options.outdir,
      absWorkingDir: PROJECT_ROOT,
      define: { ...defineFor(options.config), ...buildFlags(options) },
    }));
  const metafileDir = options.metafile ? mkdtempSync(join(tmpdir(), 'gantry-bundle-meta-')) : undefined;
  const r = spawnSync(process.execPath, ['-e', CHILD], {
    input: JSON.stringify({ esbuild: require.resolve('esbuild'), builds, root: PROJECT_ROOT, metafileDir }),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const metas = r.status === 0 && metafileDir ? builds.map((_, i) => JSON.parse(readFileSync(join(metafileDir, `meta-${i}.json`), 'utf8')) as Metafile) : [];
  if (metafileDir) rmSync(metafileDir, { recursive: true, force: true });
  if (r.status !== 0) {
    throw new HandlerBundleError(`esbuild failed for ${handlers.join(', ')}:\n${r.stderr || r.error?.message || `exit ${r.status}`}`, { cause: r.error });
  }
  if (r.stderr) process.stderr.write(r.stderr); // esbuild warnings
  return handlers.map((h) => {
    const dir = join(options.outdir, h);
    const mapBytes = existsSync(join(dir, 'index.js.map')) ? statSync(join(dir, 'index.js.map')).size : 0;
    const meta = metas.find((m) => Object.keys(m.outputs).some((f) => f.endsWith(`${h}/index.js`)));
    const contributors = meta ? contributorsFrom(meta, h) : undefined;
    return { handlerName: h, dir, bytes: statSync(join(dir, 'index.js')).size, mapBytes, sdk: sdkOf(h), tracer: options.tracer === true, contributors };
  });
}

/** Built handler directories of this process, by build key (config + handler set). */
const done = new Map<string, { readonly dir: string; readonly ok: boolean }>();
let scratch: string | undefined;

function scratchDir(): string {
  if (!scratch) {
    const dir = mkdtempSync(join(tmpdir(), 'gantry-bundles-'));
    scratch = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return scratch;
}

function keyOf(config: GantryConfig, handlers: readonly string[], options: BundleOptions = {}): string {
  return createHash('sha256')
    .update(
      JSON.stringify({
        settings: BUNDLE_SETTINGS,
        runtime: RUNTIME_PROVIDED,
        locked: [...LOCKED_SDK_HANDLERS],
        lockedPackages: LOCKED_SDK_PACKAGES,
        config,
        handlers,
        flags: buildFlags(options),
      }),
    )
    .digest('hex')
    .slice(0, 16);
}

/**
 * The directory holding `handlerName`'s built `index.js`. The first call builds every handler under
 * `lambdas/` at once; should that fail (say, a handler someone is still writing and no stack uses),
 * each handler asked for is then built on its own, so only a broken handler that is deployed stops synth.
 */
export function builtHandlerDir(handlerName: string, config: GantryConfig, options: BundleOptions = {}): string {
  const all = discoverHandlers();
  if (!all.includes(handlerName)) all.push(handlerName);
  const key = keyOf(config, all, options);
  let batch = done.get(key);
  if (!batch) {
    const dir = join(scratchDir(), key);
    try {
      bundleHandlers({ ...options, config, outdir: dir, handlers: all });
      batch = { dir, ok: true };
    } catch (e) {
      const first = (e as Error).message.split('\n').find((l) => /error/i.test(l)) ?? (e as Error).message.split('\n')[0];
      process.stderr.write(`gantry: building every handler at once failed (${first?.trim()}); building each deployed handler on its own\n`);
      batch = { dir, ok: false };
    }
    done.set(key, batch);
  }
  if (batch.ok) return join(batch.dir, handlerName);
  const soloKey = keyOf(config, [handlerName], options);
  const solo = done.get(soloKey);
  if (solo) return join(solo.dir, handlerName);
  const dir = join(scratchDir(), soloKey);
  bundleHandlers({ ...options, config, outdir: dir, handlers: [handlerName] }); // throws with esbuild's messages
  done.set(soloKey, { dir, ok: true });
  return join(dir, handlerName);
}

/**
 * The Lambda code of `lambdas/<handlerName>.ts`: its bundle from the shared build, staged by CDK as a
 * content-hashed asset. Local bundling only; Docker is never used.
 */
export function handlerCode(handlerName: string, config: GantryConfig, options: BundleOptions = {}): Code {
  return Code.fromAsset(LAMBDAS_DIR, {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Required by the type, never pulled: local bundling below always succeeds or throws.
      image: DockerImage.fromRegistry('gantry-local-esbuild-only'),
      // Part of CDK's asset cache key (the `local` hook is not): one asset per handler and config.
      command: ['esbuild', `lambdas/${handlerName}.ts`, keyOf(config, [handlerName], options)],
      local: {
        tryBundle(outputDir: string): boolean {
          const dir = builtHandlerDir(handlerName, config, options);
          mkdirSync(outputDir, { recursive: true });
          for (const f of readdirSync(dir)) copyFileSync(join(dir, f), join(outputDir, f));
          return true;
        },
      },
    },
  });
}
