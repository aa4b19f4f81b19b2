/**
 * The installable construct (issue 16, decision 033): `npm pack` the repository (prepack builds dist/), put
 * the tarball into a fresh CDK app as npm would (extracted to node_modules/gantry), and synthesize a stack
 * with `new ReleaseControlPlane(...)` from `parseConfig(exampleConfig)` — with bundling, so the packed
 * `lambdas/` sources are what esbuild builds. Offline: the app's other packages (aws-cdk-lib, constructs,
 * esbuild and Gantry's dependencies) are linked from this repository's node_modules, not fetched.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { HANDLERS } from '../../lib/ReleaseControlPlane';
import { ROOT } from './fixtures';

interface Packed {
  readonly filename: string;
  readonly files: ReadonlyArray<{ readonly path: string }>;
}
interface Template {
  readonly Resources: Record<string, { readonly Type: string; readonly Properties?: Record<string, unknown> }>;
}

const work = mkdtempSync(join(tmpdir(), 'gantry-package-'));
const app = join(work, 'app');
let packed: Packed;
let packedJson: Record<string, unknown>;

function run(cmd: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...env } });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} in ${cwd} exited ${r.status}:\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

beforeAll(() => {
  const out = run('npm', ['pack', '--json', '--pack-destination', work], ROOT, { npm_config_loglevel: 'error' });
  [packed] = JSON.parse(out.slice(out.indexOf('['))) as Packed[];
  // Install as npm does: the tarball's package/ folder becomes node_modules/gantry.
  const installed = join(app, 'node_modules', 'gantry');
  mkdirSync(installed, { recursive: true });
  run('tar', ['-xzf', join(work, packed.filename), '-C', installed, '--strip-components=1'], work);
  packedJson = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as Record<string, unknown>;
  // Everything else the app and Gantry need, linked from this repository (no registry).
  const modules = join(ROOT, 'node_modules');
  for (const name of readdirSync(modules)) {
    if (name.startsWith('.') || name === 'gantry') continue;
    symlinkSync(join(modules, name), join(app, 'node_modules', name), 'dir');
  }
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer-app', private: true, dependencies: { gantry: `file:${packed.filename}` } }));
}, 600_000);

afterAll(() => {
  // Unlink the links to this repository's node_modules first, so the removal below cannot reach through them.
  const modules = join(app, 'node_modules');
  if (existsSync(modules)) for (const name of readdirSync(modules)) if (lstatSync(join(modules, name)).isSymbolicLink()) unlinkSync(join(modules, name));
  rmSync(work, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('holds the built entry point and its types, and what synth reads: handler sources, workflows, buildspecs and driver scripts', () => {
    const paths = new Set(packed.files.map((f) => f.path));
    for (const p of [
      'dist/lib/index.js',
      'dist/lib/index.d.ts',
      'bin/gantry.js',
      'statemachines/release.asl.json',
      'statemachines/rollback.asl.json',
      'statemachines/insight.asl.json',
    ]) {
      assert.ok(paths.has(p), `${p} is not in the package`);
    }
    for (const h of Object.keys(HANDLERS)) assert.ok(paths.has(`lambdas/${h}.ts`), `the ${h} handler source is not in the package`);
    for (const dir of [
      'drivers/helm/buildspec.yml',
      'drivers/helm/deploy.sh',
      'drivers/terraform/buildspec.yml',
      'drivers/terraform/deploy.sh',
      'lambdas/domain/',
      'lambdas/adapters/',
    ])
      assert.ok(
        [...paths].some((p) => p.startsWith(dir)),
        `nothing under ${dir}`,
      );
  });

  it('leaves out tests, benchmarks and the repository tooling', () => {
    const stray = packed.files.map((f) => f.path).filter((p) => /^(test|bench|docs|node_modules|cdk\.out|coverage)\/|\.test\.ts$|^\.ci\//.test(p));
    assert.deepEqual(stray, []);
  });

  it('names its entry points and takes aws-cdk-lib and constructs from the app (peer dependencies)', () => {
    assert.deepEqual((packedJson.exports as Record<string, unknown>)['.'], { types: './dist/lib/index.d.ts', default: './dist/lib/index.js' });
    const peers = packedJson.peerDependencies as Record<string, string>;
    for (const name of ['aws-cdk-lib', 'constructs', 'esbuild']) assert.ok(peers[name], `${name} is not a peer dependency`);
    const deps = packedJson.dependencies as Record<string, string>;
    assert.ok(!('aws-cdk-lib' in deps) && !('constructs' in deps), 'a second aws-cdk-lib beside the app’s would make two construct trees');
    assert.equal((packedJson.bin as Record<string, string>).gantry, 'bin/gantry.js');
  });
});

describe('a CDK app that installs the package', () => {
  it('type-checks `import { ReleaseControlPlane, parseConfig } from "gantry"` (node16 resolution reads `exports`)', () => {
    writeFileSync(
      join(app, 'check.ts'),
      [
        "import { App, Stack } from 'aws-cdk-lib';",
        "import { ReleaseControlPlane, parseConfig, type GantryConfig, type ReleaseControlPlaneProps } from 'gantry';",
        'const config: GantryConfig = parseConfig({});',
        'const props: ReleaseControlPlaneProps = { config };',
        "export const cp: ReleaseControlPlane = new ReleaseControlPlane(new Stack(new App(), 'S'), 'Gantry', props);",
        '',
      ].join('\n'),
    );
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    run(
      process.execPath,
      [
        tsc,
        '--noEmit',
        '--strict',
        '--skipLibCheck',
        '--module',
        'node16',
        '--moduleResolution',
        'node16',
        '--target',
        'es2022',
        '--types',
        'node',
        '--typeRoots',
        join(ROOT, 'node_modules', '@types'),
        'check.ts',
      ],
      app,
    );
  }, 300_000);

  it('synthesizes a stack with new ReleaseControlPlane(...) from parseConfig(example config), every handler bundled from the package', () => {
    writeFileSync(
      join(app, 'app.js'),
      [
        "const { readFileSync } = require('node:fs');",
        "const { App, Stack } = require('aws-cdk-lib');",
        "const { ReleaseControlPlane, parseConfig } = require('gantry');",
        "const config = parseConfig(JSON.parse(readFileSync(require.resolve('gantry/package.json').replace('package.json', 'examples/gantry.config.json'), 'utf8')));",
        "const app = new App({ outdir: 'cdk.out' });",
        "const stack = new Stack(app, 'ConsumerStack', { env: { account: '111122223333', region: 'eu-west-2' } });",
        "new ReleaseControlPlane(stack, 'Gantry', { config });",
        'app.synth();',
        '',
      ].join('\n'),
    );
    run(process.execPath, ['app.js'], app, { POWERTOOLS_LOG_LEVEL: 'SILENT' });

    const out = join(app, 'cdk.out');
    const template = JSON.parse(readFileSync(join(out, 'ConsumerStack.template.json'), 'utf8')) as Template;
    const of = (type: string) => Object.values(template.Resources).filter((r) => r.Type === type);
    assert.equal(of('AWS::StepFunctions::StateMachine').length, 4, 'release, rollback, insight and drill workflows');
    const handlers = of('AWS::Lambda::Function').filter((f) => f.Properties?.Handler === 'index.handler');
    assert.equal(handlers.length, Object.keys(HANDLERS).length, 'one function per handler');
    // Each function's code is an asset the app staged: the bundle built from the package's lambdas/ sources.
    const assets = readdirSync(out).filter((d) => d.startsWith('asset.') && existsSync(join(out, d, 'index.js')));
    assert.ok(assets.length >= Object.keys(HANDLERS).length, `${assets.length} bundled handler assets in cdk.out`);
    // The source maps name sources relative to the package root: the root the bundler found is the installed package.
    const sources = assets.flatMap((d) => (JSON.parse(readFileSync(join(out, d, 'index.js.map'), 'utf8')) as { sources: string[] }).sources);
    for (const h of Object.keys(HANDLERS)) assert.ok(sources.includes(`lambdas/${h}.ts`), `no bundle was built from the package's lambdas/${h}.ts`);
  }, 600_000);
});
