/** The audit's pure half: export format, tamper check, evidence completeness, the audit record. */
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { auditRelease, evidenceCompleteness, ExportFormatError, exportEvents, formatExport, parseExport, verifyExport } from '../../lambdas/domain/audit';
import { chainEvent, type LedgerEvent } from '../../lambdas/domain/ledger';
import { ALICE, BOB, buildRelease, CONFIG_HASH, NEW, OLD, promotedRelease } from '../helpers/ledger-builder';
import { eventLineIndexes, forgedAfter, linesOf, mutationsOf, textOf } from '../helpers/tamper';

const verifyText = (text: string) => verifyExport(parseExport(text));

/** A release with every event type: attributed, an approval, a rollback after a failed bake. */
function everyTypeRelease(): LedgerEvent[] {
  return buildRelease({
    id: 'payments-all-types',
    at: '2026-11-24T10:00:00.000Z',
    status: 'ROLLED_BACK',
    attributedTo: 'arn:aws:sts::111122223333:assumed-role/ci-pusher/build-42',
    approvalRequired: ['prod'],
    labels: { 'org.opencontainers.image.revision': '9f2c1e7', 'org.opencontainers.image.created': '2026-11-24T08:00:00Z' },
    stages: [
      { name: 'dev', deploy: { result: 'SUCCEEDED' }, bake: { result: 'PASS', minutes: 10 }, promote: true },
      {
        name: 'prod',
        approval: { decision: 'APPROVED', principal: BOB, comment: 'ok for CHG-1', waitMinutes: 30 },
        deploy: { result: 'SUCCEEDED', extra: { helmStatus: 'deployed' } },
        bake: { result: 'FAIL', minutes: 7 },
        rollback: { result: 'SUCCEEDED', minutes: 6 },
      },
    ],
  });
}

function operatorRollback(): LedgerEvent[] {
  return buildRelease({
    id: 'payments-rollback-1',
    kind: 'rollback',
    at: '2026-11-24T12:00:00.000Z',
    status: 'ROLLED_BACK',
    stages: [{ name: 'prod', rollback: { result: 'SUCCEEDED', minutes: 4 } }],
  });
}

describe('the export format', () => {
  it("writes each release's events in sequence order, then one anchor line with its last seq and hash", () => {
    const a = promotedRelease('rel-a', '2026-11-01T10:00:00.000Z');
    const b = promotedRelease('rel-b', '2026-11-02T10:00:00.000Z');
    const lines = linesOf(formatExport([...b, ...a].reverse()));
    const objs = lines.map((l) => JSON.parse(l));
    const anchors = objs.filter((o) => o.kind === 'anchor');
    assert.deepEqual(anchors.map((x) => x.releaseId).sort(), ['rel-a', 'rel-b']);
    for (const anchor of anchors) {
      const idx = objs.indexOf(anchor);
      const events = objs.slice(0, idx).filter((o) => o.releaseId === anchor.releaseId && o.kind !== 'anchor');
      assert.deepEqual(
        events.map((e) => e.seq),
        events.map((_e, i) => i + 1),
      );
      assert.equal(anchor.version, events.at(-1).seq);
      assert.equal(anchor.lastHash, events.at(-1).hash);
    }
  });

  it('reads back exactly the events it wrote', () => {
    const events = [...promotedRelease('rel-a', '2026-11-01T10:00:00.000Z'), ...everyTypeRelease()];
    assert.deepEqual(exportEvents(parseExport(formatExport(events))), events);
  });

  it('writes nothing for no events, and an empty export verifies', () => {
    assert.equal(formatExport([]), '');
    assert.equal(verifyText('').ok, true);
  });

  it('refuses a line that is not JSON, naming its line number', () => {
    const lines = linesOf(formatExport(promotedRelease('rel-a', '2026-11-01T10:00:00.000Z')));
    lines.splice(3, 0, '{"releaseId": "rel-a", oops');
    assert.throws(
      () => parseExport(textOf(lines)),
      (e: unknown) => e instanceof ExportFormatError && e.line === 4 && /line 4: not JSON/.test(e.message),
    );
  });

  it('refuses a line that is JSON but not an object, naming its line number', () => {
    assert.throws(
      () => parseExport('[1,2]\n'),
      (e: unknown) => e instanceof ExportFormatError && e.line === 1 && /an array/.test(e.message),
    );
    assert.throws(
      () => parseExport('\n\n42\n'),
      (e: unknown) => e instanceof ExportFormatError && e.line === 3,
    );
  });

  it('ignores blank lines', () => {
    const text = formatExport(promotedRelease('rel-a', '2026-11-01T10:00:00.000Z')).replace(/\n/g, '\n\n');
    assert.equal(verifyText(text).ok, true);
  });
});

