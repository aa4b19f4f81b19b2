/**
 * The Terraform driver's script, run by bash as CodeBuild runs it, with stub `terraform`, `aws`,
 * `unzip` and `kubectl` first on the PATH that record how they were called. The environment comes
 * from the workflow's own `driverEnvironment` (plus the project's GANTRY_EVIDENCE_BUCKET), so the
 * script and the workflow agree on the contract. One suite runs the real terraform, when installed,
 * against a module of `terraform_data` resources (built in, nothing downloaded).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { beforeAll, describe, it } from 'vitest';
import fc from 'fast-check';
import { parseConfig } from '../../lambdas/domain/config';
import { driverEnvironment } from '../../lambdas/domain/release';
import { DRIVER_EXPORTS } from '../../lambdas/domain/driver-evidence';
import { renderTerraformBuildSpec, TERRAFORM_BUILDSPEC_PATH, TERRAFORM_SCRIPT_PATH } from './cdk';
import {
  buildFinallyCommand,
  buildspecVariables,
  type Call,
  codeBuildBuildPhase,
  exportedVariableNames,
  HOSTILE_SUFFIXES,
  linkRealPython,
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
const IMAGE = `${REGISTRY}/payments-api@${DIGEST}`;
const SOURCE = 's3://tf-sources/payments/module.zip';
const BUCKET = 'gantry-evidence-bucket';
const RELEASE_ID = 'payments-ab12ab12ab12ab12';
const EVIDENCE = `s3://${BUCKET}/evidence/${RELEASE_ID}/prod/deploy`;

const script = readFileSync(TERRAFORM_SCRIPT_PATH, 'utf8');
const buildspec = readFileSync(TERRAFORM_BUILDSPEC_PATH, 'utf8');
const rendered = renderTerraformBuildSpec(buildspec, script);
const deployed = renderedBuildCommand(rendered);
const shellcheck = which('shellcheck');
const realTerraform = which('terraform');
const SHELLCHECK_MISSING = 'shellcheck is not installed (apt-get install -y shellcheck); the driver script is not linted';

function environment(overrides: Record<string, string | undefined> = {}, kind: 'deploy' | 'rollback' = 'deploy'): Record<string, string> {
  const config = parseConfig({
    services: {
      payments: {
        repository: 'payments-api',
        stages: [{ name: 'prod', cluster: 'prod', namespace: 'payments', deploy: { driver: 'terraform', source: SOURCE, workdir: 'stages/prod', imageVariable: 'image' } }],
      },
    },
    clusters: { prod: { name: 'prod-eks', region: 'eu-west-1' } },
  });
  const stage = config.services.payments?.stages[0];
  assert.ok(stage);
  const vars = Object.fromEntries(
    driverEnvironment({ config, service: 'payments', stage, digest: kind === 'deploy' ? DIGEST : OLD_DIGEST, releaseId: RELEASE_ID, kind, registry: REGISTRY }).map((v) => [
      v.Name,
      v.Value,
    ]),
  );
  const merged: Record<string, string | undefined> = { ...vars, GANTRY_EVIDENCE_BUCKET: BUCKET, ...overrides };
  return Object.fromEntries(Object.entries(merged).filter((e): e is [string, string] => e[1] !== undefined));
}

/** A `terraform show -json` document with one resource change per entry. */
function planJson(changes: Array<{ address: string; actions: string[]; mode?: string; deposed?: string }>): string {
  return `${JSON.stringify({
    format_version: '1.2',
    terraform_version: '1.13.1',
    resource_changes: changes.map((c) => ({
      address: c.address,
      mode: c.mode ?? 'managed',
      ...(c.deposed ? { deposed: c.deposed } : {}),
      change: { actions: c.actions, before: null, after: { secret: 'VALUE-IN-PLAN' } },
    })),
  })}\n`;
}
const UPDATE_PLAN = planJson([
  { address: 'kubernetes_deployment_v1.app', actions: ['update'] },
  { address: 'aws_ssm_parameter.image', actions: ['create'] },
  { address: 'data.aws_eks_cluster.this', actions: ['read'], mode: 'data' },
]);

/** Stub tools: the AWS CLI (S3 copies into a local "bucket" dir, kubeconfig), unzip (copies a module dir), terraform, kubectl. */
const STUB_TOOLS: Record<string, string> = {
  aws: `
if [[ "$1 $2" == "s3 cp" ]]; then
  if [[ "$3" == s3://*/tfplan ]]; then cp "$STUB_S3/\${3#s3://}" "$4"
  elif [[ "$3" == s3://* ]]; then cp "$STUB_SOURCE_ZIP" "$4"
  else dest="$STUB_S3/\${4#s3://}"; mkdir -p "\${dest%/*}"; cp "$3" "$dest"; fi
elif [[ "$1 $2" == "eks update-kubeconfig" ]]; then
  echo 'apiVersion: v1' > "\${8:?kubeconfig path}"
elif [[ "$1 $2" == "sts assume-role" ]]; then
  printf 'ASIASTUBKEY\tstub-secret-key\tstub-session-token\n'
fi`,
  unzip: `
[[ "\${STUB_UNZIP_EXIT:-0}" == 0 ]] || exit "$STUB_UNZIP_EXIT"
cp -R "$STUB_MODULE/." "$4/"`,
  terraform: `
case "$1" in
  version) echo 'Terraform v1.13.1' ;;
  init)
    mkdir -p .terraform
    if [[ -z "\${STUB_TF_NO_BACKEND-}" ]]; then echo '{"version":3,"backend":{"type":"s3"}}' > .terraform/terraform.tfstate; fi ;;
  plan)
    for a in "$@"; do if [[ "$a" == -out=* ]]; then echo 'binary plan' > "\${a#-out=}"; fi; done
    exit "\${STUB_TF_PLAN_EXIT:-0}" ;;
  show) cat "$STUB_PLAN_JSON" ;;
  apply)
    if [[ -n "\${STUB_TF_APPLY_STALE-}" ]]; then printf 'Error: Saved plan is stale\n\nThe given plan file can no longer be applied because the state was changed by another operation after the plan was created.\n' >&2; exit 1; fi
    exit "\${STUB_TF_APPLY_EXIT:-0}" ;;
esac`,
  kubectl: RECORD_ONLY,
};

