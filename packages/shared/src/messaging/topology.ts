import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import type { ConsumerDefinition, StreamDefinition } from '../contracts/index.ts';

/**
 * Streams and consumers are ensured idempotently by every service at start (and again after a NATS server
 * lost its state): created when missing, updated when their definition changed, left alone otherwise.
 */
export async function ensureStream(jsm: JetStreamManager, definition: StreamDefinition): Promise<'created' | 'updated' | 'unchanged'> {
  const wanted: Partial<StreamConfig> & { name: string } = {
    name: definition.name,
    subjects: [...definition.subjects],
    description: definition.description,
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: nanos(definition.maxAgeMs),
    duplicate_window: nanos(definition.duplicateWindowMs),
    num_replicas: 1,
  };
  try {
    const info = await jsm.streams.info(definition.name);
    const current = info.config;
    const same =
      sameSet(current.subjects ?? [], wanted.subjects ?? []) &&
      current.max_age === wanted.max_age &&
      current.duplicate_window === wanted.duplicate_window &&
      current.description === wanted.description;
    if (same) return 'unchanged';
    await jsm.streams.update(definition.name, { ...current, ...wanted, num_replicas: current.num_replicas });
    return 'updated';
  } catch (error) {
    if (!isApiError(error, JetStreamApiCodes.StreamNotFound)) throw error;
    await jsm.streams.add(wanted);
    return 'created';
  }
}

export interface ConsumerSettings {
  ackWaitMs: number;
  /** Most unacknowledged messages the server hands out across all replicas. */
  maxAckPending: number;
}

export function consumerConfigOf(definition: ConsumerDefinition, settings: ConsumerSettings): Partial<ConsumerConfig> {
  return {
    durable_name: definition.name,
    description: definition.description,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: definition.filterSubject,
    ack_wait: nanos(settings.ackWaitMs),
    // Redelivery is bounded by the consumer runner, which records the reason in the dead-letter stream
    // before it terminates a message. A server-side limit would drop the message silently instead.
    max_deliver: -1,
    max_ack_pending: settings.maxAckPending,
  };
}

export async function ensureConsumer(
  jsm: JetStreamManager,
  definition: ConsumerDefinition,
  settings: ConsumerSettings,
): Promise<'created' | 'updated' | 'unchanged'> {
  const wanted = consumerConfigOf(definition, settings);
  try {
    const info = await jsm.consumers.info(definition.stream.name, definition.name);
    const current = info.config;
    const same =
      current.filter_subject === wanted.filter_subject &&
      current.ack_wait === wanted.ack_wait &&
      current.max_ack_pending === wanted.max_ack_pending &&
      current.description === wanted.description;
    if (same) return 'unchanged';
    await jsm.consumers.update(definition.stream.name, definition.name, {
      description: wanted.description,
      filter_subject: wanted.filter_subject,
      ack_wait: wanted.ack_wait,
      max_ack_pending: wanted.max_ack_pending,
    });
    return 'updated';
  } catch (error) {
    if (!isApiError(error, JetStreamApiCodes.ConsumerNotFound)) throw error;
    await jsm.consumers.add(definition.stream.name, wanted);
    return 'created';
  }
}

export function isApiError(error: unknown, code: number): boolean {
  return error instanceof JetStreamApiError && error.code === code;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v) => b.includes(v));
}
