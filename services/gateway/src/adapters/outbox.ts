import { createCloudEvent, type Database, type MessageType, type OutboxEntry } from '@appserving/shared';
import { encodeCloudEvent } from '@appserving/shared';
import type { Kysely, Transaction } from 'kysely';
import type Type from 'typebox';
import type { TSchema } from 'typebox';

/**
 * The gateway's side of the transactional outbox: a command is written in the same transaction as the desired
 * state it belongs to (`enqueue`), so an accepted request always has its command; the relay
 * (`createOutboxRelay` of @appserving/shared) publishes it.
 */
export { createOutboxRelay, type OutboxEntry, type OutboxRelay } from '@appserving/shared';

export interface OutboxMessage<S extends TSchema> {
  id: string;
  appId: string;
  source: string;
  data: Type.Static<S>;
}

/** The entry of a command, checked against its schema (a mismatch is our bug: fail the request, not the relay). */
export function outboxEntry<S extends TSchema>(messageType: MessageType<S>, message: OutboxMessage<S>): OutboxEntry {
  const event = createCloudEvent(messageType, { id: message.id, source: message.source, subject: message.appId, data: message.data });
  encodeCloudEvent(messageType, event);
  return { id: message.id, subject: messageType.subject(message.appId), event };
}

export async function enqueue<S extends TSchema>(
  trx: Transaction<Database> | Kysely<Database>,
  messageType: MessageType<S>,
  message: OutboxMessage<S>,
): Promise<OutboxEntry> {
  const entry = outboxEntry(messageType, message);
  await trx.insertInto('outbox').values({ id: entry.id, subject: entry.subject, type: entry.event.type, event: JSON.stringify(entry.event) }).execute();
  return entry;
}

