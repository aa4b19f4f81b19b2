/**
 * Driver evidence on its way into the ledger: `extractDriverEvidence` (what a build reports, checked value
 * by value) and the record step's deployed / deploy-failed / rollback-deployed actions that write it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import fc from 'fast-check';
import { DynamoLedger } from '../../lambdas/adapters/dynamo-ledger';
import { parseConfig } from '../../lambdas/domain/config';
import { type EvidenceContext, evidenceShortfall, extractDriverEvidence } from '../../lambdas/domain/driver-evidence';
import { run as recordStep } from '../../lambdas/record-step';
import type { LocalDynamo } from '../../local/dynamo';
import { startMemoryDynamo } from '../../local/memory-dynamo';
import { ledgerOnlyDeps } from '../helpers/ledger-deps';

const RELEASE = 'payments-2222222222222222';
const BUILD_ID = 'gantry-helm:9b0ac37f-d19e-4254-9079-f47e9a389eEX';
const ARN = `arn:aws:codebuild:eu-west-2:111122223333:build/${BUILD_ID}`;
const SHA = 'a'.repeat(64);
const PLAN_SHA = 'b'.repeat(64);
const HELM: EvidenceContext = { driver: 'helm', releaseId: RELEASE, stage: 'dev', kind: 'deploy' };
const TF: EvidenceContext = { driver: 'terraform', releaseId: RELEASE, stage: 'prod', kind: 'deploy' };
/** The logs block of a real BatchGetBuilds answer (aws-samples/codebuild-batch-get-builds-succeeded-cli.json), in the PascalCase Step Functions hands over. */
const SAMPLE_LOGS = (() => {
  const sample = JSON.parse(readFileSync(join(__dirname, '../fixtures/aws-samples/codebuild-batch-get-builds-succeeded-cli.json'), 'utf8')) as {
    builds: Array<{ logs: { groupName: string; streamName: string; deepLink: string } }>;
  };
  const logs = sample.builds[0]?.logs;
  assert.ok(logs);
  return { GroupName: logs.groupName, StreamName: logs.streamName, DeepLink: logs.deepLink };
})();

const vars = (v: Record<string, string>) => Object.entries(v).map(([Name, Value]) => ({ Name, Value }));
/** The workflow's `$.deploy` after a CodeBuild driver: its ResultSelector keeps buildId, status and the whole Build. */
function deployResult(exported: Record<string, string>, build: Record<string, unknown> = {}) {
  return {
    buildId: BUILD_ID,
    status: 'SUCCEEDED',
    build: { Id: BUILD_ID, Arn: ARN, BuildStatus: 'SUCCEEDED', Logs: SAMPLE_LOGS, ExportedEnvironmentVariables: vars(exported), ...build },
  };
}
const GOOD_HELM = { HELM_REVISION: '7', HELM_STATUS: 'deployed', HELM_STATUS_SHA256: SHA };
const GOOD_TF = { TF_PLAN_SHA256: PLAN_SHA, TF_PLAN_KEY: `evidence/${RELEASE}/prod/deploy/plan.json`, TF_PLAN_SUMMARY: '{"add":1,"change":2,"destroy":0}' };

