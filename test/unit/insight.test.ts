/** lambdas/domain/insight.ts: stale services, drift and the insight chain, on hand-built inputs with known answers. */
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { parseConfig } from '../../lambdas/domain/config';
import {
  chainInsight,
  compareWorkload,
  type DriftFinding,
  findStaleServices,
  type InsightRecord,
  lastPromotionOf,
  parseImageReference,
  serviceHistory,
  verifyInsightChain,
  type WorkloadTarget,
  workloadTargets,
} from '../../lambdas/domain/insight';
import type { ReleaseSummary } from '../../lambdas/domain/ledger';
import { insightMetrics } from '../../lambdas/shared/insight-metrics';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const D3 = `sha256:${'3'.repeat(64)}`;
const REG = '111122223333.dkr.ecr.eu-west-2.amazonaws.com';
const ROLE = 'arn:aws:iam::111122223333:role/gantry-cluster-access';
const helm = { driver: 'helm', release: 'payments', chart: 'repo/payments', version: '1.0.0' };

const config = (insight?: Record<string, unknown>) =>
  parseConfig({
    services: {
      payments: {
        repository: 'payments-api',
        stages: [
          { name: 'dev', cluster: 'dev', namespace: 'payments', deploy: { driver: 'kubernetes', deployment: 'payments', container: 'api' } },
          { name: 'staging', cluster: 'dev', namespace: 'payments', deploy: helm },
          { name: 'prod', cluster: 'prod', namespace: 'payments', deploy: helm, workload: { deployment: 'payments-web', container: 'web' } },
        ],
      },
      ledger: { repository: 'ledger-service', stages: [{ name: 'prod', cluster: 'prod', namespace: 'ledger', deploy: { ...helm, release: 'ledger' } }] },
    },
    clusters: { dev: { name: 'dev-eks', region: 'eu-west-2' }, prod: { name: 'prod-eks', region: 'eu-west-2' } },
    ...(insight ? { insight } : {}),
  });

const target = (over: Partial<WorkloadTarget> = {}): WorkloadTarget => ({
  service: 'payments',
  stage: 'prod',
  cluster: 'prod',
  clusterName: 'prod-eks',
  region: 'eu-west-2',
  namespace: 'payments',
  deployment: 'payments-web',
  container: 'web',
  repository: 'payments-api',
  running: D2,
  lastKnownGood: D1,
  path: '/apis/apps/v1/namespaces/payments/deployments/payments-web',
  ...over,
});
const running = (image: string) => ({
  ok: true as const,
  containers: [
    { name: 'sidecar', image: 'envoy:1.30' },
    { name: 'web', image },
  ],
});

function summary(
  releaseId: string,
  service: string,
  startedAt: string,
  stages: Array<{ name: string; status: string; endedAt?: string }>,
  kind: 'release' | 'rollback' = 'release',
): ReleaseSummary {
  return {
    releaseId,
    kind,
    service,
    status: 'SUCCEEDED',
    startedAt,
    stages: stages.map((s) => ({ ...s, gates: [] })),
    version: 1,
    lastHash: '0'.repeat(64),
  } as unknown as ReleaseSummary;
}

describe('parseImageReference', () => {
  it('splits registry, repository, tag and digest', () => {
    assert.deepEqual(parseImageReference(`${REG}/payments-api@${D2}`), { registry: REG, repository: 'payments-api', digest: D2 });
    assert.deepEqual(parseImageReference(`${REG}/team/payments-api:v1.4.2`), { registry: REG, repository: 'team/payments-api', tag: 'v1.4.2' });
    assert.deepEqual(parseImageReference('localhost:5000/payments-api:v1'), { registry: 'localhost:5000', repository: 'payments-api', tag: 'v1' });
    assert.deepEqual(parseImageReference('payments-api'), { repository: 'payments-api' });
    assert.deepEqual(parseImageReference(`library/nginx:1.27@${D3}`), { repository: 'library/nginx', tag: '1.27', digest: D3 });
  });
});

