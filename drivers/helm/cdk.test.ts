/**
 * The Helm driver's script, as CodeBuild runs it: the build command of the rendered buildspec, run by
 * bash with fake `helm` and `aws` on the PATH that record how they were called. The environment comes
 * from the workflow's own `driverEnvironment`, so the script and the workflow agree on the contract.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, it } from 'vitest';
import fc from 'fast-check';
import { parseConfig } from '../../lambdas/domain/config';
import { driverEnvironment } from '../../lambdas/domain/release';
import { HELM_BUILDSPEC_PATH, HELM_SCRIPT_COMMAND, HELM_SCRIPT_PATH, HelmDriverError, renderHelmBuildSpec } from './cdk';

const DIGEST = `sha256:${'ab12'.repeat(16)}`;
const REGISTRY = '111122223333.dkr.ecr.eu-west-2.amazonaws.com';
const CHART = `oci://${REGISTRY}/charts/payments`;
const SEP = '\x1f';

const buildspec = readFileSync(HELM_BUILDSPEC_PATH, 'utf8');
const script = readFileSync(HELM_SCRIPT_PATH, 'utf8');
const rendered = renderHelmBuildSpec(buildspec, script);

function which(cmd: string): string | undefined {
  const r = spawnSync('bash', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}
const shellcheck = which('shellcheck');
const jq = which('jq');
const SHELLCHECK_MISSING = 'shellcheck is not installed (apt-get install -y shellcheck); the driver script is not linted';

/** The single `- |` block of the build phase, with its YAML indentation removed. */
function buildCommand(buildspecText: string): string {
  const lines = buildspecText.split('\n');
  const start = lines.findIndex((l, i) => /^\s*- \|$/.test(l) && lines.slice(0, i).some((p) => /^\s*build:\s*$/.test(p)));
  assert.ok(start >= 0, 'a literal block command in the build phase');
  const dashIndent = (/^ */.exec(lines[start] as string)?.[0] ?? '').length;
  const out: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (l.trim() !== '' && (/^ */.exec(l)?.[0] ?? '').length <= dashIndent) break;
    out.push(l.slice(dashIndent + 2));
  }
  return `${out.join('\n').replace(/\n+$/, '')}\n`;
}

function validEnvironment(overrides: Record<string, string | undefined> = {}): Record<string, string> {
  const config = parseConfig({
    services: {
      payments: {
        repository: 'payments-api',
        stages: [{ name: 'dev', cluster: 'dev', namespace: 'payments', deploy: { driver: 'helm', release: 'payments', chart: CHART, version: '1.2.0', timeoutMinutes: 10 } }],
      },
    },
    clusters: { dev: { name: 'dev-eks', region: 'eu-west-2' } },
  });
  const stage = config.services.payments?.stages[0];
  assert.ok(stage);
  const vars = Object.fromEntries(
    driverEnvironment({ config, service: 'payments', stage, digest: DIGEST, releaseId: 'payments-ab12ab12ab12ab12', kind: 'deploy', registry: REGISTRY }).map((v) => [
      v.Name,
      v.Value,
    ]),
  );
  const merged: Record<string, string | undefined> = { ...vars, ...overrides };
  return Object.fromEntries(Object.entries(merged).filter((e): e is [string, string] => e[1] !== undefined));
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  calls: string[][];
  stdinOfLogin: string | undefined;
}

let fakeBin: string;

beforeAll(() => {
  fakeBin = mkdtempSync(join(tmpdir(), 'gantry-fake-bin-'));
  // Built first, appended with one write: the fakes of a pipeline (aws … | helm …) run at once and must not interleave.
  const record = `fake_line="$(printf '%s' "$(basename "$0")"; printf '${SEP}%s' "$@")"; printf '%s\\n' "$fake_line" >> "$FAKE_LOG"`;
  const fakes: Record<string, string> = {
    helm: `#!/usr/bin/env bash
${record}
case "$1" in
  version) echo 'v3.20.0+gfake' ;;
  registry) cat > "$FAKE_LOG.login-stdin" ;;
  upgrade) exit "\${FAKE_HELM_UPGRADE_EXIT:-0}" ;;
  status) echo '{"name":"payments","namespace":"payments","version":3,"info":{"status":"deployed","first_deployed":"t1","last_deployed":"t2","description":"Upgrade complete","notes":"n"},"chart":{"metadata":{"name":"payments","version":"1.2.0","appVersion":"1.4.2"},"values":{}},"config":{"password":"SECRET-VALUE"},"manifest":"kind: Secret\\ndata: SECRET-VALUE"}' ;;
  history) echo '[{"revision":3,"status":"deployed","chart":"payments-1.2.0","description":"Upgrade complete"}]' ;;
esac
`,
    aws: `#!/usr/bin/env bash
${record}
if [[ "$1 $2" == "ecr get-login-password" ]]; then echo 'ecr-registry-password'; fi
`,
  };
  if (!jq) fakes.jq = `#!/usr/bin/env bash\ncat >/dev/null; echo '{}'\n`;
  for (const [name, body] of Object.entries(fakes)) {
    writeFileSync(join(fakeBin, name), body);
    chmodSync(join(fakeBin, name), 0o755);
  }
});