describe('extractDriverEvidence', () => {
  describe('good evidence', () => {
    it('keeps the build, its log link and the Helm revision, status and status sha256', () => {
      const { evidence, warnings } = extractDriverEvidence(HELM, deployResult(GOOD_HELM));
      assert.deepEqual(evidence, { driver: 'helm', buildId: BUILD_ID, buildArn: ARN, logUrl: SAMPLE_LOGS.DeepLink, helm: { revision: 7, status: 'deployed', statusSha256: SHA } });
      assert.deepEqual(warnings, []);
    });

    it('keeps the Terraform plan sha256, its key and the add/change/destroy counts', () => {
      const { evidence, warnings } = extractDriverEvidence(TF, deployResult(GOOD_TF));
      assert.deepEqual(evidence.terraform, { planSha256: PLAN_SHA, planKey: `evidence/${RELEASE}/prod/deploy/plan.json`, add: 1, change: 2, destroy: 0 });
      assert.deepEqual(warnings, []);
    });

    it('reads a failed build from the Catch’s Cause (the .sync result as JSON text)', () => {
      const cause = JSON.stringify({ Build: deployResult({ ...GOOD_TF, TF_PLAN_SUMMARY: '{"add":0,"change":1,"destroy":1}' }).build });
      const { evidence } = extractDriverEvidence(TF, { Error: 'States.TaskFailed', Cause: cause });
      assert.equal(evidence.buildId, BUILD_ID);
      assert.equal(evidence.terraform?.destroy, 1);
    });

    it('reads the raw .sync output ({ Build }) too', () => {
      const { evidence } = extractDriverEvidence(HELM, { Build: deployResult(GOOD_HELM).build });
      assert.equal(evidence.helm?.revision, 7);
    });

    it('builds the CloudWatch Logs link from the group and stream when the build gives no deep link', () => {
      const { evidence } = extractDriverEvidence(HELM, deployResult(GOOD_HELM, { Logs: { GroupName: '/aws/codebuild/gantry-helm', StreamName: '9b0ac37f-d19e' } }));
      assert.equal(evidence.logUrl, 'https://eu-west-2.console.aws.amazon.com/cloudwatch/home?region=eu-west-2#logEvent:group=/aws/codebuild/gantry-helm;stream=9b0ac37f-d19e');
    });

    it('keeps an evidence key for the Helm status when the driver reports one for this run', () => {
      const { evidence } = extractDriverEvidence(HELM, deployResult({ ...GOOD_HELM, HELM_STATUS_KEY: `evidence/${RELEASE}/dev/deploy/helm-status.json` }));
      assert.equal(evidence.helm?.statusKey, `evidence/${RELEASE}/dev/deploy/helm-status.json`);
    });
  });

  describe('missing evidence', () => {
    it('keeps the build but has no Helm member when the build exported nothing, and says so', () => {
      const { evidence, warnings } = extractDriverEvidence(HELM, deployResult({}));
      assert.equal(evidence.buildId, BUILD_ID);
      assert.equal(evidence.helm, undefined);
      assert.equal(evidence.dropped, undefined);
      assert.match(warnings.join('\n'), /no Helm evidence: HELM_REVISION, HELM_STATUS, HELM_STATUS_SHA256 missing or dropped/);
    });

    it('treats a declared variable the build never set (CodeBuild exports it empty) as missing, not malformed', () => {
      const { evidence } = extractDriverEvidence(TF, deployResult({ TF_PLAN_SHA256: '', TF_PLAN_KEY: '', TF_PLAN_SUMMARY: '' }));
      assert.equal(evidence.terraform, undefined);
      assert.equal(evidence.dropped, undefined);
    });

    it('falls back to the build id the workflow passed when there is no build object (older definitions)', () => {
      const { evidence } = extractDriverEvidence(HELM, undefined, BUILD_ID);
      assert.deepEqual(evidence, { driver: 'helm', buildId: BUILD_ID });
    });
  });

  describe('malformed evidence is dropped, named, and never echoed', () => {
    const cases: Array<[string, EvidenceContext, Record<string, string>, string]> = [
      ['a revision carrying a command', HELM, { ...GOOD_HELM, HELM_REVISION: '7; rm -rf /' }, 'HELM_REVISION'],
      ['a status Helm does not have', HELM, { ...GOOD_HELM, HELM_STATUS: '$(id)' }, 'HELM_STATUS'],
      ['an upper-case sha256', HELM, { ...GOOD_HELM, HELM_STATUS_SHA256: SHA.toUpperCase() }, 'HELM_STATUS_SHA256'],
      ['a plan key of another stage', TF, { ...GOOD_TF, TF_PLAN_KEY: `evidence/${RELEASE}/dev/deploy/plan.json` }, 'TF_PLAN_KEY'],
      ['a plan key leaving the evidence prefix', TF, { ...GOOD_TF, TF_PLAN_KEY: `evidence/${RELEASE}/prod/deploy/../../x/plan.json` }, 'TF_PLAN_KEY'],
      ['a summary with more than the counts', TF, { ...GOOD_TF, TF_PLAN_SUMMARY: '{"add":1,"change":2,"destroy":0,"x":"`id`"}' }, 'TF_PLAN_SUMMARY'],
      ['a plan sha256 that is not one', TF, { ...GOOD_TF, TF_PLAN_SHA256: `${PLAN_SHA}\nid` }, 'TF_PLAN_SHA256'],
    ];
    for (const [what, ctx, exported, name] of cases) {
      it(`drops ${what} and the driver member it belongs to`, () => {
        const { evidence, warnings } = extractDriverEvidence(ctx, deployResult(exported));
        assert.deepEqual(evidence.dropped, [name]);
        assert.equal(ctx.driver === 'helm' ? evidence.helm : evidence.terraform, undefined);
        assert.match(warnings[0] ?? '', new RegExp(`^${name}: .*; dropped$`));
        const bad = exported[name] as string;
        assert.ok(!warnings.join('\n').includes(bad), 'a warning never repeats the rejected value');
        assert.ok(!JSON.stringify(evidence).includes(bad), 'the evidence never carries the rejected value');
      });
    }

    it('drops a status key of another release but keeps the rest of the Helm evidence (the key is optional)', () => {
      const { evidence } = extractDriverEvidence(HELM, deployResult({ ...GOOD_HELM, HELM_STATUS_KEY: 'evidence/other-release/dev/deploy/helm-status.json' }));
      assert.deepEqual(evidence.dropped, ['HELM_STATUS_KEY']);
      assert.deepEqual(evidence.helm, { revision: 7, status: 'deployed', statusSha256: SHA });
    });

    it('drops a build ARN that names another build, and a deep link outside the AWS console', () => {
      const { evidence } = extractDriverEvidence(
        HELM,
        deployResult(GOOD_HELM, {
          Arn: 'arn:aws:codebuild:eu-west-2:111122223333:build/gantry-helm:other',
          Logs: { DeepLink: 'https://evil.example.com/cloudwatch/home?region=eu-west-2' },
        }),
      );
      assert.equal(evidence.buildArn, undefined);
      assert.equal(evidence.logUrl, undefined);
      assert.deepEqual(evidence.dropped, ['Build.Arn', 'Build.Logs']);
      assert.equal(evidence.helm?.revision, 7);
    });

    it('ignores another driver’s variables, with a warning', () => {
      const { evidence, warnings } = extractDriverEvidence(HELM, deployResult({ ...GOOD_HELM, TF_PLAN_SHA256: PLAN_SHA }));
      assert.equal(evidence.terraform, undefined);
      assert.match(warnings.join('\n'), /TF_PLAN_SHA256: exported by a build of the helm driver, which does not report it; ignored/);
    });

    it('never throws, and keeps only values matching their patterns, whatever the build reports', () => {
      fc.assert(
        fc.property(
          fc.anything(),
          fc.dictionary(fc.constantFrom('HELM_REVISION', 'HELM_STATUS', 'HELM_STATUS_SHA256', 'TF_PLAN_SHA256', 'TF_PLAN_KEY', 'TF_PLAN_SUMMARY', 'X'), fc.string()),
          (junk, exported) => {
            for (const ctx of [HELM, TF]) {
              extractDriverEvidence(ctx, junk);
              const { evidence } = extractDriverEvidence(ctx, deployResult(exported));
              if (evidence.helm) assert.match(evidence.helm.statusSha256, /^[a-f0-9]{64}$/);
              if (evidence.terraform) assert.match(evidence.terraform.planKey, /^evidence\/payments-2222222222222222\/prod\/deploy\/plan\.json$/);
            }
          },
        ),
        { numRuns: 200 },
      );
    });
  });
});

