import { createCloudEvent, type CloudEvent, type Database, type Logger, type MessageType, type Publisher } from '@appserving/shared';
import type { Kysely, Transaction } from 'kysely';
import type { TSchema } from 'typebox';
import type Type from 'typebox';

/**
 * Events the watcher announces (status changes, analysis steps) are written in the same transaction as the
 * state they describe: into the outbox, so a crash between commit and publish loses nothing, and into the
 * timeline, so the app's history shows the change even while NATS is away (the projection later finds the
 * same event id there and records nothing). See docs/adr (watcher outbox).
 */
export interface OutgoingEvent {
  messageType: MessageType;
  subject: string;
  event: CloudEvent;
  appId: string;
  releaseId: string;
}

export const WATCHER_SOURCE = '/appserving/watcher';

export function outgoing<S extends TSchema>(messageType: MessageType<S>, fields: { id: string; appId: string; releaseId: string; data: Type.Static<S>; time?: Date }): OutgoingEvent {
  const event = createCloudEvent(messageType, { id: fields.id, source: WATCHER_SOURCE, subject: fields.appId, data: fields.data, ...(fields.time ? { time: fields.time } : {}) });
  return { messageType, subject: messageType.subject(fields.appId), event, appId: fields.appId, releaseId: fields.releaseId };
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

export interface EventRelay {
  /** Publishes events just committed; what fails stays in the outbox for the sweep. */
  publish(events: readonly OutgoingEvent[]): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

/**
 * Publishes the watcher's outbox entries: at once after commit, and by a sweep for entries a crash or a NATS
 * outage left behind (only the watcher's own event types; the gateway's relay sweeps its commands).
 */
export function createEventRelay(deps: {
  db: Kysely<Database>;
  publisher: Publisher;
  log: Logger;
  types: readonly MessageType[];
  staleAfterMs?: number;
  intervalMs?: number;
}): EventRelay {
  const byType = new Map(deps.types.map((t) => [t.type, t]));
  const staleAfterMs = deps.staleAfterMs ?? 3_000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = true;

  async function publishOne(messageType: MessageType, subject: string, event: CloudEvent, db: Kysely<Database> | Transaction<Database>): Promise<boolean> {
    try {
      await deps.publisher.publishEvent(messageType, subject, event);
      await db.updateTable('outbox').set({ published_at: new Date() }).where('id', '=', event.id).execute();
      return true;
    } catch (error) {
      await db
        .updateTable('outbox')
        .set((eb) => ({ attempts: eb('attempts', '+', 1), last_error: error instanceof Error ? error.message : String(error) }))
        .where('id', '=', event.id)
        .execute()
        .catch(() => {});
      deps.log.warn({ err: error, eventId: event.id }, 'event not published yet; the watcher\'s outbox sweep will retry');
      return false;
    }
  }

  async function sweep(): Promise<void> {
    await deps.db.transaction().execute(async (trx) => {
      const rows = await trx
        .selectFrom('outbox')
        .select(['id', 'subject', 'type', 'event'])
        .where('published_at', 'is', null)
        .where('type', 'in', [...byType.keys()])
        .where('created_at', '<', new Date(Date.now() - staleAfterMs))
        .orderBy('created_at')
        .limit(100)
        .forUpdate()
        .skipLocked()
        .execute();
      for (const row of rows) {
        const messageType = byType.get(row.type);
        if (stopped || !messageType) break;
        await publishOne(messageType, row.subject, row.event as unknown as CloudEvent, trx);
      }
    });
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      running = sweep()
        .catch((error: unknown) => deps.log.warn({ err: error }, 'outbox sweep failed'))
        .finally(schedule);
    }, deps.intervalMs ?? 1_000);
  }

  return {
    async publish(events) {
      for (const out of events) await publishOne(out.messageType, out.subject, out.event, deps.db);
    },
    start() {
      stopped = false;
      schedule();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
