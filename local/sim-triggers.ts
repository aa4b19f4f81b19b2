/**
 * The scenario's triggers in a simulation (local/simulate.ts), each at its time: pushes become ECR and
 * CloudTrail events, console starts and insight checks start executions, `kubectl set image` changes a
 * cluster, and operator requests go through the operator API's Lambda.
 */
import { stageWorkload } from '../lambdas/domain/config';
import { parseIsoDuration } from '../lambdas/domain/durations';
import { OPERATOR_ROUTES } from '../lambdas/domain/operator-requests';
import { run as operatorApi } from '../lambdas/operator-api';
import { scheduledDrillInput } from '../lambdas/domain/drill';
import { projectRelease } from '../lambdas/domain/ledger';
import { iamApiEvent } from './api-events';
import { ACCOUNT, REGION, detId } from './cloud';
import type { Trigger } from './scenario';
import type { SimWorld } from './sim-world';

type TriggerOf<T extends Trigger['type']> = Extract<Trigger, { type: T }>;

/** Every trigger on the clock, at its offset from the scenario's start. */
export function scheduleTriggers(world: SimWorld): void {
  const { scenario, clock, startMs } = world;
  scenario.triggers.forEach((t, i) => {
    clock.schedule(startMs + parseIsoDuration(t.at), async () => {
      const now = clock.now().toISOString();
      if (t.type === 'ecr-push') {
        ecrPush(world, t, i, now);
      } else if (t.type === 'event') {
        for (let c = 0; c < t.copies; c++) world.cloud.putEvent(t.event as Record<string, unknown>);
      } else if (t.type === 'console-start') {
        // As the Step Functions console does it: StartExecution, and nothing written anywhere else.
        const started = world.sfn?.start(t.workflow, t.name, t.input);
        world.cloud.note('Console Start', { execution: t.name, workflow: t.workflow, ...(started?.alreadyExists ? { alreadyExists: true } : {}) });
      } else if (t.type === 'insight-check') {
        // The daily check, as EventBridge Scheduler would start it (statemachines/insight.asl.json).
        world.sfn?.start('insight', `insight-${now.replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z')}-${i}`, {});
      } else if (t.type === 'kubectl-set-image') {
        kubectlSetImage(world, t);
      } else if (t.type === 'drill' && t.schedule !== undefined) {
        // A scheduled drill, as EventBridge Scheduler starts it from the stage's drill.schedule (lib/DrillSchedules.ts).
        const name = `drill-schedule-${now.replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z')}-${i}`;
        world.sfn?.start('drill', name, scheduledDrillInput(t.input.service, t.input.stage, t.schedule));
        world.cloud.note('Drill Scheduled', { service: t.input.service, stage: t.input.stage, schedule: t.schedule, execution: name });
      } else if (t.type === 'freeze' || t.type === 'start' || t.type === 'rollback' || t.type === 'drill') {
        await operatorRequest(world, t, i);
      } else if (t.type === 'abort') {
        await abortRequest(world, t, i);
      }
    });
  });
}

/** The image in the registry, and each copy of its push event (with CloudTrail's PutImage when the pusher is known). */
function ecrPush(world: SimWorld, t: TriggerOf<'ecr-push'>, i: number, now: string): void {
  const { cloud } = world;
  cloud.pushImage(t.repository, t.digest, t.tag);
  cloud.note('Push Received', { repository: t.repository, tag: t.tag, digest: t.digest, copies: t.copies });
  const actionId = detId('ecr-push', String(i), t.digest);
  for (let c = 0; c < t.copies; c++) {
    if (t.principal) cloud.putEvent(cloudTrailPutImage(t.repository, t.tag, t.digest, t.principal, now, detId('cloudtrail', String(i), t.digest)));
    cloud.putEvent({
      version: '0',
      id: actionId,
      'detail-type': 'ECR Image Action',
      source: 'aws.ecr',
      account: ACCOUNT,
      time: now.replace(/\.\d{3}Z$/, 'Z'),
      region: REGION,
      resources: [],
      detail: { result: 'SUCCESS', 'repository-name': t.repository, 'image-digest': t.digest, 'action-type': 'PUSH', ...(t.tag ? { 'image-tag': t.tag } : {}) },
    });
  }
}

function kubectlSetImage(world: SimWorld, t: TriggerOf<'kubectl-set-image'>): void {
  const st = world.config.services[t.service]?.stages.find((x) => x.name === t.stage);
  const w = st ? stageWorkload(st) : undefined;
  // A stage with waves (decision 044): the cluster the trigger names, else its first.
  const cluster = t.cluster ?? st?.cluster ?? '';
  const deployment = w?.deployment ?? t.service;
  const container = t.container ?? w?.container ?? t.service;
  world.cloud.kube.setImage(cluster, st?.namespace ?? 'default', deployment, container, t.image);
  world.cloud.note('Image Set Out Of Band', { service: t.service, stage: t.stage, cluster, deployment, container, image: t.image });
}

/**
 * Operators never write the ledger: each request goes through the operator API's Lambda, with the
 * event API Gateway would deliver for that principal. API Gateway's request id is the trigger's
 * index (it names the execution: operator-api makes the name from it).
 */
