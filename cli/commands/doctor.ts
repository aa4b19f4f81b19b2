/**
 * `gantry doctor`: a preflight of an account for Gantry, as a checklist (✓ / ✗ with the fix / – / !).
 *
 * - a deployed Gantry: `--stack` (default GANTRY_STACK, else Gantry) or `--outputs`, with the deployment config
 *   (`--config`, GANTRY_CONFIG or ./gantry.config.json): the role ARNs come from the stack outputs;
 * - a config before deploying: `--config FILE` without `--stack`/`--outputs`: the roles do not exist yet, so their
 *   access entries are not checked (the checklist says what to do after the deploy);
 * - a local Gantry: `--local DIR`, the same checks against the local cloud of a simulation.
 *
 * The reads go through a DoctorReader (cli/backends/doctor-reader.ts; AWS: cli/backends/doctor-aws.ts; local: cli/backends/doctor-local.ts); the checks are
 * decided in lambdas/domain/doctor.ts. Exit 0 all hold, 1 one fails, 2 bad input, 3 no such stack or local Gantry,
 * 4 an AWS read failed (the checklist names it).
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ACCESS_ROLE_OUTPUTS, ACCESS_ROLES, type AccessRole } from '../../lambdas/domain/access-entries';
import { type GantryConfig, parseConfig } from '../../lambdas/domain/config';
import {
  type AccessEntryFacts,
  type CheckStatus,
  type ClusterFacts,
  type DoctorCheck,
  type DoctorFacts,
  doctorExitCode,
  doctorPlan,
  entryKey,
  evaluateDoctor,
  type Fact,
  type KeyFacts,
  type RepositoryFacts,
  type StackFacts,
} from '../../lambdas/domain/doctor';
import { GantryAwsError } from '../backends/backend';
import type { DoctorReader } from '../backends/doctor-reader';
// The readers (the AWS SDK clients; the local cloud) are loaded when the command runs, not at start (issue 17).
const doctorAws = () => import('../backends/doctor-aws');
import { CliInputError } from '../errors';
import type { OperatorIo, SetCode } from './common';
import { useColour } from './common';
import type { DoctorOutput } from '../render/schemas';
const stackOutputs = () => import('../backends/stack');

export type { DoctorReader } from '../backends/doctor-reader';

/** Read every fact the checks of `config` need. Reads that depend on another (an entry on a cluster) wait for it. */
export async function gatherFacts(reader: DoctorReader, config: GantryConfig, roles: Partial<Record<AccessRole, string>> | undefined): Promise<DoctorFacts> {
  const { fact } = await doctorAws();
  const plan = doctorPlan(config);
  const clusters: Record<string, Fact<ClusterFacts | undefined>> = {};
  const accessEntryLists: Record<string, Fact<readonly string[]>> = {};
  const accessEntries: Record<string, Fact<AccessEntryFacts | undefined>> = {};
  for (const c of plan.clusters) {
    clusters[c.key] = await fact(() => reader.describeCluster(c.name, c.region));
    const found = clusters[c.key];
    const wanted = plan.requirements.filter((r) => r.clusterKey === c.key && roles?.[r.role]);
    if (!found?.ok || !found.value || wanted.length === 0) continue;
    const listed = await fact(() => reader.listAccessEntries(c.name, c.region));
    accessEntryLists[c.key] = listed;
    if (!listed.ok) continue;
    for (const r of wanted) {
      const principal = roles?.[r.role] as string;
      if (listed.value.includes(principal) && !accessEntries[entryKey(c.key, principal)]) {
        accessEntries[entryKey(c.key, principal)] = await fact(() => reader.describeAccessEntry(c.name, c.region, principal));
      }
    }
  }
  const repositories: Record<string, Fact<RepositoryFacts | undefined>> = {};
  for (const repository of plan.repositories) repositories[repository] = await fact(() => reader.describeRepository(repository));
  const keys: Record<string, Fact<KeyFacts | undefined>> = {};
  for (const key of plan.keys) keys[key] = await fact(() => reader.describeKey(key));
  return {
    clusters,
    accessEntryLists,
    accessEntries,
    repositories,
    registryScanning: plan.repositories.length ? await fact(() => reader.registryScanning()) : { ok: true, value: { scanType: 'BASIC', rules: [] } },
    alarms: plan.alarms.length ? await fact(() => reader.describeAlarms(plan.alarms)) : { ok: true, value: [] },
    trails: await fact(() => reader.trails()),
    keys,
  };
}

export interface DoctorOptions {
  readonly local?: string;
  readonly stack?: string;
  readonly region?: string;
  readonly profile?: string;
  readonly outputs?: string;
  readonly config?: string;
  readonly json?: boolean;
}

