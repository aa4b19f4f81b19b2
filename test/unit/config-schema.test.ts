import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { configHash, parseConfig } from '../../lambdas/domain/config';
import { ValidationError } from '../../lambdas/domain/validation';

/** The docs/contracts.md §1 example, with a real-looking PEM in place of the ellipsis. */
function contractsExample(): any {
  return {
    services: {
      payments: {
        repository: 'payments-api',
        tagPattern: '^v[0-9]+\\.[0-9]+\\.[0-9]+$',
        imagePolicy: {
          maxFindings: { CRITICAL: 0, HIGH: 0 },
          allow: [{ id: 'CVE-2024-1234', expires: '2027-01-01', reason: 'not reachable' }],
          requireImmutableTags: true,
          requireSignature: { keys: ['release-key'] },
          requiredLabels: ['org.opencontainers.image.revision'],
          maxAgeDays: 30,
          scanWaitMinutes: 15,
        },
        stages: [
          {
            name: 'dev',
            cluster: 'dev',
            namespace: 'payments',
            deploy: { driver: 'helm', release: 'payments', chart: 'oci://111122223333.dkr.ecr.eu-west-2.amazonaws.com/charts/payments', version: '1.2.0', timeoutMinutes: 10 },
            alarms: ['payments-dev-5xx'],
            bakeMinutes: 10,
            insufficientData: 'ignore',
          },
          {
            name: 'prod',
            cluster: 'prod',
            namespace: 'payments',
            deploy: { driver: 'terraform', source: 's3://tf-sources/payments.zip', workdir: 'prod', imageVariable: 'image', timeoutMinutes: 20 },
            alarms: ['payments-prod-5xx', 'payments-prod-latency-p99'],
            bakeMinutes: 30,
            insufficientData: 'fail',
            approval: { approvers: ['arn:aws:iam::111122223333:role/ReleaseApprovers'], timeoutMinutes: 1440 },
            windows: {
              timezone: 'Europe/London',
              allow: [{ days: ['Mon', 'Tue', 'Wed', 'Thu'], from: '09:00', to: '16:00' }],
              outside: 'wait',
              blackouts: [{ from: '2026-12-20T00:00', to: '2027-01-04T00:00', reason: 'holiday freeze' }],
            },
          },
        ],
      },
    },
    clusters: { dev: { name: 'dev-eks', region: 'eu-west-2' }, prod: { name: 'prod-eks', region: 'eu-west-2' } },
    signing: { keys: { 'release-key': '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n' } },
  };
}

function problemsOf(raw: unknown): string[] {
  try {
    parseConfig(raw);
  } catch (e) {
    assert.ok(e instanceof ValidationError, `expected a ValidationError, got ${String(e)}`);
    return e.problems;
  }
  assert.fail('expected a ValidationError, but the config parsed');
}

