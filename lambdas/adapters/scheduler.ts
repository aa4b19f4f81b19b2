/** Timers over Amazon EventBridge Scheduler one-time schedules (AWS SDK v3). */
import { createHash } from 'node:crypto';
import { CreateScheduleCommand, DeleteScheduleCommand, type SchedulerClient } from '@aws-sdk/client-scheduler';
import type { Timers } from '../ports';
import { isAwsError, rethrow } from './errors';

/** Scheduler's rule for a schedule name. */
export const SCHEDULE_NAME_PATTERN = /^[0-9a-zA-Z\-_.]{1,64}$/;
const SCHEDULE_NAME_MAX = 64;
const HASH_LENGTH = 16;

/**
 * A valid schedule name from parts (joined with `-`). A name that is already valid is returned as is,
 * so `scheduleName([scheduleName(p)]) === scheduleName(p)`. Otherwise every character outside
 * `[0-9a-zA-Z-_.]` becomes `-`, and a hash of the original is appended (trimming the readable part to
 * fit 64 characters), so two names that sanitise alike still differ.
 */
export function scheduleName(parts: readonly string[]): string {
  const joined = parts.join('-');
  if (SCHEDULE_NAME_PATTERN.test(joined)) return joined;
  const hash = createHash('sha256').update(joined).digest('hex').slice(0, HASH_LENGTH);
  const readable = joined
    .replace(/[^0-9a-zA-Z\-_.]/g, '-')
    .slice(0, SCHEDULE_NAME_MAX - HASH_LENGTH - 1)
    .replace(/-+$/, '');
  return readable ? `${readable}-${hash}` : hash;
}

/**
 * `at(YYYY-MM-DDTHH:MM:SS)` in UTC for an ISO instant, rounded UP to the whole second so a timer
 * never fires before `at`.
 */
export function atExpression(at: string): string {
  const ms = Date.parse(at);
  if (Number.isNaN(ms)) throw new RangeError(`not an ISO date-time: ${JSON.stringify(at)}`);
  const rounded = Math.ceil(ms / 1000) * 1000;
  return `at(${new Date(rounded).toISOString().slice(0, 19)})`;
}

export interface SchedulerTimersOptions {
  /** The schedule group every timer lives in. */
  readonly groupName: string;
  /** What a timer invokes (the bake timer Lambda). */
  readonly targetArn: string;
  /** The role Scheduler assumes to invoke the target. */
  readonly roleArn: string;
  /** @default 3600 (an hour) */
  readonly maximumEventAgeInSeconds?: number;
  /** @default 10 */
  readonly maximumRetryAttempts?: number;
  /** Where Scheduler sends an invocation it gave up on. @default none */
  readonly deadLetterArn?: string;
}

export class SchedulerTimers implements Timers {
  constructor(
    private readonly client: SchedulerClient,
    private readonly options: SchedulerTimersOptions,
  ) {}

  /**
   * A one-time schedule named `scheduleName([name])` firing at `at` (UTC) with `payload` as the
   * target's input; deleted by Scheduler after it fires. A schedule of that name already existing
   * (ConflictException) counts as already scheduled.
   */
  async schedule(name: string, at: string, payload: Record<string, unknown>): Promise<void> {
    const o = this.options;
    try {
      await this.client.send(
        new CreateScheduleCommand({
          Name: scheduleName([name]),
          GroupName: o.groupName,
          ScheduleExpression: atExpression(at),
          ScheduleExpressionTimezone: 'UTC',
          FlexibleTimeWindow: { Mode: 'OFF' },
          ActionAfterCompletion: 'DELETE',
          State: 'ENABLED',
          Target: {
            Arn: o.targetArn,
            RoleArn: o.roleArn,
            Input: JSON.stringify(payload),
            RetryPolicy: {
              MaximumEventAgeInSeconds: o.maximumEventAgeInSeconds ?? 3600,
              MaximumRetryAttempts: o.maximumRetryAttempts ?? 10,
            },
            ...(o.deadLetterArn ? { DeadLetterConfig: { Arn: o.deadLetterArn } } : {}),
          },
        }),
      );
    } catch (e) {
      if (isAwsError(e, 'ConflictException')) return;
      rethrow(e);
    }
  }

  /** Delete the schedule; one that does not exist (fired, or never made) is fine. */
  async cancel(name: string): Promise<void> {
    try {
      await this.client.send(new DeleteScheduleCommand({ Name: scheduleName([name]), GroupName: this.options.groupName }));
    } catch (e) {
      if (isAwsError(e, 'ResourceNotFoundException')) return;
      rethrow(e);
    }
  }
}
