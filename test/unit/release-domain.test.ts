import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import fc from 'fast-check';
import { type GantryConfig, parseConfig } from '../../lambdas/domain/config';
import type { ReleaseSummary, StageSummary } from '../../lambdas/domain/ledger';
import { driverEnvironment, driverFailureMessage, operatorExecutionName, pushExecutionName, releaseOutcome, rollbackReason, supersededReason } from '../../lambdas/domain/release';
import type { StageStatus } from '../../lambdas/domain/types';
import { ValidationError } from '../../lambdas/domain/validation';

const EXAMPLE_CONFIG: unknown = JSON.parse(readFileSync(join(__dirname, '../../examples/gantry.config.json'), 'utf8'));
const config = parseConfig(EXAMPLE_CONFIG);
const SAMPLES = join(__dirname, '../fixtures/aws-samples');
const REGISTRY = '111122223333.dkr.ecr.eu-west-2.amazonaws.com';
const DIGEST = `sha256:${'3c'.repeat(32)}`;
const OTHER_DIGEST = `sha256:${'9d'.repeat(32)}`;
const EXECUTION_NAME = /^[A-Za-z0-9_-]{1,80}$/;
const SAFE_ENV_VALUE = /^[A-Za-z0-9_.:/@+=-]*$/;

function stageOf(cfg: GantryConfig, service: string, stage: string) {
  const st = cfg.services[service]?.stages.find((s) => s.name === stage);
  assert.ok(st, `stage ${service}/${stage} is in the config`);
  return st;
}

function envOf(vars: ReadonlyArray<{ Name: string; Value: string }>): Record<string, string> {
  return Object.fromEntries(vars.map((v) => [v.Name, v.Value]));
}

// ---------------------------------------------------------------- execution names

describe('pushExecutionName', () => {
  it('gives the same name for the same service and digest', () => {
    assert.equal(pushExecutionName('payments', DIGEST), pushExecutionName('payments', DIGEST));
  });

  it('gives a Step Functions execution name (at most 80 of A-Z a-z 0-9 - _) even for the longest service name', () => {
    const name = pushExecutionName('s'.repeat(40), DIGEST);

    assert.match(name, EXECUTION_NAME);
  });

  it('gives different names for different digests of one service', () => {
    assert.notEqual(pushExecutionName('payments', DIGEST), pushExecutionName('payments', OTHER_DIGEST));
  });

  it('gives different names for random pairs of distinct digests', () => {
    const hex64 = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 });
    fc.assert(
      fc.property(hex64, hex64, (a, b) => {
        fc.pre(a !== b);
        return pushExecutionName('payments', `sha256:${a}`) !== pushExecutionName('payments', `sha256:${b}`);
      }),
      { numRuns: 300 },
    );
  });

  it('gives different names for the same digest pushed to different services', () => {
    assert.notEqual(pushExecutionName('payments', DIGEST), pushExecutionName('ledger', DIGEST));
  });

  it('refuses something that is not a sha256 digest', () => {
    assert.throws(
      () => pushExecutionName('payments', 'sha256:xyz'),
      (e: unknown) => e instanceof TypeError && /not a sha256 digest: sha256:xyz/.test(e.message),
    );
  });
});

describe('operatorExecutionName', () => {
  const at = new Date('2026-11-24T10:05:09.123Z');

  it('is the service, a compact UTC stamp and a short hash', () => {
    assert.match(operatorExecutionName('payments', at, 'n1'), /^payments-20261124T100509Z-[0-9a-f]{6}$/);
  });

  it('gives a valid Step Functions execution name', () => {
    assert.match(operatorExecutionName('s'.repeat(40), at, 'n1'), EXECUTION_NAME);
  });

  it('gives another name for another nonce at the same instant', () => {
    assert.notEqual(operatorExecutionName('payments', at, 'n1'), operatorExecutionName('payments', at, 'n2'));
  });

  it('is deterministic for the same service, instant and nonce', () => {
    assert.equal(operatorExecutionName('payments', at, 'n1'), operatorExecutionName('payments', at, 'n1'));
  });
});

