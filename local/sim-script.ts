/**
 * The scenario's script lines (docs/scenarios.md), in a simulation (local/simulate.ts): phase-keyed lines
 * fire relative to the first time that phase begins; `at` lines at that offset from the start. Every action
 * takes either form. `deploy` lines are taken by driver runs (driverScript).
 */
import { parseIsoDuration } from '../lambdas/domain/durations';
import { run as approvalDecide } from '../lambdas/approval-decide';
import { decisionEvent } from './api-events';
import type { EngineHooks, ExecutionRecord } from './engine';
import type { ScriptLine } from './scenario';
import type { SimulationOutput } from './sim-types';
import type { SimWorld } from './sim-world';

type AbortLine = NonNullable<ScriptLine['abort']>;

export class ScriptRunner {
  private readonly fired = new Set<number>();
  /** Why a line that fired did nothing (reported in `unused`). */
  private readonly idle = new Map<number, string>();
  private readonly consumedDeploy = new Set<number>();
  private readonly phaseSeen = new Set<string>();
  /** Releases that entered the approval phase of a stage: `${releaseId}/${stage}`. */
  private readonly approvalsEntered = new Set<string>();

  constructor(private readonly world: SimWorld) {}

  /** What the engine tells the script: phases beginning (phase-keyed lines) and driver runs (`deploy` lines). */
  readonly hooks: EngineHooks = {
    onPhase: (service, stage, phase, releaseId) => this.onPhase(service, stage, phase, releaseId),
    driverScript: (service, stage, phase, cluster) => this.driverScript(service, stage, phase, cluster),
  };

  /** The `at` lines, on the clock. A `deploy` line at a time is taken by the first driver run that starts from then on (driverScript). */
  scheduleTimed(): void {
    const { scenario, clock, startMs } = this.world;
    scenario.script.forEach((line, i) => {
      if ('at' in line.when && !line.deploy) clock.schedule(startMs + parseIsoDuration(line.when.at), () => this.fire(i, line));
    });
  }

  /** The lines that never fired, or fired and did nothing, with why. */
  unused(): SimulationOutput['unused'] {
    return this.world.scenario.script.flatMap((line, index) => {
      const why = this.idle.get(index);
      if (this.fired.has(index) && why === undefined) return [];
      const never =
        'at' in line.when
          ? line.deploy
            ? 'no driver run started after its time'
            : 'its time never came'
          : 'its phase never came (or, for an approval, no release of that service was waiting)';
      return [{ index, line, reason: why ?? never }];
    });
  }

  private onPhase(service: string, stage: string, phase: string, releaseId: string): void {
    const { scenario, clock } = this.world;
    if (phase === 'approval') this.approvalsEntered.add(`${releaseId}/${stage}`);
    // A line naming no release takes the first release to reach the phase; a line naming one, that release's phase.
    const first = !this.phaseSeen.has(`${service}/${stage}/${phase}`);
    const own = !this.phaseSeen.has(`${releaseId}/${service}/${stage}/${phase}`);
    this.phaseSeen.add(`${service}/${stage}/${phase}`);
    this.phaseSeen.add(`${releaseId}/${service}/${stage}/${phase}`);
    scenario.script.forEach((line, i) => {
      const w = line.when;
      if (!('phase' in w) || w.service !== service || w.stage !== stage || w.phase !== phase || line.deploy) return;
      if (w.release !== undefined ? w.release !== releaseId || !own : !first) return;
      clock.schedule(clock.nowMs() + parseIsoDuration(w.after), () => this.fire(i, line, releaseId));
    });
  }

  /** A driver run's scripted outcome: the first unused `deploy` line on its phase, or one whose `at` has come. */
  private driverScript(service: string, stage: string, phase: 'deploy' | 'rollback', cluster?: string): ScriptLine['deploy'] {
    const { scenario, clock, startMs } = this.world;
    const i = scenario.script.findIndex((l, idx) => {
      if (this.consumedDeploy.has(idx) || !l.deploy) return false;
      // A line for one cluster of a wave stage (decision 044) is taken by that cluster's run only.
      if (l.deploy.cluster !== undefined && l.deploy.cluster !== cluster) return false;
      const w = l.when;
      return 'phase' in w ? w.service === service && w.stage === stage && w.phase === phase : clock.nowMs() >= startMs + parseIsoDuration(w.at);
    });
    if (i < 0) return undefined;
    this.consumedDeploy.add(i);
    this.fired.add(i);
    return scenario.script[i]?.deploy;
  }

  /** `phaseRelease`: for a phase-keyed line, the release whose phase it was. */
  private async fire(index: number, line: ScriptLine, phaseRelease?: string): Promise<void> {
    const { cloud } = this.world;
    this.fired.add(index);
    if (line.alarm) {
      // An alarm of a cluster in another account is set there, and its event comes as GantryTargetAccount forwards it.
      const c = line.alarm.cluster !== undefined ? this.world.config.clusters[line.alarm.cluster] : undefined;
      const where = c?.account !== undefined ? { account: c.account, region: c.region } : undefined;
      const ev = cloud.setAlarm(line.alarm.name, line.alarm.state, line.alarm.reason, undefined, where);
      if (ev && where) cloud.note('Alarm Event Forwarded', { alarm: line.alarm.name, from: `${where.account}/${where.region}`, to: 'default bus (GantryTargetAccount rule)' });
      if (ev) cloud.putEvent(ev);
    } else if (line.event) {
      cloud.putEvent(line.event as Record<string, unknown>);
    } else if (line.fault) {
      cloud.addFault(line.fault.service, line.fault.operation, line.fault.error, line.fault.count);
    } else if (line.abort) {
      await this.abort(index, line.abort, phaseRelease);
    } else if (line.approve || line.reject) {
      await this.approveOrReject(index, line, phaseRelease);
    }
  }

