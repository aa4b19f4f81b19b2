/**
 * The Gantry CloudWatch dashboard and the control plane's own alarms.
 *
 * Release insight comes from the EMF metrics a release emits when it finishes (namespace `Gantry`,
 * names and dimensions in lambdas/domain/metrics.ts `RELEASE_METRICS`): DORA per service (deployment
 * frequency, lead time and recovery time for the production stage, change failure rate), releases by
 * outcome, time per phase. Control-plane health comes from the AWS metrics of the workflows, the
 * handlers and the dead-letter queues, and each has an alarm: a failed or timed-out execution, a handler
 * error or throttle, a dead letter.
 */
import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IAlarmAction,
  type IMetric,
  MathExpression,
  Metric,
  Stats,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { METRIC_DIMENSIONS as D, METRIC_NAMESPACE, PHASES, productionStageOf, RELEASE_METRICS as M } from '../lambdas/domain/metrics';
import { RELEASE_STATUSES } from '../lambdas/domain/types';

export interface ReleaseDashboardProps {
  /** Each service with its stage names in promotion order (from the parsed config). */
  readonly services: Readonly<Record<string, readonly string[]>>;
  /** The workflows whose failed, timed-out and aborted executions are graphed and alarmed, by a short name. */
  readonly stateMachines: Readonly<Record<string, IStateMachine>>;
  /** The handlers whose errors and throttles are graphed and alarmed, by name. */
  readonly functions: Readonly<Record<string, IFunction>>;
  /** The dead-letter queues whose depth is graphed and alarmed, by name. */
  readonly deadLetterQueues: Readonly<Record<string, IQueue>>;
  /**
   * What every control-plane alarm does when it fires (and when it recovers).
   * @default no action: the alarms show on the dashboard only
   */
  readonly alarmAction?: IAlarmAction;
  /**
   * The dashboard's name.
   * @default a name CloudFormation generates
   */
  readonly dashboardName?: string;
}

export class ReleaseDashboardError extends Error {
  override readonly name = 'ReleaseDashboardError';
}

/** Outcomes graphed as "releases by outcome" (every terminal status). */
const OUTCOMES = RELEASE_STATUSES.filter((s) => s !== 'RUNNING');
const DAY = Duration.days(1);
const WEEK = Duration.days(7);
const FIVE_MINUTES = Duration.minutes(5);

export class ReleaseDashboard extends Construct {
  public readonly dashboard: Dashboard;
  /** Every control-plane alarm, by a readable key (`ReleaseExecutionsFailed`, `IntakeErrors`, `IntakeDeadLetters`, …). */
  public readonly alarms: Readonly<Record<string, Alarm>>;

