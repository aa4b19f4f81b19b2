/**
 * The Helm driver's script, run by bash as CodeBuild runs it (the build command of the rendered
 * buildspec), with stub `helm`, `aws` and `kubectl` first on the PATH that record their arguments and
 * the environment they saw. The environment comes from the workflow's own `driverEnvironment`.
 * (drivers/helm/cdk.test.ts covers the rendering of the buildspec and the evidence filtering.)
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, it } from 'vitest';
import { parseConfig } from '../../lambdas/domain/config';
import { driverEnvironment } from '../../lambdas/domain/release';
import { DRIVER_EXPORTS } from '../../lambdas/domain/driver-evidence';
import { HELM_BUILDSPEC_PATH, HELM_SCRIPT_PATH, renderHelmBuildSpec } from './cdk';
import {
  buildFinallyCommand,
  buildspecVariables,
  type Call,
  codeBuildBuildPhase,
  exportedVariableNames,
  HOSTILE_SUFFIXES,
  phaseCommands,
  RECORD_ONLY,
  readExports,
  renderedBuildCommand,
  type Run,
  runBash,
  steps,
  stubBin,
  which,
} from '../../test/helpers/driver-stubs';

const DIGEST = `sha256:${'ab12'.repeat(16)}`;
const OLD_DIGEST = `sha256:${'cd34'.repeat(16)}`;
const REGISTRY = '111122223333.dkr.ecr.eu-west-2.amazonaws.com';
const ECR_CHART = `oci://${REGISTRY}/charts/payments`;
const RELEASE_ID = 'payments-ab12ab12ab12ab12';

const script = readFileSync(HELM_SCRIPT_PATH, 'utf8');
const buildspec = readFileSync(HELM_BUILDSPEC_PATH, 'utf8');
const deployed = renderedBuildCommand(renderHelmBuildSpec(buildspec, script));

function environment(
  options: { chart?: string; values?: { repositoryKey: string; digestKey: string }; timeoutMinutes?: number; kind?: 'deploy' | 'rollback' } = {},
  overrides: Record<string, string | undefined> = {},
): Record<string, string> {
  const config = parseConfig({
    services: {
      payments: {
        repository: 'payments-api',
        stages: [
          {
            name: 'prod',
            cluster: 'prod',
            namespace: 'payments',
            deploy: {
              driver: 'helm',
              release: 'payments',
              chart: options.chart ?? ECR_CHART,
              version: '1.2.0',
              timeoutMinutes: options.timeoutMinutes ?? 10,
              ...(options.values ? { values: options.values } : {}),
            },
          },
        ],
      },
    },
    clusters: { prod: { name: 'prod-eks', region: 'eu-west-1' } },
  });
  const stage = config.services.payments?.stages[0];
  assert.ok(stage);
  const kind = options.kind ?? 'deploy';
  const vars = Object.fromEntries(
    driverEnvironment({ config, service: 'payments', stage, digest: kind === 'deploy' ? DIGEST : OLD_DIGEST, releaseId: RELEASE_ID, kind, registry: REGISTRY }).map((v) => [
      v.Name,
      v.Value,
    ]),
  );
  const merged: Record<string, string | undefined> = { ...vars, ...overrides };
  return Object.fromEntries(Object.entries(merged).filter((e): e is [string, string] => e[1] !== undefined));
}

/** What the stub `helm status -o json` prints (echo adds the line break). */
const STATUS_JSON = '{"name":"payments","namespace":"payments","version":2,"info":{"status":"deployed"},"chart":{"metadata":{"name":"payments","version":"1.2.0"}}}';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const STUB_TOOLS: Record<string, string> = {
  helm: `
case "$1" in
  version) echo 'v3.20.0+gstub' ;;
  registry) cat > /dev/null ;;
  upgrade) exit "\${STUB_HELM_UPGRADE_EXIT:-0}" ;;
  status)
    [[ "\${STUB_HELM_STATUS_EXIT:-0}" == 0 ]] || exit "$STUB_HELM_STATUS_EXIT"
    if [[ -n "\${STUB_HELM_STATUS-}" ]]; then printf '%s\n' "$STUB_HELM_STATUS"; else echo '${STATUS_JSON}'; fi ;;
  history) echo '[{"revision":2,"status":"deployed"}]' ;;
esac`,
  aws: `
if [[ "$1 $2" == "ecr get-login-password" ]]; then echo 'registry-password'; fi
if [[ "$1 $2" == "eks update-kubeconfig" ]]; then echo 'apiVersion: v1' > "\${8:?kubeconfig path}"; fi
if [[ "$1 $2" == "sts assume-role" ]]; then printf 'ASIASTUBKEY\tstub-secret-key\tstub-session-token\n'; fi
if [[ "$1 $2" == "eks update-kubeconfig" && -n "\${AWS_SHARED_CREDENTIALS_FILE-}" ]]; then
  cp "$AWS_SHARED_CREDENTIALS_FILE" "$TMPDIR/credentials-seen"; stat -c %a "$AWS_SHARED_CREDENTIALS_FILE" > "$TMPDIR/credentials-mode"
fi`,
  kubectl: RECORD_ONLY,
};

