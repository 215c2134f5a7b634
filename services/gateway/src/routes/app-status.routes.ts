import { InputError, NotFoundError, RetryableError, rpcs, terminalStatuses, type Database, type PodLogsRequestV1, type PodLogsResponseV1, type ReleaseStatus } from '@appserving/shared';
import { DeliverPolicy, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { streams } from '@appserving/shared';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import Type from 'typebox';
import { releaseByVersion } from '../adapters/app.repository.ts';
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
  /** Core NATS, to ask the watcher for pod logs (request/reply); without it GET /apps/{id}/logs answers 503. */
  nc?: NatsConnection;
  /** How long GET /apps/{id}/logs waits for the watcher's answer. */
  logsTimeoutMs?: number;
}

const LogsQuery = Type.Object(
  {
    tail: Type.Optional(Type.String({ pattern: '^([1-9][0-9]{0,2}|[1-4][0-9]{3}|5000)$', errorMessage: 'must be a number of lines from 1 to 5000' })),
    previous: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')], { errorMessage: 'must be true or false' })),
    release: Type.Optional(Type.String({ minLength: 1, maxLength: 64, errorMessage: 'must be a release version number or label' })),
  },
  { additionalProperties: false },
);
type LogsQuery = Type.Static<typeof LogsQuery>;

const PodLogs = Type.Object({
  app_id: Type.String(),
  release: Type.Union([Type.String(), Type.Null()]),
  previous: Type.Boolean(),
  pods: rpcs.podLogs.response.properties.pods,
});

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

  app.get(
    '/apps/:id/logs',
    {
      schema: {
        params: AppIdParams,
        querystring: LogsQuery,
        response: { 200: PodLogs, 400: ErrorBody, 404: ErrorBody, 503: ErrorBody },
        summary:
          'The last lines of the app\'s pod logs (`tail`, default 100, at most 5000), of the crashed previous container with `previous=true`, of one release with `release` (version or label); read from the cluster by the watcher. 503 `logs_unavailable` when no watcher answers.',
        tags: ['apps'],
      },
    },
    async (request) => {
      const { id } = request.params as AppIdParams;
      const query = request.query as LogsQuery;
      await loadAppView(db, id, deps.principalOf(request).projects);
      const release = query.release === undefined ? undefined : await releaseByVersion(db, id, query.release);
      if (query.release !== undefined && !release) throw new NotFoundError('release_not_found', `no release ${query.release} of app ${id}`);
      const ask: PodLogsRequestV1 = { app_id: id, tail_lines: Number(query.tail ?? 100), previous: query.previous === 'true', ...(release ? { release_id: release.id } : {}) };
      const answer = await askWatcher(ask);
      return { app_id: id, release: release?.version_label ?? null, previous: ask.previous, pods: answer.pods };
    },
  );

  async function askWatcher(ask: PodLogsRequestV1): Promise<PodLogsResponseV1> {
    if (!deps.nc) throw new RetryableError('logs_unavailable', 'pod logs cannot be read: this gateway has no connection to the watcher');
    let raw: { ok: boolean; data?: PodLogsResponseV1; error?: { code: string; message: string } };
    try {
      const msg = await deps.nc.request(rpcs.podLogs.subject, JSON.stringify(ask), { timeout: deps.logsTimeoutMs ?? 15_000 });
      raw = msg.json();
    } catch (error) {
      const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : '';
      const noWatcher = /no responders/i.test(error instanceof Error ? `${error.message} ${cause}` : String(error));
      throw new RetryableError(
        'logs_unavailable',
        noWatcher ? 'no watcher is running to read the pod logs; start the watcher service and try again' : 'the watcher did not answer in time; try again',
        { cause: error, retryAfterMs: 5_000 },
      );
    }
    if (raw.ok && raw.data) return raw.data;
    const failure = raw.error ?? { code: 'logs_failed', message: 'the watcher could not read the logs' };
    if (failure.code === 'app_not_found') throw new NotFoundError(failure.code, failure.message);
    if (failure.code === 'invalid_request') throw new InputError(failure.code, failure.message);
    throw new RetryableError(failure.code, `the watcher could not read the logs: ${failure.message}`);
  }
}