describe('compareWorkload', () => {
  it('is in sync when the container runs <registry>/<repository>@<running digest>', () => {
    const r = compareWorkload(target(), running(`${REG}/payments-api@${D2}`), REG);
    assert.equal(r.inSync, true);
    assert.equal(r.expected, `${REG}/payments-api@${D2}`);
  });

  it('flags another digest as an out-of-band change, naming the last known good when it is that', () => {
    const r = compareWorkload(target(), running(`${REG}/payments-api@${D1}`), REG) as DriftFinding;
    assert.equal(r.inSync, false);
    assert.equal(r.kind, 'other-digest');
    assert.match(r.reason, /runs sha256:111111111111… \(the last known good\), the ledger says sha256:222222222222…: changed outside Gantry/);
  });

  it('flags an image run by tag even when the tag is the release tag', () => {
    const r = compareWorkload(target(), running(`${REG}/payments-api:v1.4.2`), REG) as DriftFinding;
    assert.equal(r.kind, 'tag-reference');
    assert.match(r.reason, /payments-api:v1\.4\.2 by tag, not pinned to a digest/);
  });

  it('flags another repository and another registry', () => {
    assert.equal((compareWorkload(target(), running(`${REG}/other@${D2}`), REG) as DriftFinding).kind, 'other-repository');
    assert.equal((compareWorkload(target(), running(`docker.io/payments-api@${D2}`), REG) as DriftFinding).kind, 'other-registry');
  });

  it('does not check the registry when none is given', () => {
    assert.equal(compareWorkload(target(), running(`docker.io/payments-api@${D2}`)).inSync, true);
  });

  it('flags a missing container, listing the containers there are', () => {
    const r = compareWorkload(target(), { ok: true, containers: [{ name: 'api', image: 'x' }] }, REG) as DriftFinding;
    assert.equal(r.kind, 'container-missing');
    assert.equal(r.found, null);
    assert.match(r.reason, /has no container web \(it has api\)/);
  });

  it('reads a 404 as a missing Deployment and any other failure as unreadable', () => {
    const missing = compareWorkload(target(), { ok: false, error: 'EKS.404', cause: '{"reason":"NotFound"}' }, REG) as DriftFinding;
    assert.equal(missing.kind, 'deployment-missing');
    assert.match(missing.reason, /Deployment payments\/payments-web on prod-eks does not exist/);
    const denied = compareWorkload(target(), { ok: false, error: 'EKS.403', cause: 'forbidden' }, REG) as DriftFinding;
    assert.equal(denied.kind, 'unreadable');
    assert.match(denied.reason, /could not read Deployment .*EKS\.403: forbidden/);
  });

  it('flags an image where the ledger records nothing running', () => {
    const r = compareWorkload(target({ running: null }), running(`${REG}/payments-api@${D2}`), REG) as DriftFinding;
    assert.equal(r.kind, 'not-recorded');
    assert.equal(r.expected, null);
  });
});

describe('workloadTargets', () => {
  it('lists kubernetes stages by their deploy and other stages only with a workload, with the pointer', () => {
    const t = workloadTargets(config(), { 'payments/prod': { running: D2, lastKnownGood: D1 } });
    assert.deepEqual(
      t.map((x) => [x.service, x.stage, x.clusterName, x.deployment, x.container, x.running, x.path]),
      [
        ['payments', 'dev', 'dev-eks', 'payments', 'api', null, '/apis/apps/v1/namespaces/payments/deployments/payments'],
        ['payments', 'prod', 'prod-eks', 'payments-web', 'web', D2, '/apis/apps/v1/namespaces/payments/deployments/payments-web'],
      ],
    );
  });

  it('is empty when insight.driftCheck is false', () => {
    assert.deepEqual(workloadTargets(config({ driftCheck: false }), {}), []);
  });
});