// ---------------------------------------------------------------- driver environment

describe('driverEnvironment', () => {
  const releaseId = pushExecutionName('payments', DIGEST);

  it('gives a helm driver the digest, the image repository, the cluster and the chart', () => {
    const vars = driverEnvironment({ config, service: 'payments', stage: stageOf(config, 'payments', 'prod'), digest: DIGEST, releaseId, kind: 'deploy', registry: REGISTRY });

    assert.deepEqual(envOf(vars), {
      GANTRY_RELEASE_ID: releaseId,
      GANTRY_KIND: 'deploy',
      GANTRY_SERVICE: 'payments',
      GANTRY_STAGE: 'prod',
      GANTRY_DIGEST: DIGEST,
      GANTRY_IMAGE_REPOSITORY: `${REGISTRY}/payments-api`,
      GANTRY_CLUSTER_NAME: 'prod-eks',
      GANTRY_CLUSTER_REGION: 'eu-west-2',
      GANTRY_NAMESPACE: 'payments',
      GANTRY_DRIVER: 'helm',
      GANTRY_HELM_RELEASE: 'payments',
      GANTRY_HELM_CHART: 'oci://111122223333.dkr.ecr.eu-west-2.amazonaws.com/charts/payments',
      GANTRY_HELM_VERSION: '1.2.0',
      GANTRY_HELM_TIMEOUT: '15m',
      GANTRY_VALUES_REPOSITORY_KEY: 'image.repository',
      GANTRY_VALUES_DIGEST_KEY: 'image.digest',
    });
  });

  it('passes every value as PLAINTEXT', () => {
    const vars = driverEnvironment({ config, service: 'payments', stage: stageOf(config, 'payments', 'dev'), digest: DIGEST, releaseId, kind: 'rollback', registry: REGISTRY });

    assert.deepEqual([...new Set(vars.map((v) => v.Type))], ['PLAINTEXT']);
  });

  it('refuses a digest that is not sha256 and 64 hex characters', () => {
    const bad = `sha256:${'3c'.repeat(31)}; rm -rf /`;

    assert.throws(
      () => driverEnvironment({ config, service: 'payments', stage: stageOf(config, 'payments', 'dev'), digest: bad, releaseId, kind: 'deploy', registry: REGISTRY }),
      (e: unknown) => e instanceof TypeError && /refusing to pass an unvalidated digest/.test(e.message),
    );
  });

  it('refuses a service the config does not define', () => {
    assert.throws(
      () => driverEnvironment({ config, service: 'billing', stage: stageOf(config, 'payments', 'dev'), digest: DIGEST, releaseId, kind: 'deploy', registry: REGISTRY }),
      TypeError,
    );
  });

  it('gives a terraform driver its source, workdir and image variable instead of helm values', () => {
    const raw = structuredClone(EXAMPLE_CONFIG) as { services: { payments: { stages: Array<Record<string, unknown>> } } };
    (raw.services.payments.stages[0] as Record<string, unknown>).deploy = {
      driver: 'terraform',
      source: 's3://tf-sources/payments.zip',
      workdir: 'envs/dev',
      imageVariable: 'image_digest',
    };
    const cfg = parseConfig(raw);

    const env = envOf(
      driverEnvironment({ config: cfg, service: 'payments', stage: stageOf(cfg, 'payments', 'dev'), digest: DIGEST, releaseId, kind: 'deploy', registry: REGISTRY }),
    );

    assert.equal(env.GANTRY_DRIVER, 'terraform');
    assert.equal(env.GANTRY_TF_SOURCE, 's3://tf-sources/payments.zip');
    assert.equal(env.GANTRY_TF_WORKDIR, 'envs/dev');
    assert.equal(env.GANTRY_TF_IMAGE_VARIABLE, 'image_digest');
    assert.equal(env.GANTRY_TF_ALLOW_DESTROY, 'false');
    assert.equal(env.GANTRY_HELM_CHART, undefined);
  });

  it('only ever carries values free of shell metacharacters, for any config the schema accepts', () => {
    // Characters a config author might type: mostly the ones names allow, sometimes other safe ones or shell metacharacters.
    const nameChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-'.split(''));
    const otherChar = fc.constantFrom(...'ABCXYZ._/:@+='.split(''));
    const metaChar = fc.constantFrom(...[' ', ';', '$', '`', '|', '&', '(', ')', '<', '>', "'", '"', '*', '?', '\\', '!', '#', '{', '}', '[', ']', '~', '%', '\n', '\t']);
    const text = fc.string({
      unit: fc.oneof({ arbitrary: nameChar, weight: 20 }, { arbitrary: otherChar, weight: 3 }, { arbitrary: metaChar, weight: 2 }),
      minLength: 1,
      maxLength: 12,
    });
    const FIELDS = [
      'serviceKey',
      'repository',
      'stageName',
      'namespace',
      'clusterName',
      'region',
      'release',
      'chart',
      'version',
      'repositoryKey',
      'digestKey',
      'terraform',
    ] as const;
    const mutation = fc.record({
      field: fc.constantFrom(...FIELDS),
      value: text,
      prefix: fc.constantFrom('oci://', 'https://', 's3://tf-sources/', 'charts/', ''),
      stageIndex: fc.integer({ min: 0, max: 2 }),
      timeoutMinutes: fc.integer({ min: 1, max: 120 }),
      allowDestroy: fc.boolean(),
      kind: fc.constantFrom('deploy' as const, 'rollback' as const),
    });
    let accepted = 0;
    let checkedValues = 0;

    fc.assert(
      fc.property(mutation, (m) => {
        const raw = structuredClone(EXAMPLE_CONFIG) as {
          services: Record<string, { repository: string; stages: Array<Record<string, unknown> & { deploy: Record<string, unknown> }> }>;
          clusters: Record<string, { name: string; region: string }>;
        };
        const payments = raw.services.payments as (typeof raw.services)[string];
        const stage = payments.stages[m.stageIndex] as (typeof payments.stages)[number];
        const cluster = raw.clusters[stage.cluster as string] as { name: string; region: string };
        const v = m.value;
        switch (m.field) {
          case 'serviceKey':
            if (v !== 'payments') {
              raw.services[v] = payments;
              delete raw.services.payments;
            }
            break;
          case 'repository':
            payments.repository = v;
            break;
          case 'stageName':
            stage.name = v;
            break;
          case 'namespace':
            stage.namespace = v;
            break;
          case 'clusterName':
            cluster.name = v;
            break;
          case 'region':
            cluster.region = v;
            break;
          case 'release':
            stage.deploy.release = v;
            break;
          case 'chart':
            stage.deploy.chart = m.prefix + v;
            break;
          case 'version':
            stage.deploy.version = v;
            stage.deploy.timeoutMinutes = m.timeoutMinutes;
            break;
          case 'repositoryKey':
            stage.deploy.values = { repositoryKey: v };
            break;
          case 'digestKey':
            stage.deploy.values = { digestKey: v };
            break;
          case 'terraform':
            stage.deploy = { driver: 'terraform', source: `${m.prefix}${v}`, workdir: v, imageVariable: v.replace(/^[^A-Za-z_]/, 'v'), allowDestroy: m.allowDestroy };
            break;
        }

        let cfg: GantryConfig;
        try {
          cfg = parseConfig(raw);
        } catch (e) {
          if (e instanceof ValidationError) return; // the schema refused it: no driver ever sees it
          throw e;
        }
        accepted++;
        for (const [service, svc] of Object.entries(cfg.services)) {
          for (const st of svc.stages) {
            const vars = driverEnvironment({ config: cfg, service, stage: st, digest: DIGEST, releaseId: pushExecutionName(service, DIGEST), kind: m.kind, registry: REGISTRY });
            for (const ev of vars) {
              checkedValues++;
              assert.match(ev.Value, SAFE_ENV_VALUE, `${ev.Name} of ${service}/${st.name} carries an unsafe value ${JSON.stringify(ev.Value)}`);
            }
          }
        }
      }),
      { numRuns: 400 },
    );

    // The property must have looked at real configs, not only at refused ones.
    assert.ok(accepted >= 40, `only ${accepted} of 400 generated configs were accepted by the schema`);
    assert.ok(checkedValues > 0);
  });
});