let stubs: string;
let noTerraformStubs: string;
let fixtures: string;
let module: string;

beforeAll(() => {
  stubs = stubBin(STUB_TOOLS);
  const { terraform: _t, ...withoutTerraform } = STUB_TOOLS;
  noTerraformStubs = stubBin(withoutTerraform);
  linkRealPython(stubs);
  linkRealPython(noTerraformStubs);
  fixtures = mkdtempSync(join(tmpdir(), 'gantry-tf-fixtures-'));
  writeFileSync(join(fixtures, 'source.zip'), 'PK-not-really-a-zip');
  module = join(fixtures, 'module');
  mkdirSync(join(module, 'stages', 'prod'), { recursive: true });
  writeFileSync(join(module, 'stages', 'prod', 'main.tf'), 'variable "image" { type = string }\n');
});

interface DriverRun extends Run {
  /** What was uploaded, by `s3://bucket/key`. */
  readonly s3: (uri: string) => string | undefined;
}

function runDriver(
  options: { env?: Record<string, string>; plan?: string; stubEnv?: Record<string, string>; program?: string; moduleDir?: string; s3Files?: Record<string, string> } = {},
): DriverRun {
  const planFile = join(mkdtempSync(join(tmpdir(), 'gantry-tf-plan-')), 'plan.json');
  writeFileSync(planFile, options.plan ?? UPDATE_PLAN);
  const s3 = mkdtempSync(join(tmpdir(), 'gantry-tf-s3-'));
  // Objects already in the bucket (a saved plan for an apply run), by `bucket/key`.
  for (const [key, body] of Object.entries(options.s3Files ?? {})) {
    mkdirSync(dirname(join(s3, key)), { recursive: true });
    writeFileSync(join(s3, key), body);
  }
  const run = runBash(options.program ?? deployed, {
    env: options.env ?? environment(),
    stubDirs: [stubs],
    stubEnv: { STUB_S3: s3, STUB_SOURCE_ZIP: join(fixtures, 'source.zip'), STUB_MODULE: options.moduleDir ?? module, STUB_PLAN_JSON: planFile, ...options.stubEnv },
    recordEnv: ['PWD', 'KUBECONFIG', 'KUBE_CONFIG_PATH', 'TF_IN_AUTOMATION', 'TF_INPUT'],
  });
  return {
    ...run,
    s3: (uri: string) => {
      const path = join(s3, uri.replace(/^s3:\/\//, ''));
      return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
    },
  };
}

/** The run most tests look at (a plan that updates and creates, the stage's defaults), made once. */
let standard: DriverRun | undefined;
const standardRun = (): DriverRun => {
  standard ??= runDriver();
  return standard;
};

const call = (r: Run, tool: string, sub: string): Call | undefined => r.calls.find((c) => c.argv[0] === tool && c.argv[1] === sub);
const indexOf = (r: Run, step: string): number => steps(r.calls).indexOf(step);
const uploads = (r: Run): string[] => r.calls.filter((c) => c.argv[0] === 'aws' && c.argv[1] === 's3' && String(c.argv[4]).startsWith('s3://')).map((c) => c.argv[4] as string);
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('the Terraform driver script', () => {
  it.skipIf(shellcheck ? false : SHELLCHECK_MISSING)('passes shellcheck', () => {
    const r = spawnSync('shellcheck', ['--shell=bash', TERRAFORM_SCRIPT_PATH], { encoding: 'utf8' });
    assert.equal(r.stdout + r.stderr, '');
    assert.equal(r.status, 0);
  });

  it.skipIf(shellcheck ? false : SHELLCHECK_MISSING)('passes shellcheck as inlined into the deployed buildspec', () => {
    const r = spawnSync('shellcheck', ['--shell=bash', '-'], { input: deployed, encoding: 'utf8' });
    assert.equal(r.stdout + r.stderr, '');
    assert.equal(r.status, 0);
  });

  it('downloads the module, points at the cluster, inits, plans, records the plan, then applies it — in that order', () => {
    const r = standardRun();
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(steps(r.calls), [
      'terraform version',
      'aws s3',
      'unzip -q',
      'aws eks',
      'terraform init',
      'terraform plan',
      'terraform show',
      'aws s3',
      'aws s3',
      'aws s3',
      'terraform apply',
    ]);
    const unzip = call(r, 'unzip', '-q')?.argv ?? [];
    assert.match(String(unzip[2]), /\/source\.zip$/);
    assert.deepEqual(call(r, 'aws', 's3')?.argv, ['aws', 's3', 'cp', SOURCE, unzip[2], '--only-show-errors']);
    assert.deepEqual(call(r, 'aws', 'eks')?.argv.slice(0, 7), ['aws', 'eks', 'update-kubeconfig', '--name', 'prod-eks', '--region', 'eu-west-1']);
    assert.deepEqual(call(r, 'terraform', 'init')?.argv, ['terraform', 'init', '-input=false', '-no-color']);
  });

  it("reaches a cluster in another account as its role (profile gantry-cluster), and keeps the build's role for S3 and the backend", () => {
    const ROLE = 'arn:aws:iam::222222222222:role/gantry-target-cluster-access';
    const r = runDriver({ env: { ...environment(), GANTRY_CLUSTER_ROLE_ARN: ROLE } });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(indexOf(r, 'aws sts') < indexOf(r, 'aws eks'), 'the role is assumed before update-kubeconfig');
    assert.deepEqual(call(r, 'aws', 'sts')?.argv.slice(2, 11), [
      'assume-role',
      '--role-arn',
      ROLE,
      '--role-session-name',
      `gantry-${environment().GANTRY_RELEASE_ID}`,
      '--duration-seconds',
      '3600',
      '--region',
      'eu-west-1',
    ]);
    assert.deepEqual(call(r, 'aws', 'eks')?.argv.slice(-2), ['--profile', 'gantry-cluster']);
    for (const c of r.calls.filter((x) => x.argv[0] === 'aws' && x.argv[1] === 's3')) assert.ok(!c.argv.includes('--profile'), 'S3 is read and written as the build');
    for (const secret of ['stub-secret-key', 'stub-session-token']) assert.ok(!`${r.stdout}${r.stderr}`.includes(secret));
    assert.equal(call(standardRun(), 'aws', 'sts'), undefined, 'no assume-role for a cluster of the own account');
  });

  it('plans with the image variable pinned to <repository>@<digest>, one argument', () => {
    const r = standardRun();
    assert.deepEqual(call(r, 'terraform', 'plan')?.argv, ['terraform', 'plan', '-input=false', '-no-color', '-lock-timeout=5m', '-out=tfplan', '-var', `image=${IMAGE}`]);
  });

  it('applies exactly the saved plan and nothing else', () => {
    const r = standardRun();
    assert.deepEqual(call(r, 'terraform', 'apply')?.argv, ['terraform', 'apply', '-input=false', '-no-color', '-lock-timeout=5m', 'tfplan']);
    assert.deepEqual(call(r, 'terraform', 'show')?.argv, ['terraform', 'show', '-json', 'tfplan']);
    assert.match(r.stdout, /gantry-terraform: deploy of sha256:(ab12){16} to prod succeeded \(plan sha256 [a-f0-9]{64}\)\n$/);
  });

  it('runs terraform in the workdir of the unpacked module, non-interactively, with the cluster kubeconfig', () => {
    const r = standardRun();
    const kubeconfig = call(r, 'aws', 'eks')?.argv[8];
    for (const sub of ['init', 'plan', 'show', 'apply']) {
      const c = call(r, 'terraform', sub);
      assert.match(String(c?.env.PWD), /\/module\/stages\/prod$/, sub);
      assert.equal(c?.env.TF_IN_AUTOMATION, '1');
      assert.equal(c?.env.TF_INPUT, '0');
      assert.equal(c?.env.KUBE_CONFIG_PATH, kubeconfig);
      assert.equal(c?.env.KUBECONFIG, kubeconfig);
    }
  });

  it('writes the plan JSON, its sha256 and a summary to the evidence bucket under the release, stage and kind', () => {
    const r = standardRun();
    assert.deepEqual(uploads(r), [`${EVIDENCE}/plan.json`, `${EVIDENCE}/plan.json.sha256`, `${EVIDENCE}/summary.json`]);
    assert.equal(r.s3(`${EVIDENCE}/plan.json`), UPDATE_PLAN);
    assert.equal(r.s3(`${EVIDENCE}/plan.json.sha256`), `${sha256(UPDATE_PLAN)}  plan.json\n`);
    const summary = JSON.parse(r.s3(`${EVIDENCE}/summary.json`) ?? '{}');
    assert.deepEqual(summary, {
      allowDestroy: false,
      changes: { create: 1, delete: 0, forget: 0, 'no-op': 0, other: 0, replace: 0, update: 1 },
      destroys: [],
      digest: DIGEST,
      image: IMAGE,
      kind: 'deploy',
      planSha256: sha256(UPDATE_PLAN),
      releaseId: RELEASE_ID,
      service: 'payments',
      source: SOURCE,
      sourceSha256: sha256('PK-not-really-a-zip'),
      stage: 'prod',
      terraformVersion: '1.13.1',
      workdir: 'stages/prod',
    });
  });

  it('prints where the evidence is, the plan sha256 and the summary, but no resource value', () => {
    const r = standardRun();
    assert.match(r.stdout, new RegExp(`gantry-terraform: evidence plan ${EVIDENCE.replace(/[.]/g, '\\.')}/plan\\.json sha256 ${sha256(UPDATE_PLAN)}\n`));
    assert.match(r.stdout, /gantry-terraform: evidence plan-summary \{"allowDestroy":false,"changes":\{/);
    assert.match(r.stdout, /gantry-terraform: evidence source s3:\/\/tf-sources\/payments\/module\.zip sha256 [a-f0-9]{64}\n/);
    assert.match(r.stdout, /gantry-terraform: plan: 1 to create, 1 to update, 0 to replace, 0 to delete\n/);
    assert.doesNotMatch(r.stdout + r.stderr, /VALUE-IN-PLAN/);
  });

  it('keeps the evidence of a rollback apart from the deploy of the same release', () => {
    const r = runDriver({ env: environment({}, 'rollback') });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(uploads(r)[0], `s3://${BUCKET}/evidence/${RELEASE_ID}/prod/rollback/plan.json`);
    assert.match(call(r, 'terraform', 'plan')?.argv.at(-1) ?? '', new RegExp(`^image=.*@${OLD_DIGEST}$`));
  });

  describe('a plan that destroys', () => {
    const DELETE_PLAN = planJson([
      { address: 'aws_db_instance.main', actions: ['delete'] },
      { address: 'kubernetes_deployment_v1.app', actions: ['update'] },
    ]);

    it('stops before apply, with the plan summary as the reason, when the stage does not allow it', () => {
      const r = runDriver({ plan: DELETE_PLAN });
      assert.equal(r.status, 1);
      assert.equal(call(r, 'terraform', 'apply'), undefined);
      assert.equal(
        r.stderr,
        'gantry-terraform: refusing to apply: the plan would destroy 1 resource(s) and stage prod does not allow it (deploy.allowDestroy): 0 to create, 1 to update, 0 to replace, 1 to delete (destroys aws_db_instance.main [delete])\n',
      );
    });

    it('still records the refused plan as evidence', () => {
      const r = runDriver({ plan: DELETE_PLAN });
      assert.equal(r.s3(`${EVIDENCE}/plan.json`), DELETE_PLAN);
      assert.deepEqual(JSON.parse(r.s3(`${EVIDENCE}/summary.json`) ?? '{}').destroys, [{ address: 'aws_db_instance.main', action: 'delete' }]);
    });

    it('treats a replacement (delete and create) as a destroy, in either order', () => {
      for (const actions of [
        ['delete', 'create'],
        ['create', 'delete'],
      ]) {
        const r = runDriver({ plan: planJson([{ address: 'aws_lb.public', actions }]) });
        assert.equal(r.status, 1, actions.join());
        assert.match(r.stderr, /destroy 1 resource\(s\).*0 to create, 0 to update, 1 to replace, 0 to delete \(destroys aws_lb\.public \[replace\]\)/);
        assert.equal(call(r, 'terraform', 'apply'), undefined);
      }
    });

    it('treats the deletion of a deposed object as a destroy', () => {
      const r = runDriver({ plan: planJson([{ address: 'aws_instance.a', actions: ['delete'], deposed: 'f00dbeef' }]) });
      assert.equal(r.status, 1);
      assert.match(r.stderr, /destroys aws_instance\.a \(deposed f00dbeef\) \[delete\]/);
    });

    it('applies when the stage allows destroy', () => {
      const r = runDriver({ plan: DELETE_PLAN, env: environment({ GANTRY_TF_ALLOW_DESTROY: 'true' }) });
      assert.equal(r.status, 0, r.stderr);
      assert.ok(indexOf(r, 'terraform apply') > indexOf(r, 'terraform show'));
    });

    it('does not count reading a data source or forgetting a resource as a destroy', () => {
      const r = runDriver({
        plan: planJson([
          { address: 'data.aws_eks_cluster.this', actions: ['read'], mode: 'data' },
          { address: 'aws_iam_role.legacy', actions: ['forget'] },
          { address: 'aws_ssm_parameter.image', actions: ['no-op'] },
        ]),
      });
      assert.equal(r.status, 0, r.stderr);
      assert.ok(call(r, 'terraform', 'apply'));
    });

    it('lists at most twenty destroyed resources in the reason', () => {
      const r = runDriver({ plan: planJson(Array.from({ length: 23 }, (_, i) => ({ address: `aws_sqs_queue.q${i}`, actions: ['delete'] }))) });
      assert.equal(r.status, 1);
      assert.match(r.stderr, /destroy 23 resource\(s\).*aws_sqs_queue\.q19 \[delete\] and 3 more\)\n$/);
      assert.doesNotMatch(r.stderr, /q20/);
    });
  });

  it('fails when apply fails, naming the plan it applied, after the evidence was written', () => {
    const r = runDriver({ stubEnv: { STUB_TF_APPLY_EXIT: '1' } });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^gantry-terraform: terraform apply failed with exit code 1 \(plan sha256 [a-f0-9]{64}\)\n$/);
    assert.equal(uploads(r).length, 3);
  });

  it('fails when the plan fails, before any evidence or apply', () => {
    const r = runDriver({ stubEnv: { STUB_TF_PLAN_EXIT: '1' } });
    assert.equal(r.status, 1);
    assert.equal(call(r, 'terraform', 'show'), undefined);
    assert.equal(call(r, 'terraform', 'apply'), undefined);
    assert.deepEqual(uploads(r), []);
  });

  it('refuses a module that declares no backend, before planning (its state would die with the build)', () => {
    const r = runDriver({ stubEnv: { STUB_TF_NO_BACKEND: '1' } });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /the module in stages\/prod declares no backend/);
    assert.equal(call(r, 'terraform', 'plan'), undefined);
  });

  it('drops a .terraform directory packed into the archive, so a stale backend setting cannot pass for the module’s own', () => {
    const packed = mkdtempSync(join(tmpdir(), 'gantry-tf-packed-'));
    mkdirSync(join(packed, 'stages', 'prod', '.terraform'), { recursive: true });
    writeFileSync(join(packed, 'stages', 'prod', '.terraform', 'terraform.tfstate'), '{"version":3,"backend":{"type":"s3"}}');
    const r = runDriver({ moduleDir: packed, stubEnv: { STUB_TF_NO_BACKEND: '1' } });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /declares no backend/);
    assert.equal(call(r, 'terraform', 'plan'), undefined);
  });

  it('refuses a workdir the module archive does not have', () => {
    const r = runDriver({ env: environment({ GANTRY_TF_WORKDIR: 'stages/qa' }) });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /the module archive s3:\/\/tf-sources\/payments\/module\.zip has no directory stages\/qa/);
    assert.equal(call(r, 'terraform', 'init'), undefined);
  });

  it('refuses a workdir that a symbolic link in the archive leads out of it', () => {
    const escaping = mkdtempSync(join(tmpdir(), 'gantry-tf-escape-'));
    mkdirSync(join(escaping, 'stages'));
    symlinkSync('/', join(escaping, 'stages', 'prod'));
    const r = runDriver({ moduleDir: escaping });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /stages\/prod leads out of the module archive/);
    assert.equal(call(r, 'terraform', 'init'), undefined);
  });

  it('never calls kubectl: a module reaches the cluster through its own providers', () => {
    const r = standardRun();
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!r.calls.some((c) => c.argv[0] === 'kubectl'));
  });

  describe('refuses before running anything', () => {
    const variables = [
      'GANTRY_RELEASE_ID',
      'GANTRY_SERVICE',
      'GANTRY_STAGE',
      'GANTRY_DIGEST',
      'GANTRY_IMAGE_REPOSITORY',
      'GANTRY_CLUSTER_NAME',
      'GANTRY_NAMESPACE',
      'GANTRY_TF_SOURCE',
      'GANTRY_TF_WORKDIR',
      'GANTRY_TF_IMAGE_VARIABLE',
      'GANTRY_EVIDENCE_BUCKET',
    ];
    for (const name of variables) {
      it(`a ${name} carrying $(…), backticks, ;, quotes or a line break, naming the variable`, () => {
        for (const suffix of HOSTILE_SUFFIXES) {
          const value = `${environment()[name]}${suffix}`;
          const r = runDriver({ env: environment({ [name]: value }) });
          assert.equal(r.status, 1, JSON.stringify(value));
          assert.match(r.stderr, new RegExp(`^gantry-terraform: ${name} contains a character no Gantry value may carry`), JSON.stringify(value));
          assert.deepEqual(r.calls, [], JSON.stringify(value));
        }
      });
    }

    for (const [name, value] of [
      ['GANTRY_DIGEST', 'sha256:ABC'],
      ['GANTRY_DIGEST', 'latest'],
      ['GANTRY_KIND', 'destroy'],
      ['GANTRY_TF_ALLOW_DESTROY', 'yes'],
      ['GANTRY_TF_IMAGE_VARIABLE', 'image=evil'],
      ['GANTRY_TF_SOURCE', 'https://example.com/module.zip'],
      ['GANTRY_TF_WORKDIR', 'prod dir'],
      ['GANTRY_IMAGE_REPOSITORY', 'repo --upgrade'],
      ['GANTRY_DRIVER', 'helm'],
    ] as const) {
      it(`${name}=${JSON.stringify(value)}, naming the variable`, () => {
        const r = runDriver({ env: environment({ [name]: value }) });
        assert.equal(r.status, 1);
        assert.match(r.stderr, new RegExp(`^gantry-terraform: ${name} does not match`));
        assert.deepEqual(r.calls, []);
      });
    }

    for (const workdir of ['../other', 'stages/../../etc', '/etc']) {
      it(`a workdir outside the module archive (${workdir})`, () => {
        const r = runDriver({ env: environment({ GANTRY_TF_WORKDIR: workdir }) });
        assert.equal(r.status, 1);
        assert.match(r.stderr, /^gantry-terraform: GANTRY_TF_WORKDIR must be a directory inside the module archive/);
        assert.deepEqual(r.calls, []);
      });
    }

    it('a missing variable, naming it', () => {
      const r = runDriver({ env: environment({ GANTRY_EVIDENCE_BUCKET: undefined }) });
      assert.equal(r.status, 1);
      assert.equal(r.stderr, 'gantry-terraform: GANTRY_EVIDENCE_BUCKET is not set\n');
      assert.deepEqual(r.calls, []);
    });

    it('a GANTRY_ variable it does not know, naming it', () => {
      const r = runDriver({ env: environment({ GANTRY_HELM_CHART: 'oci://x/y' }) });
      assert.equal(r.status, 1);
      assert.equal(r.stderr, 'gantry-terraform: GANTRY_HELM_CHART is not a variable the Terraform driver accepts\n');
      assert.deepEqual(r.calls, []);
    });

    it('extra terraform arguments from the environment (TF_CLI_ARGS*)', () => {
      const r = runDriver({ env: { ...environment(), TF_CLI_ARGS_plan: '-destroy' } });
      assert.equal(r.status, 1);
      assert.match(r.stderr, /^gantry-terraform: TF_CLI_ARGS_plan is set/);
      assert.deepEqual(r.calls, []);
    });

    it('every digest that is not sha256 and 64 lowercase hex digits', () => {
      fc.assert(
        fc.property(
          fc.string({ maxLength: 80 }).filter((s) => !/^sha256:[a-f0-9]{64}$/.test(s) && !s.includes('\0') && s !== ''),
          (digest) => {
            const r = runDriver({ env: environment({ GANTRY_DIGEST: digest }) });
            return r.status === 1 && r.stderr.startsWith('gantry-terraform: GANTRY_DIGEST ') && r.calls.length === 0;
          },
        ),
        { numRuns: 25 },
      );
    });
  });
});

