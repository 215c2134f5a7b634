import type { Database, Logger } from '@appserving/shared';
import { parseStoredArtifactUrl, storedArtifactUrl, type ArtifactStore } from '@appserving/shared/artifacts';
import { sql, type Kysely } from 'kysely';

export interface HousekeepingSettings {
  /** Idempotency records older than this are deleted (the key may then be used again). */
  idempotencyKeyTtlMs: number;
  /** Published outbox entries older than this are deleted (their commands are in the stream and the timeline). */
  outboxRetentionMs: number;
  /**
   * Uploaded artifacts no release created within this time (and no unfinished release) uses, and not uploaded
   * again within it, are removed from the artifact store; 0 keeps them forever.
   */
  artifactRetentionMs?: number;
  /** Temporary upload objects older than this are leftovers of a process that died mid-upload (default 1 day). */
  uploadLeftoverMs?: number;
  /** How often to look. */
  intervalMs?: number;
  /** Rows deleted per statement, so no delete holds many locks at once. */
  batchSize?: number;
}

export interface Housekeeping {
  /** One pass; returns what was deleted. */
  runOnce(now?: Date): Promise<{ idempotencyRecords: number; outboxEntries: number; artifacts: number; artifactBytes: number; uploadLeftovers: number }>;
  start(): void;
  stop(): Promise<void>;
}

/**
 * Keeps the gateway's bookkeeping from growing forever: old idempotency records and old published outbox
 * entries are deleted in small batches, and uploaded artifacts nothing needs any more are removed from the
 * artifact store. Replicas may all run it: deleting the same rows or objects twice is harmless.
 */
export function createHousekeeping(deps: { db: Kysely<Database>; log: Logger; settings: HousekeepingSettings; artifacts?: ArtifactStore }): Housekeeping {
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
    const removed = await removeArtifacts(now);
    return { idempotencyRecords, outboxEntries, artifacts: removed.artifacts.length, artifactBytes: removed.bytes, uploadLeftovers: removed.leftovers };
  }

  async function removeArtifacts(now: Date) {
    const retentionMs = settings.artifactRetentionMs ?? 0;
    if (!deps.artifacts || retentionMs <= 0) return { artifacts: [], bytes: 0, leftovers: 0 };
    const before = new Date(now.getTime() - retentionMs);
    const removed = await deps.artifacts.removeUnused({
      before,
      leftoversBefore: new Date(now.getTime() - (settings.uploadLeftoverMs ?? 24 * 60 * 60_000)),
      inUse: async (sha256s) => {
        const urls = sha256s.map(storedArtifactUrl);
        const rows = await db
          .selectFrom('releases')
          .select(sql<string>`spec->>'artifact_url'`.as('url'))
          .distinct()
          .where(sql<string>`spec->>'artifact_url'`, 'in', urls)
          .where((eb) => eb.or([eb('created_at', '>=', before), eb('finished_at', 'is', null)]))
          .execute();
        return new Set(rows.flatMap((row) => parseStoredArtifactUrl(row.url) ?? []));
      },
    });
    if (removed.artifacts.length + removed.leftovers > 0) {
      log.info({ artifacts: removed.artifacts, bytes: removed.bytes, uploadLeftovers: removed.leftovers }, 'housekeeping removed uploaded artifacts no release needs any more');
    }
    return removed;
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