interface Subject {
  readonly mode: 'deployed' | 'config' | 'local';
  readonly label: string;
  readonly region: string;
  readonly config: GantryConfig;
  readonly configSource: string | null;
  readonly roles: Partial<Record<AccessRole, string>> | undefined;
  readonly reader: DoctorReader;
  readonly stack?: { readonly name: string; readonly missingOutputs: readonly string[]; readonly workflows: ReadonlyArray<{ name: string; arn: string }> };
  readonly close: () => void;
}

function readConfigFile(path: string): GantryConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new CliInputError(`--config: expected the deployment config (gantry.config.json), could not read ${path}: ${(e as Error).message}`, { cause: e });
  }
  return parseConfig(raw, path);
}

async function resolveRegion(opts: DoctorOptions): Promise<string> {
  let region = opts.region;
  if (!region) {
    const { SFNClient } = await import('@aws-sdk/client-sfn');
    const probe = new SFNClient({ ...(opts.profile ? { profile: opts.profile } : {}) });
    try {
      region = await probe.config.region();
    } catch {
      region = undefined;
    } finally {
      probe.destroy();
    }
  }
  if (!region) throw new CliInputError('no AWS region: give --region, or set AWS_REGION (or a region in your AWS profile)');
  if (!/^[a-z]{2}(-gov)?(-[a-z]+)+-\d$/.test(region)) throw new CliInputError(`--region: expected an AWS region such as eu-west-2, got ${JSON.stringify(region)}`);
  return region;
}

async function openSubject(opts: DoctorOptions, io: Pick<OperatorIo, 'env'>): Promise<Subject> {
  if (opts.local) {
    const extra = (['stack', 'outputs', 'region', 'profile', 'config'] as const).filter((k) => opts[k] !== undefined);
    if (extra.length) throw new CliInputError(`--local checks the local Gantry's own config and cloud: leave out ${extra.map((k) => `--${k}`).join(', ')}`);
    const { openLocalDoctor } = await import('../backends/doctor-local');
    const local = openLocalDoctor(opts.local);
    return { mode: 'local', label: local.label, region: local.region, config: local.config, configSource: null, roles: local.roles, reader: local.reader, close: () => undefined };
  }
  const region = await resolveRegion(opts);
  const { AwsDoctorReader, doctorAwsClients } = await doctorAws();
  const { describeStackOutputs, readOutputsFile, stackNameOf, toStackOutputs } = await stackOutputs();
  const clients = doctorAwsClients({ region, ...(opts.profile ? { profile: opts.profile } : {}) });
  const reader = new AwsDoctorReader(clients, region);
  try {
    if (opts.config && !opts.stack && !opts.outputs) {
      return {
        mode: 'config',
        label: `config ${opts.config} before deploying (${region})`,
        region,
        config: readConfigFile(opts.config),
        configSource: opts.config,
        roles: undefined,
        reader,
        close: () => clients.destroy(),
      };
    }
    const stackName = stackNameOf(opts.stack, io.env);
    const raw = opts.outputs
      ? readOutputsFile(opts.outputs, stackName)
      : await describeStackOutputs({ region, ...(opts.profile ? { profile: opts.profile } : {}) }, region)(stackName);
    const outputs = toStackOutputs(stackName, raw);
    const configPath = opts.config ?? io.env.GANTRY_CONFIG ?? (existsSync('gantry.config.json') ? 'gantry.config.json' : undefined);
    if (!configPath)
      throw new CliInputError(
        'gantry doctor needs the deployment config to know the clusters, repositories, alarms and keys: give --config <file> (or GANTRY_CONFIG, or ./gantry.config.json)',
      );
    const roles: Partial<Record<AccessRole, string>> = {};
    for (const role of ACCESS_ROLES) if (raw[ACCESS_ROLE_OUTPUTS[role]]) roles[role] = raw[ACCESS_ROLE_OUTPUTS[role]];
    return {
      mode: 'deployed',
      label: `stack ${stackName} (${region}) with config ${configPath}`,
      region,
      config: readConfigFile(configPath),
      configSource: configPath,
      roles,
      reader,
      stack: {
        name: stackName,
        missingOutputs: ACCESS_ROLES.filter((r) => !roles[r]).map((r) => ACCESS_ROLE_OUTPUTS[r]),
        workflows: [
          { name: 'release', arn: outputs.releaseStateMachineArn },
          { name: 'rollback', arn: outputs.rollbackStateMachineArn },
        ],
      },
      close: () => clients.destroy(),
    };
  } catch (e) {
    clients.destroy();
    throw e;
  }
}