let stubs: string;
beforeAll(() => {
  // The script requires jq for its evidence; where jq is missing a stub stands in (the filter itself is covered in test/infra).
  stubs = stubBin(which('jq') ? STUB_TOOLS : { ...STUB_TOOLS, jq: 'cat > /dev/null; echo "{}"' });
});

function runDriver(env: Record<string, string>, stubEnv: Record<string, string> = {}): Run {
  return runBash(deployed, { env, stubDirs: [stubs], stubEnv, recordEnv: ['KUBECONFIG'] });
}
/** The run most tests look at (an ECR chart, the stage's defaults), made once. */
let standard: Run | undefined;
const standardRun = (): Run => {
  standard ??= runDriver(environment());
  return standard;
};
const call = (r: Run, tool: string, sub: string): Call | undefined => r.calls.find((c) => c.argv[0] === tool && c.argv[1] === sub);
/** What ran, without the jq stub (present only where jq is not installed). */
const ran = (r: Run) => steps(r.calls.filter((c) => c.argv[0] !== 'jq'));

describe('the Helm driver script', () => {
  it('points at the cluster, logs in to the chart registry, upgrades, then records status and history — in that order', () => {
    const r = standardRun();
    assert.equal(r.status, 0, r.stderr);
    const order = ran(r);
    assert.deepEqual(order.slice(0, 2), ['helm version', 'aws eks']);
    // `aws ecr get-login-password | helm registry login`: the two ends of a pipe start together.
    assert.deepEqual(order.slice(2, 4).sort(), ['aws ecr', 'helm registry']);
    assert.deepEqual(order.slice(4), ['helm upgrade', 'helm status', 'helm history']);
  });

  it('runs every helm command after update-kubeconfig against the kubeconfig it wrote', () => {
    const r = standardRun();
    const kubeconfig = call(r, 'aws', 'eks')?.argv[8];
    assert.ok(kubeconfig && kubeconfig !== '');
    assert.deepEqual(call(r, 'aws', 'eks')?.argv, ['aws', 'eks', 'update-kubeconfig', '--name', 'prod-eks', '--region', 'eu-west-1', '--kubeconfig', kubeconfig]);
    for (const sub of ['upgrade', 'status', 'history']) assert.equal(call(r, 'helm', sub)?.env.KUBECONFIG, kubeconfig, sub);
  });

  it('pins the image by digest with --set-string, each value its own argument', () => {
    const upgrade = call(standardRun(), 'helm', 'upgrade')?.argv ?? [];
    const setStrings = upgrade.flatMap((a, i) => (upgrade[i - 1] === '--set-string' ? [a] : []));
    assert.deepEqual(setStrings, [`image.repository=${REGISTRY}/payments-api`, `image.digest=${DIGEST}`]);
  });

  it('uses the values keys and the timeout the stage configures', () => {
    const env = environment({ values: { repositoryKey: 'app.image.repo', digestKey: 'app.image.sha' }, timeoutMinutes: 25 });
    const upgrade = call(runDriver(env), 'helm', 'upgrade')?.argv ?? [];
    assert.ok(upgrade.includes(`app.image.repo=${REGISTRY}/payments-api`));
    assert.ok(upgrade.includes(`app.image.sha=${DIGEST}`));
    assert.equal(upgrade[upgrade.indexOf('--timeout') + 1], '25m');
    assert.ok(upgrade.includes('--atomic') && upgrade.includes('--wait'));
  });

  it('rolls back by deploying the earlier digest with the same command, described as a rollback', () => {
    const upgrade = call(runDriver(environment({ kind: 'rollback' })), 'helm', 'upgrade')?.argv ?? [];
    assert.ok(upgrade.includes(`image.digest=${OLD_DIGEST}`));
    assert.equal(upgrade[upgrade.indexOf('--description') + 1], `gantry rollback ${RELEASE_ID}`);
  });

  it('does not log in to a registry for a chart outside ECR', () => {
    const r = runDriver(environment({ chart: 'https://charts.example.com/payments' }));
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(ran(r), ['helm version', 'aws eks', 'helm upgrade', 'helm status', 'helm history']);
  });

  it('fails when the upgrade fails, after recording status and history', () => {
    const r = runDriver(environment(), { STUB_HELM_UPGRADE_EXIT: '1' });
    assert.equal(r.status, 1);
    assert.deepEqual(ran(r).slice(-3), ['helm upgrade', 'helm status', 'helm history']);
    assert.match(r.stderr, /gantry-helm: helm upgrade failed with exit code 1\n$/);
  });

  describe('a cluster in another account (GANTRY_CLUSTER_ROLE_ARN, decision 045)', () => {
    const ROLE = 'arn:aws:iam::222222222222:role/gantry/target-cluster-access';
    let r: Run;
    beforeAll(() => {
      r = runDriver(environment({}, { GANTRY_CLUSTER_ROLE_ARN: ROLE }));
    });

    it("assumes the cluster's role in the cluster's region, session named after the release, before update-kubeconfig", () => {
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(ran(r).slice(0, 3), ['helm version', 'aws sts', 'aws eks']);
      assert.deepEqual(call(r, 'aws', 'sts')?.argv.slice(0, 12), [
        'aws',
        'sts',
        'assume-role',
        '--role-arn',
        ROLE,
        '--role-session-name',
        `gantry-${RELEASE_ID}`,
        '--duration-seconds',
        '3600',
        '--region',
        'eu-west-1',
        '--query',
      ]);
    });

    it('points update-kubeconfig at the cluster with the assumed profile only; the registry login keeps the build role', () => {
      const eks = call(r, 'aws', 'eks')?.argv ?? [];
      assert.deepEqual(eks.slice(3, 7), ['--name', 'prod-eks', '--region', 'eu-west-1']);
      assert.deepEqual(eks.slice(9), ['--profile', 'gantry-cluster']);
      assert.ok(!(call(r, 'aws', 'ecr')?.argv ?? []).includes('--profile'), 'the chart registry is read as the build, not the cluster role');
      const creds = readFileSync(join(r.dir, 'credentials-seen'), 'utf8');
      assert.match(creds, /^\[gantry-cluster\]\naws_access_key_id = ASIASTUBKEY\naws_secret_access_key = stub-secret-key\naws_session_token = stub-session-token\n$/);
      assert.equal(readFileSync(join(r.dir, 'credentials-mode'), 'utf8').trim(), '600');
    });

    it('never prints the credentials, and leaves no credentials file behind', () => {
      for (const secret of ['stub-secret-key', 'stub-session-token', 'ASIASTUBKEY']) assert.ok(!`${r.stdout}${r.stderr}`.includes(secret), secret);
      assert.match(r.stdout, /gantry: cluster prod-eks is reached as arn:aws:iam::222222222222:role\/gantry\/target-cluster-access/);
      const left = spawnSync('grep', ['-rl', 'stub-secret-key', r.dir, '--exclude=credentials-seen', '--exclude=calls.log'], { encoding: 'utf8' }).stdout;
      assert.equal(left, '');
    });

    it('makes no assume-role call for a cluster of its own account', () => {
      assert.equal(call(standardRun(), 'aws', 'sts'), undefined);
      assert.deepEqual((call(standardRun(), 'aws', 'eks')?.argv ?? []).length, 9);
    });

    it('refuses a role ARN that is not one, before running anything', () => {
      for (const bad of [`${ROLE}$(id)`, 'arn:aws:iam::2222:role/x', `${ROLE}; rm -rf /`]) {
        const bad_ = runDriver(environment({}, { GANTRY_CLUSTER_ROLE_ARN: bad }));
        assert.equal(bad_.status, 1);
        assert.match(bad_.stderr, /GANTRY_CLUSTER_ROLE_ARN does not match/);
        assert.equal(call(bad_, 'aws', 'sts'), undefined);
      }
    });
  });

  it('never calls kubectl', () => {
    const r = standardRun();
    assert.ok(!r.calls.some((c) => c.argv[0] === 'kubectl'));
  });

  describe('refuses before running anything', () => {
    for (const name of [
      'GANTRY_RELEASE_ID',
      'GANTRY_SERVICE',
      'GANTRY_STAGE',
      'GANTRY_DIGEST',
      'GANTRY_IMAGE_REPOSITORY',
      'GANTRY_CLUSTER_NAME',
      'GANTRY_NAMESPACE',
      'GANTRY_HELM_RELEASE',
      'GANTRY_HELM_CHART',
      'GANTRY_HELM_VERSION',
      'GANTRY_VALUES_DIGEST_KEY',
    ]) {
      it(`a ${name} carrying $(…), backticks, ;, quotes or a line break, naming the variable`, () => {
        for (const suffix of HOSTILE_SUFFIXES) {
          const value = `${environment()[name]}${suffix}`;
          const r = runDriver(environment({}, { [name]: value }));
          assert.equal(r.status, 1, JSON.stringify(value));
          assert.match(r.stderr, new RegExp(`^gantry-helm: ${name} does not match`), JSON.stringify(value));
          assert.deepEqual(r.calls, [], JSON.stringify(value));
        }
      });
    }
  });
});

