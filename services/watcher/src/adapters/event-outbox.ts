import { createCloudEvent, type CloudEvent, type Database, type MessageType } from '@appserving/shared';
import type { Transaction } from 'kysely';
import type { TSchema } from 'typebox';
import type Type from 'typebox';

/**
 * Events the watcher announces (status changes, analysis steps) are written in the same transaction as the
 * state they describe: into the outbox, so a crash between commit and publish loses nothing, and into the
 * timeline, so the app's history shows the change even while NATS is away (the projection later finds the
 * same event id there and records nothing). The outbox relay of @appserving/shared publishes them (ADR 0014).
 */
export interface OutgoingEvent {
  /** The event's id (also the outbox row's): an OutgoingEvent is an outbox entry the relay can publish. */
  id: string;
  messageType: MessageType;
  subject: string;
  event: CloudEvent;
  appId: string;
  releaseId: string;
}

export const WATCHER_SOURCE = '/appserving/watcher';

export function outgoing<S extends TSchema>(messageType: MessageType<S>, fields: { id: string; appId: string; releaseId: string; data: Type.Static<S>; time?: Date }): OutgoingEvent {
  const event = createCloudEvent(messageType, { id: fields.id, source: WATCHER_SOURCE, subject: fields.appId, data: fields.data, ...(fields.time ? { time: fields.time } : {}) });
  return { id: fields.id, messageType, subject: messageType.subject(fields.appId), event, appId: fields.appId, releaseId: fields.releaseId };
}

/** Stores the event in the outbox and the timeline; returns false when an event with this id was stored before. */
export async function recordOutgoing(trx: Transaction<Database>, out: OutgoingEvent): Promise<boolean> {
  const stored = await trx
    .insertInto('outbox')
    .values({ id: out.event.id, subject: out.subject, type: out.event.type, event: JSON.stringify(out.event) })
    .onConflict((oc) => oc.column('id').doNothing())
    .executeTakeFirst();
  await trx
    .insertInto('timeline')
    .values({
      event_id: out.event.id,
      app_id: out.appId,
      release_id: out.releaseId,
      type: out.event.type,
      source: out.event.source,
      subject: out.event.subject ?? null,
      occurred_at: out.event.time ? new Date(out.event.time) : new Date(),
      data: JSON.stringify(out.event.data),
    })
    .onConflict((oc) => oc.column('event_id').doNothing())
    .execute();
  return (stored.numInsertedOrUpdatedRows ?? 0n) > 0n;
}
