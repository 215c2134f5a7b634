import type { Kysely, Transaction } from 'kysely';
import { messageTypeOf, type CloudEvent, type MessageType } from '../contracts/index.ts';
import type { Database } from '../database/index.ts';
import type { Logger } from '../logging/index.ts';
import type { Publisher } from './publisher.ts';

/**
 * The transactional outbox's relay. A command or event is written to `outbox` in the same transaction as the
 * state it belongs to, so what was committed is never lost; it is then published at once (`publishNow`), and a
 * sweep republishes whatever a crash or a NATS outage left behind. The row id is the CloudEvent id and the
 * Nats-Msg-Id, so a republish is dropped by the stream. Several replicas (and services) may sweep at once.
 */
export interface OutboxEntry {
  id: string;
  subject: string;
  event: CloudEvent;
}

export interface OutboxRelay {
  /** Publishes entries just committed; failures are left for the relay loop. */
  publishNow(entries: readonly OutboxEntry[]): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

export function createOutboxRelay(deps: {
  db: Kysely<Database>;
  publisher: Publisher;
  log: Logger;
  /** The message types this relay sweeps (a service sweeps what it writes); default every type of the catalog. */
  types?: readonly MessageType[];
  /** Entries older than this and still unpublished are the relay's. */
  staleAfterMs?: number;
  intervalMs?: number;
}): OutboxRelay {
  const staleAfterMs = deps.staleAfterMs ?? 3_000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  // `db` is the sweep's transaction when the sweep holds the row lock: updating through another connection
  // would wait on that lock forever.
  // Entries published right after their request are marked in batches: one UPDATE per flush instead of one
  // per request. An entry whose mark is lost (crash before the flush) is republished by the sweep and
  // dropped by the stream as a duplicate.
  let marks: string[] = [];
  let markTimer: NodeJS.Timeout | undefined;
  // Entries `publishNow` is publishing or has published with the mark still to be written: the sweep leaves
  // them alone, so a slow publish or a pending mark is not published a second time by this same relay.
  const ownPending = new Set<string>();
  async function flushMarks(): Promise<void> {
    clearTimeout(markTimer);
    markTimer = undefined;
    const ids = marks;
    marks = [];
    if (ids.length === 0) return;
    await deps.db
      .updateTable('outbox')
      .set({ published_at: new Date() })
      .where('id', 'in', ids)
      .execute()
      .catch((error: unknown) => deps.log.warn({ err: error, count: ids.length }, 'could not mark outbox entries published; the sweep will republish them'))
      .finally(() => {
        for (const id of ids) ownPending.delete(id);
      });
  }

  async function publish(entry: OutboxEntry, db: Kysely<Database> | Transaction<Database> | 'batched' = deps.db): Promise<boolean> {
    const messageType = messageTypeOf(entry.event.type);
    if (!messageType) {
      deps.log.error({ id: entry.id, type: entry.event.type }, 'outbox entry of an unknown type; left unpublished');
      return false;
    }
    if (db === 'batched') ownPending.add(entry.id);
    try {
      await deps.publisher.publishEvent(messageType, entry.subject, entry.event);
      if (db === 'batched') {
        marks.push(entry.id);
        markTimer ??= setTimeout(() => void flushMarks(), 50);
      } else {
        await db.updateTable('outbox').set({ published_at: new Date() }).where('id', '=', entry.id).execute();
      }
      return true;
    } catch (error) {
      ownPending.delete(entry.id);
      await (db === 'batched' ? deps.db : db)
        .updateTable('outbox')
        .set((eb) => ({ attempts: eb('attempts', '+', 1), last_error: error instanceof Error ? error.message : String(error) }))
        .where('id', '=', entry.id)
        .execute()
        .catch(() => {});
      deps.log.warn({ err: error, id: entry.id, type: entry.event.type }, 'not published yet; the outbox sweep will retry');
      return false;
    }
  }

  async function sweep(): Promise<void> {
    // SKIP LOCKED lets several gateway replicas sweep at once without publishing one entry twice at a time.
    await deps.db.transaction().execute(async (trx) => {
      const rows = await trx
        .selectFrom('outbox')
        .select(['id', 'subject', 'event'])
        .where('published_at', 'is', null)
        .$if(deps.types !== undefined, (qb) => qb.where('type', 'in', (deps.types ?? []).map((t) => t.type)))
        .where('created_at', '<', new Date(Date.now() - staleAfterMs))
        .orderBy('created_at')
        .limit(100)
        .forUpdate()
        .skipLocked()
        .execute();
      for (const row of rows) {
        if (stopped) break;
        if (ownPending.has(row.id)) continue;
        await publish({ id: row.id, subject: row.subject, event: row.event as unknown as CloudEvent }, trx);
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
    async publishNow(entries) {
      for (const entry of entries) await publish(entry, 'batched');
    },
    start() {
      stopped = false;
      schedule();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
      await flushMarks();
    },
  };
}
