/**
 * lib/bundle.ts: the handler bundles `cdk synth` deploys. One esbuild run builds them; each keeps the
 * behaviour the functions rely on (config compiled in, SDK from the runtime, a usable source map).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { bundleHandlers, discoverHandlers, type HandlerBundle, LOCKED_SDK_HANDLERS } from '../../lib/bundle';
import { HANDLERS } from '../../lib/ReleaseControlPlane';
import { testConfig } from './fixtures';

describe('the handler bundles', () => {
  let outdir: string;
  let built: HandlerBundle[];
  const config = testConfig();

  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), 'gantry-bundle-test-'));
    built = bundleHandlers({ config, outdir, handlers: ['window-gate', 'intake', 'image-gates'] });
  });
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  const code = (name: string) => readFileSync(join(outdir, name, 'index.js'), 'utf8');
  const map = (name: string) => JSON.parse(readFileSync(join(outdir, name, 'index.js.map'), 'utf8')) as { sources: string[]; sourcesContent?: unknown };

  it('finds every deployed handler among the files under lambdas/', () => {
    const found = discoverHandlers();
    for (const name of Object.keys(HANDLERS)) assert.ok(found.includes(name), `${name} is in HANDLERS but lambdas/${name}.ts exports no handler`);
  });

  it('builds each asked handler into its own index.js with a source map', () => {
    assert.deepEqual(
      built.map((b) => b.handlerName),
      ['window-gate', 'intake', 'image-gates'],
    );
    for (const b of built) assert.ok(b.bytes > 0 && b.mapBytes > 0, b.handlerName);
  });

  it('compiles the config in, so process.env.GANTRY_CONFIG is not read at run time', () => {
    const js = code('intake');
    assert.ok(!js.includes('process.env.GANTRY_CONFIG'));
    const [service, settings] = Object.entries(config.services)[0] ?? [];
    assert.ok(js.includes(`{"services":{${JSON.stringify(service)}:{"repository":${JSON.stringify(settings?.repository)}`), 'the config JSON is a literal in the bundle');
  });

  it('leaves the AWS SDK v3 to the Lambda runtime and bundles everything else', () => {
    const js = code('intake');
    assert.match(js, /require\("@aws-sdk\/client-dynamodb"\)/);
    for (const bundled of ['zod', 'luxon', '@middy/core', '@aws-lambda-powertools/logger']) {
      assert.ok(!js.includes(`require("${bundled}")`), `${bundled} must be bundled, not required at run time`);
    }
  });

  it('bundles the SDK at the locked version into the handlers that need ECR features newer than the runtime may have', () => {
    assert.equal(built.find((b) => b.handlerName === 'image-gates')?.sdk, 'bundled');
    const js = code('image-gates');
    // (The SDK's optional require of @aws-sdk/signature-v4-crt, for SigV4a only, stays as it was.)
    // ECR and the SDK core it runs on are bundled; its other clients come from the runtime (decision 039).
    assert.ok(!/require\("(@aws-sdk\/(client-ecr|core)|@smithy\/)/.test(js), 'image-gates requires neither ECR nor the SDK core at run time');
    assert.match(js, /require\("@aws-sdk\/client-dynamodb"\)/);
    assert.ok(js.includes('DescribeImageSigningStatus'));
  });

  it('lists every handler that calls the newer ECR adapter methods among those bundling the SDK', () => {
    const newer = /\b(repositoryTagSettings|signingStatuses|referrers)\b/;
    for (const name of discoverHandlers()) {
      const source = readFileSync(join(__dirname, '..', '..', 'lambdas', `${name}.ts`), 'utf8');
      if (newer.test(source)) assert.ok(LOCKED_SDK_HANDLERS.has(name), `${name} reads ECR fields newer than the runtime's SDK may have: add it to LOCKED_SDK_HANDLERS`);
    }
  });

  it('keeps zod English messages and drops its other locales', () => {
    const sources = map('window-gate').sources;
    assert.ok(sources.includes('node_modules/zod/v4/locales/en.js'));
    assert.ok(!sources.some((s) => /zod\/v4\/locales\/(?!en\.js|index\.js)/.test(s)), 'no other zod locale is bundled');
  });

  it("carries the drivers' pure list and none of their CDK, workflow or local parts (decision 035)", () => {
    const sources = map('intake').sources;
    for (const d of ['helm', 'terraform', 'kubernetes']) assert.ok(sources.includes(`drivers/${d}/config.ts`), `drivers/${d}/config.ts is bundled`);
    const heavy = sources.filter((s) => /aws-cdk-lib|constructs\/|^workflows\/|^lib\/|^local\/|^drivers\/(buildspec|[^/]+\/(cdk|workflow|local))\.ts$/.test(s));
    assert.deepEqual(heavy, []);
  });

  it('names sources relative to the project root, without their contents', () => {
    const m = map('window-gate');
    assert.ok(m.sources.includes('lambdas/window-gate.ts'));
    assert.ok(
      m.sources.every((s) => !s.startsWith('/') && !s.startsWith('..')),
      'no absolute or outside path',
    );
    assert.equal(m.sourcesContent, undefined);
  });
});