  /**
   * On a phase: the release in that phase of that stage. At a time: every execution of the service,
   * or with `stage`, those whose record shows that stage in progress.
   */
  private async abort(index: number, abort: AbortLine, phaseRelease: string | undefined): Promise<void> {
    const { cloud, ledger } = this.world;
    const svc = abort.service;
    const stage = abort.stage;
    const targets = [];
    for (const ex of this.running()) {
      if (serviceOf(ex) !== svc || ex.machine === 'insight') continue;
      if (phaseRelease !== undefined && ex.name !== phaseRelease) continue;
      if (phaseRelease === undefined && stage !== undefined) {
        const st = (await ledger.getRelease(ex.name))?.stages.find((x) => x.name === stage);
        if (st?.status !== 'WAITING') continue;
      }
      targets.push(ex);
    }
    for (const ex of targets) if (this.world.sfn?.abort(ex.name)) cloud.note('Execution Aborted', { execution: ex.name, by: 'scenario' });
    if (targets.length === 0)
      this.idle.set(index, phaseRelease ? `release ${phaseRelease} had already ended` : `no execution of ${svc}${stage ? ` in stage ${stage}` : ''} was running`);
  }

  private async approveOrReject(index: number, line: ScriptLine, phaseRelease: string | undefined): Promise<void> {
    const w = line.when;
    if ('phase' in w) {
      // The execution that entered the phase, while it runs; else the first running one of the service (release or rollback).
      const candidates = this.running().filter((ex) => (ex.machine === 'release' || ex.machine === 'rollback') && serviceOf(ex) === w.service);
      const releaseId = (candidates.find((ex) => ex.name === phaseRelease) ?? candidates[0])?.name;
      if (!releaseId) {
        this.fired.delete(index);
        return;
      }
      await this.decide(index, line, { releaseId, stage: w.stage });
    } else {
      // At a time: every approval waiting at that moment.
      const waiting = await this.waitingApprovals();
      if (waiting.length === 0) this.idle.set(index, 'no release was waiting for an approval at that time');
      for (const target of waiting) await this.decide(index, line, target);
    }
  }

  private running(): ExecutionRecord[] {
    return [...(this.world.sfn?.executions.values() ?? [])].filter((ex) => ex.status === 'RUNNING');
  }

  /** The releases (and stages) waiting for an approval now: entered the approval phase, no decision recorded yet. */
  private async waitingApprovals(): Promise<Array<{ releaseId: string; stage: string }>> {
    const out: Array<{ releaseId: string; stage: string }> = [];
    for (const ex of this.running()) {
      if (ex.machine !== 'release') continue;
      const summary = await this.world.ledger.getRelease(ex.name);
      for (const st of summary?.stages ?? []) {
        if (this.approvalsEntered.has(`${ex.name}/${st.name}`) && st.status === 'WAITING' && !st.approval) out.push({ releaseId: ex.name, stage: st.name });
      }
    }
    return out;
  }

  private async decide(index: number, line: ScriptLine, target: { releaseId: string; stage: string }): Promise<void> {
    const { clock, cloud, chaos, depsOf } = this.world;
    // Through the same Lambda logic as the approval API, with the caller as API Gateway's IAM auth reports it.
    const decision = line.approve ? 'approve' : 'reject';
    const who = (line.approve ?? line.reject) as { principal: string; comment?: string; planSha256?: string | null };
    // A stage that planned first (decision 049): the approver decides on the plan it is shown (as `gantry approve` does),
    // unless the line names another hash.
    const shown = (await this.world.ledger.getRelease(target.releaseId))?.stages.find((s) => s.name === target.stage)?.plan?.sha256;
    const planSha256 = who.planSha256 === null ? undefined : (who.planSha256 ?? shown);
    const event = decisionEvent(
      who.principal,
      { releaseId: target.releaseId, stage: target.stage, decision, ...(who.comment ? { comment: who.comment } : {}), ...(planSha256 ? { planSha256 } : {}) },
      { at: clock.now(), requestId: `sim-${index}` },
    );
    // API Gateway answers 502 when the function fails; the operator (or the CLI) asks again.
    let res: Awaited<ReturnType<typeof approvalDecide>>;
    for (let attempt = 1; ; attempt++) {
      try {
        res = await approvalDecide(event, depsOf('approval-decide'));
        if (res.statusCode < 500 || attempt >= 3) break;
      } catch (e) {
        if (attempt >= 3) throw e;
      }
      chaos.countRetry('operator:approval');
    }
    const body = JSON.parse(res.body) as { message?: string; decision?: string };
    cloud.note(res.statusCode === 200 ? 'Approval Decided' : 'Approval Refused', {
      principal: who.principal,
      decision,
      status: res.statusCode,
      message: body.message ?? body.decision ?? '',
    });
  }
}

const serviceOf = (ex: { input: unknown }) => (ex.input as { service?: string } | undefined)?.service;