describe('verifying an export', () => {
  const text = formatExport([...everyTypeRelease(), ...operatorRollback(), ...promotedRelease('rel-a', '2026-11-01T10:00:00.000Z')]);

  it('passes an untouched export with every release anchored', () => {
    const v = verifyText(text);
    assert.equal(v.ok, true, JSON.stringify(v.problems));
    assert.equal(v.anchored, 'all');
    assert.equal(v.releases.length, 3);
  });

  it("detects a change to any field of any event type and names the release and the event's line", () => {
    const lines = linesOf(text);
    const seenTypes = new Set<string>();
    let checked = 0;
    for (const i of eventLineIndexes(lines)) {
      const event = JSON.parse(lines[i] as string) as Record<string, unknown>;
      const key = `${event.releaseId}/${event.type}`;
      if (seenTypes.has(key)) continue;
      seenTypes.add(key);
      for (const m of mutationsOf(event)) {
        const tampered = [...lines];
        tampered[i] = JSON.stringify(m.apply(event));
        const v = verifyText(textOf(tampered));
        assert.equal(v.ok, false, `${event.type}: ${m.label} went unnoticed`);
        assert.ok(
          v.problems.some((p) => p.line === i + 1 && p.message.includes(`line ${i + 1}`)),
          `${event.type}: ${m.label}: no problem names line ${i + 1}: ${JSON.stringify(v.problems.map((p) => p.message))}`,
        );
        assert.ok(v.problems.some((p) => p.releaseId === event.releaseId || p.line === i + 1));
        checked++;
      }
    }
    const types = new Set([...seenTypes].map((k) => k.split('/')[1]));
    for (const t of [
      'release.started',
      'release.attributed',
      'stage.started',
      'stage.waiting',
      'lease.acquired',
      'lease.released',
      'gate.evaluated',
      'deploy.started',
      'deploy.finished',
      'bake.started',
      'bake.finished',
      'stage.promoted',
      'rollback.started',
      'rollback.finished',
      'stage.finished',
      'release.finished',
    ]) {
      assert.ok(types.has(t), `no ${t} event was tampered with`);
    }
    assert.ok(checked > 300, `only ${checked} mutations`);
  });

  it('detects the deletion of any event, naming the lines around the gap', () => {
    const lines = linesOf(text);
    for (const i of eventLineIndexes(lines, 'payments-all-types')) {
      const removed = JSON.parse(lines[i] as string) as LedgerEvent;
      const tampered = lines.filter((_l, j) => j !== i);
      const v = verifyText(textOf(tampered));
      assert.equal(v.ok, false, `deleting event #${removed.seq} went unnoticed`);
      const p = v.problems.find((x) => x.releaseId === 'payments-all-types');
      assert.ok(p, `no problem names the release when #${removed.seq} is deleted`);
      assert.ok(
        v.problems.some((x) => x.kind === 'deleted' || x.kind === 'truncated'),
        `#${removed.seq}: ${JSON.stringify(v.problems)}`,
      );
      assert.ok(
        v.problems.some((x) => x.message.includes(`#${removed.seq}`)),
        `the missing #${removed.seq} is not named: ${JSON.stringify(v.problems.map((x) => x.message))}`,
      );
    }
  });

  it('detects a copied event inserted elsewhere in the release', () => {
    const lines = linesOf(text);
    const idx = eventLineIndexes(lines, 'payments-all-types');
    const copy = lines[idx[5] as number] as string;
    const tampered = [...lines];
    tampered.splice((idx[12] as number) + 1, 0, copy);
    const v = verifyText(textOf(tampered));
    assert.equal(v.ok, false);
    assert.ok(
      v.problems.some((p) => p.kind === 'inserted' && p.line === (idx[12] as number) + 2),
      JSON.stringify(v.problems),
    );
  });

  it('detects a forged event that chains to its predecessor (a forger who knows the hash function)', () => {
    const lines = linesOf(text);
    const idx = eventLineIndexes(lines, 'payments-all-types');
    const at = idx[9] as number;
    const prev = JSON.parse(lines[at] as string) as LedgerEvent;
    const tampered = [...lines];
    tampered.splice(at + 1, 0, JSON.stringify(forgedAfter(prev)));
    const v = verifyText(textOf(tampered));
    assert.equal(v.ok, false);
    assert.ok(
      v.problems.some((p) => p.releaseId === 'payments-all-types' && p.kind === 'inserted' && p.line === at + 2),
      JSON.stringify(v.problems),
    );
  });

  it('detects two events swapped, naming both lines', () => {
    const lines = linesOf(text);
    const idx = eventLineIndexes(lines, 'payments-all-types');
    for (const k of [0, 4, idx.length - 2]) {
      const a = idx[k] as number;
      const b = idx[k + 1] as number;
      const tampered = [...lines];
      [tampered[a], tampered[b]] = [tampered[b] as string, tampered[a] as string];
      const v = verifyText(textOf(tampered));
      assert.equal(v.ok, false, `swapping events ${k + 1} and ${k + 2} went unnoticed`);
      assert.ok(
        v.problems.some((p) => p.kind === 'reordered' && p.line === b + 1 && p.message.includes(`line ${a + 1}`)),
        JSON.stringify(v.problems),
      );
    }
  });

  it('detects the last event cut from a release while its anchor stays', () => {
    const lines = linesOf(text);
    const idx = eventLineIndexes(lines, 'payments-all-types');
    const last = idx.at(-1) as number;
    const v = verifyText(textOf(lines.filter((_l, j) => j !== last)));
    assert.equal(v.ok, false);
    const p = v.problems.find((x) => x.kind === 'truncated');
    assert.ok(p && p.releaseId === 'payments-all-types' && /missing \(truncated\)/.test(p.message), JSON.stringify(v.problems));
  });

  it('detects the last events cut together with the anchor line', () => {
    const lines = linesOf(text);
    const idx = eventLineIndexes(lines, 'payments-all-types');
    const last = idx.at(-1) as number;
    const tampered = lines.filter((_l, j) => j !== last && j !== last + 1);
    const v = verifyText(textOf(tampered));
    assert.equal(v.ok, false);
    assert.ok(
      v.problems.some((p) => p.releaseId === 'payments-all-types' && p.kind === 'truncated' && /no anchor line/.test(p.message)),
      JSON.stringify(v.problems),
    );
  });

  it('fails an export whose only release lost its anchor line (the cut cannot be ruled out)', () => {
    const only = linesOf(formatExport(promotedRelease('rel-a', '2026-11-01T10:00:00.000Z')));
    const v = verifyText(textOf(only.slice(0, -2)));
    assert.equal(v.ok, false);
    assert.equal(v.anchored, 'none');
    assert.match(v.problems[0]?.message ?? '', /no anchor line/);
  });

  it('detects a release whose events were all deleted but whose anchor remains', () => {
    const lines = linesOf(text);
    const v = verifyText(textOf(lines.filter((_l, j) => !eventLineIndexes(lines, 'rel-a').includes(j))));
    assert.equal(v.ok, false);
    assert.ok(v.problems.some((p) => p.releaseId === 'rel-a' && p.kind === 'deleted'));
  });

  it('detects an anchor rewritten to a shorter chain and events appended after release.finished', () => {
    const events = promotedRelease('rel-a', '2026-11-01T10:00:00.000Z');
    const forged = chainEvent(events.at(-1), {
      releaseId: 'rel-a',
      stepKey: 'late',
      type: 'gate.evaluated',
      at: '2026-11-02T00:00:00.000Z',
      stage: 'prod',
      data: { gate: 'approval', result: 'PASS', reason: 'late' },
    });
    const v = verifyText(formatExport([...events, forged]));
    assert.equal(v.ok, false);
    assert.ok(v.problems.some((p) => p.kind === 'inserted' && /after release\.finished/.test(p.message)));
  });

  it('accepts a lease release recorded after release.finished (the reconciler frees leases of a closed record)', () => {
    const events = promotedRelease('rel-a', '2026-11-01T10:00:00.000Z');
    const late = chainEvent(events.at(-1), {
      releaseId: 'rel-a',
      stepKey: 'stage:prod:lease.released:late',
      type: 'lease.released',
      at: '2026-11-02T00:00:00.000Z',
      stage: 'prod',
      data: { by: 'reconciler' },
    });
    assert.equal(verifyText(formatExport([...events, late])).ok, true);
  });

  it('notes a release still running when exported', () => {
    const running = buildRelease({ id: 'rel-r', at: '2026-11-01T10:00:00.000Z', stages: [{ name: 'dev', deploy: { result: 'SUCCEEDED' } }] });
    const v = verifyText(formatExport(running));
    assert.equal(v.ok, true);
    assert.ok(v.notes.some((n) => n.includes('rel-r') && /still running/.test(n)));
  });
});

