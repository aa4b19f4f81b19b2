/**
 * The deploy timeouts, budgeted by one formula (lambdas/domain/release.ts `driverTimeouts`): for every driver
 * and every stage, the tool's longest run (Helm: the upgrade and `--atomic`'s rollback, each up to
 * `--timeout`) plus start-up fits in the CodeBuild build timeout, and the build (queue included) ends before
 * the workflow's task gives up on it. Also: the numbers the formula assumes are the ones the driver scripts
 * and buildspecs use.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import fc from 'fast-check';
import { type GantryConfig, parseConfig } from '../../lambdas/domain/config';
import {
  DRIVER_QUEUED_MINUTES,
  DRIVER_START_UP_MINUTES,
  deployTimeoutSeconds,
  deployToolMinutes,
  driverEnvironment,
  driverTimeouts,
  TASK_MARGIN_MINUTES,
  TERRAFORM_LOCK_TIMEOUT_MINUTES,
} from '../../lambdas/domain/release';

const ROOT = join(__dirname, '..', '..');
const DIGEST = `sha256:${'a'.repeat(64)}`;

type Driver = 'helm' | 'terraform' | 'kubernetes';
const deployOf = (driver: Driver, timeoutMinutes: number): Record<string, unknown> => {
  if (driver === 'helm') return { driver, release: 'svc', chart: 'repo/svc', version: '1.0.0', timeoutMinutes };
  if (driver === 'terraform') return { driver, source: 's3://tf-sources/svc.zip', workdir: 'stage', imageVariable: 'image', timeoutMinutes };
  return { driver, deployment: 'svc', container: 'api', timeoutMinutes };
};

/** A config of services whose stages use the given drivers and timeouts. */
function configOf(stages: ReadonlyArray<{ driver: Driver; timeoutMinutes: number }>): GantryConfig {
  return parseConfig({
    services: {
      svc: {
        repository: 'svc',
        stages: stages.map((st, i) => ({ name: `s${i}`, cluster: 'c', namespace: 'svc', deploy: deployOf(st.driver, st.timeoutMinutes) })),
      },
    },
    clusters: { c: { name: 'c-eks', region: 'eu-west-2' } },
  });
}

const stageArb = fc.record({ driver: fc.constantFrom<Driver>('helm', 'terraform', 'kubernetes'), timeoutMinutes: fc.integer({ min: 1, max: 120 }) });

