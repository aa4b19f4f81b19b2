/**
 * N-of-M approvals (decision 050) as the operator and the auditor see them, on a local Gantry made from the
 * example scenario approvals-two-of-three: `gantry status` while one approval of two is in, `gantry audit show`
 * and `gantry report` once the release is done (each approval: principal, person, when, comment).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, it } from 'vitest';
import { exportEvents, parseExport } from '../../lambdas/domain/audit';
import { example, gantry, gantryProcess, localGantry } from './helpers';

const releaseIdOf = (dir: string) => String(exportEvents(parseExport(readFileSync(join(dir, 'ledger.jsonl'), 'utf8')))[0]?.releaseId);

describe('N-of-M approvals in status, audit show and the report', () => {
  let waiting: string;
  let done: string;
  beforeAll(async () => {
    [waiting, done] = await Promise.all([localGantry(example('approvals-two-of-three'), 'PT17M'), localGantry(example('approvals-two-of-three'))]);
  });

  it('gantry status shows "1 of 2 approvals" and who, while the stage waits for one more', async () => {
    const id = releaseIdOf(waiting);
    const text = await gantry('status', id, '--local', waiting);
    assert.equal(text.code, 0, text.stderr);
    // The stage's line wraps at the width (100 columns in a pipe), under its activity column: joined back here.
    assert.match(text.stdout.replace(/\n +/g, ' '), /awaiting approvals: 1 of 2 approvals \(bob\); 1 more by distinct persons of ReleaseApprovers or carol or dana/);

    const json = await gantry('status', id, '--local', waiting, '--json');
    const prod = (JSON.parse(json.stdout) as { releases: Array<{ stages: Array<Record<string, any>> }> }).releases[0]?.stages.find((s) => s.name === 'prod');
    assert.equal(prod?.approvalsRequired, 2);
    assert.deepEqual(
      prod?.approvals.map((a: { person: string; decision: string }) => [a.person, a.decision]),
      [['bob', 'APPROVED']],
    );
    assert.deepEqual([prod?.waiting.required, prod?.waiting.approvedBy], [2, ['bob']]);
  });

  it('gantry approve says how many approvals are in when the count is not complete, and APPROVED when it is', async () => {
    const early = await localGantry(example('approvals-two-of-three'), 'PT12M');
    const id = releaseIdOf(early);
    const frank = 'arn:aws:sts::111122223333:assumed-role/ReleaseApprovers/frank';

    const first = await gantry('approve', id, '--stage', 'prod', '--local', early, '--as', frank, '--comment', 'looks right');
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`^APPROVED \\(1 of 2 approvals; the stage waits for 1 more\\): prod of ${id} by ${frank.replace(/[/]/g, '\\/')} at `));

    const again = await gantry('approve', id, '--stage', 'prod', '--local', early, '--as', frank);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^refused: .*already approved this stage/);

    const second = await gantry('approve', id, '--stage', 'prod', '--local', early, '--as', 'arn:aws:iam::111122223333:user/carol');
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, new RegExp(`^APPROVED: prod of ${id} by arn:aws:iam::111122223333:user\\/carol at `));
  });

  it('gantry audit show lists each approval with its count, principal, person, time and comment', () => {
    const r = gantryProcess('audit', 'show', releaseIdOf(done), '--local', done);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    const at = lines.findIndex((l) => /^ {2}approval {3}APPROVED by arn:aws:iam::111122223333:user\/carol/.test(l));
    assert.ok(at > 0, r.stdout);
    assert.match(lines[at + 1] ?? '', /APPROVED 1 of 2 by arn:aws:sts::111122223333:assumed-role\/ReleaseApprovers\/bob \(person bob\) — "reviewed CHG-3100"/);
    assert.match(lines[at + 2] ?? '', /APPROVED 2 of 2 by arn:aws:iam::111122223333:user\/carol \(person carol\) — "second pair of eyes: ok"/);
  });

  it('gantry report has an "Each approval" table with one row per approval', async () => {
    const r = await gantry('report', releaseIdOf(done), '--local', done);
    assert.equal(r.code, 0, r.stderr);
    const section = r.stdout.slice(r.stdout.indexOf('id="h-each-approval"'), r.stdout.indexOf('id="h-waits"'));
    const rows = section.match(/<tr><th scope="row">prod<\/th>.*?<\/tr>/g) ?? [];
    assert.equal(rows.length, 2, section);
    assert.match(rows[0] ?? '', /1 of 2.*ReleaseApprovers\/bob.*<td>bob<\/td>.*reviewed CHG-3100/);
    assert.match(rows[1] ?? '', /2 of 2.*user\/carol.*<td>carol<\/td>.*second pair of eyes: ok/);
  });
});