/** A run without GANTRY_TF_MODE reports no saved plan: CodeBuild exports the declared variables empty. */
const NO_SAVED_PLAN = { TF_SAVED_PLAN_SHA256: '', TF_SAVED_PLAN_KEY: '', TF_PLAN_RESULT: '' };

describe("the Terraform driver's evidence for the workflow (CodeBuild exported-variables)", () => {
  /** The build phase as CodeBuild runs it (build command, then finally:), with the buildspec's variables. */
  const runBuildPhase = (plan: string, env: Record<string, string> = environment()) => {
    const out = join(mkdtempSync(join(tmpdir(), 'gantry-tf-exports-')), 'exported.env');
    const exportsFile = join(mkdtempSync(join(tmpdir(), 'gantry-tf-exports-')), 'gantry-driver-exports.env');
    const r = runDriver({
      program: codeBuildBuildPhase(deployed, buildspec),
      plan,
      env: { ...buildspecVariables(buildspec), ...env, GANTRY_EXPORTS_FILE: exportsFile },
      stubEnv: { STUB_EXPORTS_OUT: out },
    });
    return { ...r, exported: readExports(out) };
  };

  it('declares exactly the variables the workflow reads from a Terraform build, and the finally block exports those', () => {
    assert.deepEqual(exportedVariableNames(buildspec), [...DRIVER_EXPORTS.terraform]);
    assert.match(
      buildFinallyCommand(buildspec),
      /TF_PLAN_SHA256 \| TF_PLAN_KEY \| TF_PLAN_SUMMARY \| TF_SAVED_PLAN_SHA256 \| TF_SAVED_PLAN_KEY \| TF_PLAN_RESULT\) export "\$name=\$value"/,
    );
  });

  it('exports the sha256 of the plan JSON, its key in the evidence bucket and terraform’s add/change/destroy counts', () => {
    const r = runBuildPhase(UPDATE_PLAN);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.exported, {
      TF_PLAN_SHA256: sha256(UPDATE_PLAN),
      TF_PLAN_KEY: `evidence/${RELEASE_ID}/prod/deploy/plan.json`,
      TF_PLAN_SUMMARY: '{"add":1,"change":1,"destroy":0}',
      ...NO_SAVED_PLAN,
    });
    // The key names the object the driver uploaded, and the sha256 is that object's.
    assert.equal(sha256(r.s3(`s3://${BUCKET}/${r.exported.TF_PLAN_KEY}`) ?? ''), r.exported.TF_PLAN_SHA256);
  });

  it('exports the evidence of a plan it refused to apply, counting a replacement as an add and a destroy', () => {
    const plan = planJson([
      { address: 'aws_db_instance.main', actions: ['delete'] },
      { address: 'aws_lb.public', actions: ['create', 'delete'] },
      { address: 'kubernetes_deployment_v1.app', actions: ['update'] },
    ]);
    const r = runBuildPhase(plan);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /refusing to apply/);
    assert.deepEqual(r.exported, {
      TF_PLAN_SHA256: sha256(plan),
      TF_PLAN_KEY: `evidence/${RELEASE_ID}/prod/deploy/plan.json`,
      TF_PLAN_SUMMARY: '{"add":1,"change":1,"destroy":2}',
      ...NO_SAVED_PLAN,
    });
  });

  it('exports the rollback’s own plan key', () => {
    const r = runBuildPhase(UPDATE_PLAN, environment({}, 'rollback'));
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.exported.TF_PLAN_KEY, `evidence/${RELEASE_ID}/prod/rollback/plan.json`);
  });

  it('exports nothing when the plan fails before there is any evidence', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'gantry-tf-exports-')), 'exported.env');
    const r = runDriver({
      program: codeBuildBuildPhase(deployed, buildspec),
      env: { ...buildspecVariables(buildspec), ...environment(), GANTRY_EXPORTS_FILE: `${out}.src` },
      stubEnv: { STUB_EXPORTS_OUT: out, STUB_TF_PLAN_EXIT: '1' },
    });
    assert.equal(r.status, 1);
    assert.deepEqual(readExports(out), { TF_PLAN_SHA256: '', TF_PLAN_KEY: '', TF_PLAN_SUMMARY: '', ...NO_SAVED_PLAN });
  });

  it('refuses an exports file path that does not match its pattern before running anything', () => {
    const r = runDriver({ env: { ...environment(), GANTRY_EXPORTS_FILE: 'relative/path' } });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^gantry-terraform: GANTRY_EXPORTS_FILE does not match/);
    assert.deepEqual(r.calls, []);
  });

  it.skipIf(shellcheck ? false : SHELLCHECK_MISSING)('passes shellcheck: the finally block as deployed', () => {
    const r = spawnSync('shellcheck', ['--shell=bash', '-'], { input: buildFinallyCommand(buildspec), encoding: 'utf8' });
    assert.equal(r.stdout + r.stderr, '');
    assert.equal(r.status, 0);
  });
});

