/**
 * The insight check's state stays under Step Functions' 256 KiB payload limit (States.DataLimitExceeded fails an
 * execution and no Catch can handle it) for 1,000 workloads whose Deployments carry full container specs: an
 * application container of about 3 KiB (env, probes, resources, mounts) and a sidecar. Measured through the local
 * engine, which runs statemachines/insight.asl.json with the real handlers and fails an execution whose state
 * output exceeds the limit, as Step Functions does (local/engine.ts STATE_PAYLOAD_LIMIT_BYTES).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import type { LocalCloud } from '../../local/cloud';
import { STATE_PAYLOAD_LIMIT_BYTES } from '../../local/engine';
import type { LocalContainer } from '../../local/kube';
import { loadScenario } from '../../local/scenario';
import {
  compareWorkload,
  DYNAMODB_ITEM_LIMIT_BYTES,
  type InsightCheckData,
  type InsightRecord,
  insightRecordBytes,
  type WorkloadTarget,
  workloadTargets,
} from '../../lambdas/domain/insight';
import { type SimulationResult, simulate } from '../../local/simulate';
import { ROOT } from './helpers';

const SERVICES = 100;
/** The simulation's registry host (lambdas/insight-record.ts). */
const REGISTRY = '000000000000.dkr.ecr.local.amazonaws.com';
const STAGES = ['dev', 'test', 'qa', 'perf', 'staging', 'uat', 'preprod', 'canary', 'prod', 'dr'] as const;
const digestOf = (i: number) => `sha256:${i.toString(16).padStart(64, '0')}`;
const svcName = (i: number) => `service-${String(i).padStart(3, '0')}`;