describe('stale services', () => {
  const now = new Date('2026-12-10T12:00:00Z');

  it("counts from the last promotion of the service's last stage, rollbacks and other stages ignored", () => {
    const releases = [
      summary('r1', 'payments', '2026-11-01T09:00:00Z', [{ name: 'prod', status: 'PROMOTED', endedAt: '2026-11-01T10:00:00Z' }]),
      summary('r2', 'payments', '2026-11-20T09:00:00Z', [{ name: 'prod', status: 'PROMOTED', endedAt: '2026-11-20T10:00:00Z' }]),
      summary('r3', 'payments', '2026-12-05T09:00:00Z', [
        { name: 'dev', status: 'PROMOTED', endedAt: '2026-12-05T09:30:00Z' },
        { name: 'prod', status: 'ROLLED_BACK' },
      ]),
      summary('r4', 'payments', '2026-12-06T09:00:00Z', [{ name: 'prod', status: 'PROMOTED', endedAt: '2026-12-06T10:00:00Z' }], 'rollback'),
    ];
    assert.equal(lastPromotionOf(releases, 'payments', 'prod'), '2026-11-20T10:00:00Z');
  });

  it('flags a service whose last promotion is more than staleAfterDays old, with the whole days', () => {
    const stale = findStaleServices(
      config(),
      { payments: { lastPromotedAt: '2026-11-20T10:00:00Z', firstSeenAt: '2026-11-01T00:00:00Z' }, ledger: { firstSeenAt: now.toISOString() } },
      now,
    );
    assert.equal(stale.length, 1);
    assert.deepEqual(
      { ...stale[0], reason: undefined },
      { service: 'payments', stage: 'prod', lastPromotedAt: '2026-11-20T10:00:00Z', since: '2026-11-20T10:00:00Z', days: 20, staleAfterDays: 14, reason: undefined },
    );
    assert.match(stale[0]?.reason ?? '', /^no promotion to prod for 20\.0 days \(last promoted 2026-11-20T10:00:00Z; stale after 14 days\)$/);
  });

  it('does not flag a service promoted exactly staleAfterDays ago', () => {
    assert.deepEqual(findStaleServices(config(), { payments: { lastPromotedAt: '2026-11-26T12:00:00Z' }, ledger: { firstSeenAt: now.toISOString() } }, now), []);
  });

  it('counts a never-promoted service from when Gantry first saw it, and not at all on its first sight', () => {
    const stale = findStaleServices(config({ staleAfterDays: 7 }), { payments: { lastPromotedAt: now.toISOString() }, ledger: { firstSeenAt: '2026-12-01T00:00:00Z' } }, now);
    assert.deepEqual(
      stale.map((s) => [s.service, s.lastPromotedAt, s.since, s.days]),
      [['ledger', null, '2026-12-01T00:00:00Z', 9]],
    );
    assert.match(stale[0]?.reason ?? '', /never promoted to prod in the 9\.5 days since Gantry first saw the service/);
    assert.deepEqual(findStaleServices(config({ staleAfterDays: 1 }), {}, now), []);
  });

  it('carries firstSeenAt forward from the previous check, taking a first release when it is earlier', () => {
    const releases = [summary('r1', 'payments', '2026-10-01T09:00:00Z', [{ name: 'prod', status: 'BLOCKED' }])];
    const h = serviceHistory(config(), releases, { ledger: { firstSeenAt: '2026-11-15T00:00:00Z' }, payments: { firstSeenAt: '2026-11-15T00:00:00Z' } }, now);
    assert.deepEqual(h, { ledger: { firstSeenAt: '2026-11-15T00:00:00Z' }, payments: { firstSeenAt: '2026-10-01T09:00:00Z' } });
    assert.deepEqual(serviceHistory(config(), [], undefined, now).ledger, { firstSeenAt: now.toISOString() });
  });
});