describe('drivers/terraform/buildspec.yml', () => {
  const install = phaseCommands(buildspec, 'install');
  const INSTALL_STUBS = {
    curl: RECORD_ONLY,
    sha256sum: 'cat > "$STUB_LOG.sha256sum-stdin"; exit "${STUB_SHA256SUM_EXIT:-0}"',
    unzip: RECORD_ONLY,
    install: RECORD_ONLY,
  };
  /** The install phase as CodeBuild runs it: one shell, stopping at the first failing command. */
  const runInstall = (sha256sumExit: string) => {
    const r = runBash(`set -e\n${install.join('\n')}\n`, { env: {}, stubDirs: [stubBin(INSTALL_STUBS)], stubEnv: { STUB_SHA256SUM_EXIT: sha256sumExit } });
    const stdinFile = join(r.dir, 'calls.log.sha256sum-stdin');
    return { ...r, checked: existsSync(stdinFile) ? readFileSync(stdinFile, 'utf8') : undefined };
  };

  it('downloads a pinned terraform release, checks its sha256, then unpacks and installs it', () => {
    const r = runInstall('0');
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(
      steps(r.calls).map((s) => s.split(' ')[0]),
      ['curl', 'sha256sum', 'unzip', 'install'],
    );
    assert.match(r.calls[0]?.argv.at(-1) ?? '', /^https:\/\/releases\.hashicorp\.com\/terraform\/(\d+\.\d+\.\d+)\/terraform_\1_linux_amd64\.zip$/);
    assert.deepEqual(r.calls[1]?.argv, ['sha256sum', '--check', '--strict', '-']);
    assert.match(r.checked ?? '', /^[a-f0-9]{64} {2}\/tmp\/terraform\.zip\n$/);
    assert.deepEqual(r.calls[3]?.argv, ['install', '-m', '0755', '/tmp/terraform-bin/terraform', '/usr/local/bin/terraform']);
  });

  it('stops before unpacking a download whose sha256 does not match', () => {
    const r = runInstall('1');
    assert.notEqual(r.status, 0);
    assert.deepEqual(
      steps(r.calls).map((s) => s.split(' ')[0]),
      ['curl', 'sha256sum'],
    );
  });

  it('keeps the version and the checksum literal: no variable in the install phase', () => {
    for (const command of install) assert.doesNotMatch(command, /\$/, command);
  });
});

