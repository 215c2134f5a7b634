import { terminalStatuses, type Database, type ReleaseStatus } from '@appserving/shared';
import { DeliverPolicy, type JetStreamClient } from '@nats-io/jetstream';
import { streams } from '@appserving/shared';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import Type from 'typebox';
import { loadAppView } from '../domain/app-views.ts';
import { AppIdParams, AppView, ErrorBody } from '../schemas/app.schemas.ts';
import type { Principal } from './apps.routes.ts';

export interface AppStatusRoutesDeps {
  db: Kysely<Database>;
  js: JetStreamClient;
  principalOf(request: FastifyRequest): Principal;
  /** How often /wait looks at the release (the watcher is the one writer of status). */
  waitPollMs?: number;
  /** SSE keep-alive comment interval. */
  heartbeatMs?: number;
}

const TimelineQuery = Type.Object(
  {
    after: Type.Optional(Type.String({ pattern: '^[0-9]{1,18}$', errorMessage: 'must be a timeline entry id' })),
    limit: Type.Optional(Type.String({ pattern: '^([1-9][0-9]{0,2}|1000)$', errorMessage: 'must be a number from 1 to 1000' })),
  },
  { additionalProperties: false },
);
type TimelineQuery = Type.Static<typeof TimelineQuery>;

const TimelineEntry = Type.Object({
  id: Type.String(),
  event_id: Type.String(),
  type: Type.String(),
  source: Type.String(),
  release_id: Type.Union([Type.String(), Type.Null()]),
  occurred_at: Type.String(),
  recorded_at: Type.String(),
  data: Type.Unknown(),
});

const WaitQuery = Type.Object(
  { timeout: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}(ms|s|m)?$', errorMessage: 'must be a duration like 90s, 5m or 30000ms (at most 15m)' })) },
  { additionalProperties: false },
);
type WaitQuery = Type.Static<typeof WaitQuery>;

const maxWaitMs = 15 * 60_000;

/** Whether a release is done: `built` ends a build-only release and is a step of the others. */
export function isTerminal(status: string, taskType: string): boolean {
  if (status === 'built') return taskType === 'build';
  return terminalStatuses.has(status as ReleaseStatus);
}

export function parseDuration(text: string | undefined, fallbackMs: number): number {
  if (text === undefined) return fallbackMs;
  const match = /^([0-9]+)(ms|s|m)?$/.exec(text);
  const value = Number(match?.[1] ?? 0);
  const unit = match?.[2] ?? 's';
  return Math.min(maxWaitMs, unit === 'ms' ? value : unit === 'm' ? value * 60_000 : value * 1_000);
}

/** The persisted timeline, the live event stream (SSE) and the blocking wait of an app. */
export async function appStatusRoutes(app: FastifyInstance, deps: AppStatusRoutesDeps): Promise<void> {
  const { db } = deps;

  app.get(
    '/apps/:id/timeline',
    { schema: { params: AppIdParams, querystring: TimelineQuery, response: { 200: Type.Object({ items: Type.Array(TimelineEntry) }), 400: ErrorBody, 404: ErrorBody }, summary: 'Everything recorded about an app, oldest first', tags: ['apps'] } },
    async (request) => {
      const { id } = request.params as AppIdParams;
      const query = request.query as TimelineQuery;
      await loadAppView(db, id, deps.principalOf(request).projects);
      const rows = await db
        .selectFrom('timeline')
        .select(['id', 'event_id', 'type', 'source', 'release_id', 'occurred_at', 'recorded_at', 'data'])
        .where('app_id', '=', id)
        .$if(query.after !== undefined, (qb) => qb.where('id', '>', query.after ?? '0'))
        .orderBy('id')
        .limit(Number(query.limit ?? 200))
        .execute();
      return { items: rows.map((r) => ({ ...r, occurred_at: r.occurred_at.toISOString(), recorded_at: r.recorded_at.toISOString() })) };
    },
  );

  app.get(
    '/apps/:id/wait',
    {
      schema: {
        params: AppIdParams,
        querystring: WaitQuery,
        response: { 200: Type.Object({ terminal: Type.Boolean(), app: AppView }), 400: ErrorBody, 404: ErrorBody, 504: ErrorBody },
        summary: 'Block until the current release is terminal (for CI scripts); 504 wait_timeout after `timeout` (default 60s, at most 15m)',
        tags: ['apps'],
      },
    },
    async (request, reply) => {
      const { id } = request.params as AppIdParams;
      const deadline = Date.now() + parseDuration((request.query as WaitQuery).timeout, 60_000);
      const projects = deps.principalOf(request).projects;
      let closed = false;
      request.raw.once('close', () => (closed = true));
      for (;;) {
        const view = await loadAppView(db, id, projects);
        const release = view.current_release;
        if (!release || isTerminal(release.status, release.task_type)) return { terminal: true, app: view };
        if (Date.now() >= deadline) {
          return reply.code(504).send({
            error: { code: 'wait_timeout', message: `release ${release.version_label} is still ${release.status}`, details: { status: release.status } },
          });
        }
        if (closed) return reply;
        await new Promise((r) => setTimeout(r, deps.waitPollMs ?? 500));
      }
    },
  );

  app.get(
    '/apps/:id/events',
    {
      schema: {
        params: AppIdParams,
        summary:
          'Live status as Server-Sent Events: a `snapshot`, then every event about the app since its current release began (so nothing between the POST and this GET is missed), then live ones (id = stream sequence; reconnect with Last-Event-ID to resume)',
        tags: ['apps'],
      },
    },
    async (request, reply) => {
      const { id } = request.params as AppIdParams;
      const snapshot = await loadAppView(db, id, deps.principalOf(request).projects);
      const lastEventId = Number(request.headers['last-event-id']);
      const resume = Number.isSafeInteger(lastEventId) && lastEventId > 0;
      const consumer = await deps.js.consumers.get(streams.events.name, {
        filter_subjects: `appserving.evt.*.*.${id}`,
        // A first connection replays the current release's events: a client that opens the stream right after
        // its POST must not miss the steps that happened in between.
        ...(resume
          ? { opt_start_seq: lastEventId + 1 }
          : snapshot.current_release
            ? { opt_start_time: snapshot.current_release.created_at }
            : { deliver_policy: DeliverPolicy.New }),
      });
      const messages = await consumer.consume();
      reply.hijack();
      const out = reply.raw;
      out.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      out.write(`retry: 2000\nevent: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`);
      const heartbeat = setInterval(() => out.write(': keep-alive\n\n'), deps.heartbeatMs ?? 15_000);
      const stop = () => {
        clearInterval(heartbeat);
        void messages.close();
      };
      request.raw.once('close', stop);
      try {
        for await (const m of messages) {
          const event = m.json<{ type?: string }>();
          out.write(`id: ${m.seq}\nevent: ${event.type ?? 'message'}\ndata: ${JSON.stringify(event)}\n\n`);
        }
      } catch (error) {
        request.log.warn({ err: error }, 'event stream ended');
      } finally {
        stop();
        out.end();
      }
    },
  );
}
