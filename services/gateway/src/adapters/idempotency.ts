import { createHash } from 'node:crypto';
import { InputError, isTransactionConflict, RetryableError, type Database } from '@appserving/shared';
import type { Kysely, Transaction } from 'kysely';

export interface IdempotencyContext {
  /** Whose key it is: keys of different callers never collide. */
  principal: string;
  key: string | undefined;
  method: string;
  path: string;
  body: unknown;
}

/** A keyed request: its key, and the hash that tells a retry of it from another request with the same key. */
export interface IdempotencyClaim {
  principal: string;
  key: string;
  method: string;
  path: string;
  requestHash: string;
}

export interface Outcome<T> {
  status: number;
  body: unknown;
  /** What the caller does after commit (e.g. publish the outbox entries); absent on a replay. */
  afterCommit?: T;
  replayed: boolean;
}

export interface Answer<T> {
  status: number;
  body: unknown;
  afterCommit?: T;
}

export function claimOf(context: IdempotencyContext): IdempotencyClaim | undefined {
  if (context.key === undefined) return undefined;
  return { principal: context.principal, key: context.key, method: context.method, path: context.path, requestHash: hashRequest(context) };
}

/**
 * The insert of a keyed request's record with its answer, written in the same transaction (or statement) as
 * the work. It inserts nothing when the key is already recorded: a concurrent request with the same key waits
 * here until the first commits, then finds its record.
 */
export function recordInsert(db: Kysely<Database> | Transaction<Database>, claim: IdempotencyClaim, answer: { status: number; body: unknown }) {
  return db
    .insertInto('idempotency_records')
    .values({
      principal: claim.principal,
      key: claim.key,
      method: claim.method,
      path: claim.path,
      request_hash: claim.requestHash,
      status_code: answer.status,
      response: JSON.stringify(answer.body),
    })
    .onConflict((oc) => oc.columns(['principal', 'key']).doNothing())
    .returning('key');
}

/**
 * The recorded answer of a key, to replay; undefined when the key was never answered. The same key with
 * another request is refused.
 */
export async function replayOf(db: Kysely<Database>, claim: IdempotencyClaim): Promise<{ status: number; body: unknown } | undefined> {
  const first = await db
    .selectFrom('idempotency_records')
    .select(['request_hash', 'status_code', 'response', 'method', 'path'])
    .where('principal', '=', claim.principal)
    .where('key', '=', claim.key)
    .executeTakeFirst();
  if (!first) return undefined;
  if (first.request_hash !== claim.requestHash) {
    throw new InputError(
      'idempotency_key_reused',
      `Idempotency-Key ${claim.key} was already used for a different request (${first.method} ${first.path}); use a new key for a new request`,
      { details: { header: 'Idempotency-Key' } },
    );
  }
  return { status: first.status_code, body: first.response };
}

/** Thrown inside the work's transaction when its key turned out to be answered already: roll back, replay. */
class AlreadyAnswered extends Error {
  override readonly name = 'AlreadyAnswered';
}

/**
 * Runs a state change with its Idempotency-Key: the same key and request returns the first answer and changes
 * nothing again; the same key with another request is refused.
 *
 * `work` does the change and writes the key's record in the same transaction or statement (with
 * `recordInsert`), and says whether the record was written. When it was not (the key was answered meanwhile),
 * or when the work failed, a recorded answer is replayed if there is one; the retry's own writes were rolled
 * back with its transaction. Only answers of successful changes are recorded: a failed request may be retried.
 */
export async function idempotentChange<T>(
  db: Kysely<Database>,
  claim: IdempotencyClaim | undefined,
  work: (claim: IdempotencyClaim | undefined) => Promise<Answer<T> & { recorded: boolean }>,
): Promise<Outcome<T>> {
  try {
    const { recorded, ...answer } = await work(claim);
    if (!claim || recorded) return { ...answer, replayed: false };
  } catch (error) {
    // A retry of an answered request may fail on what the first one did (its operation is in flight, its
    // name is taken, ...): whatever failed, a recorded answer for the key wins.
    if (!claim) throw error;
    const replay = await replayOf(db, claim);
    if (replay) return { ...replay, replayed: true };
    throw error;
  }
  const replay = await replayOf(db, claim);
  if (!replay) throw new Error(`Idempotency-Key ${claim.key}: the record was neither written nor found`);
  return { ...replay, replayed: true };
}

/** `idempotentChange` for work that runs in one transaction: the record is written at its end. */
export async function idempotent<T>(
  db: Kysely<Database>,
  context: IdempotencyContext,
  work: (trx: Transaction<Database>) => Promise<Answer<T>>,
): Promise<Outcome<T>> {
  return idempotentChange(db, claimOf(context), (claim) =>
    retryingConflicts(() =>
      db.transaction().execute(async (trx) => {
        const answer = await work(trx);
        if (claim && !(await recordInsert(trx, claim, answer).executeTakeFirst())) throw new AlreadyAnswered();
        return { ...answer, recorded: true };
      }),
    ),
  );
}

const CONFLICT_ATTEMPTS = 4;

/**
 * Runs a transaction again when Postgres rolled it back for meeting a concurrent one: a change to an app locks the
 * app, then its operations, while the watcher recording a status writes them in its own order, and one of the two
 * is chosen as a deadlock's victim (once a 500 on DELETE /apps while a deploy failed). The victim wrote nothing, so
 * running it again is safe; after a few attempts the caller gets a 503 to retry.
 */
async function retryingConflicts<R>(transaction: () => Promise<R>): Promise<R> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await transaction();
    } catch (error) {
      if (!isTransactionConflict(error)) throw error;
      if (attempt >= CONFLICT_ATTEMPTS) {
        throw new RetryableError('transaction_conflict', 'the change met concurrent ones and could not be made; try again', { cause: error, retryAfterMs: 1_000 });
      }
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
    }
  }
}

export function hashRequest(context: Pick<IdempotencyContext, 'method' | 'path' | 'body'>): string {
  return createHash('sha256').update(`${context.method} ${context.path}\n${canonicalJson(context.body)}`).digest('hex');
}

/** Deeper request bodies are refused: no API body nests anywhere near this. */
export const maxBodyDepth = 64;

/** JSON with object keys sorted, so the same request in another key order hashes the same. */
export function canonicalJson(value: unknown, depth = 0): string {
  if (depth > maxBodyDepth) {
    throw new InputError('body_too_deep', `the request body nests deeper than ${maxBodyDepth} levels`);
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v, depth + 1)).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k], depth + 1)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}