describe('parseConfig on the docs/contracts.md §1 example', () => {
  it('parses it and applies the defaults it leaves out', () => {
    const cfg = parseConfig(contractsExample());
    const [dev, prod] = cfg.services.payments?.stages ?? [];
    assert.deepEqual(dev?.deploy, {
      driver: 'helm',
      release: 'payments',
      chart: 'oci://111122223333.dkr.ecr.eu-west-2.amazonaws.com/charts/payments',
      version: '1.2.0',
      timeoutMinutes: 10,
      values: { repositoryKey: 'image.repository', digestKey: 'image.digest' },
    });
    assert.equal(prod?.deploy.driver === 'terraform' && prod.deploy.allowDestroy, false);
    assert.equal(dev?.approval, undefined);
    assert.equal(prod?.windows?.outside, 'wait');
    assert.deepEqual(cfg.services.payments?.imagePolicy.requireSignature, { keys: ['release-key'] });
  });

  it('fills every default in a minimal config', () => {
    const cfg = parseConfig({
      services: {
        api: {
          repository: 'api',
          stages: [{ name: 'dev', cluster: 'dev', namespace: 'api', deploy: { driver: 'terraform', source: 's3://b-1/k.zip', workdir: 'dev', imageVariable: 'image' } }],
        },
      },
      clusters: { dev: { name: 'dev-eks', region: 'eu-west-2' } },
    });
    const svc = cfg.services.api;
    assert.equal(svc?.tagPattern, '.*');
    assert.deepEqual(svc?.imagePolicy, { maxFindings: {}, allow: [], requireImmutableTags: false, requireSignature: false, requiredLabels: [], scanWaitMinutes: 15 });
    const stage = svc?.stages[0];
    assert.deepEqual([stage?.alarms, stage?.bakeMinutes, stage?.insufficientData, stage?.deploy.timeoutMinutes], [[], 0, 'fail', 20]);
    assert.deepEqual(cfg.signing, { keys: {} });
  });

  it('returns a frozen object', () => {
    const cfg = parseConfig(contractsExample());
    assert.ok(Object.isFrozen(cfg));
    assert.ok(Object.isFrozen(cfg.services.payments?.stages[0]));
  });

  it('hashes the same for the same document whatever the key order', () => {
    const a = contractsExample();
    const b = { signing: a.signing, clusters: a.clusters, services: a.services };
    assert.equal(configHash(parseConfig(a)), configHash(parseConfig(b)));
    assert.match(configHash(parseConfig(a)), /^[a-f0-9]{64}$/);
  });
});

