import type { CloudEvent, ReleaseRefV1 } from '@appserving/shared';
import type { Database } from '@appserving/shared/database';
import type { Kysely } from 'kysely';

/**
 * Records one command or event in the timeline. The CloudEvent id is unique there, so a redelivered or
 * replayed message inserts nothing; returns whether a row was written.
 */
export async function recordTimelineEntry(db: Kysely<Database>, event: CloudEvent<{ release: ReleaseRefV1 }>): Promise<boolean> {
  const result = await db
    .insertInto('timeline')
    .values({
      event_id: event.id,
      app_id: event.data.release.app_id,
      release_id: event.data.release.release_id,
      type: event.type,
      source: event.source,
      subject: event.subject ?? null,
      occurred_at: event.time ? new Date(event.time) : new Date(),
      data: JSON.stringify(event.data),
    })
    .onConflict((oc) => oc.column('event_id').doNothing())
    .executeTakeFirst();
  return (result.numInsertedOrUpdatedRows ?? 0n) > 0n;
}
