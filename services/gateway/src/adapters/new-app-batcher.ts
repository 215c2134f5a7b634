import DataLoader from 'dataloader';
import { isRefusedByPostgres, type Database } from '@appserving/shared';
import type { Kysely } from 'kysely';
import { insertNewApps, type NewAppOutcome, type NewAppRows } from './app.repository.ts';

/**
 * The group commit of `POST /apps`. Each create is one item of a statement that writes many
 * (`insertNewApps`): while `maxInFlight` statements are running, the creates that arrive wait together and go
 * in the next one, so under load one commit serves many requests, and an idle gateway sends a create at once
 * (one event-loop turn later). Each item keeps its own outcome. When Postgres refuses a whole statement (a
 * deadlock between two batches, a value a constraint refuses), nothing of it was written and each item is
 * tried again on its own, so one bad item fails only its own request.
 */
export interface NewAppBatcher {
  create(rows: NewAppRows): Promise<NewAppOutcome>;
}

export interface NewAppBatcherOptions {
  /** Items per statement at most (64). */
  maxBatch?: number;
  /** Statements running at once (2); the creates that arrive meanwhile gather into the next. */
  maxInFlight?: number;
  /** Told each statement's size, e.g. for a histogram. */
  onBatch?: (size: number) => void;
}

export function newAppBatcher(db: Kysely<Database>, options: NewAppBatcherOptions = {}): NewAppBatcher {
  const maxInFlight = options.maxInFlight ?? 2;
  let inFlight = 0;
  const waiting: (() => void)[] = [];

  function done(): void {
    inFlight -= 1;
    const next = waiting.shift();
    if (next) {
      inFlight += 1;
      next();
    }
  }

  async function createAll(batch: readonly NewAppRows[]): Promise<(NewAppOutcome | Error)[]> {
    options.onBatch?.(batch.length);
    try {
      return await insertNewApps(db, batch);
    } catch (error) {
      // Refused by Postgres: rolled back, nothing written; any other failure (connection lost) may have
      // committed, so it is every item's error and their callers' retries replay by Idempotency-Key.
      if (batch.length === 1 || !isRefusedByPostgres(error)) return batch.map(() => asError(error));
      return Promise.all(batch.map((rows) => insertNewApps(db, [rows]).then(([outcome]) => outcome as NewAppOutcome, asError)));
    } finally {
      done();
    }
  }

  const loader = new DataLoader<NewAppRows, NewAppOutcome>(createAll, {
    cache: false,
    maxBatchSize: options.maxBatch ?? 64,
    // A new batch is sent when a statement slot is free; until then it gathers the creates that arrive.
    // Never synchronously: DataLoader adds the first item only after scheduling its batch.
    batchScheduleFn: (dispatch) => {
      if (inFlight < maxInFlight) {
        inFlight += 1;
        setImmediate(dispatch);
      } else {
        waiting.push(dispatch);
      }
    },
  });

  return { create: (rows) => loader.load(rows) };
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(`create failed: ${String(error)}`);
}