describe('parseConfig problems', () => {
  it('names the allowed cluster keys for an unknown cluster', () => {
    const raw = contractsExample();
    raw.services.payments.stages[1].cluster = 'staging';
    assert.deepEqual(problemsOf(raw), ['services.payments.stages[1].cluster: expected one of the keys of "clusters" (dev, prod), got "staging"']);
  });

  it('refuses a duplicate stage name within a service', () => {
    const raw = contractsExample();
    raw.services.payments.stages[1].name = 'dev';
    assert.deepEqual(problemsOf(raw), ['services.payments.stages[1].name: expected a stage name not used by an earlier stage of payments (dev is a duplicate), got "dev"']);
  });

  it('refuses a signature key that signing.keys does not define', () => {
    const raw = contractsExample();
    raw.services.payments.imagePolicy.requireSignature = { keys: ['release-key', 'other-key'] };
    assert.deepEqual(problemsOf(raw), ['services.payments.imagePolicy.requireSignature.keys[1]: expected a key defined in signing.keys, got "other-key"']);
  });

  it('refuses a required signature when the signing section is missing', () => {
    const raw = contractsExample();
    delete raw.signing;
    assert.deepEqual(problemsOf(raw), ['services.payments.imagePolicy.requireSignature.keys[0]: expected a key defined in signing.keys, got "release-key"']);
  });

  it('says what requireSignature allows when it is true', () => {
    const raw = contractsExample();
    raw.services.payments.imagePolicy.requireSignature = true;
    assert.deepEqual(problemsOf(raw), ['services.payments.imagePolicy.requireSignature: expected false or {"keys": [names of signing.keys entries]}, got true']);
  });

  it('refuses a time zone that is not an IANA zone', () => {
    const raw = contractsExample();
    raw.services.payments.stages[1].windows.timezone = 'Europe/Londres';
    assert.deepEqual(problemsOf(raw), ['services.payments.stages[1].windows.timezone: expected an IANA time zone such as Europe/London, got "Europe/Londres"']);
  });

  it('refuses a repository two services share', () => {
    const raw = contractsExample();
    raw.services.ledger = structuredClone(raw.services.payments);
    assert.deepEqual(problemsOf(raw), ['services.ledger.repository: expected a repository no other service uses (payments-api is used by service payments), got "payments-api"']);
  });

  it('names the key, not the value, of a service whose name is not allowed', () => {
    const raw = contractsExample();
    raw.services.Payments = raw.services.payments;
    delete raw.services.payments;
    assert.deepEqual(problemsOf(raw), ['services.Payments: expected a service name (lowercase, digits, -), got "Payments"']);
  });

  it('refuses an unknown severity in maxFindings', () => {
    const raw = contractsExample();
    raw.services.payments.imagePolicy.maxFindings.SEVERE = 1;
    assert.deepEqual(problemsOf(raw), ['services.payments.imagePolicy.maxFindings.SEVERE: unknown field (not allowed here)']);
  });

  it('refuses an unknown deploy driver', () => {
    const raw = contractsExample();
    raw.services.payments.stages[0].deploy.driver = 'kubectl';
    assert.deepEqual(problemsOf(raw), ['services.payments.stages[0].deploy.driver: expected a deploy with driver "helm", "terraform" or "kubernetes", got "kubectl"']);
  });

  it('names a field of the chosen driver', () => {
    const raw = contractsExample();
    raw.services.payments.stages[0].deploy.release = 'Payments_API';
    assert.deepEqual(problemsOf(raw), ['services.payments.stages[0].deploy.release: expected a Helm release name (a Kubernetes DNS label), got "Payments_API"']);
  });

  it('refuses an unknown stage field', () => {
    const raw = contractsExample();
    raw.services.payments.stages[0].bakeTime = 10;
    assert.deepEqual(problemsOf(raw), ['services.payments.stages[0].bakeTime: unknown field (not allowed here)']);
  });

  it('refuses a tag pattern that is not a regular expression', () => {
    const raw = contractsExample();
    raw.services.payments.tagPattern = '((';
    assert.deepEqual(problemsOf(raw), ['services.payments.tagPattern: expected a valid regular expression, got "(("']);
  });

  it('refuses an approver that is not an IAM ARN', () => {
    const raw = contractsExample();
    raw.services.payments.stages[1].approval.approvers = ['bob@example.com'];
    assert.deepEqual(problemsOf(raw), ['services.payments.stages[1].approval.approvers[0]: expected an IAM role, user or assumed-role ARN, got "bob@example.com"']);
  });

  it('refuses a window time past 24:00', () => {
    const raw = contractsExample();
    raw.services.payments.stages[1].windows.allow[0].to = '24:30';
    assert.deepEqual(problemsOf(raw), ['services.payments.stages[1].windows.allow[0].to: expected a time HH:MM from 00:00 to 24:00, got "24:30"']);
  });

  it('refuses a service without stages', () => {
    const raw = contractsExample();
    raw.services.payments.stages = [];
    assert.deepEqual(problemsOf(raw), ['services.payments.stages: expected at least one stage, got []']);
  });

  it('reports a range problem and a cross-reference problem together', () => {
    const raw = contractsExample();
    raw.services.payments.stages[0].bakeMinutes = -5;
    raw.services.payments.stages[1].cluster = 'nope';
    assert.deepEqual(problemsOf(raw), [
      'services.payments.stages[0].bakeMinutes: expected a whole number from 0 to 1440, got -5',
      'services.payments.stages[1].cluster: expected one of the keys of "clusters" (dev, prod), got "nope"',
    ]);
  });

  it('refuses a document that is not an object', () => {
    assert.deepEqual(problemsOf([]), ['(root): expected object, got []']);
  });
});

