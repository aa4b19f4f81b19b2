/**
 * Exports of every example scenario (the real workflows and handlers, in process): export → verify
 * round trip, and every kind of tampering detected and named.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, it } from 'vitest';
import { auditRelease, exportEvents, formatExport, parseExport, verifyExport } from '../../lambdas/domain/audit';
import type { LedgerEvent } from '../../lambdas/domain/ledger';
import { doraMetrics } from '../../lambdas/domain/metrics';
import { loadScenarioFile } from '../../local/scenario';
import { simulate } from '../../local/simulate';
import { eventLineIndexes, forgedAfter, linesOf, mutationsOf, textOf } from '../helpers/tamper';
import { ROOT } from './helpers';

const SCENARIOS = readdirSync(join(ROOT, 'examples', 'scenarios'))
  .filter((f) => f.endsWith('.json'))
  .sort();
const exports = new Map<string, { events: LedgerEvent[]; text: string }>();
const verify = (text: string) => verifyExport(parseExport(text));

beforeAll(async () => {
  for (const f of SCENARIOS) {
    const { ledgerEvents } = await simulate(loadScenarioFile(join(ROOT, 'examples', 'scenarios', f)));
    exports.set(f, { events: ledgerEvents, text: formatExport(ledgerEvents) });
  }
});

/** Scenarios whose export holds at least one release. */
const withReleases = () => [...exports.entries()].filter(([, x]) => x.events.length > 0);

describe('export → verify round trip', () => {
  it('verifies the untouched export of every example scenario and reads back every event', () => {
    assert.equal(exports.size, SCENARIOS.length);
    for (const [name, { events, text }] of exports) {
      const parsed = parseExport(text);
      const v = verifyExport(parsed);
      assert.equal(v.ok, true, `${name}: ${JSON.stringify(v.problems)}`);
      assert.deepEqual(exportEvents(parsed), events, name);
      assert.equal(v.releases.length, new Set(events.map((e) => e.releaseId)).size, name);
    }
  });

  it('gives every release of every scenario an audit record that answers who, what, which controls and how it ended', () => {
    for (const [name, { text }] of withReleases()) {
      const parsed = parseExport(text);
      for (const id of new Set(parsed.events.map((l) => String(l.event.releaseId)))) {
        const a = auditRelease(
          parsed.events.filter((l) => l.event.releaseId === id),
          parsed.anchors.filter((x) => x.anchor.releaseId === id),
        );
        assert.ok(a, `${name}/${id}`);
        assert.ok(a.service && a.initiator && a.configHash && a.startedAt, `${name}/${id}: service, initiator, config hash, start`);
        assert.ok(a.status !== 'RUNNING' || !a.endedAt, `${name}/${id}`);
        assert.equal(a.integrity.ok, true, `${name}/${id}`);
        for (const st of a.stages) for (const g of st.gates) assert.ok(g.reason.length > 0, `${name}/${id}/${st.name}/${g.gate} has no reason`);
      }
    }
  });

  it('computes the four DORA figures from every export', () => {
    for (const [name, { events }] of withReleases()) {
      const r = doraMetrics(events);
      for (const s of r.services) {
        for (const k of ['deploymentFrequency', 'leadTime', 'changeFailureRate', 'recoveryTime'] as const) assert.ok(s[k], `${name}: ${k}`);
      }
    }
  });
});

