/**
 * Every handler's `run`, by the registry's names (lambdas/registry.ts), as the local runtime invokes them.
 * local/simulate.ts re-exports both tables.
 */
import { run as alarmGate } from '../lambdas/alarm-gate';
import { run as approvalDecide } from '../lambdas/approval-decide';
import { run as approvalRequest } from '../lambdas/approval-request';
import { run as windowGate } from '../lambdas/window-gate';
import { run as alarmWatch } from '../lambdas/alarm-watch';
import { run as bakeRegister } from '../lambdas/bake-register';
import { run as bakeTimer } from '../lambdas/bake-timer';
import { run as imageGates } from '../lambdas/image-gates';
import { run as intake } from '../lambdas/intake';
import { run as operatorApi } from '../lambdas/operator-api';
import { run as prepareRelease } from '../lambdas/prepare-release';
import { run as reconciler } from '../lambdas/reconciler';
import { run as recordStep } from '../lambdas/record-step';
import { run as rollbackPrepare } from '../lambdas/rollback-prepare';
import { run as drillStep } from '../lambdas/drill-step';
import { run as stageLease } from '../lambdas/stage-lease';
import { run as deployCheck } from '../lambdas/deploy-check';
import { run as insightPlan } from '../lambdas/insight-plan';
import { run as insightRecord } from '../lambdas/insight-record';
import { run as rolloutCheck } from '../lambdas/rollout-check';
import { run as canaryAnalysis } from '../lambdas/canary-analysis';
import { run as scanWatch } from '../lambdas/scan-watch';
import { run as anchorSign } from '../lambdas/anchor-sign';
import { type HandlerName, workflowHandlers } from '../lambdas/registry';
import type { HandlerRun } from './engine';

/**
 * Every handler's `run`, keyed by the registry's names (lambdas/registry.ts): the local runtime invokes the
 * same code as Lambda. test/unit/handler-registry.test.ts checks the keys against the registry.
 */
export const LOCAL_HANDLERS = {
  'prepare-release': prepareRelease,
  'stage-lease': stageLease,
  'deploy-check': deployCheck,
  'window-gate': windowGate,
  'image-gates': imageGates,
  'alarm-gate': alarmGate,
  'record-step': recordStep,
  'bake-register': bakeRegister,
  'bake-timer': bakeTimer,
  'alarm-watch': alarmWatch,
  'scan-watch': scanWatch,
  intake,
  reconciler,
  'rollback-prepare': rollbackPrepare,
  'approval-request': approvalRequest,
  'approval-decide': approvalDecide,
  'insight-plan': insightPlan,
  'insight-record': insightRecord,
  'rollout-check': rolloutCheck,
  'canary-analysis': canaryAnalysis,
  'operator-api': operatorApi,
  'anchor-sign': anchorSign,
  'drill-step': drillStep,
} as const satisfies Record<HandlerName, (event: unknown, deps: never) => Promise<unknown>>;

/** The handlers the workflows invoke, by name (what the local Step Functions calls; bench/release.ts wraps them). */
export const HANDLERS: Record<string, HandlerRun> = Object.fromEntries(workflowHandlers().map((name) => [name, LOCAL_HANDLERS[name] as HandlerRun]));
