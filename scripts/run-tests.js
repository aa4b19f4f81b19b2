#!/usr/bin/env node
// Runs every test/**/*.test.ts and drivers/**/*.test.ts (each driver's tests live in its folder) with
// Node's own test runner (TypeScript through tsx).
// Usage: node scripts/run-tests.js [substring ...]  — only files whose path contains a substring.
// Without a substring: every test but test/load (run that with `node scripts/run-tests.js test/load`).
const { readdirSync, statSync } = require('node:fs');
const { join, relative } = require('node:path');
const { spawnSync } = require('node:child_process');

const root = join(__dirname, '..');
function walk(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.test.ts') ? [p] : [];
  });
}
const filters = process.argv.slice(2);
const files = [...walk(join(root, 'test')), ...walk(join(root, 'drivers'))]
  .map((f) => relative(root, f))
  // The load suite (test/load, minutes of CPU) runs only when asked for: `node scripts/run-tests.js test/load`.
  .filter((f) => (filters.length === 0 ? !f.startsWith(join('test', 'load')) : filters.some((s) => f.includes(s))))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, POWERTOOLS_DEV: 'false', POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'SILENT' },
});
process.exit(r.status ?? 1);
