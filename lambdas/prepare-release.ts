/**
 * First state of the release workflow: validate the input (CONTRACTS §2), resolve a tag to its
 * digest once, and open the release's record. A bad input throws ValidationError and writes nothing.
 */
import { z } from 'zod';
import { parseReleaseInput } from './domain/release-input';
import { parseWith } from './domain/validation';
import type { Deps } from './ports';
import { lambdaHandler } from './shared/middleware';
import { announce, record } from './shared/recorder';

/** The release id is the execution name: it reaches drivers as GANTRY_RELEASE_ID, so it is held to a strict pattern. */
export const RELEASE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$/;
const eventSchema = z.object({
  input: z.unknown(),
  executionArn: z.string().min(1),
  executionName: z.string().regex(RELEASE_ID, 'expected an execution name of letters, digits, - and _ (it becomes the release id)'),
});

export interface PreparedRelease {
  releaseId: string;
  service: string;
  digest: string | null;
  tag: string | null;
  stages: string[];
  stageCount: number;
}

export async function run(event: unknown, deps: Deps): Promise<PreparedRelease> {
  const e = parseWith(eventSchema, event, 'task input');
  const input = parseReleaseInput(e.input, deps.config);
  const svc = deps.config.services[input.service];
  if (!svc) throw new Error(`unreachable: ${input.service} validated`);
  const stages = input.stages ?? svc.stages.map((s) => s.name);
  const releaseId = e.executionName;
  const initiator = (await deps.ledger.getInitiator(e.executionName)) ?? 'unattributed (no start record yet: a push is attributed when its CloudTrail PutImage record arrives)';

  let digest: string | undefined = input.image.digest;
  let tag: string | undefined = input.image.tag;
  if (!digest && tag) {
    const image = await deps.registry.describeImage(svc.repository, { tag });
    digest = image?.digest;
  } else if (digest && !tag) {
    const image = await deps.registry.describeImage(svc.repository, { digest });
    tag = image?.tags[0];
  }
  const started = await record(deps, releaseId, 'release.started', 'release.started', {
    kind: 'release',
    service: input.service,
    repository: svc.repository,
    digest: digest ?? null,
    tag: tag ?? null,
    initiator,
    input: e.input,
    reason: input.reason ?? null,
    breakGlass: input.breakGlass ?? null,
    stages,
    // Which stages policy says need an approval: lets an audit catch a stage that skipped one.
    approvalRequired: svc.stages.filter((st) => stages.includes(st.name) && st.approval !== undefined).map((st) => st.name),
    configHash: deps.configHash,
    executionArn: e.executionArn,
  });
  const d = started.data;
  await announce(deps, started.duplicate, 'Release Started', { releaseId, service: input.service, digest: (d.digest as string) ?? undefined }, {
    status: 'RUNNING',
    at: started.at,
    tag: d.tag,
    initiator,
    stages,
    breakGlass: d.breakGlass,
  });
  return {
    releaseId,
    service: input.service,
    digest: (d.digest as string | null) ?? null,
    tag: (d.tag as string | null) ?? null,
    stages: d.stages as string[],
    stageCount: (d.stages as string[]).length,
  };
}

export const handler = lambdaHandler(run);
