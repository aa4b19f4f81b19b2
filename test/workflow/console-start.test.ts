/**
 * Console starts are attributed (issue 15, decision 027): a release started from the Step Functions console has
 * no start record and starts "unattributed"; CloudTrail's StartExecution record, a raw EventBridge event built
 * from the AWS documentation's sample (test/fixtures/aws-samples/stepfunctions-cloudtrail-startexecution-record.json),
 * reaches intake through the deployed rule's pattern and names the console user as the initiator. Segregation of
 * duties then applies as for any other start.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { stateMachineArn } from '../../local/engine';
import { loadScenario } from '../../local/scenario';
import type { SimulationOutput } from '../../local/simulate';
import { sample } from '../helpers/aws-samples';
import { ROOT, runInline } from './helpers';

const ACCOUNT = '111122223333';
const alice = `arn:aws:sts::${ACCOUNT}:assumed-role/Deployers/alice`;
const aliceAsApprover = `arn:aws:sts::${ACCOUNT}:assumed-role/ReleaseApprovers/alice`;
const bob = `arn:aws:sts::${ACCOUNT}:assumed-role/ReleaseApprovers/bob`;
const NAME = 'console-payments-v142-alice';

/** The documentation's StartExecution record, as alice's console session in the simulation's account would make it, in EventBridge's envelope. */
function startExecutionEvent(principal = alice, name = NAME, workflow: 'release' | 'rollback' = 'release'): Record<string, unknown> {
  const detail = sample('stepfunctions-cloudtrail-startexecution-record.json');
  const machine = stateMachineArn(workflow);
  detail.userIdentity = {
    type: 'AssumedRole',
    principalId: 'AROAEXAMPLEDEPLOYERS:alice',
    arn: principal,
    accountId: ACCOUNT,
    accessKeyId: 'ASIAIOSFODNN7EXAMPLE',
    sessionContext: {
      sessionIssuer: { type: 'Role', principalId: 'AROAEXAMPLEDEPLOYERS', arn: `arn:aws:iam::${ACCOUNT}:role/Deployers`, accountId: ACCOUNT, userName: 'Deployers' },
    },
  };
  detail.awsRegion = 'eu-west-2';
  detail.recipientAccountId = ACCOUNT;
  detail.userAgent = 'console.amazonaws.com';
  detail.requestParameters = { input: JSON.stringify({ service: 'payments', image: { tag: 'v1.4.2' } }), stateMachineArn: machine, name };
  detail.responseElements = { startDate: 'Nov 24, 2026 10:00:00 AM', executionArn: `${machine.replace(':stateMachine:', ':execution:')}:${name}` };
  return {
    version: '0',
    id: '3f0c6a1e-6b1d-4f6e-9d7a-2c6f5e0b9a11',
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.states',
    account: ACCOUNT,
    time: '2026-11-24T10:04:00Z',
    region: 'eu-west-2',
    resources: [],
    detail,
  };
}

function scenario(triggers: unknown[], script: unknown[]) {
  const s = JSON.parse(readFileSync(join(ROOT, 'examples', 'scenarios', 'demo.json'), 'utf8'));
  const cfg = JSON.parse(readFileSync(join(ROOT, 'examples', 'gantry.config.json'), 'utf8'));
  cfg.services.payments.stages[2].approval = { approvers: [`arn:aws:iam::${ACCOUNT}:role/ReleaseApprovers`], timeoutMinutes: 60 };
  s.config = cfg;
  s.ecr['payments-api'].images[1].scan = { status: 'COMPLETE', findings: [] };
  s.triggers = triggers;
  s.script = script;
  return s;
}
const consoleStart = { type: 'console-start', name: NAME, input: { service: 'payments', image: { tag: 'v1.4.2' }, reason: 'CHG-2211 from the console' } };
const approval = (after: string, kind: 'approve' | 'reject', principal: string) => ({
  when: { service: 'payments', stage: 'prod', phase: 'approval', after },
  [kind]: { principal },
});
const refusals = (out: SimulationOutput) => out.timeline.filter((t) => t.event === 'Approval Refused' && /HTTP 403/.test(t.reason ?? ''));
const prodOf = (out: SimulationOutput) => out.releases[0]?.stages.find((s) => s.name === 'prod');

