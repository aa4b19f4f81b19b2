/**
 * bin/app.ts as the CDK CLI runs it (a child process with CDK_CONTEXT_JSON and CDK_OUTDIR), without
 * bundling: how it finds, reads and validates the config.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
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
        services: { payments: { repository: 'payments-api', stages: [{ name: 'dev', cluster: 'nowhere', namespace: 'payments', bakeMinutes: -5, deploy: { driver: 'helm', release: 'payments', chart: 'oci://x/y', version: '1.0.0' } }] } },
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

  it('stops with exit code 2 when the config is not JSON', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'gantry-cwd-'));
    writeFileSync(join(cwd, 'gantry.config.json'), '{ services: ');
    const r = runApp({ cwd });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /gantry: .*gantry\.config\.json is not readable JSON: /);
  });
});
