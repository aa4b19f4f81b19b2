/**
 * bin/app.ts as the CDK CLI runs it (a child process with CDK_CONTEXT_JSON and CDK_OUTDIR), without
 * bundling: how it finds, reads and validates the config.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { ROOT } from './fixtures';

const APP = join(ROOT, 'bin', 'app.ts');

function runApp(options: { cwd: string; config?: string }) {
  const outdir = mkdtempSync(join(tmpdir(), 'gantry-app-out-'));
  const context = { 'aws:cdk:bundling-stacks': [], ...(options.config !== undefined ? { config: options.config } : {}) };
  const r = spawnSync(process.execPath, ['--import', require.resolve('tsx'), APP], {
    cwd: options.cwd,
    encoding: 'utf8',
    env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: outdir },
  });
  return { status: r.status, stderr: r.stderr, outdir };
}

describe('bin/app.ts', () => {
  it('synthesizes the example config, with a warning, when gantry.config.json is not in the working directory', () => {
    const r = runApp({ cwd: mkdtempSync(join(tmpdir(), 'gantry-cwd-')) });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /gantry: WARNING .*gantry\.config\.json does not exist; synthesizing with the example config .*examples\/gantry\.config\.json/);
    assert.ok(existsSync(join(r.outdir, 'Gantry.template.json')));
  });

  it('stops with exit code 2 and one line per problem when the config does not validate', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'gantry-cwd-'));
    writeFileSync(
      join(cwd, 'bad.json'),
      JSON.stringify({
        services: {
          payments: {
            repository: 'payments-api',
            stages: [
              { name: 'dev', cluster: 'nowhere', namespace: 'payments', bakeMinutes: -5, deploy: { driver: 'helm', release: 'payments', chart: 'oci://x/y', version: '1.0.0' } },
            ],
          },
        },
        clusters: {},
      }),
    );
    const r = runApp({ cwd, config: 'bad.json' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /gantry: .*bad\.json is invalid:\n/);
    assert.match(r.stderr, /\n {2}services\.payments\.stages\[0\]\.bakeMinutes: expected a whole number from 0 to 1440, got -5\n/);
    assert.match(r.stderr, /\n {2}services\.payments\.stages\[0\]\.cluster: expected one of the keys of "clusters"/);
  });

  it('stops with exit code 2 when the config named with -c config= does not exist', () => {
    const r = runApp({ cwd: mkdtempSync(join(tmpdir(), 'gantry-cwd-')), config: 'missing.json' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /gantry: config file .*missing\.json does not exist \(-c config=missing\.json\)/);
  });

  it('stops with exit code 2, naming the path and both lines, when a key is given twice (bakeMinutes 30, then 0)', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'gantry-cwd-'));
    const example = readFileSync(join(ROOT, 'examples', 'gantry.config.json'), 'utf8');
    assert.match(example, /"bakeMinutes": 30,/);
    writeFileSync(join(cwd, 'gantry.config.json'), example.replace('"bakeMinutes": 30,', '"bakeMinutes": 30,\n"bakeMinutes": 0,'));

    const r = runApp({ cwd });

    assert.equal(r.status, 2);
    assert.match(
      r.stderr,
      /gantry: .*gantry\.config\.json is invalid:\n {2}services\.payments\.stages\[2\]\.bakeMinutes: duplicate key \(given at line (\d+) and again at line \d+; JSON readers disagree on which one counts\): give it once\n/,
    );
    assert.deepEqual(readdirSync(r.outdir), [], 'nothing was synthesized');
  });

  it('stops with exit code 2 on nesting past the limit, instead of a stack overflow', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'gantry-cwd-'));
    writeFileSync(join(cwd, 'gantry.config.json'), `{"services":${'['.repeat(100_000)}${']'.repeat(100_000)}}`);

    const r = runApp({ cwd });

    assert.equal(r.status, 2);
    assert.match(
      r.stderr,
      /\n {2}services\[0\]\[0\]\[0\]\[0\]\[0\]\[0\]\[0\]… \(64 levels down\): expected objects and arrays nested at most 64 levels deep, got more \(line 1, column 76\)\n/,
    );
  });

  it('stops with exit code 2 when the config is not JSON', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'gantry-cwd-'));
    writeFileSync(join(cwd, 'gantry.config.json'), '{ services: ');
    const r = runApp({ cwd });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /gantry: .*gantry\.config\.json is not readable JSON: /);
  });
});