// ---------------------------------------------------------------- release outcome

function summary(stages: Array<Pick<StageSummary, 'name' | 'status'> & { reason?: string }>): ReleaseSummary {
  return {
    releaseId: 'payments-3c3c3c3c3c3c3c3c',
    kind: 'release',
    service: 'payments',
    digest: DIGEST,
    status: 'RUNNING',
    startedAt: '2026-11-24T10:00:00.000Z',
    stages: stages.map((s) => ({ gates: [], ...s })),
    version: 1,
    lastHash: '0'.repeat(64),
  };
}

describe('releaseOutcome', () => {
  const PRECEDENCE: StageStatus[] = ['ROLLBACK_FAILED', 'ROLLED_BACK', 'FAILED', 'REJECTED', 'BLOCKED', 'ABORTED'];

  PRECEDENCE.forEach((higher, i) => {
    for (const lower of PRECEDENCE.slice(i + 1)) {
      it(`ends a release ${higher} when one stage is ${higher} and an earlier one is ${lower}`, () => {
        const s = summary([
          { name: 'dev', status: lower, reason: `dev was ${lower}` },
          { name: 'prod', status: higher, reason: `prod was ${higher}` },
        ]);

        assert.deepEqual(releaseOutcome(s), { status: higher, reason: `prod: prod was ${higher}` });
      });
    }
  });

  it('uses the stage status as the reason when the stage has none', () => {
    assert.deepEqual(releaseOutcome(summary([{ name: 'dev', status: 'BLOCKED' }])), { status: 'BLOCKED', reason: 'dev: BLOCKED' });
  });

  it('ends a release SUCCEEDED when every stage was promoted', () => {
    const s = summary([
      { name: 'dev', status: 'PROMOTED' },
      { name: 'staging', status: 'PROMOTED' },
      { name: 'prod', status: 'PROMOTED' },
    ]);

    assert.deepEqual(releaseOutcome(s), { status: 'SUCCEEDED', reason: 'promoted through dev, staging, prod' });
  });

  it('ends a release FAILED, naming the stages left, when only some stages were promoted', () => {
    const s = summary([
      { name: 'dev', status: 'PROMOTED' },
      { name: 'staging', status: 'WAITING' },
      { name: 'prod', status: 'NOT_STARTED' },
    ]);

    assert.deepEqual(releaseOutcome(s), { status: 'FAILED', reason: 'release ended with stages not promoted: staging, prod' });
  });
});

