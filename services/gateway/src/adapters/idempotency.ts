import { createHash } from 'node:crypto';
import { InputError, type Database } from '@appserving/shared';
import type { Kysely, Transaction } from 'kysely';

export interface IdempotencyContext {
  /** Whose key it is: keys of different callers never collide. */
  principal: string;
  key: string | undefined;
  method: string;
  path: string;
  body: unknown;
}

export interface Outcome<T> {
  status: number;
  body: unknown;
  /** What the caller does after commit (e.g. publish the outbox entries); absent on a replay. */
  afterCommit?: T;
  replayed: boolean;
}

/**
 * Runs `work` in one transaction with the idempotency record of its key: the same key and request returns the
 * first response and does nothing again; the same key with another request is refused. Concurrent requests
 * with one key serialize on the record's primary key, so exactly one does the work.
 */
export async function idempotent<T>(
  db: Kysely<Database>,
  context: IdempotencyContext,
  work: (trx: Transaction<Database>) => Promise<{ status: number; body: unknown; afterCommit?: T }>,
): Promise<Outcome<T>> {
  return db.transaction().execute(async (trx) => {
    if (context.key === undefined) return { ...(await work(trx)), replayed: false };
    const requestHash = hashRequest(context);
    const claimed = await trx
      .insertInto('idempotency_records')
      .values({
        principal: context.principal,
        key: context.key,
        method: context.method,
        path: context.path,
        request_hash: requestHash,
        // 102 Processing: claimed, the work is under way in this transaction.
        status_code: 102,
        response: 'null',
      })
      .onConflict((oc) => oc.columns(['principal', 'key']).doNothing())
      .returning('key')
      .executeTakeFirst();
    if (!claimed) {
      const first = await trx
        .selectFrom('idempotency_records')
        .select(['request_hash', 'status_code', 'response', 'method', 'path'])
        .where('principal', '=', context.principal)
        .where('key', '=', context.key)
        .executeTakeFirstOrThrow();
      if (first.request_hash !== requestHash) {
        throw new InputError(
          'idempotency_key_reused',
          `Idempotency-Key ${context.key} was already used for a different request (${first.method} ${first.path}); use a new key for a new request`,
          { details: { header: 'Idempotency-Key' } },
        );
      }
      return { status: first.status_code, body: first.response, replayed: true };
    }
    const result = await work(trx);
    await trx
      .updateTable('idempotency_records')
      .set({ status_code: result.status, response: JSON.stringify(result.body) })
      .where('principal', '=', context.principal)
      .where('key', '=', context.key)
      .execute();
    return { ...result, replayed: false };
  });
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