describe('bake settings', () => {
  it('defaults to an event-driven bake and a 5-minute recovery window', async () => {
    const { parseConfig } = await import('../../lambdas/domain/config');
    const { readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const cfg = parseConfig(JSON.parse(readFileSync(join(__dirname, '..', '..', 'examples', 'gantry.config.json'), 'utf8')));
    const st = cfg.services.payments?.stages[0];
    assert.deepEqual(st?.bake, { mode: 'event', intervalSeconds: 60 });
    assert.equal(st?.recoveryMinutes, 5);
  });

  it('refuses a poll interval under 10 seconds, naming the field', () => {
    const raw = contractsExample();
    raw.services.payments.stages[0].bake = { mode: 'poll', intervalSeconds: 5 };
    assert.deepEqual(problemsOf(raw), ['services.payments.stages[0].bake.intervalSeconds: expected a whole number of seconds from 10 to 3600, got 5']);
  });
});

describe('identity (who is which person)', () => {
  const persons = {
    alice: ['arn:aws:iam::111122223333:user/alice', 'arn:aws:sts::444455556666:assumed-role/AWSReservedSSO_Dev_*/alice@example.com'],
    bob: ['arn:aws:sts::111122223333:assumed-role/ReleaseApprovers/bob'],
  };

  it('accepts persons with their principals, and requirePersons', () => {
    const raw = contractsExample();
    raw.identity = { persons, requirePersons: true };

    const cfg = parseConfig(raw);

    assert.deepEqual(cfg.identity, { persons, requirePersons: true });
  });

  it('is optional, and leaves the config hash of a config without it unchanged', () => {
    const without = parseConfig(contractsExample());
    const raw = contractsExample();
    raw.identity = { persons };

    assert.equal(without.identity, undefined);
    assert.notEqual(configHash(parseConfig(raw)), configHash(without));
    assert.equal(parseConfig(raw).identity?.requirePersons, false);
  });

  it('refuses a wildcard anywhere but the end of an assumed-role entry\u2019s role name, naming the entry', () => {
    const raw = contractsExample();
    raw.identity = { persons: { alice: ['arn:aws:sts::111122223333:assumed-role/*/alice'], bob: ['arn:aws:sts::111122223333:assumed-role/ReleaseApprovers/b*'] } };

    assert.deepEqual(problemsOf(raw), [
      'identity.persons.alice[0]: expected * only once, at the end of the role name of an assumed-role entry, after a prefix (assumed-role/AWSReservedSSO_Dev_*/alice@example.com), got "arn:aws:sts::111122223333:assumed-role/*/alice"',
      'identity.persons.bob[0]: expected * only once, at the end of the role name of an assumed-role entry, after a prefix (assumed-role/AWSReservedSSO_Dev_*/alice@example.com), got "arn:aws:sts::111122223333:assumed-role/ReleaseApprovers/b*"',
    ]);
  });

  it('refuses a principal that two persons could both be', () => {
    const raw = contractsExample();
    raw.identity = { persons: { alice: ['arn:aws:iam::111122223333:role/Deployers'], bob: ['arn:aws:sts::111122223333:assumed-role/Deployers/bob'] } };

    assert.deepEqual(problemsOf(raw), [
      'identity.persons.bob[0]: expected principals that belong to one person only (this entry and arn:aws:iam::111122223333:role/Deployers of alice can match the same principal), got "arn:aws:sts::111122223333:assumed-role/Deployers/bob"',
    ]);
  });

  it('refuses an account root, a person without principals, a bad person name and unknown fields', () => {
    const raw = contractsExample();
    raw.identity = { persons: { root: ['arn:aws:iam::111122223333:root'], nobody: [] }, requireSourceIdentity: true };

    const problems = problemsOf(raw);

    assert.deepEqual([...problems].sort(), [
      'identity.persons.nobody: expected at least one principal ARN for the person, got []',
      'identity.persons.root[0]: expected an IAM user ARN, an IAM role ARN, or an assumed-role ARN arn:aws:sts::<account>:assumed-role/<role>/<session> (an account root or a federated user is no person Gantry can tell apart), got "arn:aws:iam::111122223333:root"',
      'identity.requireSourceIdentity: unknown field (not allowed here)',
    ]);
    raw.identity = { persons: { 'alice smith': ['arn:aws:iam::111122223333:user/alice'] } };
    assert.deepEqual(problemsOf(raw), ['identity.persons["alice smith"]: expected a person name (1-128 of letters, digits and +=,.@_-), got "alice smith"']);
  });

  it('refuses requirePersons with nobody listed (nobody could ever approve)', () => {
    const raw = contractsExample();
    raw.identity = { requirePersons: true };

    assert.deepEqual(problemsOf(raw), [
      'identity.requirePersons: expected persons to list at least one person when requirePersons is true (otherwise nobody could ever approve), got true',
    ]);
  });
});
