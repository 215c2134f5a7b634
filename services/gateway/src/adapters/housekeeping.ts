import type { Database, Logger } from '@appserving/shared';
import { sql, type Kysely } from 'kysely';

export interface HousekeepingSettings {
  /** Idempotency records older than this are deleted (the key may then be used again). */
  idempotencyKeyTtlMs: number;
  /** Published outbox entries older than this are deleted (their commands are in the stream and the timeline). */
  outboxRetentionMs: number;
  /** How often to look. */
  intervalMs?: number;
  /** Rows deleted per statement, so no delete holds many locks at once. */
  batchSize?: number;
}

export interface Housekeeping {
  /** One pass; returns what was deleted. */
  runOnce(now?: Date): Promise<{ idempotencyRecords: number; outboxEntries: number }>;
  start(): void;
  stop(): Promise<void>;
}

/**
 * Keeps the gateway's bookkeeping tables from growing forever: old idempotency records and old published outbox
 * entries are deleted in small batches. Replicas may all run it: deletes of the same rows are harmless.
 */
export function createHousekeeping(deps: { db: Kysely<Database>; log: Logger; settings: HousekeepingSettings }): Housekeeping {
  const { db, log, settings } = deps;
  const batchSize = settings.batchSize ?? 1_000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = true;
  let stopping = false;

  async function drain(remove: () => Promise<number>): Promise<number> {
    let total = 0;
    for (;;) {
      const deleted = await remove();
      total += deleted;
      if (deleted < batchSize || stopping) return total;
    }
  }

  async function runOnce(now = new Date()) {
    const keysBefore = new Date(now.getTime() - settings.idempotencyKeyTtlMs);
    const outboxBefore = new Date(now.getTime() - settings.outboxRetentionMs);
    const idempotencyRecords = await drain(async () => {
      const result = await db
        .deleteFrom('idempotency_records')
        .where(sql<boolean>`ctid = any(array(select ctid from idempotency_records where created_at < ${keysBefore} limit ${batchSize}))`)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    });
    const outboxEntries = await drain(async () => {
      const result = await db
        .deleteFrom('outbox')
        .where('id', 'in', (eb) => eb.selectFrom('outbox').select('id').where('published_at', '<', outboxBefore).limit(batchSize))
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    });
    if (idempotencyRecords + outboxEntries > 0) log.info({ idempotencyRecords, outboxEntries }, 'housekeeping deleted old rows');
    return { idempotencyRecords, outboxEntries };
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      running = runOnce()
        .catch((error: unknown) => log.warn({ err: error }, 'housekeeping failed; will try again'))
        .finally(schedule);
    }, settings.intervalMs ?? 10 * 60_000);
    timer.unref();
  }

  return {
    runOnce: (now) => runOnce(now),
    start() {
      stopped = false;
      stopping = false;
      schedule();
    },
    async stop() {
      stopped = true;
      stopping = true;
      clearTimeout(timer);
      await running;
    },
  };
}