describe.skipIf(realTerraform ? false : 'terraform is not installed; the stubbed suites above still run')('the Terraform driver script with the real terraform', () => {
  /** A module of built-in `terraform_data` resources whose local state lives in `state`. */
  function writeModule(dir: string, state: string, resources: string): void {
    mkdirSync(join(dir, 'stages', 'prod'), { recursive: true });
    writeFileSync(join(dir, 'stages', 'prod', 'main.tf'), `terraform {\n  backend "local" { path = "${state}" }\n}\nvariable "image" { type = string }\n${resources}`);
  }
  const APP = 'resource "terraform_data" "app" { input = var.image }\n';
  const SIDECAR = 'resource "terraform_data" "sidecar" { input = "v1" }\n';

  function realRun(moduleDir: string, env: Record<string, string>, program = deployed, stubEnv: Record<string, string> = {}): DriverRun {
    const s3 = mkdtempSync(join(tmpdir(), 'gantry-tf-s3-'));
    const run = runBash(program, {
      env,
      stubDirs: [noTerraformStubs],
      stubEnv: { STUB_S3: s3, STUB_SOURCE_ZIP: join(fixtures, 'source.zip'), STUB_MODULE: moduleDir, ...stubEnv },
    });
    return { ...run, s3: (uri: string) => (existsSync(join(s3, uri.slice(5))) ? readFileSync(join(s3, uri.slice(5)), 'utf8') : undefined) };
  }
  const stateOf = (state: string) =>
    JSON.parse(readFileSync(state, 'utf8')) as { resources: Array<{ name: string; instances: Array<{ attributes: { input: { value: string } } }> }> };

  let root: string;
  let state: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'gantry-tf-real-'));
    state = join(root, 'state', 'terraform.tfstate');
  });

  it('applies the saved plan: the image variable reaches the module, and the evidence is the real plan JSON', () => {
    const v1 = join(root, 'v1');
    writeModule(v1, state, APP + SIDECAR);
    const r = realRun(v1, environment());
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const app = stateOf(state).resources.find((x) => x.name === 'app');
    assert.equal(app?.instances[0]?.attributes.input.value, IMAGE);
    const plan = r.s3(`${EVIDENCE}/plan.json`) ?? '';
    assert.equal(JSON.parse(plan).variables.image.value, IMAGE);
    assert.equal(r.s3(`${EVIDENCE}/plan.json.sha256`), `${sha256(plan)}  plan.json\n`);
    assert.deepEqual(JSON.parse(r.s3(`${EVIDENCE}/summary.json`) ?? '{}').changes.create, 2);
  });

  it('refuses a module version that would destroy a resource, and the state keeps it', () => {
    const v2 = join(root, 'v2');
    writeModule(v2, state, APP);
    // As CodeBuild runs it: the build command, then finally: exports the evidence of the refused plan.
    const out = join(mkdtempSync(join(tmpdir(), 'gantry-tf-exports-')), 'exported.env');
    const env = { ...environment({}, 'rollback'), GANTRY_EXPORTS_FILE: `${out}.src` };
    const r = realRun(v2, env, codeBuildBuildPhase(deployed, buildspec), { STUB_EXPORTS_OUT: out });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /refusing to apply: the plan would destroy 1 resource\(s\).*\(destroys terraform_data\.sidecar \[delete\]\)/);
    assert.ok(stateOf(state).resources.some((x) => x.name === 'sidecar'));
    const exported = readExports(out);
    const key = `evidence/${RELEASE_ID}/prod/rollback/plan.json`;
    assert.deepEqual(exported, {
      TF_PLAN_SHA256: sha256(r.s3(`s3://${BUCKET}/${key}`) ?? ''),
      TF_PLAN_KEY: key,
      TF_PLAN_SUMMARY: '{"add":0,"change":1,"destroy":1}',
      ...NO_SAVED_PLAN,
    });
  });

  it('plan, then apply of exactly that saved plan; a plan whose state moved meanwhile is stale: exit 3, nothing applied (decision 049)', () => {
    const dir = join(root, 'saved');
    const savedState = join(root, 'saved-state', 'terraform.tfstate');
    writeModule(dir, savedState, APP);
    const s3 = mkdtempSync(join(tmpdir(), 'gantry-tf-s3-'));
    const key = `evidence/${RELEASE_ID}/prod/plan-1/tfplan`;
    const go = (env: Record<string, string>) =>
      runBash(deployed, { env, stubDirs: [noTerraformStubs], stubEnv: { STUB_S3: s3, STUB_SOURCE_ZIP: join(fixtures, 'source.zip'), STUB_MODULE: dir } });
    const saved = () => readFileSync(join(s3, BUCKET, key));
    // Plan 1, applied as approved.
    const plan1 = go(environment({ GANTRY_TF_MODE: 'plan', GANTRY_TF_PLAN_ATTEMPT: '1' }));
    assert.equal(plan1.status, 0, plan1.stdout + plan1.stderr);
    assert.ok(!existsSync(savedState), 'a plan-only run writes no state');
    const hash1 = createHash('sha256').update(saved()).digest('hex');
    const apply1 = go(environment({ GANTRY_TF_MODE: 'apply', GANTRY_TF_PLAN_KEY: key, GANTRY_TF_PLAN_SHA256: hash1 }));
    assert.equal(apply1.status, 0, apply1.stdout + apply1.stderr);
    assert.equal(stateOf(savedState).resources.find((x) => x.name === 'app')?.instances[0]?.attributes.input.value, IMAGE);
    // Plan again (the rollback digest), then another change moves the state before that plan's apply.
    const plan2 = go(environment({ GANTRY_TF_MODE: 'plan', GANTRY_TF_PLAN_ATTEMPT: '1', GANTRY_DIGEST: OLD_DIGEST }));
    assert.equal(plan2.status, 0, plan2.stdout + plan2.stderr);
    const hash2 = createHash('sha256').update(saved()).digest('hex');
    const moved = go(environment({ GANTRY_DIGEST: `sha256:${'ef56'.repeat(16)}` }));
    assert.equal(moved.status, 0, moved.stdout + moved.stderr);
    const stale = go(environment({ GANTRY_TF_MODE: 'apply', GANTRY_TF_PLAN_KEY: key, GANTRY_TF_PLAN_SHA256: hash2 }));
    assert.equal(stale.status, 3, stale.stdout + stale.stderr);
    assert.match(stale.stdout + stale.stderr, /Saved plan is stale/);
    assert.equal(stateOf(savedState).resources.find((x) => x.name === 'app')?.instances[0]?.attributes.input.value, `${REGISTRY}/payments-api@sha256:${'ef56'.repeat(16)}`);
  });

  it('applies that destroy when the stage allows it', () => {
    const r = realRun(join(root, 'v2'), environment({ GANTRY_TF_ALLOW_DESTROY: 'true' }, 'rollback'));
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.ok(!stateOf(state).resources.some((x) => x.name === 'sidecar'));
    assert.equal(stateOf(state).resources.find((x) => x.name === 'app')?.instances[0]?.attributes.input.value, `${REGISTRY}/payments-api@${OLD_DIGEST}`);
  });
});

