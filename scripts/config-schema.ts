/**
 * Writes schemas/gantry.config.schema.json: the JSON Schema of `gantry.config.json`, generated from the zod
 * config schema (lambdas/domain/config.ts `configSchema`) with zod's `z.toJSONSchema`, for editors (the
 * example config names it with `"$schema"`). Refinements that JSON Schema cannot express (a stage's cluster
 * must be a key of `clusters`, time zones, tag patterns that compile in RE2, …) are checked by `parseConfig` only.
 *
 *   npm run schemas              (node --import tsx scripts/config-schema.ts)
 *   npm run schemas -- --check   writes nothing; exits 1 when the committed file is out of date
 *
 * It also writes the field reference of docs/config.md (between its `<!-- fields:start -->` and
 * `<!-- fields:end -->` lines) from the same JSON Schema: every field with its type, default and allowed
 * values, and its meaning from `FIELD_DESCRIPTIONS` below, which must describe every field (a field
 * without a description fails the script and the test).
 *
 * test/unit/config-json-schema.test.ts makes the same checks.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { configSchema } from '../lambdas/domain/config';

export const CONFIG_SCHEMA_FILE = join(__dirname, '..', 'schemas', 'gantry.config.schema.json');
export const CONFIG_DOC_FILE = join(__dirname, '..', 'docs', 'config.md');
const START = '<!-- fields:start -->';
const END = '<!-- fields:end -->';

/** What each field means, by its path in the reference (`<name>` a key you choose, `[]` each list item, `(driver)` one deploy driver's field). */
export const FIELD_DESCRIPTIONS: Readonly<Record<string, string>> = {
  $schema:
    'The JSON Schema an editor checks the file against (`../schemas/gantry.config.schema.json` from `examples/`). Not policy: dropped when parsed, not part of the config hash',
  services: 'The services Gantry releases, by service name (lowercase letters, digits and `-`, up to 40)',
  'services.<name>': 'One service: one ECR repository, released through its stages in order',
  'services.<name>.repository': "Its ECR repository name (in the stack's account and region); no two services share one",
  'services.<name>.tagPattern': 'Pushes whose tag does not match this regular expression (RE2 syntax, matched in linear time) start nothing and are recorded as skipped',
  'services.<name>.imagePolicy': 'What the image gates require of every image of the service ([gates.md](gates.md))',
  'services.<name>.imagePolicy.maxFindings': 'The most scan findings allowed per severity; a severity not named has no limit',
  'services.<name>.imagePolicy.maxFindings.<severity>':
    'The most findings of that severity (`CRITICAL`, `HIGH`, `MEDIUM`, `LOW`, `INFORMATIONAL`, `UNDEFINED`, `UNTRIAGED`) an image may have, not counting allowed ones',
  'services.<name>.imagePolicy.allow': 'Findings that do not count against `maxFindings`, each until its `expires` date',
  'services.<name>.imagePolicy.allow[]': 'One allowed finding',
  'services.<name>.imagePolicy.allow[].id': 'The finding id, such as `CVE-2024-1234`',
  'services.<name>.imagePolicy.allow[].expires': 'The date (YYYY-MM-DD, a real one) after which it no longer allows',
  'services.<name>.imagePolicy.allow[].reason': 'Why it is allowed; recorded with the gate',
  'services.<name>.imagePolicy.requireImmutableTags': '`image.immutable-tag`: the repository must have tag immutability on',
  'services.<name>.imagePolicy.requireSignature': '`image.signature`: `false`, or `{"keys": [...]}`: a cosign signature by one of these `signing.keys` is required',
  'services.<name>.imagePolicy.requireSignature.keys': 'Names of `signing.keys` entries whose signature is accepted (at least one)',
  'services.<name>.imagePolicy.requiredLabels': '`image.labels`: image labels that must be present and non-empty (`org.opencontainers.image.revision` is recorded as the commit)',
  'services.<name>.imagePolicy.maxAgeDays': '`image.age`: the most days since the image was created; absent: no limit',
  'services.<name>.imagePolicy.scanWaitMinutes': '`image.scan`: how long to wait for a scan still running before the gate fails',
  'services.<name>.stages': 'The stages, in release order (at least one; names unique within the service)',
  'services.<name>.changeRecord':
    'Absent: no change record asked for. Present: gate `change.record` ([gates.md](gates.md), [decision 051](decisions/051-change-records.md)) reads the change id of every release before any stage deploys',
  'services.<name>.changeRecord.required': '`true`: a release without a change record (or with one not matching `pattern`) is BLOCKED; `false`: one that is given must still match',
  'services.<name>.changeRecord.pattern': 'The change id must match this regular expression (RE2 syntax, linear time; anchor it: `^CHG-[0-9]{4,}$`)',
  'services.<name>.changeRecord.from':
    "`label:<name>`: the id is the image label `<name>` (a `changeRecord` in the release input is then refused); `input`: the release input's `changeRecord` (`gantry start --change`)",
  'services.<name>.source': "Where the code is: the commit of each release and the compare link from the stage's last known good ([decision 051](decisions/051-change-records.md))",
  'services.<name>.source.repositoryUrl': "The repository's https URL; compare links are `<url>/compare/<from>...<to>` (GitHub, GitLab)",
  'services.<name>.source.label': 'The image label holding the commit (hex, 7 to 64 characters)',
  'services.<name>.stages[]': 'One stage: where, how it is deployed, and what it must pass',
  'services.<name>.stages[].name': 'The stage name (a Kubernetes DNS label), such as `dev` or `prod`',
  'services.<name>.stages[].cluster': 'A key of `clusters`: the EKS cluster it deploys to (either `cluster` or `waves`)',
  'services.<name>.stages[].waves':
    'Waves of clusters instead of `cluster` ([decision 044](decisions/044-waves-of-clusters.md)): each wave a list of `clusters` keys deployed at once, the waves one after the other; each key once across all waves; not with a canary `deploy.rollout`',
  'services.<name>.stages[].waveBakeMinutes':
    "With `waves`: minutes each wave but the last bakes on the stage's alarms before the next starts (absent or 0: the next wave starts at once); the stage's own `bakeMinutes` follow the last wave",
  'services.<name>.stages[].namespace': 'The Kubernetes namespace it deploys to',
  'services.<name>.stages[].deploy': 'The driver and its settings: `helm`, `terraform` or `kubernetes` ([drivers.md](drivers.md))',
  'services.<name>.stages[].deploy.driver (helm)': '`helm`: `helm upgrade --install --atomic --wait` on CodeBuild',
  'services.<name>.stages[].deploy.release (helm)': 'The Helm release name',
  'services.<name>.stages[].deploy.chart (helm)': 'The chart: `oci://…`, `https://…` or `repo/chart`',
  'services.<name>.stages[].deploy.version (helm)': 'The chart version',
  'services.<name>.stages[].deploy.timeoutMinutes (helm)': 'How long the deploy may take before it fails',
  'services.<name>.stages[].deploy.values (helm)': 'The chart values Gantry sets to pin the image',
  'services.<name>.stages[].deploy.values.repositoryKey (helm)': 'The value set to the image repository',
  'services.<name>.stages[].deploy.values.digestKey (helm)': 'The value set to the image digest',
  'services.<name>.stages[].deploy.driver (terraform)': '`terraform`: plan, the plan as evidence, apply of that plan, on CodeBuild',
  'services.<name>.stages[].deploy.source (terraform)': 'The Terraform source archive, `s3://bucket/key`',
  'services.<name>.stages[].deploy.workdir (terraform)': 'The root module inside the archive: relative, no `..` segment',
  'services.<name>.stages[].deploy.imageVariable (terraform)': 'The Terraform variable set to the image reference (by digest)',
  'services.<name>.stages[].deploy.timeoutMinutes (terraform)': 'How long the deploy may take before it fails',
  'services.<name>.stages[].deploy.allowDestroy (terraform)': 'Allow a plan that destroys resources; otherwise such a plan is refused',
  'services.<name>.stages[].deploy.driver (kubernetes)': "`kubernetes`: Step Functions `eks:call` patches the Deployment's image and watches the rollout",
  'services.<name>.stages[].deploy.deployment (kubernetes)': 'The Deployment to patch',
  'services.<name>.stages[].deploy.container (kubernetes)': 'Its container whose image is set',
  'services.<name>.stages[].deploy.timeoutMinutes (kubernetes)': 'How long the rollout may take before it fails',
  'services.<name>.stages[].deploy.pollSeconds (kubernetes)': 'Seconds between rollout status reads',
  'services.<name>.stages[].deploy.rollout (kubernetes)': 'A canary in steps instead of replacing the Deployment at once (docs/decisions/043-canary-steps.md)',
  'services.<name>.stages[].deploy.rollout.strategy (kubernetes)': '`canary`, the only strategy',
  'services.<name>.stages[].deploy.rollout.traffic (kubernetes)':
    "`gateway-api`: weigh an HTTPRoute's backendRefs; `replicas`: scale the canary Deployment to the step's share of the stable's replicas (approximate)",
  'services.<name>.stages[].deploy.rollout.steps (kubernetes)': 'The steps: weights strictly increasing, from 1, the last 100',
  'services.<name>.stages[].deploy.rollout.steps[] (kubernetes)': 'One step',
  'services.<name>.stages[].deploy.rollout.steps[].weight (kubernetes)': "The canary's share of the traffic in this step, in %",
  'services.<name>.stages[].deploy.rollout.steps[].bakeMinutes (kubernetes)': 'How long the step bakes (phase `canary-<n>`) before the next; 0 or absent: no bake, no analysis',
  'services.<name>.stages[].deploy.rollout.canaryAlarms (kubernetes)': "Alarms on the canary, watched by each step's bake besides the stage's",
  'services.<name>.stages[].deploy.rollout.analysis (kubernetes)': "Compare a metric of the canary with the stable's over each step's bake (GetMetricData)",
  'services.<name>.stages[].deploy.rollout.analysis.metric (kubernetes)': 'The CloudWatch metric',
  'services.<name>.stages[].deploy.rollout.analysis.metric.namespace (kubernetes)': 'Its namespace',
  'services.<name>.stages[].deploy.rollout.analysis.metric.name (kubernetes)': 'Its name',
  'services.<name>.stages[].deploy.rollout.analysis.metric.stat (kubernetes)': 'The statistic (Average, Sum, Minimum, Maximum, SampleCount, pNN)',
  'services.<name>.stages[].deploy.rollout.analysis.stableDimensions (kubernetes)': "The dimensions of the stable's series",
  'services.<name>.stages[].deploy.rollout.analysis.stableDimensions.<name> (kubernetes)': 'A dimension value',
  'services.<name>.stages[].deploy.rollout.analysis.canaryDimensions (kubernetes)': "The dimensions of the canary's series",
  'services.<name>.stages[].deploy.rollout.analysis.canaryDimensions.<name> (kubernetes)': 'A dimension value',
  'services.<name>.stages[].deploy.rollout.analysis.maxRatio (kubernetes)': "FAIL when the canary's value is above the stable's × maxRatio",
  'services.<name>.stages[].deploy.rollout.analysis.minSamples (kubernetes)': 'Datapoints needed on both series; fewer is a FAIL (not enough samples)',
  'services.<name>.stages[].deploy.rollout.analysis.periodSeconds (kubernetes)': 'The period of each datapoint',
  'services.<name>.stages[].deploy.rollout.canaryDeployment (kubernetes)': 'The canary Deployment (default `<deployment>-canary`)',
  'services.<name>.stages[].deploy.rollout.route (kubernetes)': 'The HTTPRoute to weigh (required with traffic `gateway-api`)',
  'services.<name>.stages[].deploy.rollout.route.name (kubernetes)': 'Its name',
  'services.<name>.stages[].deploy.rollout.route.namespace (kubernetes)': "Its namespace (default: the stage's)",
  'services.<name>.stages[].deploy.rollout.route.rule (kubernetes)': 'The index of the rule whose backendRefs name the two Services',
  'services.<name>.stages[].deploy.rollout.stableService (kubernetes)': "The stable backendRef's Service (default: the Deployment's name)",
  'services.<name>.stages[].deploy.rollout.canaryService (kubernetes)': "The canary backendRef's Service (default: the canary Deployment's name)",
  'services.<name>.stages[].alarms': 'CloudWatch alarm names: checked before the deploy (`alarms.pre-deploy`) and watched during the bake',
  'services.<name>.stages[].bakeMinutes': 'How long the stage bakes against its alarms after the deploy before it is promoted',
  'services.<name>.stages[].insufficientData': 'An alarm with no data: `fail` counts it as failing, `ignore` does not',
  'services.<name>.stages[].bake': 'How the bake watches the alarms',
  'services.<name>.stages[].bake.mode': '`event`: an alarm state change fails the bake at once; `poll`: DescribeAlarms every `intervalSeconds`',
  'services.<name>.stages[].bake.intervalSeconds': 'Seconds between alarm reads in `poll` mode',
  'services.<name>.stages[].recoveryMinutes': 'After a rollback deploy, how long to wait before recording whether the alarms recovered',
  'services.<name>.stages[].approval': 'Absent: no approval. Present: the stage waits for an approver before it deploys ([Approvals](#approvals))',
  'services.<name>.stages[].approval.approvers': "IAM role, user or assumed-role ARNs that may approve; a role matches every session of it. Never the release's initiator",
  'services.<name>.stages[].approval.timeoutMinutes': 'How long to wait for a decision; then the stage is REJECTED (`TIMED_OUT`)',
  'services.<name>.stages[].approval.validForMinutes':
    'How long an approval stays good for the deploy it allows, counted from the first approval when several are required; absent: however long the release then waits',
  'services.<name>.stages[].approval.required':
    'How many distinct persons must approve (1 to 10; absent: 1); none the initiator, each once; a single rejection ends the stage ([decision 050](decisions/050-n-of-m-approvals.md))',
  'services.<name>.stages[].approval.excludeAuthors':
    "Refuse a decision by an author of the image, as `authorLabel` names them (absent: false); needs `authorLabel` in the service's `imagePolicy.requiredLabels`",
  'services.<name>.stages[].approval.authorLabel':
    'The image label naming its authors, comma-separated, each `Name <email>` or an email (absent: `org.opencontainers.image.authors`)',
  'services.<name>.stages[].windows': 'Absent: deploy at any time (the global freeze still applies). Present: release windows and blackouts ([Release windows](#release-windows))',
  'services.<name>.stages[].windows.timezone': 'The IANA time zone the windows are read in, such as `Europe/London` (daylight saving included)',
  'services.<name>.stages[].windows.allow': 'When deploys are allowed; empty: never, outside blackouts included',
  'services.<name>.stages[].windows.allow[]': 'One window, on the listed days from `from` to `to` (exclusive); `from` later than `to` runs across midnight',
  'services.<name>.stages[].windows.allow[].days': 'The days it opens on (`Mon` … `Sun`)',
  'services.<name>.stages[].windows.allow[].from': 'Opening time, HH:MM (not 24:00)',
  'services.<name>.stages[].windows.allow[].to': 'Closing time, HH:MM (24:00 allowed), different from `from`',
  'services.<name>.stages[].windows.outside': 'Outside a window: `wait` for the next opening, or `block` the stage',
  'services.<name>.stages[].windows.blackouts': 'Periods with no deploy, even inside a window',
  'services.<name>.stages[].windows.blackouts[]': 'One blackout',
  'services.<name>.stages[].windows.blackouts[].from': 'Start, local date-time YYYY-MM-DDTHH:MM',
  'services.<name>.stages[].windows.blackouts[].to': 'End, local date-time, after `from`',
  'services.<name>.stages[].windows.blackouts[].reason': 'Why; recorded with the `window` gate',
  'services.<name>.stages[].workload': "The Deployment and container the daily drift check reads; defaults to a `kubernetes` deploy's own",
  'services.<name>.stages[].workload.deployment': 'The Deployment name',
  'services.<name>.stages[].workload.container': 'The container name',
  clusters: 'The EKS clusters stages deploy to, by the key stages name in `cluster`',
  'clusters.<name>': 'One cluster',
  'clusters.<name>.name': 'The EKS cluster name',
  'clusters.<name>.region': 'Its region, such as `eu-west-2`',
  'clusters.<name>.accessEntries':
    "`create`: the stack makes the access entries of Gantry's roles; `document` (absent): you do ([Clusters and their access entries](#clusters-and-their-access-entries))",
  'clusters.<name>.account': "The cluster's AWS account when it is not Gantry's own (12 digits); needs `roleArn` ([Clusters in other accounts](#clusters-in-other-accounts))",
  'clusters.<name>.roleArn': 'The role Gantry assumes for this cluster (the GantryTargetAccount stack output `TargetRoleArn`); its account must be `account`',
  signing: 'Keys that image signatures are verified with',
  'signing.keys': 'The keys, by the name `requireSignature.keys` uses',
  'signing.keys.<name>': 'A PEM public key, or the key ARN (not an alias ARN) of an asymmetric KMS key',
  insight: 'The daily insight check',
  'insight.staleAfterDays': 'A service with no promotion to its last stage in this many days is reported stale',
  'insight.driftCheck': "Compare what each stage's workload runs with what the ledger says was deployed",
  identity: 'Who is which person, for segregation of duties ([Who is which person](#who-is-which-person-identity)); absent: persons are compared by IAM user or role session name',
  'identity.persons': 'Each person, by name, with the principal ARNs that are them',
  'identity.persons.<name>': 'The principals (ARNs, in any account, under any role) that are this person; no principal may belong to two persons',
  'identity.requirePersons': 'Refuse an approval when the caller or the initiator is listed under no person',
};

