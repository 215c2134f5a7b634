import type { JetStreamClient } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/nats-core';
import type { TSchema } from 'typebox';
import type Type from 'typebox';
import { createCloudEvent, type CloudEvent, type MessageType } from '../contracts/index.ts';
import { RetryableError } from '../errors/index.ts';
import type { Metrics } from '../telemetry/index.ts';
import { injectTraceContext } from '../telemetry/index.ts';
import { encodeCloudEvent } from './codec.ts';

export interface PublishResult {
  stream: string;
  seq: number;
  /** True when the stream already had a message with this id: nothing new was stored. */
  duplicate: boolean;
}

export interface Publisher {
  /**
   * Publishes one command or event. `id` becomes the CloudEvent id and the `Nats-Msg-Id`, so publishing the
   * same id again (a retry after a timeout, a redelivered handler) stores nothing new.
   */
  publish<S extends TSchema>(
    messageType: MessageType<S>,
    message: { id: string; appId: string; subject?: string; data: Type.Static<S> },
  ): Promise<PublishResult>;
  /** Publishes an already built CloudEvent (e.g. one received from another system). */
  publishEvent(messageType: MessageType, natsSubject: string, event: CloudEvent): Promise<PublishResult>;
}

export function createPublisher(deps: { js: JetStreamClient; source: string; metrics?: Metrics; timeoutMs?: number }): Publisher {
  const publishEvent: Publisher['publishEvent'] = async (messageType, natsSubject, event) => {
    const body = encodeCloudEvent(messageType, event);
    const headers = natsHeaders();
    headers.set('Content-Type', 'application/cloudevents+json');
    headers.set('ce-type', event.type);
    injectTraceContext(headers);
    try {
      const ack = await deps.js.publish(natsSubject, body, { msgID: event.id, headers, timeout: deps.timeoutMs ?? 5_000 });
      deps.metrics?.published.inc({ subject: messageType.subjectPattern, outcome: ack.duplicate ? 'duplicate' : 'stored' });
      return { stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate };
    } catch (error) {
      deps.metrics?.published.inc({ subject: messageType.subjectPattern, outcome: 'failed' });
      throw new RetryableError('publish_failed', `could not publish ${event.type} to ${natsSubject}`, { cause: error });
    }
  };
  return {
    publishEvent,
    publish: (messageType, message) =>
      publishEvent(
        messageType,
        messageType.subject(message.appId),
        createCloudEvent(messageType, {
          id: message.id,
          source: deps.source,
          subject: message.subject ?? message.appId,
          data: message.data,
        }),
      ),
  };
}