describe('tampering with a scenario export', () => {
  it('is detected for every field of every event type, naming the release and the event', () => {
    const covered = new Set<string>();
    for (const [name, { text }] of withReleases()) {
      const lines = linesOf(text);
      for (const i of eventLineIndexes(lines)) {
        const event = JSON.parse(lines[i] as string) as Record<string, unknown>;
        if (covered.has(String(event.type))) continue;
        covered.add(String(event.type));
        for (const m of mutationsOf(event)) {
          const tampered = [...lines];
          tampered[i] = JSON.stringify(m.apply(event));
          const v = verify(textOf(tampered));
          assert.equal(v.ok, false, `${name}: ${event.type}: ${m.label} went unnoticed`);
          assert.ok(
            v.problems.some((p) => p.line === i + 1),
            `${name}: ${event.type}: ${m.label}: the event (line ${i + 1}) is not named`,
          );
          assert.ok(v.problems.some((p) => p.releaseId === event.releaseId) || m.label.startsWith('releaseId'), `${name}: ${event.type}: ${m.label}: the release is not named`);
        }
      }
    }
    for (const t of ['release.started', 'stage.started', 'gate.evaluated', 'deploy.started', 'deploy.finished', 'stage.finished', 'release.finished'])
      assert.ok(covered.has(t), `no scenario has a ${t} event`);
  });

  it('is detected when any one event is deleted, naming the release and the missing event', () => {
    for (const [name, { text }] of withReleases()) {
      const lines = linesOf(text);
      for (const i of eventLineIndexes(lines)) {
        const gone = JSON.parse(lines[i] as string) as LedgerEvent;
        const v = verify(textOf(lines.filter((_l, j) => j !== i)));
        assert.equal(v.ok, false, `${name}: deleting #${gone.seq} went unnoticed`);
        assert.ok(
          v.problems.some((p) => p.releaseId === gone.releaseId && p.message.includes(`#${gone.seq}`)),
          `${name}: #${gone.seq}: ${JSON.stringify(v.problems.map((p) => p.message))}`,
        );
      }
    }
  });

  it('is detected when an event is inserted: a copy, or a forgery chained to its predecessor', () => {
    for (const [name, { text }] of withReleases()) {
      const lines = linesOf(text);
      const idx = eventLineIndexes(lines);
      const mid = idx[Math.floor(idx.length / 2)] as number;
      const copy = [...lines];
      copy.splice(mid + 1, 0, lines[idx[0] as number] as string);
      const v1 = verify(textOf(copy));
      assert.equal(v1.ok, false, `${name}: a copied event went unnoticed`);
      assert.ok(
        v1.problems.some((p) => p.line === mid + 2 && p.kind === 'inserted'),
        `${name}: ${JSON.stringify(v1.problems)}`,
      );

      const forged = [...lines];
      forged.splice(mid + 1, 0, JSON.stringify(forgedAfter(JSON.parse(lines[mid] as string) as LedgerEvent)));
      const v2 = verify(textOf(forged));
      assert.equal(v2.ok, false, `${name}: a forged event went unnoticed`);
      assert.ok(
        v2.problems.some((p) => p.line === mid + 2 && p.kind === 'inserted'),
        `${name}: ${JSON.stringify(v2.problems)}`,
      );
    }
  });

  it('is detected when two events are swapped, naming both lines', () => {
    for (const [name, { text }] of withReleases()) {
      const lines = linesOf(text);
      const idx = eventLineIndexes(lines);
      for (let k = 0; k + 1 < idx.length; k++) {
        const a = idx[k] as number;
        const b = idx[k + 1] as number;
        if (b !== a + 1) continue; // an anchor between two releases
        const t = [...lines];
        [t[a], t[b]] = [t[b] as string, t[a] as string];
        const v = verify(textOf(t));
        assert.equal(v.ok, false, `${name}: swapping lines ${a + 1} and ${b + 1} went unnoticed`);
        assert.ok(
          v.problems.some((p) => p.kind === 'reordered' && p.line === b + 1 && p.message.includes(`line ${a + 1}`)),
          `${name}: ${JSON.stringify(v.problems)}`,
        );
      }
    }
  });

  it("is detected when a release's last event is cut, with or without its anchor line", () => {
    for (const [name, { text }] of withReleases()) {
      const lines = linesOf(text);
      const first = JSON.parse(lines[0] as string) as LedgerEvent;
      const idx = eventLineIndexes(lines, first.releaseId);
      const last = idx.at(-1) as number;
      const cut = verify(textOf(lines.filter((_l, j) => j !== last)));
      assert.equal(cut.ok, false, `${name}: cutting the last event went unnoticed`);
      assert.ok(
        cut.problems.some((p) => p.releaseId === first.releaseId && p.kind === 'truncated'),
        `${name}: ${JSON.stringify(cut.problems)}`,
      );
      const cutBoth = verify(textOf(lines.filter((_l, j) => j !== last && j !== last + 1)));
      assert.equal(cutBoth.ok, false, `${name}: cutting the last event and the anchor went unnoticed`);
      assert.ok(cutBoth.problems.some((p) => p.releaseId === first.releaseId && p.kind === 'truncated'));
    }
  });
});