/** Run the checks of one subject. */
export async function doctorChecks(s: Subject): Promise<DoctorCheck[]> {
  let facts: DoctorFacts;
  let stack: StackFacts | undefined;
  const [{ fact }, { credentialsHint }] = await Promise.all([doctorAws(), stackOutputs()]);
  try {
    facts = await gatherFacts(s.reader, s.config, s.roles);
    if (s.stack) {
      const { name, missingOutputs, workflows } = s.stack;
      const describe = s.reader.describeWorkflows?.bind(s.reader);
      stack = { name, missingOutputs, workflows: describe ? await fact(() => describe(workflows)) : { ok: true, value: workflows.map((w) => ({ ...w, status: 'ACTIVE' })) } };
    }
  } catch (e) {
    const hint = credentialsHint(e);
    if (hint) throw new GantryAwsError(hint, { cause: e });
    throw e;
  }
  return evaluateDoctor({ config: s.config, region: s.region, roles: s.roles, ...(stack ? { stack } : {}), facts });
}

const SYMBOLS: Record<CheckStatus, string> = { pass: '✓', fail: '✗', skip: '–', error: '!' };
const COLOURS: Record<CheckStatus, number> = { pass: 32, fail: 31, skip: 90, error: 33 };
const LABELS: Record<DoctorCheck['id'], string> = {
  stack: 'stack',
  'cluster.exists': 'cluster',
  'cluster.authentication-mode': 'authentication mode',
  'cluster.region': 'cluster region',
  'cluster.endpoint': 'API endpoint',
  'access-entry': 'access entry',
  'repository.exists': 'repository',
  'repository.tag-immutability': 'tag immutability',
  'repository.scanning': 'image scanning',
  alarm: 'alarm',
  cloudtrail: 'CloudTrail',
  'signing-key': 'signing key',
};

export function summaryOf(checks: readonly DoctorCheck[]): Record<CheckStatus, number> {
  return {
    pass: checks.filter((c) => c.status === 'pass').length,
    fail: checks.filter((c) => c.status === 'fail').length,
    skip: checks.filter((c) => c.status === 'skip').length,
    error: checks.filter((c) => c.status === 'error').length,
  };
}

export function renderDoctor(label: string, checks: readonly DoctorCheck[], colour: boolean): string {
  const paint = (status: CheckStatus, text: string) => (colour ? `\x1b[${COLOURS[status]}m${text}\x1b[0m` : text);
  const lines = [`gantry doctor: ${label}`];
  for (const c of checks) {
    lines.push(`${paint(c.status, SYMBOLS[c.status])} ${LABELS[c.id]} ${c.subject}: ${c.message}`);
    if (c.fix && c.status === 'fail') lines.push(`    fix: ${c.fix}`);
  }
  const s = summaryOf(checks);
  const code = doctorExitCode(checks);
  lines.push(
    `${checks.length} checks: ${s.pass} passed, ${s.fail} failed, ${s.skip} skipped, ${s.error} could not be read. ${code === 0 ? 'Ready.' : code === 4 ? 'Some reads failed (!): fix the access they name and run it again.' : 'Not ready: fix each ✗.'}`,
  );
  return lines.join('\n');
}

export async function runDoctor(opts: DoctorOptions, io: OperatorIo): Promise<number> {
  const subject = await openSubject(opts, io);
  try {
    const checks = await doctorChecks(subject);
    const code = doctorExitCode(checks);
    if (opts.json) {
      const out: DoctorOutput = {
        source: subject.label,
        simulated: subject.mode === 'local',
        mode: subject.mode,
        region: subject.region,
        config: subject.configSource,
        ok: code === 0,
        exitCode: code,
        summary: summaryOf(checks),
        checks: checks.map((c) => ({ id: c.id, subject: c.subject, status: c.status, message: c.message, fix: c.fix ?? null })),
      };
      io.out(JSON.stringify(out, null, 2));
    } else {
      io.out(renderDoctor(subject.label, checks, useColour(io)));
    }
    return code;
  } finally {
    subject.close();
  }
}

export function registerDoctorCommand(program: Command, setCode: SetCode, io: OperatorIo): void {
  program
    .command('doctor')
    .description(
      "preflight: clusters (ACTIVE, access entries allowed, each role's access entry, reachable endpoint), repositories (scanning, tag immutability), alarms, a CloudTrail trail and signing keys; of a deployed Gantry, a config before deploying (--config alone) or a local Gantry (--local)",
    )
    .option('--local <dir>', 'a local Gantry (gantry simulate --state) instead of AWS')
    .option('--stack <name>', 'the Gantry CloudFormation stack (default: GANTRY_STACK, else Gantry)')
    .option('--region <region>', "AWS region of the stack (default: AWS_REGION or your profile's)")
    .option('--profile <profile>', 'AWS profile (default: the standard credential chain)')
    .option('--outputs <file>', 'read the stack outputs from `cdk deploy --outputs-file` JSON instead of CloudFormation')
    .option('--config <file>', 'the deployment config; alone (no --stack/--outputs): check it before deploying (default with a stack: GANTRY_CONFIG or ./gantry.config.json)')
    .option('--json', 'print the checklist as one JSON object')
    .action(async (opts: DoctorOptions) => {
      setCode(await runDoctor(opts, io));
    });
}