describe('evidenceShortfall', () => {
  it('accepts a Helm deploy with its build and status, and a Terraform deploy with its plan', () => {
    assert.equal(evidenceShortfall('helm', extractDriverEvidence(HELM, deployResult(GOOD_HELM)).evidence), undefined);
    assert.equal(evidenceShortfall('terraform', extractDriverEvidence(TF, deployResult(GOOD_TF)).evidence), undefined);
  });

  it('names what a deploy lacks: no evidence, no driver member, another driver’s evidence', () => {
    assert.match(evidenceShortfall('helm', undefined) ?? '', /no driver evidence/);
    assert.match(evidenceShortfall('terraform', extractDriverEvidence(TF, deployResult({})).evidence) ?? '', /lacks the plan sha256, key and counts/);
    assert.match(evidenceShortfall('terraform', extractDriverEvidence(HELM, deployResult(GOOD_HELM)).evidence) ?? '', /evidence is for driver helm/);
  });

  it('asks a Kubernetes deploy for its rollout evidence, not for a build', () => {
    assert.equal(evidenceShortfall('kubernetes', { driver: 'kubernetes', kubernetes: { generation: 4 } }), undefined);
    assert.match(evidenceShortfall('kubernetes', { driver: 'kubernetes' }) ?? '', /lacks the kubernetes driver's evidence/);
  });
});

// ---------------------------------------------------------------- the record step writes it

const baseConfig = JSON.parse(readFileSync(join(__dirname, '../../examples/gantry.config.json'), 'utf8'));
baseConfig.services.payments.stages[2].deploy = { driver: 'terraform', source: 's3://tf-sources/payments.zip', workdir: 'prod', imageVariable: 'image', timeoutMinutes: 20 };
const config = parseConfig(baseConfig);
const DIGEST = `sha256:${'2'.repeat(64)}`;
let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startMemoryDynamo();
});
afterAll(async () => {
  await dynamo?.close();
});
async function started(releaseId: string) {
  const ledger = new DynamoLedger({ client: dynamo.doc, tableName: dynamo.tableName });
  const deps = ledgerOnlyDeps(config, ledger);
  await ledger.append({
    releaseId,
    stepKey: 'release.started',
    type: 'release.started',
    at: '2026-11-24T12:00:00.000Z',
    data: {
      kind: 'release',
      service: 'payments',
      digest: DIGEST,
      stages: ['dev', 'staging', 'prod'],
      executionArn: `arn:aws:states:eu-west-2:111122223333:execution:gantry-release:${releaseId}`,
    },
  });
  const finished = async (stage: string, kind = 'deploy') =>
    (await ledger.events(releaseId)).find((e) => e.type === 'deploy.finished' && e.stage === stage && e.data.kind === kind)?.data;
  return { deps, ledger, finished };
}