async function operatorRequest(world: SimWorld, t: TriggerOf<'freeze' | 'start' | 'rollback' | 'drill'>, i: number): Promise<void> {
  const { clock, cloud } = world;
  const route =
    t.type === 'freeze'
      ? OPERATOR_ROUTES.setFreeze
      : t.type === 'rollback'
        ? OPERATOR_ROUTES.startRollback
        : t.type === 'drill'
          ? OPERATOR_ROUTES.startDrill
          : OPERATOR_ROUTES.startRelease;
  const body = t.type === 'freeze' ? { state: t.state, reason: t.reason } : t.input;
  const principal = t.principal ?? '';
  const event = iamApiEvent(principal, { method: route.method, resource: route.resource, path: route.resource, body }, { at: clock.now(), requestId: String(i) });
  const res = await operatorApi(event, { ...world.depsOf('operator-api'), rollbacks: world.operatorRollbacks, drills: world.operatorDrills });
  const answer = JSON.parse(res.body) as { message?: string; problems?: string[]; releaseId?: string };
  if (t.type === 'freeze') {
    if (res.statusCode === 200) cloud.note(t.state === 'on' ? 'Freeze On' : 'Freeze Off', { reason: t.reason, principal: t.principal });
    else cloud.note('Freeze Refused', { principal: t.principal, status: res.statusCode, cause: [answer.message, ...(answer.problems ?? [])].join('; ') });
  } else if (res.statusCode === 400) {
    cloud.note('Input Rejected', { principal: t.principal, status: res.statusCode, cause: [answer.message, ...(answer.problems ?? [])].join('; ') });
  } else if (res.statusCode !== 200) {
    world.operatorWarnings.push(`the operator API answered the ${t.type} trigger ${i} with HTTP ${res.statusCode}: ${answer.message ?? ''}`);
  }
}

/**
 * `gantry abort` (decision 053): POST /aborts through the operator API's Lambda, as for the other operator requests;
 * its StopExecution reaches the local Step Functions, whose status event runs the reconciler as in AWS. With
 * `service` instead of `releaseId`, the service's newest-started RUNNING record at that time.
 */
async function abortRequest(world: SimWorld, t: TriggerOf<'abort'>, i: number): Promise<void> {
  const { clock, cloud } = world;
  const releaseId = t.releaseId ?? (await runningReleaseOf(world, t.service ?? ''));
  if (!releaseId) {
    world.operatorWarnings.push(`the abort trigger ${i} found no running release of ${t.service ?? ''} at ${clock.now().toISOString()}: nothing aborted`);
    return;
  }
  const route = OPERATOR_ROUTES.abortRelease;
  const body = { releaseId, reason: t.reason };
  const event = iamApiEvent(t.principal, { method: route.method, resource: route.resource, path: route.resource, body }, { at: clock.now(), requestId: String(i) });
  const res = await operatorApi(event, { ...world.depsOf('operator-api'), rollbacks: world.operatorRollbacks, drills: world.operatorDrills });
  const answer = JSON.parse(res.body) as { message?: string; problems?: string[] };
  // Accepted: the ledger's abort.requested is on the timeline; a refusal is noted.
  if (res.statusCode !== 200)
    cloud.note('Abort Refused', { releaseId, principal: t.principal, status: res.statusCode, cause: [answer.message, ...(answer.problems ?? [])].join('; ') });
}

/** The newest-started RUNNING record (release, rollback or drill) of `service`, from the ledger. */
async function runningReleaseOf(world: SimWorld, service: string): Promise<string | undefined> {
  const running = [...(world.sfn?.executions.values() ?? [])].filter((x) => x.status === 'RUNNING' && ['release', 'rollback', 'drill'].includes(x.machine));
  let best: { id: string; startedAt: string } | undefined;
  for (const x of running) {
    const summary = projectRelease(await world.ledger.events(x.name));
    if (summary?.service === service && summary.status === 'RUNNING' && (!best || summary.startedAt > best.startedAt)) best = { id: x.name, startedAt: summary.startedAt };
  }
  return best?.id;
}

function cloudTrailPutImage(repository: string, tag: string | undefined, digest: string, principal: string, at: string, id: string): Record<string, unknown> {
  const time = at.replace(/\.\d{3}Z$/, 'Z');
  return {
    version: '0',
    id,
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.ecr',
    account: ACCOUNT,
    time,
    region: REGION,
    resources: [],
    detail: {
      eventVersion: '1.08',
      userIdentity: { type: principal.includes(':assumed-role/') ? 'AssumedRole' : 'IAMUser', arn: principal, accountId: ACCOUNT },
      eventTime: time,
      eventSource: 'ecr.amazonaws.com',
      eventName: 'PutImage',
      awsRegion: REGION,
      requestParameters: { repositoryName: repository, ...(tag ? { imageTag: tag } : {}), registryId: ACCOUNT },
      responseElements: { image: { repositoryName: repository, registryId: ACCOUNT, imageId: { imageDigest: digest, ...(tag ? { imageTag: tag } : {}) } } },
      eventID: id,
      eventType: 'AwsApiCall',
    },
  };
}