// ---------------------------------------------------------------- driver failures

describe('driverFailureMessage', () => {
  it('takes the message of the failed phase from a Step Functions CodeBuild error (PascalCase Build)', () => {
    const cause = {
      Build: {
        BuildStatus: 'FAILED',
        Phases: [
          { PhaseType: 'SUBMITTED', PhaseStatus: 'SUCCEEDED' },
          { PhaseType: 'PROVISIONING', PhaseStatus: 'SUCCEEDED', Contexts: [{ StatusCode: '', Message: '' }] },
          { PhaseType: 'BUILD', PhaseStatus: 'FAILED', Contexts: [{ StatusCode: 'COMMAND_EXECUTION_ERROR', Message: 'UPGRADE FAILED' }] },
          { PhaseType: 'COMPLETED' },
        ],
      },
    };

    assert.equal(driverFailureMessage({ Error: 'States.TaskFailed', Cause: JSON.stringify(cause) }), 'UPGRADE FAILED');
  });

  it('takes the message of the failed phase from a real camelCase BatchGetBuilds build', () => {
    const sample = JSON.parse(readFileSync(join(SAMPLES, 'codebuild-batch-get-builds-failed.constructed.json'), 'utf8')) as { builds: unknown[] };

    const message = driverFailureMessage({ Error: 'States.TaskFailed', Cause: JSON.stringify(sample.builds[0]) });

    assert.equal(message, 'Error while executing command: docker build -t $ECR_REPO_URI:$IMAGE_TAG .. Reason: exit status 1');
  });

  it('takes the Kubernetes Status message and HTTP status from an eks:call error', () => {
    const cause = {
      ResponseBody: { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'deployments.apps "payments" not found', reason: 'NotFound', code: 404 },
      StatusCode: 404,
      StatusText: 'Not Found',
      Headers: {},
    };

    const message = driverFailureMessage({ Error: 'EKS.404', Cause: JSON.stringify(cause) });

    assert.equal(message, 'Kubernetes API 404 Not Found: deployments.apps "payments" not found');
  });

  it('falls back to the build status when no failed phase carries a message', () => {
    const cause = { Build: { BuildStatus: 'STOPPED', Phases: [{ PhaseType: 'BUILD', PhaseStatus: 'STOPPED', Contexts: [] }] } };

    assert.equal(driverFailureMessage({ Error: 'States.TaskFailed', Cause: JSON.stringify(cause) }), 'build STOPPED');
  });

  it('says the driver timed out on States.Timeout', () => {
    assert.equal(driverFailureMessage({ Error: 'States.Timeout', Cause: '' }), 'driver timed out');
  });

  it('keeps a plain-text cause as it is', () => {
    assert.equal(driverFailureMessage({ Error: 'DriverFailed', Cause: 'helm: context deadline exceeded' }), 'helm: context deadline exceeded');
  });

  it('names the error when there is no cause', () => {
    assert.equal(driverFailureMessage({ Error: 'Lambda.ServiceException' }), 'Lambda.ServiceException');
  });
});