describe('deploy timeouts', () => {
  it('give every Helm stage room for its upgrade and --atomic rollback (2 × --timeout) plus start-up inside the build timeout, and the build room inside the task timeout', () => {
    fc.assert(
      fc.property(fc.array(stageArb, { minLength: 1, maxLength: 8 }), (stages) => {
        // A config the history budget refuses (many long, closely watched Kubernetes rollouts) never deploys: not a case here.
        let config: GantryConfig;
        try {
          config = configOf(stages);
        } catch (e) {
          if (/history events/.test(String((e as Error).message) + String((e as { problems?: string[] }).problems ?? ''))) return fc.pre(false);
          throw e;
        }
        for (const st of config.services.svc?.stages ?? []) {
          const task = deployTimeoutSeconds(config, st);
          if (st.deploy.driver === 'kubernetes') {
            assert.ok(task >= st.deploy.timeoutMinutes * 60, 'a kubernetes task outlasts the rollout deadline');
            continue;
          }
          const t = driverTimeouts(config, st.deploy.driver);
          const helmTimeout = Number(
            driverEnvironment({ config, service: 'svc', stage: st, digest: DIGEST, releaseId: 'r', kind: 'deploy', registry: 'reg' })
              .find((v) => v.Name === 'GANTRY_HELM_TIMEOUT')
              ?.Value.replace(/m$/, '') ?? 0,
          );
          if (st.deploy.driver === 'helm') {
            assert.equal(helmTimeout, st.deploy.timeoutMinutes, 'helm --timeout is the stage timeoutMinutes');
            assert.ok(helmTimeout * 2 + DRIVER_START_UP_MINUTES <= t.buildMinutes, `helm ${helmTimeout}m × 2 + ${DRIVER_START_UP_MINUTES} > build ${t.buildMinutes}`);
          } else {
            assert.ok(st.deploy.timeoutMinutes + 2 * TERRAFORM_LOCK_TIMEOUT_MINUTES + DRIVER_START_UP_MINUTES <= t.buildMinutes);
          }
          assert.ok(t.buildMinutes * 60 <= task, `build ${t.buildMinutes} min > task ${task} s`);
          assert.ok((t.queuedMinutes + t.buildMinutes) * 60 < task, 'a build that queued as long as allowed and then ran as long as allowed still ends before the task');
          assert.ok(t.buildMinutes >= 5 && t.buildMinutes <= 2160, `CodeBuild accepts 5 to 2160 minutes, not ${t.buildMinutes}`);
          assert.ok(t.queuedMinutes >= 5 && t.queuedMinutes <= 480, `CodeBuild accepts a queued timeout of 5 to 480 minutes, not ${t.queuedMinutes}`);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('size one project for its slowest stage, so a fast stage’s task still outlasts the project’s build timeout', () => {
    const config = configOf([
      { driver: 'helm', timeoutMinutes: 5 },
      { driver: 'helm', timeoutMinutes: 30 },
      { driver: 'terraform', timeoutMinutes: 20 },
    ]);
    const [fast, slow, tf] = config.services.svc?.stages ?? [];

    // Worked by hand: Helm 2 × 30 + 10 = 70 min; Terraform 20 + 2 × 5 + 10 = 40 min; tasks 30 + build + 5.
    assert.deepEqual(driverTimeouts(config, 'helm'), { driver: 'helm', buildMinutes: 70, queuedMinutes: 30, taskSeconds: 105 * 60 });
    assert.deepEqual(driverTimeouts(config, 'terraform'), { driver: 'terraform', buildMinutes: 40, queuedMinutes: 30, taskSeconds: 75 * 60 });
    assert.equal(deployTimeoutSeconds(config, fast as never), 105 * 60);
    assert.equal(deployTimeoutSeconds(config, slow as never), 105 * 60);
    assert.equal(deployTimeoutSeconds(config, tf as never), 75 * 60);
  });

  it('count the tool’s longest run per driver: Helm twice its timeout, Terraform its timeout and two lock waits, Kubernetes its deadline', () => {
    const config = configOf([
      { driver: 'helm', timeoutMinutes: 12 },
      { driver: 'terraform', timeoutMinutes: 12 },
      { driver: 'kubernetes', timeoutMinutes: 12 },
    ]);

    assert.deepEqual(
      config.services.svc?.stages.map((st) => deployToolMinutes(st.deploy)),
      [24, 22, 12],
    );
    assert.equal(deployTimeoutSeconds(config, config.services.svc?.stages[2] as never), (12 + TASK_MARGIN_MINUTES) * 60);
  });

  it('would catch the old budget (longest timeoutMinutes + 10), which left no room for Helm’s rollback', () => {
    const stage = { timeoutMinutes: 15 };
    const oldBuild = stage.timeoutMinutes + 10;

    assert.ok(stage.timeoutMinutes * 2 + DRIVER_START_UP_MINUTES > oldBuild, 'the old build timeout fails the invariant');
  });
});

describe('what the formula assumes about the drivers', () => {
  it('Helm runs upgrade --atomic with --timeout from GANTRY_HELM_TIMEOUT, once per build', () => {
    const script = readFileSync(join(ROOT, 'drivers', 'helm', 'deploy.sh'), 'utf8');

    assert.equal(script.match(/^helm upgrade /gm)?.length, 1, 'one helm upgrade command');
    assert.match(script, /--atomic \\\n/);
    assert.match(script, /--timeout "\$GANTRY_HELM_TIMEOUT" \\\n/);
  });

  it(`Terraform waits at most ${TERRAFORM_LOCK_TIMEOUT_MINUTES} minutes for the state lock, in plan and in apply only`, () => {
    const script = readFileSync(join(ROOT, 'drivers', 'terraform', 'deploy.sh'), 'utf8');
    const locks = [...script.matchAll(/-lock-timeout=(\d+)m/g)].map((m) => Number(m[1]));

    assert.deepEqual(locks, [TERRAFORM_LOCK_TIMEOUT_MINUTES, TERRAFORM_LOCK_TIMEOUT_MINUTES]);
    assert.doesNotMatch(script, /-lock=false/);
  });

  for (const buildspec of ['helm', 'terraform']) {
    it(`${buildspec}.yml: the install phase's downloads are bounded within the start-up margin (${DRIVER_START_UP_MINUTES} minutes)`, () => {
      const text = readFileSync(join(ROOT, 'drivers', buildspec, 'buildspec.yml'), 'utf8');
      const curls = text.split('\n').filter((l) => /\bcurl\b/.test(l));

      assert.ok(curls.length > 0);
      let seconds = 0;
      for (const c of curls) {
        const maxTime = Number(/--max-time (\d+)/.exec(c)?.[1]);
        const retries = Number(/--retry (\d+)/.exec(c)?.[1] ?? 0);
        assert.ok(Number.isFinite(maxTime), `${buildspec}: every curl has --max-time: ${c.trim()}`);
        // Each attempt up to --max-time, and curl's retry back-off (1 s, doubling) between attempts.
        seconds += (retries + 1) * maxTime + (2 ** retries - 1);
      }
      assert.ok(seconds <= DRIVER_START_UP_MINUTES * 60, `${seconds} s of downloads in a ${DRIVER_START_UP_MINUTES}-minute start-up margin`);
    });
  }

  it(`queues a build at most ${DRIVER_QUEUED_MINUTES} minutes`, () => {
    assert.equal(driverTimeouts(configOf([{ driver: 'helm', timeoutMinutes: 1 }]), 'helm').queuedMinutes, DRIVER_QUEUED_MINUTES);
  });
});
