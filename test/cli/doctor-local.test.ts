/**
 * `gantry doctor --local`: the same checks against the local cloud of a local Gantry. A broken one names every
 * missing piece (exit 1); one whose scenario declares a ready account passes (exit 0); the JSON matches its schema.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, it } from 'vitest';
import { doctorOutputSchema } from '../../cli/render/schemas';
import { LOCAL_ROLE_ARNS } from '../../local/cloud';
import { D1, gantry, localGantry, tmp } from './helpers';

const CHART = 'oci://111122223333.dkr.ecr.eu-west-2.amazonaws.com/charts/payments';
const KEY = 'arn:aws:kms:eu-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const OLD_KEY = 'arn:aws:kms:eu-west-2:111122223333:key/00000000-0000-0000-0000-000000000000';

const config = () => ({
  services: {
    payments: {
      repository: 'payments-api',
      imagePolicy: { requireImmutableTags: true, requireSignature: { keys: ['release-key'] } },
      stages: [
        { name: 'dev', cluster: 'dev', namespace: 'payments', deploy: { driver: 'helm', release: 'payments', chart: CHART, version: '1.2.0' }, alarms: ['payments-dev-5xx'] },
        {
          name: 'prod',
          cluster: 'prod',
          namespace: 'payments',
          deploy: { driver: 'kubernetes', deployment: 'payments-api', container: 'api' },
          alarms: ['payments-prod-5xx'],
          insufficientData: 'fail',
        },
      ],
    },
    ledger: {
      repository: 'ledger-service',
      stages: [{ name: 'dev', cluster: 'dev', namespace: 'ledger', deploy: { driver: 'helm', release: 'ledger', chart: CHART, version: '1.0.0' }, alarms: ['ledger-dev-errors'] }],
    },
  },
  clusters: { dev: { name: 'dev-eks', region: 'eu-west-2' }, prod: { name: 'prod-eks', region: 'eu-west-2', accessEntries: 'create' } },
  signing: { keys: { 'release-key': KEY, 'old-key': OLD_KEY } },
});

function scenario(account: Record<string, unknown>, ecr: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  const file = join(tmp(), 'scenario.json');
  writeFileSync(file, JSON.stringify({ name: 'doctor', config: config(), clock: '2026-11-24T10:00:00Z', ecr, ...account, ...extra }, null, 2));
  return file;
}

const READY_ECR = { 'payments-api': { tagMutability: 'IMMUTABLE', images: [] }, 'ledger-service': { tagMutability: 'IMMUTABLE', images: [] } };
const READY_KMS = { kms: { [KEY]: { keySpec: 'ECC_NIST_P256' }, [OLD_KEY]: { keySpec: 'RSA_3072' } } };

let ready: string;
let broken: string;
beforeAll(async () => {
  ready = await localGantry(scenario(READY_KMS, READY_ECR));
  broken = await localGantry(
    scenario(
      {
        eks: {
          'dev-eks': {
            authenticationMode: 'CONFIG_MAP',
            // The Helm driver can reach payments but not ledger.
            accessEntries: [{ principal: 'helmDriver', policies: [{ policy: 'AmazonEKSEditPolicy', namespaces: ['payments'] }] }],
          },
          'prod-eks': {
            status: 'UPDATING',
            endpointPublicAccess: false,
            endpointPrivateAccess: true,
            // The stack's entries were deleted by hand; someone left the insight role with view rights elsewhere.
            accessEntries: [{ principal: 'insightWorkflow', policies: [{ policy: 'AmazonEKSViewPolicy', namespaces: ['kube-system'] }] }],
          },
        },
        trails: [{ name: 'stopped', logging: false }],
        kms: { [OLD_KEY]: { keySpec: 'SYMMETRIC_DEFAULT', keyUsage: 'ENCRYPT_DECRYPT' } },
        alarms: { 'payments-dev-5xx': 'MISSING' },
      },
      { 'payments-api': { tagMutability: 'MUTABLE', scanOnPush: false, images: [] } },
      // The prod alarm stops reporting data one minute in: doctor sees it as it stands at the local Gantry's "now".
      { script: [{ when: { at: 'PT1M' }, alarm: { name: 'payments-prod-5xx', state: 'INSUFFICIENT_DATA' } }] },
    ),
  );
});

describe('gantry doctor --local', () => {
  it("passes a local Gantry whose account is ready (exit 0), with the local roles' entries", async () => {
    const r = await gantry('doctor', '--local', ready, '--json');
    const out = doctorOutputSchema.parse(JSON.parse(r.stdout));

    assert.equal(r.code, 0, r.stdout);
    assert.equal(out.mode, 'local');
    assert.equal(out.simulated, true);
    assert.deepEqual(
      out.checks.filter((c) => c.status === 'fail' || c.status === 'error'),
      [],
    );
    assert.deepEqual(
      out.checks.filter((c) => c.id === 'access-entry').map((c) => [c.subject, c.status]),
      [
        ['dev-eks/helmDriver', 'pass'],
        ['prod-eks/releaseWorkflow', 'pass'],
        ['prod-eks/rollbackWorkflow', 'pass'],
        ['prod-eks/insightWorkflow', 'pass'],
      ],
    );
  });

  it('names every missing piece of a broken local Gantry, each with its fix (exit 1)', async () => {
    const r = await gantry('doctor', '--local', broken);

    assert.equal(r.code, 1, r.stderr);
    const expected = [
      /✗ authentication mode dev-eks \(eu-west-2\): authentication mode CONFIG_MAP does not allow access entries/,
      /✗ access entry dev-eks\/helmDriver: the Helm driver role cannot reach ledger on dev-eks: it has AmazonEKSEditPolicy \(payments\)/,
      /✗ cluster prod-eks \(eu-west-2\): prod-eks is UPDATING, not ACTIVE/,
      /✗ API endpoint prod-eks \(eu-west-2\): the API endpoint is private only/,
      new RegExp(`✗ access entry prod-eks/releaseWorkflow: .*\\(${LOCAL_ROLE_ARNS.releaseWorkflow}\\) has no access entry on prod-eks \\(the stack creates it`),
      /✗ access entry prod-eks\/rollbackWorkflow: .*has no access entry on prod-eks/,
      /✗ access entry prod-eks\/insightWorkflow: .*cannot reach payments on prod-eks: it has AmazonEKSViewPolicy \(kube-system\)/,
      /✗ tag immutability payments-api: MUTABLE, but services\.payments\.imagePolicy\.requireImmutableTags is true/,
      /✗ image scanning payments-api: nothing scans payments-api on push/,
      /✗ repository ledger-service: no ECR repository ledger-service in eu-west-2/,
      /✗ alarm payments-dev-5xx: no CloudWatch alarm payments-dev-5xx/,
      /✗ alarm payments-prod-5xx: payments-prod-5xx has reported no data \(INSUFFICIENT_DATA\)/,
      /✗ CloudTrail eu-west-2: trail stopped is not logging/,
      new RegExp(`✗ signing key release-key \\(${KEY}\\): no such KMS key`),
      /✗ signing key old-key \(.*\): .*usage is ENCRYPT_DECRYPT, not SIGN_VERIFY; its spec SYMMETRIC_DEFAULT/,
    ];
    for (const line of expected) assert.match(r.stdout, line);
    assert.equal((r.stdout.match(/^✗ /gm) ?? []).length, expected.length, r.stdout);
    assert.equal((r.stdout.match(/^ {4}fix: /gm) ?? []).length, expected.length, 'one fix per ✗');
    assert.match(r.stdout, /^✓ alarm ledger-dev-errors: OK/m);
  });

  it('prints the same checklist as JSON, valid against its schema', async () => {
    const r = await gantry('doctor', '--local', broken, '--json');
    const out = doctorOutputSchema.parse(JSON.parse(r.stdout));

    assert.equal(r.code, 1);
    assert.equal(out.ok, false);
    assert.equal(out.exitCode, 1);
    assert.equal(out.summary.fail, out.checks.filter((c) => c.status === 'fail').length);
    assert.equal(out.summary.fail, 15);
  });

  it('sees a repository an ECR push created during the simulation', async () => {
    const dir = await localGantry(
      scenario(
        READY_KMS,
        { 'payments-api': { tagMutability: 'IMMUTABLE', images: [] } },
        { triggers: [{ type: 'ecr-push', repository: 'ledger-service', tag: 'release-1', digest: D1, at: 'PT1M' }] },
      ),
    );

    const r = await gantry('doctor', '--local', dir, '--json');
    const out = doctorOutputSchema.parse(JSON.parse(r.stdout));

    assert.equal(out.checks.find((c) => c.id === 'repository.exists' && c.subject === 'ledger-service')?.status, 'pass');
  });

  it('exits 3 for a directory that is not a local Gantry', async () => {
    const r = await gantry('doctor', '--local', tmp());

    assert.equal(r.code, 3);
    assert.match(r.stderr, /is not a local Gantry/);
  });

  it('refuses a scenario field it does not know, naming the path (exit 2)', async () => {
    const file = scenario({ eks: { 'dev-eks': { authenticationMode: 'SOMETIMES' } } }, READY_ECR);

    const r = await gantry('simulate', file);

    assert.equal(r.code, 2);
    assert.match(r.stderr, /eks\["dev-eks"\]\.authenticationMode: expected one of "API"\|"API_AND_CONFIG_MAP"\|"CONFIG_MAP", got "SOMETIMES"/);
  });
});