describe('rollbackReason', () => {
  const NOW = '2026-11-24T10:40:00.000Z';

  it('names the alarm and the bake minute of an AlarmBreached failure, detected when the alarm fired', () => {
    const failure = {
      Error: 'AlarmBreached',
      Cause: JSON.stringify({ alarm: 'payments-prod-5xx', reason: 'Threshold Crossed', detectedAt: '2026-11-24T10:37:00.000Z', bakeMinute: 7 }),
    };

    assert.deepEqual(rollbackReason(failure, undefined, NOW), { reason: 'alarm payments-prod-5xx in ALARM at bake minute 7', detectedAt: '2026-11-24T10:37:00.000Z' });
  });

  it('blames the deploy with the driver’s message when the deploy failed', () => {
    const cause = JSON.stringify({ Build: { Phases: [{ PhaseStatus: 'FAILED', Contexts: [{ Message: 'UPGRADE FAILED' }] }] } });

    assert.deepEqual(rollbackReason({ Error: 'States.TaskFailed', Cause: cause }, undefined, NOW), { reason: 'deploy failed: UPGRADE FAILED', detectedAt: NOW });
  });

  it('keeps the bake’s own reason when the final check failed it', () => {
    assert.equal(
      rollbackReason({ Error: 'BakeFailed', Cause: 'final check after 30 minutes: alarm x is in ALARM' }, undefined, NOW).reason,
      'final check after 30 minutes: alarm x is in ALARM',
    );
  });
});

describe('supersededReason', () => {
  it('names the newer digest already running in the stage', () => {
    const r = supersededReason('dev', { digest: 'sha256:a', pushedAt: '2026-11-24T10:00:00Z' }, { digest: 'sha256:b', pushedAt: '2026-11-24T10:01:00Z' });
    assert.match(r ?? '', /^superseded: dev already runs sha256:b .* newer than sha256:a/);
  });
  it('lets a newer digest (or the same one) replace what runs', () => {
    assert.equal(supersededReason('dev', { digest: 'sha256:a', pushedAt: '2026-11-24T10:01:00Z' }, { digest: 'sha256:b', pushedAt: '2026-11-24T10:00:00Z' }), undefined);
    assert.equal(supersededReason('dev', { digest: 'sha256:a', pushedAt: '2026-11-24T10:00:00Z' }, { digest: 'sha256:a', pushedAt: '2026-11-24T10:00:00Z' }), undefined);
  });
});
