import { commandTypes, eventTypes, on, type Handler, type ReleaseRefV1 } from '@appserving/shared';
import type { MessageType } from '@appserving/shared';
import type { Database } from '@appserving/shared/database';
import type { Kysely } from 'kysely';
import { recordTimelineEntry } from '../adapters/timeline.repository.ts';

/**
 * The projection: every accepted command and every event lands in the timeline once, by event id, so the
 * timeline is complete and replay-safe. Every message type of the catalog carries the release it is about.
 */
export function createProjectionHandlers(deps: { db: Kysely<Database> }): { commands: Handler[]; events: Handler[] } {
  const project = (messageType: MessageType) =>
    on(messageType, async (event, ctx) => {
      const written = await recordTimelineEntry(deps.db, event as typeof event & { data: { release: ReleaseRefV1 } });
      ctx.log.debug({ written }, written ? 'timeline entry recorded' : 'timeline entry already present');
    });
  return { commands: commandTypes.map(project), events: eventTypes.map(project) };
}
