/** EventPublisher over Amazon EventBridge PutEvents (AWS SDK v3). */
import { type EventBridgeClient, PutEventsCommand, type PutEventsCommandOutput, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { EventPublisher, LifecycleEvent } from '../ports';
import { EventPublishError, type FailedEvent, rethrow } from './errors';

export { EventPublishError } from './errors';

/** PutEvents takes at most 10 entries per call. */
export const EVENTS_PER_CALL = 10;

export class EventBridgePublisher implements EventPublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
    private readonly source = 'gantry',
  ) {}

  /**
   * PutEvents in chunks of 10. Every chunk is sent; then, if any entry was rejected
   * (FailedEntryCount > 0), throws EventPublishError listing each rejected entry's error code.
   */
  async publish(events: readonly LifecycleEvent[]): Promise<void> {
    const failures: FailedEvent[] = [];
    let published = 0;
    for (let i = 0; i < events.length; i += EVENTS_PER_CALL) {
      const chunk = events.slice(i, i + EVENTS_PER_CALL);
      const entries: PutEventsRequestEntry[] = chunk.map((e) => ({
        EventBusName: this.busName,
        Source: this.source,
        DetailType: e.detailType,
        Detail: JSON.stringify(e.detail),
      }));
      let out: PutEventsCommandOutput;
      try {
        out = await this.client.send(new PutEventsCommand({ Entries: entries }));
      } catch (e) {
        return rethrow(e);
      }
      const failed = out.FailedEntryCount ?? 0;
      published += chunk.length - failed;
      if (failed === 0) continue;
      // Result entries are in request order; a failed one carries ErrorCode.
      const results = out.Entries ?? [];
      let listed = 0;
      chunk.forEach((e, j) => {
        const r = results[j];
        if (r?.ErrorCode) {
          listed += 1;
          failures.push({ detailType: e.detailType, errorCode: r.ErrorCode, ...(r.ErrorMessage ? { errorMessage: r.ErrorMessage } : {}) });
        }
      });
      for (let k = listed; k < failed; k += 1) failures.push({ detailType: '(unknown entry)', errorCode: 'Unknown' });
    }
    if (failures.length > 0) throw new EventPublishError(failures, published);
  }
}
