/**
 * What each handler bundle carries (decision 039, issue 17): measured with esbuild's metafile
 * (lib/bundle.ts `metafile: true`). The Powertools tracer only when asked for, re2js only where tags are
 * matched, luxon only where windows are evaluated, zod tree-shaken, and the handlers that need none of
 * those within the 250 KB goal. Sizes, not times: they do not depend on the machine's load.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { ValidationError } from '../../lambdas/domain/validation';
import { bundleHandlers, contributorOf, type HandlerBundle, unlockedSdkClients, LOCKED_SDK_PACKAGES } from '../../lib/bundle';
import { testConfig } from './fixtures';

const GOAL = 250 * 1024;
const ROOT = join(__dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
    .map((e) => join(e.parentPath, e.name).slice(ROOT.length + 1));
}
const HANDLERS = ['stage-lease', 'window-gate', 'intake', 'approval-decide', 'image-gates'];

describe('the contents of the handler bundles', () => {
  let outdir: string;
  let tracedDir: string;
  let built: HandlerBundle[];
  let traced: HandlerBundle[];
  const config = testConfig();

  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), 'gantry-bundle-contents-'));
    tracedDir = mkdtempSync(join(tmpdir(), 'gantry-bundle-traced-'));
    built = bundleHandlers({ config, outdir, handlers: HANDLERS, metafile: true });
    traced = bundleHandlers({ config, outdir: tracedDir, handlers: ['stage-lease'], metafile: true, tracer: true });
  });
  afterAll(() => {
    rmSync(outdir, { recursive: true, force: true });
    rmSync(tracedDir, { recursive: true, force: true });
  });

  const of = (name: string) => {
    const b = built.find((x) => x.handlerName === name);
    assert.ok(b?.contributors, `${name} was built with its metafile`);
    return b;
  };
  const packages = (b: HandlerBundle) => new Set(b.contributors?.map((c) => c.name));

  it("accounts for every byte of a bundle's code, by package or Gantry folder, largest first", () => {
    for (const b of built) {
      const sum = (b.contributors ?? []).reduce((n, c) => n + c.bytes, 0);
      // esbuild's own runtime helpers and the joins between modules are not attributed to an input.
      assert.ok(sum <= b.bytes && sum > b.bytes * 0.95, `${b.handlerName}: ${sum} of ${b.bytes} bytes attributed`);
      const sizes = (b.contributors ?? []).map((c) => c.bytes);
      assert.deepEqual(
        sizes,
        [...sizes].sort((x, y) => y - x),
      );
    }
    assert.equal(contributorOf('../main/node_modules/@aws-sdk/client-ecr/dist-es/index.js'), '@aws-sdk/client-ecr');
    assert.equal(contributorOf('node_modules/zod/v4/core/schemas.js'), 'zod');
    assert.equal(contributorOf('lambdas/domain/config.ts'), 'lambdas/domain');
  });

  it('leaves the Powertools tracer and the X-Ray SDK out unless the build asks for them', () => {
    for (const b of built) {
      for (const p of ['@aws-lambda-powertools/tracer', 'aws-xray-sdk-core', 'cls-hooked']) assert.ok(!packages(b).has(p), `${b.handlerName} carries ${p}`);
      assert.equal(b.tracer, false);
    }
    const [withTracer] = traced;
    assert.ok(withTracer && packages(withTracer).has('@aws-lambda-powertools/tracer') && packages(withTracer).has('aws-xray-sdk-core'));
    assert.equal(withTracer.tracer, true);
    assert.ok(readFileSync(join(withTracer.dir, 'index.js'), 'utf8').includes('## index.handler') || packages(withTracer).has('aws-xray-sdk-core'));
  });

  it('carries re2js only in intake (tags) and the image gates (change records: decision 051), the handlers that match patterns', () => {
    const matching = ['intake', 'image-gates'];
    for (const name of matching) assert.ok(packages(of(name)).has('re2js'), `${name} lacks re2js`);
    for (const name of HANDLERS.filter((h) => !matching.includes(h))) assert.ok(!packages(of(name)).has('re2js'), `${name} carries re2js`);
  });

  it('carries luxon only where windows are evaluated', () => {
    assert.ok(packages(of('window-gate')).has('luxon'));
    for (const name of ['stage-lease', 'intake', 'approval-decide']) assert.ok(!packages(of(name)).has('luxon'), `${name} carries luxon`);
  });

  it("keeps zod tree-shaken (namespace imports): no more than half of zod's classic build", () => {
    const zod = of('stage-lease').contributors?.find((c) => c.name === 'zod')?.bytes ?? 0;
    assert.ok(zod > 0 && zod < 120 * 1024, `zod is ${zod} bytes in stage-lease`);
  });

  it('meets the 250 KB goal in the handlers that neither match tags, evaluate windows nor bundle the SDK', () => {
    for (const name of ['stage-lease']) assert.ok(of(name).bytes <= GOAL, `${name} is ${of(name).bytes} bytes`);
  });

  it('keeps approval-decide within 260 KB: the 250 KB goal plus N-of-M approvals and the plan hash check (decisions 049, 050)', () => {
    // 247,751 bytes before decision 050, 256,258 with it (approval-quorum 2.8 KB, the count in approval-decide 4.1 KB,
    // the config fields 1.2 KB, the projection 0.6 KB); 265,045 with the Terraform plan check (decision 049) and the anchor
    // signer every handler's aws-deps now builds (decision 048). Going below 250 KB again takes splitting aws-deps per
    // handler (decision 039): every handler carries every adapter (52 KB), approval-decide calls three of them.
    assert.ok(of('approval-decide').bytes <= 260 * 1024, `approval-decide is ${of('approval-decide').bytes} bytes`);
  });

  it('bundles only the locked SDK clients into image-gates; its other clients come from the runtime', () => {
    const ig = of('image-gates');
    for (const p of LOCKED_SDK_PACKAGES) assert.ok(packages(ig).has(p), `${p} is bundled`);
    for (const p of unlockedSdkClients()) assert.ok(!packages(ig).has(p), `${p} is bundled into image-gates`);
    assert.ok(unlockedSdkClients().includes('@aws-sdk/client-dynamodb') && !unlockedSdkClients().includes('@aws-sdk/client-ecr'));
  });

  it('refuses to compile in a config that parseConfig rejects, naming the field', () => {
    const bad = structuredClone(config) as unknown as { services: Record<string, { tagPattern: string }> };
    const first = Object.keys(bad.services)[0] ?? '';
    (bad.services[first] as { tagPattern: string }).tagPattern = '^(a)\\1$';
    assert.throws(
      () => bundleHandlers({ config: bad as never, outdir: join(outdir, 'bad'), handlers: ['stage-lease'] }),
      (e: unknown) => e instanceof ValidationError && /tagPattern/.test(e.message) && /RE2/.test(e.message),
    );
  });

  it('imports zod as a namespace wherever handler code uses it as a value, so esbuild can tree-shake it', () => {
    const named = [...sources('lambdas'), ...sources('drivers')].filter((f) => /^import\s*\{\s*z\s*\}\s*from\s*'zod'/m.test(readFileSync(join(ROOT, f), 'utf8')));
    assert.deepEqual(named, [], "use `import * as z from 'zod'` (a type-only `import type { z }` is fine)");
  });
});