describe('drivers/helm/buildspec.yml', () => {
  const install = phaseCommands(buildspec, 'install');
  const INSTALL_STUBS = {
    curl: RECORD_ONLY,
    sha256sum: 'cat > "$STUB_LOG.sha256sum-stdin"; exit "${STUB_SHA256SUM_EXIT:-0}"',
    tar: RECORD_ONLY,
    install: RECORD_ONLY,
  };
  const runInstall = (sha256sumExit: string) => {
    const r = runBash(`set -e\n${install.join('\n')}\n`, { env: {}, stubDirs: [stubBin(INSTALL_STUBS)], stubEnv: { STUB_SHA256SUM_EXIT: sha256sumExit } });
    const stdinFile = join(r.dir, 'calls.log.sha256sum-stdin');
    return { ...r, checked: existsSync(stdinFile) ? readFileSync(stdinFile, 'utf8') : undefined };
  };

  it('downloads a pinned helm release, checks its sha256, then unpacks and installs it', () => {
    const r = runInstall('0');
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(
      steps(r.calls).map((s) => s.split(' ')[0]),
      ['curl', 'sha256sum', 'tar', 'install'],
    );
    assert.match(r.calls[0]?.argv.at(-1) ?? '', /^https:\/\/get\.helm\.sh\/helm-v\d+\.\d+\.\d+-linux-amd64\.tar\.gz$/);
    assert.deepEqual(r.calls[1]?.argv, ['sha256sum', '--check', '--strict', '-']);
    assert.match(r.checked ?? '', /^[a-f0-9]{64} {2}\/tmp\/helm\.tar\.gz\n$/);
  });

  it('stops before unpacking a download whose sha256 does not match', () => {
    const r = runInstall('1');
    assert.notEqual(r.status, 0);
    assert.deepEqual(
      steps(r.calls).map((s) => s.split(' ')[0]),
      ['curl', 'sha256sum'],
    );
  });
});