type Node = {
  type?: string;
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  minItems?: number;
  default?: unknown;
  properties?: Record<string, Node>;
  required?: string[];
  additionalProperties?: Node | boolean;
  propertyNames?: Node;
  items?: Node;
  anyOf?: Node[];
  oneOf?: Node[];
};
export interface FieldRow {
  readonly path: string;
  readonly type: string;
  readonly required: boolean;
  readonly default?: unknown;
}

const code = (v: unknown) => `\`${typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v)}\``;
function typeOf(n: Node): string {
  const alts = n.anyOf ?? n.oneOf;
  const drivers = alts?.map((a) => a.properties?.driver?.const);
  if (drivers?.every((d) => typeof d === 'string')) return `object, by \`driver\`: ${drivers.map(code).join(', ')}`;
  if (alts) return alts.map(typeOf).join(' or ');
  if (n.const !== undefined) return code(n.const);
  if (n.enum) return n.enum.map(code).join(' \\| ');
  if (n.type === 'integer') return n.minimum !== undefined && n.maximum !== undefined ? `whole number ${n.minimum}–${n.maximum}` : 'whole number';
  if (n.type === 'string') return n.pattern ? `string matching \`${n.pattern.replace(/\|/g, '\\|')}\`` : n.minLength ? 'non-empty string' : 'string';
  if (n.type === 'array') return `list${n.minItems ? ` (at least ${n.minItems})` : ''} of ${n.items ? typeOf(n.items) : 'values'}`;
  if (n.type === 'object') return n.properties ? 'object' : 'map';
  return n.type ?? 'value';
}

