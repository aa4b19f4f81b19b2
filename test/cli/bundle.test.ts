/**
 * The bundled CLI (issue 17, decision 038): scripts/build-cli.mjs builds dist/cli/gantry.js; bin/gantry.js runs it
 * when no source it was built from is newer, else the TypeScript sources through tsx. Both paths must answer alike.
 * No timing here: start-up time is measured by `npm run bench -- cli` (docs/benchmarks.md).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { ROOT } from './helpers';

const BIN = join(ROOT, 'bin', 'gantry.js');
const BUNDLE = join(ROOT, 'dist', 'cli', 'gantry.js');
const MANIFEST = join(ROOT, 'dist', 'cli', 'gantry.manifest.json');
const work = mkdtempSync(join(tmpdir(), 'gantry-bundle-'));
// Inside the repository (.tmp/ is ignored): the bundle leaves npm packages outside, found from where it lies.
mkdirSync(join(ROOT, '.tmp'), { recursive: true });
const tmpOut = mkdtempSync(join(ROOT, '.tmp', 'cli-bundle-'));
const localDir = join(work, 'local');

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function node(args: readonly string[], env: NodeJS.ProcessEnv = {}): Run {
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', GANTRY_DEBUG: '', GANTRY_NO_BUNDLE: '', ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const viaTsx = (...args: string[]) => node([BIN, ...args], { GANTRY_NO_BUNDLE: '1' });
const viaBin = (...args: string[]) => node([BIN, ...args], { GANTRY_DEBUG: '1' });

function build(outdir?: string): Run {
  const r = node([join(ROOT, 'scripts', 'build-cli.mjs'), '--quiet', ...(outdir ? ['--outdir', outdir] : [])]);
  assert.equal(r.code, 0, `build-cli failed:\n${r.stderr}`);
  return r;
}

beforeAll(() => {
  build(tmpOut); // a bundle of our own, to run directly
  build(); // dist/cli, fresh, for bin/gantry.js (as `npm ci` leaves it)
}, 120_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  rmSync(tmpOut, { recursive: true, force: true });
});

describe('scripts/build-cli.mjs', () => {
  it('writes the bundle and a manifest of the sources it holds, the driver parts loaded by convention among them', () => {
    assert.ok(existsSync(join(tmpOut, 'gantry.js')));
    const manifest = JSON.parse(readFileSync(join(tmpOut, 'gantry.manifest.json'), 'utf8')) as { sources: string[] };
    for (const s of ['cli/main.ts', 'cli/commands/status.ts', 'local/simulate.ts', 'drivers/helm/local.ts', 'drivers/terraform/local.ts']) {
      assert.ok(manifest.sources.includes(s), `${s} is not in the manifest`);
    }
    for (const s of manifest.sources) assert.ok(existsSync(join(ROOT, s)), `${s} is listed but not in the repository`);
    assert.ok(!manifest.sources.some((s) => s.includes('node_modules')), 'npm packages stay outside the bundle');
  });

  it('refuses an unknown option, naming what is allowed', () => {
    const r = node([join(ROOT, 'scripts', 'build-cli.mjs'), '--minify']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown option --minify; allowed: --outdir DIR, --bundle-packages, --quiet/);
  });
});

describe('the bundle answers as the TypeScript sources do', () => {
  // Each comparison spawns the tsx path (~1 s of CPU): the top-level help and one nested command's help stand for the rest.
  for (const args of [['--help'], ['audit', 'show', '--help']]) {
    it(`node dist/cli/gantry.js ${args.join(' ')}`, () => {
      const bundled = node([join(tmpOut, 'gantry.js'), ...args]);
      const tsx = viaTsx(...args);
      assert.equal(tsx.code, 0, tsx.stderr);
      assert.ok(tsx.stdout.length > 0);
      assert.deepEqual(bundled, tsx);
    });
  }

  it('a bad option exits 2 with the same message', () => {
    const bundled = node([join(tmpOut, 'gantry.js'), 'releases', '--no-such-option']);
    const tsx = viaTsx('releases', '--no-such-option');
    assert.equal(tsx.code, 2);
    assert.deepEqual(bundled, tsx);
  });

  it('simulates, then reads the local Gantry (status, releases, audit show) as tsx does: ASL, examples and driver parts found from the bundle', () => {
    const made = viaBin('simulate', join(ROOT, 'examples', 'scenarios', 'demo.json'), '--state', localDir, '--json');
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stderr, /running the bundle/);
    const tsxMade = viaTsx('simulate', join(ROOT, 'examples', 'scenarios', 'demo.json'), '--json');
    assert.deepEqual(JSON.parse(made.stdout), JSON.parse(tsxMade.stdout));
    const id = (JSON.parse(viaBin('releases', '--local', localDir, '--json').stdout) as { releases: Array<{ releaseId: string }> }).releases[0]?.releaseId;
    assert.ok(id, 'the demo made a release');
    for (const args of [
      ['status', '--local', localDir],
      ['audit', 'show', id, '--local', localDir],
      ['status', 'no-such-release', '--local', localDir],
    ]) {
      const bundled = viaBin(...args);
      const tsx = viaTsx(...args);
      assert.match(bundled.stderr, /^gantry: running the bundle/);
      assert.deepEqual({ ...bundled, stderr: bundled.stderr.replace(/^gantry: running the bundle.*\n/, '') }, tsx, args.join(' '));
    }
  }, 120_000);
});

describe('bin/gantry.js picks the bundle only when it is fresh', () => {
  it('runs the fresh bundle and says so with GANTRY_DEBUG=1', () => {
    const r = viaBin('--version');
    assert.equal(r.code, 0);
    assert.match(r.stderr, /^gantry: running the bundle dist\/cli\/gantry\.js \(fresh; checked in [\d.]+ ms\)\n$/);
  });

  it('falls back to tsx when a bundled source is newer than the bundle, and uses the bundle again once it is not', () => {
    const { sources } = JSON.parse(readFileSync(MANIFEST, 'utf8')) as { sources: string[] };
    const source = 'cli/commands/status.ts';
    assert.ok(sources.includes(source));
    const before = statSync(BUNDLE);
    const sourceTime = statSync(join(ROOT, source)).mtime;
    try {
      // As if the source was edited after the build: the bundle is older than it.
      utimesSync(BUNDLE, before.atime, new Date(sourceTime.getTime() - 60_000));
      const stale = viaBin('--version');
      assert.equal(stale.code, 0);
      assert.match(stale.stderr, /running the TypeScript sources through tsx: .+ is newer than the bundle \(npm run build:cli\)/);
      assert.equal(stale.stdout.trim(), (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
    } finally {
      utimesSync(BUNDLE, before.atime, before.mtime);
    }
    assert.match(viaBin('--version').stderr, /running the bundle/);
  });

  it('runs tsx when GANTRY_NO_BUNDLE is set', () => {
    const r = node([BIN, '--version'], { GANTRY_DEBUG: '1', GANTRY_NO_BUNDLE: '1' });
    assert.equal(r.code, 0);
    assert.match(r.stderr, /through tsx: GANTRY_NO_BUNDLE is set/);
  });
});
