/**
 * The insight check through the local runtime: statemachines/insight.asl.json with the real insight-plan and
 * insight-record handlers, the local clusters (eks:call) and the in-memory DynamoDB; the scenarios' out-of-band changes;
 * the published events against schemas/insight; and `gantry audit drift` on what the check stored.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import Ajv, { type ValidateFunction } from 'ajv';
import { DynamoLedger } from '../../lambdas/adapters/dynamo-ledger';
import { formatExport, parseExport, verifyExport } from '../../lambdas/domain/audit';
import { configHash, parseConfig } from '../../lambdas/domain/config';
import { type InsightRecord, verifyInsightChain } from '../../lambdas/domain/insight';
import { run as insightRecord } from '../../lambdas/insight-record';
import { type Deps, type LifecycleEvent, LOCAL_RUNTIME } from '../../lambdas/ports';
import type { LocalDynamo } from '../../local/dynamo';
import { startMemoryDynamo } from '../../local/memory-dynamo';
import { loadScenario, loadScenarioFile } from '../../local/scenario';
import { type SimulationResult, simulate } from '../../local/simulate';
import { D1, D2, eventEnvelope as envelope, ROOT } from './helpers';

const SCENARIOS = join(ROOT, 'examples', 'scenarios');
const ajv = new Ajv({ allErrors: true, strict: true });
const schema = (name: string): ValidateFunction => ajv.compile(JSON.parse(readFileSync(join(ROOT, 'schemas', 'insight', `${name}.json`), 'utf8')));
const SCHEMAS: Record<string, ValidateFunction> = { 'Service Stale': schema('service-stale'), 'Drift Detected': schema('drift-detected') };
function schemaProblems(e: { detailType: string; detail: Record<string, unknown> }): string[] {
  const v = SCHEMAS[e.detailType];
  if (!v) return [`no schema for ${e.detailType}`];
  return v(envelope(e)) ? [] : (v.errors ?? []).map((x) => `${e.detailType} ${x.instancePath || '(root)'} ${x.message}`);
}

const scenarioJson = (name: string) => JSON.parse(readFileSync(join(SCENARIOS, `${name}.json`), 'utf8')) as Record<string, unknown> & { triggers: Array<Record<string, unknown>> };
const runRaw = (raw: unknown) => simulate(loadScenario(raw, SCENARIOS));

describe('an out-of-band kubectl set image (examples/scenarios/drift-out-of-band.json)', () => {
  let r: SimulationResult;
  beforeAll(async () => {
    r = await simulate(loadScenarioFile(join(SCENARIOS, 'drift-out-of-band.json')));
  });

  it('is flagged as drift of prod by the next check, while dev is in sync', () => {
    assert.equal(r.output.releases[0]?.status, 'SUCCEEDED');
    const [check] = r.output.insight.checks;
    assert.ok(check);
    assert.equal(check.at, '2026-11-24T13:00:00.000Z');
    assert.equal(check.inSync, 1);
    assert.deepEqual(
      check.drift.map((d) => [d.service, d.stage, d.kind, d.found, d.expected]),
      [['payments', 'prod', 'tag-reference', '000000000000.dkr.ecr.local.amazonaws.com/payments-api:hotfix-1', `000000000000.dkr.ecr.local.amazonaws.com/payments-api@${D2}`]],
    );
    assert.match(check.drift[0]?.reason ?? '', /by tag, not pinned to a digest/);
    assert.deepEqual(
      r.output.executions.filter((e) => e.machine === 'insight').map((e) => e.status),
      ['SUCCEEDED'],
    );
  });

  it('publishes one Drift Detected that matches schemas/insight/drift-detected.json', () => {
    const drift = r.output.lifecycle.filter((e) => e.detailType === 'Drift Detected');
    assert.equal(drift.length, 1);
    assert.equal(drift[0]?.detail.stage, 'prod');
    assert.deepEqual(drift.flatMap(schemaProblems), []);
  });

  it('stores the check as an intact insight chain, and leaves the audit export verifying', () => {
    assert.equal(r.insightRecords.length, 1);
    assert.deepEqual(verifyInsightChain(r.insightRecords), { ok: true, problems: [] });
    assert.equal(verifyExport(parseExport(formatExport(r.ledgerEvents))).ok, true);
  });

  it('travels in the audit export as insight lines that verify, and an edited insight line fails verification naming the record', () => {
    const text = formatExport(r.ledgerEvents, { insights: r.insightRecords });
    const parsed = parseExport(text);
    assert.equal(parsed.insights?.length, 1);
    assert.equal(verifyExport(parsed).ok, true);

    const tampered = text
      .split('\n')
      .map((l) => (l.includes('"kind":"insight"') ? l.replace('"at":"2026-11-24T13:00:00.000Z"', '"at":"2026-11-24T13:00:01.000Z"') : l))
      .join('\n');
    const v = verifyExport(parseExport(tampered));

    assert.equal(v.ok, false);
    assert.deepEqual(
      v.problems.map((p) => [p.kind, p.message]),
      [['insight', 'insight record #1 (insight-20261124T130000Z-2): hash does not match its content (edited?)']],
    );
  });
});

describe('the same scenario without the out-of-band change', () => {
  it('finds every workload in sync after the promotion', async () => {
    const raw = scenarioJson('drift-out-of-band');
    raw.triggers = raw.triggers.filter((t) => t.type !== 'kubectl-set-image');
    const { output } = await runRaw(raw);
    assert.deepEqual(
      output.insight.checks.map((c) => [c.drift.length, c.inSync]),
      [[0, 2]],
    );
    assert.equal(output.lifecycle.filter((e) => e.detailType === 'Drift Detected').length, 0);
  });
});

describe('a Helm stage that names its workload', () => {
  it('is in sync after a Helm deploy, and drifts when the image is changed by hand', async () => {
    const raw = scenarioJson('drift-out-of-band');
    const config = raw.config as { services: { payments: { stages: Array<Record<string, unknown>> } } };
    config.services.payments.stages[1] = {
      name: 'prod',
      cluster: 'prod',
      namespace: 'payments',
      deploy: { driver: 'helm', release: 'payments', chart: 'oci://111122223333.dkr.ecr.eu-west-2.amazonaws.com/charts/payments', version: '1.2.0' },
      workload: { deployment: 'payments', container: 'api' },
      alarms: ['payments-prod-5xx'],
      bakeMinutes: 30,
    };
    raw.triggers = [
      ...raw.triggers.filter((t) => t.type === 'ecr-push'),
      { type: 'insight-check', at: 'PT2H' },
      { type: 'kubectl-set-image', service: 'payments', stage: 'prod', image: `000000000000.dkr.ecr.local.amazonaws.com/payments-api@${D1}`, at: 'PT3H' },
      { type: 'insight-check', at: 'PT4H' },
    ];
    const { output } = await runRaw(raw);
    assert.equal(output.releases[0]?.status, 'SUCCEEDED');
    assert.deepEqual(
      output.insight.checks.map((c) => [c.inSync, c.drift.map((d) => [d.stage, d.kind])]),
      [
        [2, []],
        [1, [['prod', 'other-digest']]],
      ],
    );
    assert.match(output.insight.checks[1]?.drift[0]?.reason ?? '', /container api runs sha256:111111111111…, the ledger says sha256:222222222222…: changed outside Gantry/);
  });
});

describe('a workload that cannot be read', () => {
  it('is a finding (the Deployment is missing), and the check still succeeds', async () => {
    const raw = scenarioJson('drift-out-of-band');
    // No stage runs anything before the scenario and nothing is released: the clusters hold no Deployment.
    raw.stages = {};
    raw.triggers = [{ type: 'insight-check', at: 'PT1M' }];
    const { output } = await runRaw(raw);
    assert.deepEqual(
      output.executions.map((e) => [e.machine, e.status]),
      [['insight', 'SUCCEEDED']],
    );
    const [check] = output.insight.checks;
    assert.deepEqual(
      check?.drift.map((d) => [d.stage, d.kind, d.found]),
      [
        ['dev', 'deployment-missing', null],
        ['prod', 'deployment-missing', null],
      ],
    );
  });

  it('is an unrelated image where the ledger records nothing, when someone created the Deployment by hand', async () => {
    const raw = scenarioJson('drift-out-of-band');
    raw.stages = {};
    raw.triggers = [
      { type: 'kubectl-set-image', service: 'payments', stage: 'dev', image: `000000000000.dkr.ecr.local.amazonaws.com/payments-api@${D1}` },
      { type: 'insight-check', at: 'PT1M' },
    ];
    const { output } = await runRaw(raw);
    assert.deepEqual(
      output.insight.checks[0]?.drift.map((d) => [d.stage, d.kind]),
      [
        ['dev', 'not-recorded'],
        ['prod', 'deployment-missing'],
      ],
    );
  });
});

describe('a service with no prod promotion for 14 days (examples/scenarios/stale-service.json)', () => {
  let r: SimulationResult;
  beforeAll(async () => {
    r = await simulate(loadScenarioFile(join(SCENARIOS, 'stale-service.json')));
  });

  it('is not stale on day 2 and is on day 15; a service never released counts from the first check that saw it', () => {
    assert.deepEqual(
      r.output.insight.checks.map((c) => [c.at, c.stale.map((s) => [s.service, s.stage, s.days, s.lastPromotedAt])]),
      [
        ['2026-11-26T10:00:00.000Z', []],
        ['2026-12-09T10:00:00.000Z', [['payments', 'prod', 14, '2026-11-24T10:42:00.000Z']]],
      ],
    );
    const second = r.insightRecords[1]?.data as { services: Record<string, { firstSeenAt?: string }> };
    assert.equal(second.services.ledger?.firstSeenAt, '2026-11-26T10:00:00.000Z');
  });

  it('publishes one Service Stale that matches schemas/insight/service-stale.json', () => {
    const stale = r.output.lifecycle.filter((e) => e.detailType === 'Service Stale');
    assert.deepEqual(
      stale.map((e) => e.detail.service),
      ['payments'],
    );
    assert.deepEqual(stale.flatMap(schemaProblems), []);
  });

  it('chains the two checks', () => {
    assert.deepEqual(
      r.insightRecords.map((x) => x.seq),
      [1, 2],
    );
    assert.equal(r.insightRecords[1]?.prevHash, r.insightRecords[0]?.hash);
    assert.equal(verifyInsightChain(r.insightRecords).ok, true);
  });
});

describe('insight-record run twice for one check (a retried task)', () => {
  let dynamo: LocalDynamo;
  beforeAll(async () => {
    dynamo = await startMemoryDynamo();
  });
  afterAll(async () => {
    await dynamo.close();
  });

  it('writes one record and publishes its events once', async () => {
    const config = parseConfig({
      services: {
        payments: {
          repository: 'payments-api',
          stages: [{ name: 'prod', cluster: 'prod', namespace: 'payments', deploy: { driver: 'kubernetes', deployment: 'payments', container: 'api' } }],
        },
      },
      clusters: { prod: { name: 'prod-eks', region: 'eu-west-2' } },
    });
    const published: LifecycleEvent[] = [];
    const ledger = new DynamoLedger({ client: dynamo.doc, tableName: dynamo.tableName });
    const deps = {
      config,
      configHash: configHash(config),
      ledger,
      bus: { publish: async (e: readonly LifecycleEvent[]) => void published.push(...e) },
      now: () => new Date('2026-12-01T06:00:00Z'),
      runtime: LOCAL_RUNTIME,
    } as unknown as Deps;
    await ledger.setRunning('payments', 'prod', D2, '2026-11-30T06:00:00.000Z');
    // RecordInsight's input as the workflow builds it: the plan's instant and config, and one read per workload.
    const input = {
      checkId: 'insight-1',
      at: '2026-12-01T06:00:00.000Z',
      configHash: configHash(config),
      reads: [{ ok: true, containers: [{ name: 'api', image: `000000000000.dkr.ecr.local.amazonaws.com/payments-api@${D1}` }] }],
    };
    const first = await insightRecord(input, deps);
    const second = await insightRecord(input, deps);
    assert.deepEqual([first.duplicate, second.duplicate, first.seq, second.seq, first.drifted], [false, true, 1, 1, 1]);
    assert.deepEqual(
      published.map((e) => [e.detailType, e.detail.kind]),
      [['Drift Detected', 'other-digest']],
    );
    assert.equal((await ledger.listInsights()).length, 1);
  });
});

describe('gantry audit drift', () => {
  const gantry = (...args: string[]) =>
    spawnSync(process.execPath, [join(ROOT, 'bin', 'gantry.js'), 'audit', 'drift', ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env } });
  let tmp: string;
  let records: InsightRecord[];
  let simOutput: string;
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'gantry-drift-'));
    const r = await simulate(loadScenarioFile(join(SCENARIOS, 'drift-out-of-band.json')));
    records = r.insightRecords;
    simOutput = join(tmp, 'sim.json');
    writeFileSync(simOutput, JSON.stringify(r.output, null, 2));
  });

  it('shows the drift of the latest check from insight records as JSON Lines, mixed with an audit export', () => {
    const file = join(tmp, 'insight.jsonl');
    writeFileSync(file, `${JSON.stringify({ kind: 'anchor', releaseId: 'x', version: 1, lastHash: '0'.repeat(64) })}\n${records.map((x) => JSON.stringify(x)).join('\n')}\n`);
    const res = gantry('--file', file);
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /insight chain intact/);
    assert.match(res.stdout, /DRIFT {6}payments\/prod {2}prod-eks payments\/payments container api {2}\[tag-reference\]/);
    assert.match(res.stdout, /found {4}000000000000\.dkr\.ecr\.local\.amazonaws\.com\/payments-api:hotfix-1/);
  });

  it("reads a simulation's --json output and prints JSON with --json", () => {
    const res = gantry('--file', simOutput, '--json');
    assert.equal(res.status, 0, res.stderr);
    const report = JSON.parse(res.stdout);
    assert.equal(report.verified, null);
    assert.deepEqual(
      report.checks.map((c: { drift: unknown[]; inSync: number }) => [c.drift.length, c.inSync]),
      [[1, 1]],
    );
  });

  it('exits 1 naming the record when an insight record was edited', () => {
    const file = join(tmp, 'edited.jsonl');
    const edited = records.map((x) => ({ ...x, data: { ...(x.data as object), drift: [] } }));
    writeFileSync(file, edited.map((x) => JSON.stringify(x)).join('\n'));
    const res = gantry('--file', file);
    assert.equal(res.status, 1);
    assert.match(res.stdout, /insight record #1 \(insight-20261124T130000Z-2\): hash does not match its content/);
  });

  it('exits 2 on a line that is not JSON, or without a source', () => {
    const file = join(tmp, 'bad.jsonl');
    writeFileSync(file, 'not json\n');
    assert.equal(gantry('--file', file).status, 2);
    writeFileSync(file, '{"kind":"insight"}\n');
    assert.equal(gantry('--file', file).status, 2);
    assert.equal(gantry().status, 2);
  });
});