/** Every field of the JSON Schema, parents before children. List items of plain values are folded into their list. */
export function configFields(schema: Node): FieldRow[] {
  const rows: FieldRow[] = [];
  const walk = (path: string, n: Node, required: boolean) => {
    const isItem = path.endsWith('[]');
    if (!isItem || (n.type === 'object' && n.properties)) rows.push({ path, type: typeOf(n), required, default: n.default });
    for (const alt of n.anyOf ?? n.oneOf ?? []) {
      const driver = alt.properties?.driver?.const;
      for (const [k, v] of Object.entries(alt.properties ?? {}))
        walk(typeof driver === 'string' ? `${path}.${k} (${driver})` : `${path}.${k}`, v, (alt.required ?? []).includes(k));
    }
    for (const [k, v] of Object.entries(n.properties ?? {})) walk(path ? `${path}.${k}` : k, v, (n.required ?? []).includes(k));
    if (typeof n.additionalProperties === 'object') walk(`${path}.<${n.propertyNames?.enum ? 'severity' : 'name'}>`, n.additionalProperties, false);
    if (n.type === 'array' && n.items) walk(`${path}[]`, n.items, false);
  };
  for (const [k, v] of Object.entries(schema.properties ?? {})) walk(k, v, (schema.required ?? []).includes(k));
  return rows.map((r) => (r.path.includes(' (') ? { ...r, path: r.path.replace(/^(.*?) \((\w+)\)(.*)$/, '$1$3 ($2)') } : r));
}

