import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'vitest';
import { awsDeps, buildAwsDeps, loadBundledConfig, resetAwsDepsForTests } from '../../../lambdas/adapters/aws-deps';
import { CloudWatchAlarms } from '../../../lambdas/adapters/cloudwatch';
import { DynamoLedger } from '../../../lambdas/adapters/dynamo-ledger';
import { EcrRegistry } from '../../../lambdas/adapters/ecr';
import { ConfigError } from '../../../lambdas/adapters/errors';
import { EventBridgePublisher } from '../../../lambdas/adapters/eventbridge';
import { SchedulerTimers } from '../../../lambdas/adapters/scheduler';
import { SfnExecutions, SfnTaskTokens } from '../../../lambdas/adapters/sfn';
import { configHash, parseConfig } from '../../../lambdas/domain/config';
import { ValidationError } from '../../../lambdas/domain/validation';

const CONFIG = JSON.stringify({
  services: {
    payments: {
      repository: 'payments-api',
      stages: [{ name: 'dev', cluster: 'dev', namespace: 'payments', deploy: { driver: 'helm', release: 'payments', chart: 'oci://x/y', version: '1.0.0' } }],
    },
  },
  clusters: { dev: { name: 'dev-eks', region: 'eu-west-2' } },
});

const ENV = {
  TABLE_NAME: 'gantry-ledger',
  EVENT_BUS_NAME: 'gantry-events',
  SCHEDULE_GROUP: 'gantry-bake-timers',
  SCHEDULER_ROLE_ARN: 'arn:aws:iam::111122223333:role/gantry-scheduler',
  RELEASE_STATE_MACHINE_ARN: 'arn:aws:states:eu-west-2:111122223333:stateMachine:gantry-release',
  BAKE_TIMER_FUNCTION_ARN: 'arn:aws:lambda:eu-west-2:111122223333:function:gantry-bake-timer',
};

describe('buildAwsDeps', () => {
  it('wires every port to its AWS adapter with the parsed config and its hash', () => {
    const deps = buildAwsDeps(ENV, CONFIG);

    assert.ok(deps.ledger instanceof DynamoLedger);
    assert.ok(deps.registry instanceof EcrRegistry);
    assert.ok(deps.alarms instanceof CloudWatchAlarms);
    assert.ok(deps.tasks instanceof SfnTaskTokens);
    assert.ok(deps.executions instanceof SfnExecutions);
    assert.ok(deps.timers instanceof SchedulerTimers);
    assert.ok(deps.bus instanceof EventBridgePublisher);
    assert.deepEqual(Object.keys(deps.config.services), ['payments']);
    assert.equal(deps.configHash, configHash(parseConfig(JSON.parse(CONFIG))));
    assert.ok(Math.abs(deps.now().getTime() - Date.now()) < 5_000);
  });

  for (const variable of ['TABLE_NAME', 'EVENT_BUS_NAME', 'SCHEDULE_GROUP', 'SCHEDULER_ROLE_ARN']) {
    it(`throws ConfigError naming ${variable} when it is missing`, () => {
      const env: Record<string, string> = { ...ENV };
      delete env[variable];

      assert.throws(
        () => buildAwsDeps(env, CONFIG),
        (e: unknown) => e instanceof ConfigError && e.name === 'ConfigError' && e.message.includes(variable),
      );
    });
  }

  it('builds without the state machine ARN, and starting an execution then names the missing variable', async () => {
    const { RELEASE_STATE_MACHINE_ARN: _unused, ...env } = ENV;

    const deps = buildAwsDeps(env, CONFIG);

    await assert.rejects(deps.executions.start('x', {}), (e: unknown) => e instanceof ConfigError && /RELEASE_STATE_MACHINE_ARN/.test(e.message));
  });

  it('builds without the bake timer ARN, and scheduling then names the missing variable', async () => {
    const { BAKE_TIMER_FUNCTION_ARN: _unused, ...env } = ENV;

    const deps = buildAwsDeps(env, CONFIG);

    await assert.rejects(deps.timers.schedule('x', '2026-11-24T10:00:00Z', {}), (e: unknown) => e instanceof ConfigError && /BAKE_TIMER_FUNCTION_ARN/.test(e.message));
  });
});

describe('loadBundledConfig', () => {
  it('throws ConfigError when nothing was bundled', () => {
    assert.throws(
      () => loadBundledConfig(undefined),
      (e: unknown) => e instanceof ConfigError && /GANTRY_CONFIG/.test(e.message),
    );
  });

  it('throws ConfigError keeping the parse error as cause when the JSON is broken', () => {
    assert.throws(
      () => loadBundledConfig('{"services":'),
      (e: unknown) => e instanceof ConfigError && e.cause instanceof SyntaxError,
    );
  });

  it('throws ValidationError naming the field when the config is invalid', () => {
    assert.throws(
      () => loadBundledConfig(JSON.stringify({ services: {}, clusters: 'nope' })),
      (e: unknown) => e instanceof ValidationError && e.source === 'GANTRY_CONFIG' && e.problems.some((p) => p.startsWith('clusters')),
    );
  });
});

describe('awsDeps', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
    resetAwsDepsForTests();
  });

  it('builds once and hands back the same Deps after', () => {
    Object.assign(process.env, ENV, { GANTRY_CONFIG: CONFIG });

    const first = awsDeps();
    process.env.TABLE_NAME = '';
    const second = awsDeps();

    assert.equal(second, first);
  });
});

describe('buildAwsDeps: the runtime facts', () => {
  it('is in Lambda exactly when AWS_LAMBDA_FUNCTION_NAME is set, in the region AWS_REGION names', () => {
    const inside = buildAwsDeps(
      { ...ENV, AWS_LAMBDA_FUNCTION_NAME: 'gantry-record-step', AWS_REGION: 'eu-west-2', ECR_REGISTRY: '111122223333.dkr.ecr.eu-west-2.amazonaws.com' },
      CONFIG,
    );
    assert.equal(inside.runtime.inLambda, true);
    assert.equal(inside.runtime.region, 'eu-west-2');
    assert.equal(inside.runtime.ecrRegistry, '111122223333.dkr.ecr.eu-west-2.amazonaws.com');
    const outside = buildAwsDeps(ENV, CONFIG);
    assert.equal(outside.runtime.inLambda, false);
    assert.equal(outside.runtime.region, undefined);
  });

  it('names ECR_REGISTRY when a handler reads the registry host of a function that was not given it', () => {
    const deps = buildAwsDeps({ ...ENV, AWS_LAMBDA_FUNCTION_NAME: 'gantry-window-gate' }, CONFIG);
    assert.throws(
      () => deps.runtime.ecrRegistry,
      (e: unknown) => e instanceof ConfigError && /ECR_REGISTRY/.test(e.message),
    );
  });
});