describe('a release started from the Step Functions console', () => {
  it('is attributed to the console user when CloudTrail’s StartExecution record arrives: she may not approve it, another approver may', async () => {
    const out = await runInline(
      scenario([consoleStart, { type: 'event', at: 'PT4M', event: startExecutionEvent() }], [approval('PT2M', 'approve', aliceAsApprover), approval('PT10M', 'approve', bob)]),
    );

    assert.deepEqual(out.warnings, []);
    const release = out.releases[0];
    assert.equal(release?.releaseId, NAME);
    assert.equal(release?.initiator, alice);
    assert.ok(
      out.timeline.some((t) => t.event === 'Initiator Identified' && t.release === NAME),
      'the attribution is on the release’s record',
    );
    const [refused, ...more] = refusals(out);
    assert.deepEqual(more, []);
    assert.match(
      refused?.reason ?? '',
      /ReleaseApprovers\/alice: HTTP 403 .*is the person who started this release \(as arn:aws:sts::111122223333:assumed-role\/Deployers\/alice\)/,
    );
    assert.equal(prodOf(out)?.approval?.decision, 'APPROVED');
    assert.equal(prodOf(out)?.approval?.principal, bob);
    assert.equal(release?.status, 'SUCCEEDED');
  });

  it('refuses an approval before the record arrives, saying it waits for CloudTrail’s StartExecution record, and accepts it after', async () => {
    const out = await runInline(
      scenario(
        [consoleStart],
        [
          approval('PT2M', 'approve', bob),
          { when: { service: 'payments', stage: 'prod', phase: 'approval', after: 'PT5M' }, event: startExecutionEvent() },
          approval('PT8M', 'approve', bob),
        ],
      ),
    );

    assert.deepEqual(out.warnings, []);
    const [early, ...more] = refusals(out);
    assert.deepEqual(more, []);
    assert.match(early?.reason ?? '', /bob: HTTP 403 initiator not known yet: waiting for CloudTrail's StartExecution record of this execution/);
    assert.equal(out.releases[0]?.initiator, alice);
    assert.equal(prodOf(out)?.approval?.principal, bob);
    assert.equal(out.releases[0]?.status, 'SUCCEEDED');
  });

  it('keeps the first attribution: a later StartExecution record of the same execution by someone else changes nothing', async () => {
    const carol = `arn:aws:sts::${ACCOUNT}:assumed-role/Deployers/carol`;
    const out = await runInline(
      scenario(
        [consoleStart, { type: 'event', at: 'PT4M', event: startExecutionEvent() }, { type: 'event', at: 'PT6M', event: { ...startExecutionEvent(carol), id: 'a-later-event' } }],
        [approval('PT2M', 'approve', bob)],
      ),
    );

    assert.deepEqual(out.warnings, []);
    assert.equal(out.releases[0]?.initiator, alice);
    assert.equal(out.timeline.filter((t) => t.event === 'Initiator Identified').length, 1);
  });

  it('stays unattributed, and unapprovable, without the record: the approval’s own timeout ends the wait', async () => {
    const out = await runInline(scenario([consoleStart], [approval('PT2M', 'approve', bob)]));

    assert.deepEqual(out.warnings, []);
    assert.match(out.releases[0]?.initiator ?? '', /^unattributed \(no start record yet/);
    assert.equal(refusals(out).length, 1);
    assert.equal(prodOf(out)?.approval?.decision, 'TIMED_OUT');
    assert.equal(out.releases[0]?.status, 'REJECTED');
    assert.equal(out.deployments.filter((d) => d.stage === 'prod').length, 0);
  });

  it('shows the console start in the timeline, and refuses a console-start trigger whose name is not an execution name, naming the path', async () => {
    const out = await runInline(scenario([consoleStart], [approval('PT2M', 'approve', bob)]));
    const bad = scenario([{ ...consoleStart, name: 'has.dots' }], []);

    assert.match(
      out.timeline.find((t) => t.event === 'Console Start')?.reason ?? '',
      /^StartExecution console-payments-v142-alice of the release workflow from the console: no start record$/,
    );
    assert.throws(() => loadScenario(bad, join(ROOT, 'examples', 'scenarios')), /triggers\[0\]\.name: expected an execution name: 1-80 of letters, digits, - and _/);
  });

  it('attributes a rollback started from the console the same way', async () => {
    const D1 = `sha256:${'1'.repeat(64)}`;
    const D2 = `sha256:${'2'.repeat(64)}`;
    const s = scenario(
      [
        { type: 'console-start', name: 'console-rollback-alice', workflow: 'rollback', input: { service: 'payments', stage: 'prod', reason: 'INC-1 from the console' } },
        { type: 'event', at: 'PT4M', event: startExecutionEvent(alice, 'console-rollback-alice', 'rollback') },
      ],
      [],
    );
    s.stages['payments/prod'] = { promoted: [D1], running: D2, lastKnownGood: D2 };

    const out = await runInline(s);

    const rollback = out.releases.find((r) => r.releaseId === 'console-rollback-alice');
    assert.deepEqual(out.warnings, []);
    assert.equal(rollback?.initiator, alice);
    assert.ok(out.timeline.some((t) => t.event === 'Initiator Identified' && t.release === 'console-rollback-alice'));
  });
});