describe('the record step', () => {
  it('records the driver on deploy.started and the validated evidence on deploy.finished (deployed)', async () => {
    const releaseId = 'payments-ev-deployed';
    const { deps, ledger, finished } = await started(releaseId);
    await recordStep({ action: 'deploy-started', releaseId, stage: 'dev' }, deps);
    await recordStep({ action: 'deployed', releaseId, stage: 'dev', buildId: BUILD_ID, result: deployResult(GOOD_HELM) }, deps);
    const startedEvent = (await ledger.events(releaseId)).find((e) => e.type === 'deploy.started');
    assert.equal(startedEvent?.data.driver, 'helm');
    const data = await finished('dev');
    assert.equal(data?.buildId, BUILD_ID);
    assert.deepEqual(data?.evidence, {
      driver: 'helm',
      buildId: BUILD_ID,
      buildArn: ARN,
      logUrl: SAMPLE_LOGS.DeepLink,
      helm: { revision: 7, status: 'deployed', statusSha256: SHA },
    });
  });

  it('records a failed Terraform deploy with the evidence of the plan it refused (deploy-failed)', async () => {
    const releaseId = 'payments-ev-failed';
    const { deps, finished } = await started(releaseId);
    const build = {
      ...deployResult({ ...GOOD_TF, TF_PLAN_KEY: `evidence/${releaseId}/prod/deploy/plan.json`, TF_PLAN_SUMMARY: '{"add":0,"change":1,"destroy":2}' }).build,
      BuildStatus: 'FAILED',
    };
    const out = await recordStep({ action: 'deploy-failed', releaseId, stage: 'prod', error: { Error: 'States.TaskFailed', Cause: JSON.stringify({ Build: build }) } }, deps);
    assert.equal(out.Error, 'DeployFailed');
    const data = await finished('prod');
    assert.equal(data?.result, 'FAILED');
    assert.deepEqual((data?.evidence as { terraform?: unknown }).terraform, {
      planSha256: PLAN_SHA,
      planKey: `evidence/${releaseId}/prod/deploy/plan.json`,
      add: 0,
      change: 1,
      destroy: 2,
    });
  });

  it('records what is missing or malformed as such: no member, the dropped names, never the values (rollback-deployed)', async () => {
    const releaseId = 'payments-ev-rollback';
    const { deps, finished } = await started(releaseId);
    await recordStep(
      {
        action: 'rollback-deployed',
        releaseId,
        stage: 'dev',
        buildId: 'not a build id',
        result: {
          buildId: 'x',
          build: { Id: 'not a build id', ExportedEnvironmentVariables: vars({ HELM_REVISION: '$(reboot)', HELM_STATUS: 'deployed', HELM_STATUS_SHA256: SHA }) },
        },
      },
      deps,
    );
    const data = await finished('dev', 'rollback');
    assert.equal(data?.buildId, null);
    assert.deepEqual(data?.evidence, { driver: 'helm', dropped: ['Build.Id', 'HELM_REVISION'] });
    assert.ok(!JSON.stringify(data).includes('reboot'));
  });
});