/** A Kubernetes container spec of about 3 KiB, as a real application container has (env, probes, resources, mounts). */
function fatContainer(name: string, image: string): LocalContainer {
  return {
    name,
    image,
    imagePullPolicy: 'IfNotPresent',
    ports: [
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
      { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
    ],
    env: Array.from({ length: 24 }, (_, i) => ({ name: `APP_SETTING_${i}`, value: `value-of-setting-number-${i}-for-${name}` })),
    resources: { requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '1', memory: '1Gi' } },
    livenessProbe: { httpGet: { path: '/healthz', port: 'http', scheme: 'HTTP' }, initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 },
    readinessProbe: { httpGet: { path: '/ready', port: 'http', scheme: 'HTTP' }, initialDelaySeconds: 5, periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 3 },
    volumeMounts: [
      { name: 'config', mountPath: '/etc/app', readOnly: true },
      { name: 'tmp', mountPath: '/tmp' },
    ],
    securityContext: { runAsNonRoot: true, runAsUser: 10001, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
  };
}

function scenario(): Record<string, unknown> {
  const services: Record<string, unknown> = {};
  const stages: Record<string, { running: string; lastKnownGood: string }> = {};
  for (let i = 0; i < SERVICES; i++) {
    services[svcName(i)] = {
      repository: `team-${i % 7}/${svcName(i)}`,
      // Ten stages each: scan waits and rollout watches sized so a release stays inside the history budget (decision 017).
      imagePolicy: { scanWaitMinutes: 1 },
      stages: STAGES.map((st) => ({
        name: st,
        cluster: st,
        namespace: `${svcName(i)}-ns`,
        deploy: { driver: 'kubernetes', deployment: `${svcName(i)}-api`, container: 'application', pollSeconds: 60 },
      })),
    };
    for (const st of STAGES) stages[`${svcName(i)}/${st}`] = { running: digestOf(i + 1), lastKnownGood: digestOf(i + 1) };
  }
  return {
    name: '1,000 workloads for the insight check',
    config: { services, clusters: Object.fromEntries(STAGES.map((st) => [st, { name: `${st}-platform-eks`, region: 'eu-west-2' }])) },
    clock: '2026-11-24T06:00:00Z',
    stages,
    triggers: [{ type: 'insight-check', at: 'PT0S' }],
  };
}

/** Every Deployment gets a 3 KiB application container and a sidecar before the check reads them. */
function fatten(cloud: LocalCloud): void {
  for (const d of cloud.kube.all()) {
    const app = d.containers.find((c) => c.name === 'application');
    d.containers = [fatContainer('envoy-proxy', 'public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29.6.0-prod'), fatContainer('application', app?.image ?? '')];
  }
}

describe('the insight check with 1,000 workloads', () => {
  let result: SimulationResult;
  const run = async () => {
    result ??= await simulate(loadScenario(scenario(), ROOT), { prepareCloud: fatten });
    return result;
  };

  it('reads Deployments whose container specs alone are far over the limit', async () => {
    const r = await run();
    const specs = r.output.workloads.length;

    assert.equal(specs, 1000);
    assert.ok(Buffer.byteLength(JSON.stringify(fatContainer('application', 'x'))) > 2800, 'a container spec of about 3 KiB');
    assert.ok(1000 * 2 * 2800 > STATE_PAYLOAD_LIMIT_BYTES * 20, 'keeping whole specs would exceed the limit twenty times over');
  });

  it('keeps every state of the execution under 256 KiB: no States.DataLimitExceeded', async () => {
    const r = await run();
    const ex = r.output.executions.find((e) => e.machine === 'insight');

    assert.ok(ex?.largestState, 'the engine measured the states');
    assert.ok((ex?.largestState?.bytes ?? Number.POSITIVE_INFINITY) <= STATE_PAYLOAD_LIMIT_BYTES, JSON.stringify(ex?.largestState));
    assert.notEqual(ex?.error, 'States.DataLimitExceeded');
  });

  it('records the check of 1,000 in-sync workloads in one DynamoDB item, with room to spare', async () => {
    const r = await run();
    const record = r.insightRecords[0];

    assert.equal(r.output.executions.find((e) => e.machine === 'insight')?.status, 'SUCCEEDED');
    assert.equal(r.output.insight.checks[0]?.inSync, 1000);
    assert.ok(record, 'the check was recorded');
    const bytes = insightRecordBytes(record);
    assert.ok(bytes < DYNAMODB_ITEM_LIMIT_BYTES / 2, `the record takes ${bytes} bytes: under half the 400 KB item limit`);
  });

  it('keeps each in-sync workload as <service>/<stage>@<digest>: the digest found running, which the ledger says runs there', async () => {
    const r = await run();
    const entries = (r.insightRecords[0]?.data as InsightCheckData).inSync;

    assert.equal(entries.length, 1000);
    assert.equal(entries[0], `${svcName(0)}/dev@${digestOf(1)}`);
    assert.ok(entries.includes(`${svcName(99)}/dr@${digestOf(100)}`));
    assert.equal(new Set(entries).size, 1000, 'one entry per workload');
  });

  it('is measured: the record of 1,000 in-sync workloads, before (full WorkloadResults, over 400 KB) and after (compact)', async () => {
    const r = await run();
    const record = r.insightRecords[0] as InsightRecord;
    // The record as it was before decision 036: every in-sync workload as a full WorkloadResult, rebuilt with
    // the very comparison the check makes from the entries' service, stage and digest.
    const { config } = loadScenario(scenario(), ROOT);
    const pointers = Object.fromEntries(Object.entries(scenario().stages as Record<string, { running: string }>).map(([k, v]) => [k, { running: v.running }]));
    const targets = new Map(workloadTargets(config, pointers).map((t) => [`${t.service}/${t.stage}`, t]));
    const full = (record.data as InsightCheckData).inSync.map((entry) => {
      const [key = '', digest = ''] = String(entry).split('@');
      const t = targets.get(key) as WorkloadTarget;
      return compareWorkload(t, { ok: true, containers: [{ name: t.container, image: `${REGISTRY}/${t.repository}@${digest}` }] }, REGISTRY);
    });
    const before = insightRecordBytes({ ...record, data: { ...(record.data as InsightCheckData), inSync: full } });
    const after = insightRecordBytes(record);

    assert.ok(
      full.every((w) => w.inSync),
      'the rebuilt results are in sync, as the check found them',
    );
    assert.ok(before > DYNAMODB_ITEM_LIMIT_BYTES, `before: ${before} bytes, over the item limit (putInsight failed with ValidationException)`);
    assert.ok(after * 3 < before, `after: ${after} bytes, less than a third of before (${before})`);
  });

  it('is measured: the largest state is the Map’s reads, about 0.2 KiB per workload', async () => {
    const r = await run();
    const largest = r.output.executions.find((e) => e.machine === 'insight')?.largestState;

    assert.ok(largest && largest.bytes > 100_000 && largest.bytes < 220_000, JSON.stringify(largest));
  });
});

describe('the local engine’s payload limit', () => {
  it('fails an execution whose state output exceeds 256 KiB with States.DataLimitExceeded, as Step Functions does (the limit is live)', async () => {
    const s = scenario() as { config: { services: Record<string, { stages: unknown[] }> }; stages: Record<string, unknown> };
    // 10 services × 10 stages = 100 workloads, each with 10 containers whose names are 300 characters long:
    // the names alone, which the reads keep, make about 300 KiB.
    for (const name of Object.keys(s.config.services).slice(10)) delete s.config.services[name];
    for (const key of Object.keys(s.stages)) if (!((key.split('/')[0] as string) in s.config.services)) delete s.stages[key];
    const longNames = (cloud: LocalCloud) => {
      for (const d of cloud.kube.all())
        d.containers = [...Array.from({ length: 10 }, (_, i) => ({ name: `sidecar-${i}-${'x'.repeat(290)}`, image: 'busybox:1.36' })), ...d.containers];
    };

    const r = await simulate(loadScenario(s, ROOT), { prepareCloud: longNames });

    const ex = r.output.executions.find((e) => e.machine === 'insight');
    assert.equal(ex?.status, 'FAILED');
    assert.equal(ex?.error, 'States.DataLimitExceeded');
    assert.ok((ex?.largestState?.bytes ?? 0) > STATE_PAYLOAD_LIMIT_BYTES, JSON.stringify(ex?.largestState));
    assert.deepEqual(r.insightRecords, [], 'nothing recorded');
  });
});
