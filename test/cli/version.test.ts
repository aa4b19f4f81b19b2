/** `gantry --version` prints package.json's version (issue 16). */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { gantry, gantryProcess, ROOT } from './helpers';

const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('gantry --version', () => {
  it('prints the version of package.json and exits 0', async () => {
    const r = await gantry('--version');

    assert.equal(r.code, 0);
    assert.equal(r.stdout, `${version}\n`);
    assert.equal(r.stderr, '');
  });

  it('answers -V the same way from bin/gantry.js', () => {
    const r = gantryProcess('-V');

    assert.equal(r.code, 0);
    assert.equal(r.stdout.trim(), version);
  });

  it('is listed by --help', async () => {
    const r = await gantry('--help');

    assert.match(r.stdout, /-V, --version\s+print the version of Gantry/);
  });
});