  constructor(scope: Construct, id: string, props: ReleaseDashboardProps) {
    super(scope, id);
    const services = Object.entries(props.services ?? {});
    if (services.length === 0) throw new ReleaseDashboardError('ReleaseDashboardProps.services must name at least one service');
    for (const [svc, stages] of services) {
      if (!stages || stages.length === 0) throw new ReleaseDashboardError(`ReleaseDashboardProps.services.${svc} must list at least one stage`);
    }
    if (Object.keys(props.stateMachines ?? {}).length === 0) throw new ReleaseDashboardError('ReleaseDashboardProps.stateMachines must name at least one workflow');

    this.dashboard = new Dashboard(this, 'Dashboard', {
      ...(props.dashboardName ? { dashboardName: props.dashboardName } : {}),
      defaultInterval: Duration.days(30),
    });

    // ------------------------------------------------------------ DORA per service
    this.dashboard.addWidgets(
      new TextWidget({
        markdown:
          '# Gantry releases\nDORA figures per service for its production stage, from the metrics each release emits when it finishes. ' +
          'Lead time runs from the image `created` label (or the release start) to promotion; recovery time from detection (alarm or failed deploy) to a finished rollback. ' +
          'Exact figures over any window: `gantry metrics --table <ledger> --since P30D`.',
        width: 24,
        height: 2,
      }),
    );
    for (const [service, stages] of services) {
      const prod = productionStageOf(stages) as string;
      const svc = { [D.service]: service };
      const stageDims = { ...svc, [D.stage]: prod };
      const deployed = this.metric(M.changesDeployed, svc, Stats.SUM, WEEK);
      const failed = this.metric(M.changesFailed, svc, Stats.SUM, WEEK);
      this.dashboard.addWidgets(
        new GraphWidget({
          title: `${service}: deployments to ${prod} per day`,
          left: [this.metric(M.deployments, stageDims, Stats.SUM, DAY, `deployments to ${prod}`)],
          width: 6,
        }),
        new GraphWidget({
          title: `${service}: lead time to ${prod} (minutes)`,
          left: [
            new MathExpression({ expression: 'p50 / 60', usingMetrics: { p50: this.metric(M.leadTime, stageDims, Stats.p(50), DAY) }, label: 'median', period: DAY }),
            new MathExpression({ expression: 'p90 / 60', usingMetrics: { p90: this.metric(M.leadTime, stageDims, Stats.p(90), DAY) }, label: 'p90', period: DAY }),
          ],
          width: 6,
        }),
        new GraphWidget({
          title: `${service}: change failure rate (%, weekly)`,
          left: [
            new MathExpression({ expression: 'IF(deployed > 0, 100 * failed / deployed, 0)', usingMetrics: { deployed, failed }, label: 'change failure rate', period: WEEK }),
          ],
          leftYAxis: { min: 0, max: 100 },
          width: 6,
        }),
        new GraphWidget({
          title: `${service}: failed deployment recovery time (minutes)`,
          left: stages.map(
            (stage, i) =>
              new MathExpression({
                expression: `r${i} / 60`,
                usingMetrics: { [`r${i}`]: this.metric(M.recoveryTime, { ...svc, [D.stage]: stage }, Stats.AVERAGE, DAY) },
                label: stage,
                period: DAY,
              }),
          ),
          width: 6,
        }),
      );
      this.dashboard.addWidgets(
        new GraphWidget({
          title: `${service}: releases by outcome (per day)`,
          left: OUTCOMES.map((outcome) => this.metric(M.releases, { ...svc, [D.outcome]: outcome }, Stats.SUM, DAY, outcome)),
          stacked: true,
          width: 12,
        }),
        new GraphWidget({
          title: `${service}: time per phase (average minutes per release)`,
          left: PHASES.map(
            (phase, i) =>
              new MathExpression({
                expression: `p${i} / 60`,
                usingMetrics: { [`p${i}`]: this.metric(M.phaseDuration, { ...svc, [D.phase]: phase }, Stats.AVERAGE, DAY) },
                label: phase,
                period: DAY,
              }),
          ),
          stacked: true,
          width: 12,
        }),
      );
    }

    // ------------------------------------------------------------ control-plane health and its alarms
    const alarms: Record<string, Alarm> = {};
    const alarm = (key: string, metric: IMetric, description: string) => {
      const a = new Alarm(this, `${key}Alarm`, {
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: `Gantry control plane: ${description}`,
      });
      if (props.alarmAction) {
        a.addAlarmAction(props.alarmAction);
        a.addOkAction(props.alarmAction);
      }
      alarms[key] = a;
      return a;
    };

    const workflowMetrics: IMetric[] = [];
    for (const [name, sm] of Object.entries(props.stateMachines)) {
      const key = pascal(name);
      const failedRuns = sm.metricFailed({ period: FIVE_MINUTES, statistic: Stats.SUM, label: `${name} failed` });
      const timedOut = sm.metricTimedOut({ period: FIVE_MINUTES, statistic: Stats.SUM, label: `${name} timed out` });
      const aborted = sm.metricAborted({ period: FIVE_MINUTES, statistic: Stats.SUM, label: `${name} aborted` });
      workflowMetrics.push(failedRuns, timedOut, aborted);
      alarm(`${key}ExecutionsFailed`, failedRuns, `an execution of the ${name} workflow FAILED (the reconciler closed its record; find out why)`);
      alarm(`${key}ExecutionsTimedOut`, timedOut, `an execution of the ${name} workflow TIMED_OUT`);
    }

    const errorMetrics: IMetric[] = [];
    const throttleMetrics: IMetric[] = [];
    for (const [name, fn] of Object.entries(props.functions)) {
      const errors = fn.metricErrors({ period: FIVE_MINUTES, statistic: Stats.SUM, label: name });
      const throttles = fn.metricThrottles({ period: FIVE_MINUTES, statistic: Stats.SUM, label: name });
      errorMetrics.push(errors);
      throttleMetrics.push(throttles);
      alarm(
        `${pascal(name)}Failures`,
        new MathExpression({ expression: 'errors + throttles', usingMetrics: { errors, throttles }, label: `${name} errors + throttles`, period: FIVE_MINUTES }),
        `the ${name} handler had errors or throttles`,
      );
    }

    const queueMetrics: IMetric[] = [];
    for (const [name, q] of Object.entries(props.deadLetterQueues)) {
      const depth = q.metricApproximateNumberOfMessagesVisible({ period: FIVE_MINUTES, statistic: Stats.MAXIMUM, label: name });
      queueMetrics.push(depth);
      alarm(`${pascal(name)}DeadLetters`, depth, `an event or invocation of the ${name} flow failed every retry and is in its dead-letter queue`);
    }
    this.alarms = alarms;

    this.dashboard.addWidgets(new TextWidget({ markdown: '# Control plane health', width: 24, height: 1 }));
    this.dashboard.addWidgets(new AlarmStatusWidget({ title: 'Control-plane alarms', alarms: Object.values(alarms), width: 24, height: 4 }));
    this.dashboard.addWidgets(
      new GraphWidget({ title: 'Workflow executions failed / timed out / aborted', left: workflowMetrics, width: 6 }),
      new GraphWidget({ title: 'Handler errors', left: errorMetrics, width: 6 }),
      new GraphWidget({ title: 'Handler throttles', left: throttleMetrics, width: 6 }),
      new GraphWidget({ title: 'Dead-letter queue depth', left: queueMetrics, width: 6 }),
    );
  }

  private metric(name: string, dimensionsMap: Record<string, string>, statistic: string, period: Duration, label?: string): Metric {
    return new Metric({ namespace: METRIC_NAMESPACE, metricName: name, dimensionsMap, statistic, period, ...(label ? { label } : {}) });
  }
}

/** `alarm-watch` / `alarmWatch` → `AlarmWatch`. */
function pascal(name: string): string {
  return name.replace(/(^|[-_\s])([a-zA-Z0-9])/g, (_m, _d, c: string) => c.toUpperCase()).replace(/^[a-z]/, (c) => c.toUpperCase());
}