describe('plan, approve, apply that plan: GANTRY_TF_MODE (decision 049)', () => {
  const PLAN_KEY = `evidence/${RELEASE_ID}/prod/plan-1/tfplan`;
  /** What the stub terraform writes as the binary saved plan (`plan -out`). */
  const SAVED = 'binary plan\n';
  const exportsRun = (options: Parameters<typeof runDriver>[0] & { env: Record<string, string> }) => {
    const out = join(mkdtempSync(join(tmpdir(), 'gantry-tf-exports-')), 'exported.env');
    const exportsFile = join(mkdtempSync(join(tmpdir(), 'gantry-tf-exports-')), 'gantry-driver-exports.env');
    const r = runDriver({
      ...options,
      program: codeBuildBuildPhase(deployed, buildspec),
      env: { ...buildspecVariables(buildspec), ...options.env, GANTRY_EXPORTS_FILE: exportsFile },
      stubEnv: { STUB_EXPORTS_OUT: out, ...options.stubEnv },
    });
    return { ...r, exported: readExports(out) };
  };
  const planEnv = (extra: Record<string, string> = {}) => environment({ GANTRY_TF_MODE: 'plan', GANTRY_TF_PLAN_ATTEMPT: '1', ...extra });
  const applyEnv = (extra: Record<string, string | undefined> = {}) =>
    environment({ GANTRY_TF_MODE: 'apply', GANTRY_TF_PLAN_KEY: PLAN_KEY, GANTRY_TF_PLAN_SHA256: sha256(SAVED), ...extra });

  it('passes bash -n with the modes in', () => {
    const r = spawnSync('bash', ['-n', TERRAFORM_SCRIPT_PATH], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });

  it('plan: saves the binary plan under plan-<n>, exports its sha256, key, counts and "planned", and applies nothing', () => {
    const r = exportsRun({ env: planEnv() });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!steps(r.calls).includes('terraform apply'), 'a plan-only run never applies');
    assert.ok(steps(r.calls).includes('terraform plan'));
    assert.equal(r.s3(`s3://${BUCKET}/${PLAN_KEY}`), SAVED);
    assert.equal(r.s3(`s3://${BUCKET}/evidence/${RELEASE_ID}/prod/plan-1/plan.json`), UPDATE_PLAN);
    assert.deepEqual(r.exported, {
      TF_PLAN_SHA256: '',
      TF_PLAN_KEY: '',
      TF_PLAN_SUMMARY: '{"add":1,"change":1,"destroy":0}',
      TF_SAVED_PLAN_SHA256: sha256(SAVED),
      TF_SAVED_PLAN_KEY: PLAN_KEY,
      TF_PLAN_RESULT: 'planned',
    });
    assert.match(r.stdout, /plan 1 of sha256:(ab12){16} for prod saved; nothing applied/);
  });

  it('plan: refuses a plan that destroys without allowDestroy, exporting it as "refused"', () => {
    const r = exportsRun({ env: planEnv(), plan: planJson([{ address: 'aws_db_instance.main', actions: ['delete'] }]) });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /refusing to apply: the plan would destroy 1 resource\(s\)/);
    assert.equal(r.exported.TF_PLAN_RESULT, 'refused');
    assert.equal(r.exported.TF_SAVED_PLAN_SHA256, sha256(SAVED));
    assert.ok(!steps(r.calls).includes('terraform apply'));
  });

  it('apply: downloads the approved saved plan by its key, checks its sha256, and applies exactly it without planning', () => {
    const r = exportsRun({ env: applyEnv(), s3Files: { [`${BUCKET}/${PLAN_KEY}`]: SAVED } });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!steps(r.calls).includes('terraform plan'), 'an apply run never makes a new plan');
    assert.deepEqual(r.calls.find((c) => c.argv[0] === 'aws' && c.argv[1] === 's3' && String(c.argv[3]).endsWith('/tfplan'))?.argv.slice(0, 5), [
      'aws',
      's3',
      'cp',
      `s3://${BUCKET}/${PLAN_KEY}`,
      'tfplan',
    ]);
    assert.deepEqual(call(r, 'terraform', 'apply')?.argv, ['terraform', 'apply', '-input=false', '-no-color', '-lock-timeout=5m', 'tfplan']);
    assert.equal(r.exported.TF_SAVED_PLAN_SHA256, sha256(SAVED));
    assert.equal(r.exported.TF_PLAN_RESULT, 'applied');
    assert.equal(r.exported.TF_PLAN_KEY, `evidence/${RELEASE_ID}/prod/deploy/plan.json`);
  });

  it('apply: refuses a swapped saved plan (its sha256 is not the approved one) and applies nothing', () => {
    const r = exportsRun({ env: applyEnv(), s3Files: { [`${BUCKET}/${PLAN_KEY}`]: 'another plan\n' } });
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`refusing to apply: the saved plan ${PLAN_KEY} has sha256 ${sha256('another plan\n')}, not the approved ${sha256(SAVED)}`));
    assert.ok(!steps(r.calls).includes('terraform apply'));
    assert.ok(!steps(r.calls).includes('terraform show'));
    assert.equal(r.exported.TF_PLAN_RESULT, 'mismatch');
  });

  it('apply: a stale saved plan exits 3, exporting "stale": nothing was applied', () => {
    const r = exportsRun({ env: applyEnv(), s3Files: { [`${BUCKET}/${PLAN_KEY}`]: SAVED }, stubEnv: { STUB_TF_APPLY_STALE: '1' } });
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr, /the saved plan .*plan-1\/tfplan is stale \(the state moved since it was made\): nothing applied/);
    assert.equal(r.exported.TF_PLAN_RESULT, 'stale');
    // Any other apply failure stays a failure (exit 1), not a stale plan.
    const failed = exportsRun({ env: applyEnv(), s3Files: { [`${BUCKET}/${PLAN_KEY}`]: SAVED }, stubEnv: { STUB_TF_APPLY_EXIT: '1' } });
    assert.equal(failed.status, 1);
    assert.equal(failed.exported.TF_PLAN_RESULT, '');
  });

  for (const [name, env, message] of [
    ['an unknown mode', environment({ GANTRY_TF_MODE: 'destroy' }), /GANTRY_TF_MODE does not match/],
    ['plan without its number', environment({ GANTRY_TF_MODE: 'plan' }), /GANTRY_TF_MODE=plan needs GANTRY_TF_PLAN_ATTEMPT/],
    ['plan naming a plan to apply', planEnv({ GANTRY_TF_PLAN_SHA256: 'a'.repeat(64) }), /GANTRY_TF_MODE=plan takes no GANTRY_TF_PLAN_KEY or GANTRY_TF_PLAN_SHA256/],
    ['apply without a sha256', applyEnv({ GANTRY_TF_PLAN_SHA256: undefined }), /GANTRY_TF_MODE=apply needs GANTRY_TF_PLAN_KEY and GANTRY_TF_PLAN_SHA256/],
    ['apply of another release’s plan', applyEnv({ GANTRY_TF_PLAN_KEY: 'evidence/other-release/prod/plan-1/tfplan' }), /GANTRY_TF_PLAN_KEY is not a saved plan of release/],
    ['apply with a key that leaves its folder', applyEnv({ GANTRY_TF_PLAN_KEY: `evidence/${RELEASE_ID}/prod/plan-1/../tfplan` }), /GANTRY_TF_PLAN_KEY does not match/],
    ['a sha256 that is no sha256', applyEnv({ GANTRY_TF_PLAN_SHA256: 'A'.repeat(64) }), /GANTRY_TF_PLAN_SHA256 does not match/],
    ['plan variables without a mode', environment({ GANTRY_TF_PLAN_ATTEMPT: '1' }), /GANTRY_TF_PLAN_\* is set without GANTRY_TF_MODE/],
    ['a rollback in a mode', planEnv({ GANTRY_KIND: 'rollback' }), /GANTRY_TF_MODE=plan is for a deploy/],
  ] as const) {
    it(`refuses ${name} before running anything`, () => {
      const r = runDriver({ env: env as Record<string, string> });
      assert.equal(r.status, 1);
      assert.match(r.stderr, message);
      assert.deepEqual(r.calls, []);
    });
  }
});