describe("the Helm driver's evidence for the workflow (CodeBuild exported-variables)", () => {
  const hasJq = which('jq') !== undefined;
  const JQ_MISSING = 'jq is not installed: the evidence is read from helm status with jq';
  /** The build phase as CodeBuild runs it (build command, then finally:), with the project's buildspec variables. */
  const runBuildPhase = (env: Record<string, string>, stubEnv: Record<string, string> = {}) => {
    const r0 = runBash('true\n', { env: {}, stubDirs: [] });
    const out = `${r0.dir}/exported.env`;
    const r = runBash(codeBuildBuildPhase(deployed, buildspec), {
      env: { ...buildspecVariables(buildspec), GANTRY_EXPORTS_FILE: `${r0.dir}/gantry-driver-exports.env`, ...env },
      stubDirs: [stubs],
      stubEnv: { STUB_EXPORTS_OUT: out, ...stubEnv },
    });
    return { ...r, exported: readExports(out) };
  };

  it('declares exactly the variables the workflow reads from a Helm build, and the finally block exports those', () => {
    const names = exportedVariableNames(buildspec);
    assert.deepEqual(names, ['HELM_REVISION', 'HELM_STATUS', 'HELM_STATUS_SHA256']);
    for (const n of names) assert.ok((DRIVER_EXPORTS.helm as readonly string[]).includes(n), n);
    assert.match(buildFinallyCommand(buildspec), /HELM_REVISION \| HELM_STATUS \| HELM_STATUS_SHA256\) export "\$name=\$value"/);
    assert.equal(buildspecVariables(buildspec).GANTRY_EXPORTS_FILE, '/tmp/gantry-driver-exports.env');
  });

  it.skipIf(hasJq ? false : JQ_MISSING)('exports the revision and status helm reported and the sha256 of the helm status -o json it printed', () => {
    const r = runBuildPhase(environment());
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.exported, { HELM_REVISION: '2', HELM_STATUS: 'deployed', HELM_STATUS_SHA256: sha256(`${STATUS_JSON}\n`) });
    assert.match(r.stdout, new RegExp(`gantry-helm: evidence helm-status sha256 ${sha256(`${STATUS_JSON}\n`)}`));
  });

  it.skipIf(hasJq ? false : JQ_MISSING)('exports the status after a failed upgrade too, and the build still fails', () => {
    const failed = STATUS_JSON.replace('"version":2', '"version":3').replace('"deployed"', '"failed"');
    const r = runBuildPhase(environment(), { STUB_HELM_UPGRADE_EXIT: '1', STUB_HELM_STATUS: failed });
    assert.equal(r.status, 1);
    assert.deepEqual(r.exported, { HELM_REVISION: '3', HELM_STATUS: 'failed', HELM_STATUS_SHA256: sha256(`${failed}\n`) });
  });

  it('exports nothing about a release helm cannot show', () => {
    const r = runBuildPhase(environment(), { STUB_HELM_UPGRADE_EXIT: '1', STUB_HELM_STATUS_EXIT: '1' });
    assert.equal(r.status, 1);
    assert.deepEqual(r.exported, { HELM_REVISION: '', HELM_STATUS: '', HELM_STATUS_SHA256: '' });
    assert.match(r.stdout, /gantry-helm: no release status/);
  });

  it.skipIf(hasJq ? false : JQ_MISSING)('leaves out a revision or status that does not match its pattern, naming it', () => {
    const odd = STATUS_JSON.replace('"version":2', '"version":"2; id"').replace('"deployed"', '"$(id)"');
    const r = runBuildPhase(environment(), { STUB_HELM_STATUS: odd });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.exported.HELM_REVISION, '');
    assert.equal(r.exported.HELM_STATUS, '');
    assert.equal(r.exported.HELM_STATUS_SHA256, sha256(`${odd}\n`));
    assert.match(r.stderr, /gantry-helm: HELM_REVISION not exported/);
    assert.match(r.stderr, /gantry-helm: HELM_STATUS not exported/);
  });

  it('refuses an exports file path that does not match its pattern before running anything', () => {
    const r = runDriver(environment({}, { GANTRY_EXPORTS_FILE: '/tmp/x;id' }));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^gantry-helm: GANTRY_EXPORTS_FILE does not match/);
    assert.deepEqual(r.calls, []);
  });

  it('exports only the declared names from the exports file and never evaluates a value', () => {
    const r0 = runBash('true\n', { env: {}, stubDirs: [] });
    const file = `${r0.dir}/exports.env`;
    const pwned = `${r0.dir}/pwned`;
    const program = [
      `printf '%s\\n' 'HELM_STATUS=$(touch ${pwned})' 'HELM_REVISION=\`touch ${pwned}\`' 'PATH=/nowhere' 'LD_PRELOAD=/tmp/x.so' >"$GANTRY_EXPORTS_FILE"`,
      buildFinallyCommand(buildspec),
      'printf "%s|%s|%s|%s\\n" "$HELM_STATUS" "$HELM_REVISION" "$PATH" "${LD_PRELOAD-unset}"',
    ].join('\n');
    const r = runBash(program, { env: { GANTRY_EXPORTS_FILE: file }, stubDirs: [] });
    assert.equal(r.status, 0, r.stderr);
    const [status, revision, path, preload] = r.stdout.trim().split('|');
    assert.equal(status, `$(touch ${pwned})`);
    assert.equal(revision, `\`touch ${pwned}\``);
    assert.notEqual(path, '/nowhere');
    assert.equal(preload, 'unset');
    assert.equal(existsSync(pwned), false);
  });

  it.skipIf(which('shellcheck') ? false : 'shellcheck is not installed')('passes shellcheck: the finally block as deployed', () => {
    const r = spawnSync('shellcheck', ['--shell=bash', '-'], { input: buildFinallyCommand(buildspec), encoding: 'utf8' });
    assert.equal(r.stdout + r.stderr, '');
    assert.equal(r.status, 0);
  });
});
