#!/usr/bin/env node
// The `gantry` CLI (cli/main.ts). It runs the esbuild bundle dist/cli/gantry.js (scripts/build-cli.mjs, built by
// `npm run build:cli` and at `npm ci` by `prepare`) when it exists and no source it was built from is newer than it;
// otherwise the TypeScript sources through tsx's CommonJS loader, so an edited source never runs stale code
// (docs/decisions/038-cli-bundle.md). GANTRY_DEBUG=1 says which ran and why; GANTRY_NO_BUNDLE=1 forces tsx.
//
// The AWS SDK warns on every start that its 2027 releases need Node 22; Gantry pins the SDK and
// supports Node >= 20 locally, so that one warning is dropped here. Every other warning is kept.
const emitWarning = process.emitWarning;
process.emitWarning = function (warning, ...rest) {
  const text = typeof warning === 'string' ? warning : warning && warning.message;
  const type = typeof rest[0] === 'string' ? rest[0] : rest[0] && rest[0].type;
  if (type === 'NodeVersionSupportWarning' || (text && text.includes('will require node >=22'))) return;
  return emitWarning.call(process, warning, ...rest);
};
// Handler logs (Powertools, JSON on stdout) would mix with --json output; the CLI reports instead.
process.env.POWERTOOLS_LOG_LEVEL = process.env.POWERTOOLS_LOG_LEVEL || 'SILENT';

const { readFileSync, statSync } = require('node:fs');
const { join } = require('node:path');

const ROOT = join(__dirname, '..');
const BUNDLE = join(ROOT, 'dist', 'cli', 'gantry.js');
const MANIFEST = join(ROOT, 'dist', 'cli', 'gantry.manifest.json');

/** Why the bundle cannot be used, or null when it is fresh: it exists, and no source listed in its manifest is newer or gone. */
function staleReason() {
  if (process.env.GANTRY_NO_BUNDLE) return 'GANTRY_NO_BUNDLE is set';
  let built;
  let sources;
  try {
    built = statSync(BUNDLE).mtimeMs;
    sources = JSON.parse(readFileSync(MANIFEST, 'utf8')).sources;
  } catch {
    return 'no bundle (npm run build:cli makes it)';
  }
  if (!Array.isArray(sources) || sources.length === 0) return 'the bundle manifest lists no sources (npm run build:cli)';
  for (const source of sources) {
    let mtime;
    try {
      mtime = statSync(join(ROOT, source)).mtimeMs;
    } catch {
      return `${source} is gone since the bundle was built (npm run build:cli)`;
    }
    if (mtime > built) return `${source} is newer than the bundle (npm run build:cli)`;
  }
  return null;
}

const debug = process.env.GANTRY_DEBUG && process.env.GANTRY_DEBUG !== '0';
const started = debug ? process.hrtime.bigint() : 0n;
const stale = staleReason();
if (debug) {
  const ms = (Number(process.hrtime.bigint() - started) / 1e6).toFixed(1);
  process.stderr.write(stale ? `gantry: running the TypeScript sources through tsx: ${stale}\n` : `gantry: running the bundle dist/cli/gantry.js (fresh; checked in ${ms} ms)\n`);
}
if (stale) {
  require('tsx/cjs');
  // The commands load their backends with import() (lazily): tsx's ESM hooks (registered by importing tsx/esm)
  // resolve and compile those .ts files too.
  import('tsx/esm').then(() => require('../cli/main.ts').run(process.argv));
} else {
  require(BUNDLE).run(process.argv);
}