describe('evidence completeness', () => {
  it('finds nothing missing in a release promoted with gates, deploy evidence and bakes, and says the approval policy was not recorded', () => {
    const r = evidenceCompleteness(promotedRelease('rel-a', '2026-11-01T10:00:00.000Z'));
    assert.deepEqual(r.promotedStages, ['dev', 'prod']);
    assert.deepEqual(r.gaps, []);
    assert.match(r.notes.join(' '), /does not record which stages required an approval.*only stages that asked for one were checked/);
  });

  it('checks for an approval in a stage that asked for one even when the policy was not recorded', () => {
    const events = buildRelease({
      id: 'r',
      at: '2026-11-01T10:00:00.000Z',
      status: 'SUCCEEDED',
      stages: [{ name: 'prod', deploy: { result: 'SUCCEEDED' }, bake: { result: 'PASS', minutes: 5 }, promote: true }],
    });
    const stageStarted = events.findIndex((e) => e.type === 'stage.started');
    const rebuilt: LedgerEvent[] = [];
    for (const [i, e] of events.entries()) {
      const { seq: _s, prevHash: _p, hash: _h, ...input } = e;
      rebuilt.push(chainEvent(rebuilt.at(-1), input));
      if (i === stageStarted)
        rebuilt.push(
          chainEvent(rebuilt.at(-1), { releaseId: 'r', stepKey: 'stage:prod:waiting:approval', type: 'stage.waiting', at: e.at, stage: 'prod', data: { waitingFor: 'approval' } }),
        );
    }
    assert.deepEqual(
      evidenceCompleteness(rebuilt).gaps.map((g) => `${g.stage}:${g.missing}`),
      ['prod:approval'],
    );
  });

  it('reads the approver and the commit from the evidence shapes the gates record (approval gate, image.labels provenance)', () => {
    const events = buildRelease({
      id: 'r',
      at: '2026-11-01T10:00:00.000Z',
      status: 'SUCCEEDED',
      stages: [
        {
          name: 'prod',
          gates: [
            {
              gate: 'image.labels',
              result: 'PASS',
              reason: 'ok',
              evidence: { provenance: { revision: 'abc1234', created: '2026-10-31T23:00:00Z', createdFrom: 'label', source: 'https://github.com/acme/payments' }, platforms: [] },
            },
          ],
          deploy: { result: 'SUCCEEDED' },
          bake: { result: 'PASS', minutes: 5 },
          promote: true,
        },
      ],
    });
    const a = auditRelease(events);
    assert.deepEqual(a?.commit, { value: 'abc1234', source: 'label org.opencontainers.image.revision (image.labels gate)' });
    assert.equal(a?.imageCreated?.value, '2026-10-31T23:00:00Z');
    assert.equal(a?.sourceRepository, 'https://github.com/acme/payments');
  });

  it('reports a promoted stage whose deploy has no driver evidence', () => {
    const events = buildRelease({
      id: 'r',
      at: '2026-11-01T10:00:00.000Z',
      status: 'SUCCEEDED',
      stages: [{ name: 'dev', deploy: { result: 'SUCCEEDED', buildId: null }, bake: { result: 'PASS', minutes: 5 }, promote: true }],
    });
    assert.deepEqual(
      evidenceCompleteness(events).gaps.map((g) => `${g.stage}:${g.missing}`),
      ['dev:deploy'],
    );
  });

  it('reports a promoted stage without a bake result and one without gate results', () => {
    const events = buildRelease({
      id: 'r',
      at: '2026-11-01T10:00:00.000Z',
      status: 'SUCCEEDED',
      stages: [
        { name: 'dev', deploy: { result: 'SUCCEEDED' }, promote: true },
        { name: 'prod', gates: [], deploy: { result: 'SUCCEEDED' }, bake: { result: 'PASS', minutes: 5 }, promote: true },
      ],
    });
    assert.deepEqual(
      evidenceCompleteness(events).gaps.map((g) => `${g.stage}:${g.missing}`),
      ['dev:bake', 'prod:gates'],
    );
  });

  it('reports a stage promoted although a gate failed', () => {
    const events = buildRelease({
      id: 'r',
      at: '2026-11-01T10:00:00.000Z',
      status: 'SUCCEEDED',
      stages: [
        {
          name: 'dev',
          gates: [{ gate: 'image.scan', result: 'FAIL', reason: '2 CRITICAL' }],
          deploy: { result: 'SUCCEEDED' },
          bake: { result: 'PASS', minutes: 5 },
          promote: true,
        },
      ],
    });
    assert.match(evidenceCompleteness(events).gaps[0]?.message ?? '', /image\.scan FAILED: 2 CRITICAL/);
  });

  it('reports a stage whose recorded policy required an approval that is not in the record', () => {
    const events = buildRelease({
      id: 'r',
      at: '2026-11-01T10:00:00.000Z',
      status: 'SUCCEEDED',
      approvalRequired: ['prod'],
      stages: [{ name: 'prod', deploy: { result: 'SUCCEEDED' }, bake: { result: 'PASS', minutes: 5 }, promote: true }],
    });
    const r = evidenceCompleteness(events);
    assert.deepEqual(
      r.gaps.map((g) => `${g.stage}:${g.missing}`),
      ['prod:approval'],
    );
    assert.deepEqual(r.notes, []);
  });

  it('accepts a required approval recorded with its decision and approver', () => {
    const events = buildRelease({
      id: 'r',
      at: '2026-11-01T10:00:00.000Z',
      status: 'SUCCEEDED',
      approvalRequired: ['prod'],
      stages: [{ name: 'prod', approval: { decision: 'APPROVED', principal: BOB }, deploy: { result: 'SUCCEEDED' }, bake: { result: 'PASS', minutes: 5 }, promote: true }],
    });
    assert.deepEqual(evidenceCompleteness(events).gaps, []);
  });

  it('checks nothing in an operator rollback, and says why', () => {
    const r = evidenceCompleteness(operatorRollback());
    assert.deepEqual(r.gaps, []);
    assert.match(r.notes[0] ?? '', /operator rollback/);
  });
});