/** Run a bash program with only `env` (plus PATH with the fakes first) in its environment. */
function runDriver(program: string, env: Record<string, string>, extra: Record<string, string> = {}): Run {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-helm-run-'));
  const file = join(dir, 'program.sh');
  const log = join(dir, 'calls.log');
  writeFileSync(file, program);
  writeFileSync(log, '');
  const r = spawnSync('bash', [file], {
    encoding: 'utf8',
    env: { PATH: `${fakeBin}:${process.env.PATH}`, HOME: dir, TMPDIR: dir, FAKE_LOG: log, ...extra, ...env },
  });
  const calls = readFileSync(log, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(SEP));
  const stdinFile = `${log}.login-stdin`;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, calls, stdinOfLogin: existsSync(stdinFile) ? readFileSync(stdinFile, 'utf8') : undefined };
}

describe('the Helm driver script', () => {
  it.skipIf(shellcheck ? false : SHELLCHECK_MISSING)('passes shellcheck', () => {
    const r = spawnSync('shellcheck', ['--shell=bash', HELM_SCRIPT_PATH], { encoding: 'utf8' });
    assert.equal(r.stdout + r.stderr, '');
    assert.equal(r.status, 0);
  });

  it.skipIf(shellcheck ? false : SHELLCHECK_MISSING)('passes shellcheck as inlined into the deployed buildspec', () => {
    const r = spawnSync('shellcheck', ['--shell=bash', '-'], { input: buildCommand(rendered), encoding: 'utf8' });
    assert.equal(r.stdout + r.stderr, '');
    assert.equal(r.status, 0);
  });

  it('deploys the digest with helm upgrade --install --atomic --wait, every value its own argument', () => {
    const r = runDriver(buildCommand(rendered), validEnvironment());
    assert.equal(r.status, 0, r.stderr);
    const upgrade = r.calls.find((c) => c[0] === 'helm' && c[1] === 'upgrade');
    assert.deepEqual(upgrade, [
      'helm',
      'upgrade',
      '--install',
      'payments',
      CHART,
      '--version',
      '1.2.0',
      '--namespace',
      'payments',
      '--atomic',
      '--wait',
      '--timeout',
      '10m',
      '--history-max',
      '20',
      '--description',
      'gantry deploy payments-ab12ab12ab12ab12',
      '--set-string',
      `image.repository=${REGISTRY}/payments-api`,
      '--set-string',
      `image.digest=${DIGEST}`,
    ]);
  });

  it('points kubectl at the stage cluster before deploying', () => {
    const r = runDriver(buildCommand(rendered), validEnvironment());
    const i = r.calls.findIndex((c) => c[0] === 'aws' && c[1] === 'eks');
    assert.deepEqual(r.calls[i]?.slice(0, 7), ['aws', 'eks', 'update-kubeconfig', '--name', 'dev-eks', '--region', 'eu-west-2']);
    assert.ok(i < r.calls.findIndex((c) => c[1] === 'upgrade'));
  });

  it('logs in to the chart registry in ECR with the password on stdin, never on the command line', () => {
    const r = runDriver(buildCommand(rendered), validEnvironment());
    const login = r.calls.find((c) => c[0] === 'helm' && c[1] === 'registry');
    assert.deepEqual(login, ['helm', 'registry', 'login', '--username', 'AWS', '--password-stdin', REGISTRY]);
    assert.equal(r.stdinOfLogin?.trim(), 'ecr-registry-password');
    assert.ok(r.calls.some((c) => c.join(' ') === `aws${SEP}ecr${SEP}get-login-password${SEP}--region${SEP}eu-west-2`.split(SEP).join(' ')));
    assert.ok(!r.calls.flat().includes('ecr-registry-password'));
  });

  it.skipIf(jq ? false : 'jq is not installed')('prints helm status and helm history as evidence, without the rendered manifest or values', () => {
    const r = runDriver(buildCommand(rendered), validEnvironment());
    assert.match(r.stdout, /gantry-helm: evidence helm-status\n\{"name":"payments","namespace":"payments","version":3,"info":\{"status":"deployed"/);
    assert.match(r.stdout, /gantry-helm: evidence helm-history\n\[\{"revision":3/);
    assert.doesNotMatch(r.stdout, /SECRET-VALUE/);
  });

  it('fails when helm fails, after printing the evidence', () => {
    const r = runDriver(buildCommand(rendered), validEnvironment(), { FAKE_HELM_UPGRADE_EXIT: '3' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /helm upgrade failed with exit code 3/);
    assert.ok(r.calls.some((c) => c[0] === 'helm' && c[1] === 'history'));
  });

  for (const [name, value] of [
    ['GANTRY_DIGEST', 'sha256:ABC'],
    ['GANTRY_DIGEST', `${DIGEST}\n`],
    ['GANTRY_NAMESPACE', 'payments;touch /tmp/gantry-pwned'],
    ['GANTRY_HELM_CHART', 'oci://x/$(id)'],
    ['GANTRY_HELM_TIMEOUT', '10m --post-renderer=/bin/sh'],
    ['GANTRY_VALUES_DIGEST_KEY', 'image.digest,evil=1'],
    ['GANTRY_KIND', 'destroy'],
    ['GANTRY_DRIVER', 'terraform'],
  ] as const) {
    it(`refuses ${name}=${JSON.stringify(value)} before running anything, naming the variable`, () => {
      const r = runDriver(script, validEnvironment({ [name]: value }));
      assert.equal(r.status, 1);
      assert.match(r.stderr, new RegExp(`^gantry-helm: ${name} does not match`));
      assert.deepEqual(r.calls, []);
    });
  }

  it('refuses a missing variable, naming it', () => {
    const r = runDriver(script, validEnvironment({ GANTRY_HELM_VERSION: undefined }));
    assert.equal(r.status, 1);
    assert.equal(r.stderr, 'gantry-helm: GANTRY_HELM_VERSION is not set\n');
    assert.deepEqual(r.calls, []);
  });

  it('refuses a GANTRY_ variable it does not know, naming it', () => {
    const r = runDriver(script, validEnvironment({ GANTRY_TF_SOURCE: 's3://bucket/key.zip' }));
    assert.equal(r.status, 1);
    assert.equal(r.stderr, 'gantry-helm: GANTRY_TF_SOURCE is not a variable the Helm driver accepts\n');
    assert.deepEqual(r.calls, []);
  });

  it('refuses every digest that is not sha256 and 64 lowercase hex digits', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 80 }).filter((s) => !/^sha256:[a-f0-9]{64}$/.test(s) && !s.includes('\0') && s !== ''),
        (digest) => {
          const r = runDriver(script, validEnvironment({ GANTRY_DIGEST: digest }));
          return r.status === 1 && r.stderr.startsWith('gantry-helm: GANTRY_DIGEST does not match') && r.calls.length === 0;
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe('renderHelmBuildSpec', () => {
  it('replaces only the driver command: every other line of helm.yml is deployed as written', () => {
    const lines = buildspec.split('\n');
    const at = lines.findIndex((l) => l.trim() === `- ${HELM_SCRIPT_COMMAND}`);
    const out = rendered.split('\n');
    assert.deepEqual(out.slice(0, at), lines.slice(0, at));
    assert.deepEqual(out.slice(out.length - (lines.length - at - 1)), lines.slice(at + 1));
  });

  it('carries the driver script verbatim', () => {
    assert.ok(buildCommand(rendered).includes(script.replace(/\n+$/, '')));
  });

  it('refuses a buildspec without the driver command', () => {
    assert.throws(() => renderHelmBuildSpec(buildspec.replaceAll(HELM_SCRIPT_COMMAND, 'echo nothing'), script), HelmDriverError);
  });

  it('refuses a script containing the heredoc delimiter', () => {
    assert.throws(() => renderHelmBuildSpec(buildspec, `${script}\nGANTRY_HELM_DEPLOY_SCRIPT\n`), HelmDriverError);
  });
});

describe('drivers/helm/buildspec.yml', () => {
  it('installs a pinned helm and checks its sha256 before using it', () => {
    assert.match(buildspec, /https:\/\/get\.helm\.sh\/helm-v\d+\.\d+\.\d+-linux-amd64\.tar\.gz/);
    assert.match(buildspec, /echo "[a-f0-9]{64} {2}\/tmp\/helm\.tar\.gz" \| sha256sum --check --strict -/);
    assert.ok(buildspec.indexOf('sha256sum --check') < buildspec.indexOf('tar -xzf'));
  });
});