describe('the insight chain', () => {
  const chain = (): InsightRecord[] => {
    const out: InsightRecord[] = [];
    for (const [i, at] of ['2026-12-01T06:00:00Z', '2026-12-02T06:00:00Z', '2026-12-03T06:00:00Z'].entries()) {
      out.push(chainInsight(out.at(-1), { checkId: `check-${i}`, at, data: { stale: [], drift: [], n: i } }));
    }
    return out;
  };

  it('verifies an untouched chain that starts at the genesis hash', () => {
    const c = chain();
    assert.deepEqual(
      c.map((r) => r.seq),
      [1, 2, 3],
    );
    assert.deepEqual(verifyInsightChain(c), { ok: true, problems: [] });
  });

  it('names the record of an edited field, a deletion and a replaced record', () => {
    const edited = chain();
    edited[1] = { ...(edited[1] as InsightRecord), data: { stale: [], drift: [], n: 99 } };
    assert.deepEqual(verifyInsightChain(edited).problems, ['insight record #2 (check-1): hash does not match its content (edited?)']);
    const deleted = chain().filter((r) => r.seq !== 2);
    assert.match(verifyInsightChain(deleted).problems.join('\n'), /#3 \(check-2\): expected #2 after #1 \(a record is missing\)/);
    const replaced = chain();
    replaced[1] = chainInsight(replaced[0], { checkId: 'forged', at: '2026-12-02T06:00:00Z', data: { stale: [], drift: [] } });
    assert.match(verifyInsightChain(replaced).problems.join('\n'), /#3 \(check-2\): prevHash does not match the hash of #2/);
  });
});

describe('insight metrics', () => {
  it('count stale services and drifted stages, a stage once however it drifted, and drifted stages per service', () => {
    const d = (stage: string, service = 'payments') => ({ service, stage }) as DriftFinding;
    const m = insightMetrics([{ service: 'ledger' } as never], [d('prod'), d('prod'), d('dev'), d('prod', 'ledger')]);
    assert.deepEqual(
      m.map((x) => [x.name, x.value, x.dimensions]),
      [
        ['StaleServices', 1, {}],
        ['DriftedStages', 3, {}],
        ['DriftedStages', 1, { Service: 'ledger' }],
        ['DriftedStages', 2, { Service: 'payments' }],
      ],
    );
  });
});

describe('insight-plan and insight-record', () => {
  const twoRegions = parseConfig({
    services: {
      payments: {
        repository: 'payments-api',
        stages: [
          { name: 'dev', cluster: 'dev', namespace: 'payments', deploy: { driver: 'kubernetes', deployment: 'payments', container: 'api' } },
          { name: 'prod', cluster: 'prod', namespace: 'payments', deploy: { driver: 'kubernetes', deployment: 'payments', container: 'api' } },
        ],
      },
    },
    clusters: { dev: { name: 'dev-eks', region: 'eu-west-2' }, prod: { name: 'prod-eks', region: 'eu-west-1' } },
  });
  const depsOf = (stored: Array<{ data: { drift: DriftFinding[]; inSync: unknown[] } }>, published: unknown[]) => ({
    config: twoRegions,
    configHash: 'h',
    now: () => new Date('2026-12-01T06:00:00.000Z'),
    // As the AWS deps give it in a Lambda function in eu-west-2 (the region split applies only where the region is known).
    runtime: { inLambda: false, ecrRegistry: REG, region: 'eu-west-2' },
    ledger: {
      listReleases: async () => [],
      listInsights: async () => [],
      getPointer: async (service: string, stage: string) => (stage === 'dev' ? { service, stage, running: D2, lastKnownGood: D2, promoted: [D2] } : undefined),
      putInsight: async (input: { data: { drift: DriftFinding[]; inSync: unknown[] } }) => (
        stored.push(input),
        { record: { ...input, seq: 1, at: '2026-12-01T06:00:00.000Z' }, duplicate: false }
      ),
    },
    bus: { publish: async (e: unknown[]) => void published.push(...e) },
    // eks:DescribeCluster in each cluster's region (issue 18): prod-eks cannot be described (no access).
    scoped: {
      eksIn: (scope: { region: string }) => ({
        describeCluster: async (name: string) => {
          described.push(`${name}@${scope.region}`);
          if (name === 'prod-eks') throw Object.assign(new Error('not authorized'), { name: 'ClusterAccessError' });
          return { endpoint: `https://${name}.${scope.region}.example`, certificateAuthority: 'Q0E=' };
        },
      }),
    },
  });
  const described: string[] = [];

  it('plans what an iteration reads (cluster index, path, container) for every workload, and each cluster once, described in its own region', async () => {
    const { run } = await import('../../lambdas/insight-plan');
    described.length = 0;

    const plan = await run({ checkId: 'c1' }, { ...depsOf([], []), runtime: { inLambda: false, ecrRegistry: REG, region: 'eu-west-2', clusterAccessRoleArn: ROLE } } as never);

    assert.deepEqual(plan, {
      checkId: 'c1',
      at: '2026-12-01T06:00:00.000Z',
      configHash: 'h',
      clusters: [
        { clusterName: 'dev-eks', roleArn: ROLE, endpoint: 'https://dev-eks.eu-west-2.example', certificateAuthority: 'Q0E=' },
        { clusterName: 'prod-eks', error: 'ClusterAccessError' },
      ],
      workloads: [
        { cluster: 0, path: '/apis/apps/v1/namespaces/payments/deployments/payments', container: 'api' },
        { cluster: 1, path: '/apis/apps/v1/namespaces/payments/deployments/payments', container: 'api' },
      ],
    });
    assert.deepEqual(described, ['dev-eks@eu-west-2', 'prod-eks@eu-west-1']);
  });

  it('matches each read to its workload by the plan’s order, a workload of another region included', async () => {
    const { run } = await import('../../lambdas/insight-record');
    const stored: Array<{ data: { drift: DriftFinding[]; inSync: unknown[] } }> = [];
    const published: unknown[] = [];

    const r = await run(
      {
        checkId: 'c1',
        at: '2026-12-01T06:00:00.000Z',
        configHash: 'h',
        reads: [
          { ok: true, containers: [{ name: 'api', image: `${REG}/payments-api@${D2}` }] },
          { ok: false, error: 'ClusterAccessError' },
        ],
      },
      depsOf(stored, published) as never,
    );

    assert.deepEqual([r.inSync, r.drifted], [1, 1]);
    assert.deepEqual(stored[0]?.data.inSync, [`payments/dev@${D2}`], 'an in-sync workload is kept as <service>/<stage>@<digest> only');
    assert.equal(stored[0]?.data.drift[0]?.kind, 'unreadable');
    assert.equal(stored[0]?.data.drift[0]?.stage, 'prod');
    assert.match(stored[0]?.data.drift[0]?.reason ?? '', /ClusterAccessError/);
    assert.equal(published.length, 1);
  });

  it('refuses a check whose record would not fit in one DynamoDB item, naming its size, writing and publishing nothing', async () => {
    const { run, InsightRecordTooLargeError } = await import('../../lambdas/insight-record');
    const stored: Array<{ data: { drift: DriftFinding[]; inSync: unknown[] } }> = [];
    const published: unknown[] = [];
    // No container `api`, and 100 containers with 4,000-character names: the drift reason lists them all.
    const read = { ok: true, containers: Array.from({ length: 100 }, (_, i) => ({ name: `${'x'.repeat(4000)}-${i}`, image: 'busybox:1.36' })) };

    await assert.rejects(
      run({ checkId: 'c1', at: '2026-12-01T06:00:00.000Z', configHash: 'h', reads: [read, read] }, depsOf(stored, published) as never),
      (e: Error) =>
        e instanceof InsightRecordTooLargeError &&
        e.name === 'InsightRecordTooLargeError' &&
        /makes a record of \d+ bytes \(2 drifted, 0 in sync, 0 stale\), over the 368640 bytes/.test(e.message),
    );
    assert.deepEqual([stored, published], [[], []]);
  });

  it('refuses reads planned under another config, or more or fewer reads than workloads, writing nothing', async () => {
    const { run, InsightPlanMismatchError } = await import('../../lambdas/insight-record');
    const stored: Array<{ data: { drift: DriftFinding[]; inSync: unknown[] } }> = [];
    const read = { ok: true, containers: [{ name: 'api', image: `${REG}/payments-api@${D2}` }] };

    await assert.rejects(run({ checkId: 'c1', at: '2026-12-01T06:00:00.000Z', configHash: 'other', reads: [read] }, depsOf(stored, []) as never), InsightPlanMismatchError);
    await assert.rejects(
      run({ checkId: 'c1', at: '2026-12-01T06:00:00.000Z', configHash: 'h', reads: [read] }, depsOf(stored, []) as never),
      /read 1 workload\(s\), the config lists 2/,
    );
    assert.deepEqual(stored, []);
  });
});