describe('the audit record of one release', () => {
  const a = auditRelease(parseExport(formatExport(everyTypeRelease())).events, parseExport(formatExport(everyTypeRelease())).anchors);

  it('says which artifact: digest, tag, commit and image creation time', () => {
    assert.ok(a);
    assert.equal(a.digest, NEW);
    assert.equal(a.tag, 'v1.4.2');
    assert.deepEqual(a.commit?.value, '9f2c1e7');
    assert.equal(a.imageCreated?.value, '2026-11-24T08:00:00Z');
  });

  it('says who started it (the attributed pusher), under which config, and why', () => {
    assert.equal(a?.initiator, 'arn:aws:sts::111122223333:assumed-role/ci-pusher/build-42');
    assert.ok(a?.attributedAt);
    assert.equal(a?.configHash, CONFIG_HASH);
    assert.equal(a?.requestReason, 'CHG-1');
  });

  it('lists every gate with its reason, and the approval with the approver and comment', () => {
    const prod = a?.stages.find((s) => s.name === 'prod');
    assert.deepEqual(
      prod?.gates.map((g) => `${g.gate}:${g.result}`),
      ['image.exists:PASS', 'approval:PASS', 'bake:FAIL'],
    );
    assert.ok(prod?.gates.every((g) => g.reason.length > 0));
    assert.deepEqual(prod?.approval && { d: prod.approval.decision, p: prod.approval.principal, c: prod.approval.comment }, { d: 'APPROVED', p: BOB, c: 'ok for CHG-1' });
  });

  it('gives each deploy its driver evidence: build id, build ARN, log link and whatever else the driver recorded', () => {
    const prod = a?.stages.find((s) => s.name === 'prod');
    const deploy = prod?.deploys.find((d) => d.kind === 'deploy');
    assert.equal(deploy?.buildId, 'gantry-helm:payments-all-types-prod');
    assert.equal(deploy?.buildArn, 'arn:aws:codebuild:eu-west-2:111122223333:build/gantry-helm:payments-all-types-prod');
    assert.match(deploy?.logLink ?? '', /^https:\/\/eu-west-2\.console\.aws\.amazon\.com\/codesuite\/codebuild\/111122223333\/projects\/gantry-helm\/build\//);
    assert.deepEqual(deploy?.driverEvidence, { helmStatus: 'deployed' });
    assert.deepEqual(
      prod?.deploys.map((d) => `${d.kind}:${d.result}:${d.digest}`),
      [`deploy:SUCCEEDED:${NEW}`, `rollback:SUCCEEDED:${OLD}`],
    );
  });

  it('gives bake results, and the rollback with its detection and recovery times', () => {
    const prod = a?.stages.find((s) => s.name === 'prod');
    assert.deepEqual({ r: prod?.bake?.result, m: prod?.bake?.minutes }, { r: 'FAIL', m: 7 });
    assert.equal(prod?.rollback?.result, 'SUCCEEDED');
    assert.equal(prod?.rollback?.recoverySeconds, 360);
    assert.ok(prod?.rollback?.detectedAt);
    assert.equal(prod?.rollback?.toDigest, OLD);
  });

  it('gives the final status, the integrity of the record and its evidence check', () => {
    assert.equal(a?.status, 'ROLLED_BACK');
    assert.equal(a?.integrity.ok, true);
    assert.deepEqual(a?.evidence.promotedStages, ['dev']);
    assert.equal(a?.stages.find((s) => s.name === 'dev')?.status, 'PROMOTED');
  });

  it('keeps the initiator of the start record when nothing attributed the release later', () => {
    assert.equal(auditRelease(promotedRelease('rel-a', '2026-11-01T10:00:00.000Z'))?.initiator, ALICE);
  });
});