/** docs/config.md with its field reference regenerated. */
export function configDocText(current: string): string {
  const rows = configFields(JSON.parse(configJsonSchemaText()) as Node);
  const missing = rows.filter((r) => FIELD_DESCRIPTIONS[r.path] === undefined).map((r) => r.path);
  const extra = Object.keys(FIELD_DESCRIPTIONS).filter((p) => !rows.some((r) => r.path === p));
  if (missing.length || extra.length)
    throw new Error(`scripts/config-schema.ts FIELD_DESCRIPTIONS: describe ${missing.join(', ') || 'nothing'}; remove ${extra.join(', ') || 'nothing'}`);
  const table = [
    '| field | type and allowed values | required | default | meaning |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| \`${r.path}\` | ${r.type} | ${r.required ? 'yes' : 'no'} | ${r.default === undefined ? '' : code(r.default)} | ${FIELD_DESCRIPTIONS[r.path]} |`),
  ].join('\n');
  const a = current.indexOf(START);
  const b = current.indexOf(END);
  if (a < 0 || b < a) throw new Error(`docs/config.md: expected the lines ${START} and ${END} around the field reference`);
  return `${current.slice(0, a + START.length)}\n${table}\n${current.slice(b)}`;
}

/** The JSON Schema of the config as a user writes it (fields with a default are optional), as file text. */
export function configJsonSchemaText(): string {
  const schema = z.toJSONSchema(configSchema, { io: 'input', target: 'draft-2020-12' });
  const doc = {
    $schema: schema.$schema,
    title: 'gantry.config.json',
    description: 'Gantry deployment config (policy as code). Generated from lambdas/domain/config.ts by `npm run schemas`; do not edit. Reference: docs/config.md.',
    ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== '$schema')),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

if (require.main === module) {
  const check = process.argv.includes('--check');
  const read = (file: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return ''; // absent: out of date
    }
  };
  let stale = 0;
  for (const [file, name, want] of [
    [CONFIG_SCHEMA_FILE, 'schemas/gantry.config.schema.json', configJsonSchemaText()],
    [CONFIG_DOC_FILE, 'docs/config.md (field reference)', configDocText(read(CONFIG_DOC_FILE))],
  ] as const) {
    if (read(file) === want) {
      console.log(`${name} is up to date`);
    } else if (check) {
      console.error(`${name} is out of date with lambdas/domain/config.ts: run npm run schemas`);
      stale++;
    } else {
      writeFileSync(file, want);
      console.log(`wrote ${name}`);
    }
  }
  if (stale > 0) process.exit(1);
}
