import { InputError, NotFoundError, promDurationPattern, resolveMetricsRange, RetryableError, rpcs, type AppMetricsRequestV1, type AppMetricsV1, type Database } from '@appserving/shared';
import type { NatsConnection } from '@nats-io/nats-core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import Type from 'typebox';
import { loadAppView } from '../domain/app-views.ts';
import { AppIdParams, ErrorBody } from '../schemas/app.schemas.ts';
import type { Principal } from './apps.routes.ts';

export interface AppMetricsRoutesDeps {
  db: Kysely<Database>;
  principalOf(request: FastifyRequest): Principal;
  /** Core NATS, to ask the watcher (request/reply); without it GET /apps/{id}/metrics answers 503. */
  nc?: NatsConnection;
  /** How long the gateway waits for the watcher's answer (its Prometheus queries run five at once, 8 s each at most). */
  timeoutMs?: number;
  now?: () => number;
}

const duration = (what: string) => Type.Optional(Type.String({ pattern: promDurationPattern, errorMessage: `must be a duration like 30s, 15m, 1h or 7d (${what})` }));
const MetricsQuery = Type.Object(
  {
    range: duration('how far back, from 1m to 7d; default 1h'),
    step: duration('between points, at least 5s; default range/120'),
  },
  { additionalProperties: false },
);
type MetricsQuery = Type.Static<typeof MetricsQuery>;

/**
 * `GET /apps/{id}/metrics`: the app's metrics per track over a range, which the watcher reads from the cluster's
 * Prometheus (the gateway never talks to a cluster). 503 `metrics_unavailable` names what is missing: no watcher,
 * no Prometheus registered for the cluster, or a Prometheus that does not answer.
 */
export async function appMetricsRoutes(app: FastifyInstance, deps: AppMetricsRoutesDeps): Promise<void> {
  const now = deps.now ?? Date.now;
  app.get(
    '/apps/:id/metrics',
    {
      schema: {
        params: AppIdParams,
        querystring: MetricsQuery,
        response: { 200: rpcs.appMetrics.response, 400: ErrorBody, 404: ErrorBody, 503: ErrorBody },
        summary:
          'The app\'s metrics per track (stable, or primary and canary) over `range` (default 1h, 1m to 7d) at `step` (default range/120, at least 5s, at most 1000 points): requests per second, error ratio, latency p50/p95/p99, CPU and memory against their limits, restarts, ready pods, JVM heap and GC; with the pods now, release markers and the series without data (`missing`, with why). Read from the cluster\'s Prometheus by the watcher. 503 `metrics_unavailable` when no watcher answers, the cluster has no Prometheus registered, or it does not answer.',
        tags: ['apps'],
      },
    },
    async (request) => {
      const { id } = request.params as AppIdParams;
      const query = request.query as MetricsQuery;
      let resolved: ReturnType<typeof resolveMetricsRange>;
      try {
        resolved = resolveMetricsRange(query.range, query.step);
      } catch (error) {
        const field = error instanceof Error && error.message.startsWith('range must') ? 'range' : 'step';
        throw new InputError('invalid_range', error instanceof Error ? error.message : String(error), { details: { field } });
      }
      await loadAppView(deps.db, id, deps.principalOf(request).projects);
      const end = Math.floor(now() / 1000);
      return askWatcher({ app_id: id, start: end - resolved.rangeSeconds, end, step_seconds: resolved.stepSeconds });
    },
  );

  async function askWatcher(ask: AppMetricsRequestV1): Promise<AppMetricsV1> {
    if (!deps.nc) throw new RetryableError('metrics_unavailable', 'app metrics cannot be read: this gateway has no connection to the watcher', { details: { missing: 'watcher' } });
    let raw: { ok: boolean; data?: AppMetricsV1; error?: { code: string; message: string; details?: Record<string, unknown> } };
    try {
      const msg = await deps.nc.request(rpcs.appMetrics.subject, JSON.stringify(ask), { timeout: deps.timeoutMs ?? 30_000 });
      raw = msg.json();
    } catch (error) {
      const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : '';
      const noWatcher = /no responders/i.test(error instanceof Error ? `${error.message} ${cause}` : String(error));
      throw new RetryableError(
        'metrics_unavailable',
        noWatcher ? 'no watcher is running to read the app\'s metrics; start the watcher service and try again' : 'the watcher did not answer in time; try again',
        { cause: error, retryAfterMs: 5_000, details: { missing: 'watcher' } },
      );
    }
    if (raw.ok && raw.data) return raw.data;
    const failure = raw.error ?? { code: 'metrics_failed', message: 'the watcher could not read the metrics' };
    const details = failure.details ? { details: failure.details } : {};
    if (failure.code === 'app_not_found') throw new NotFoundError(failure.code, failure.message);
    if (failure.code === 'invalid_request') throw new InputError(failure.code, failure.message);
    // A Prometheus that did not answer may soon; a cluster without one will not by itself (no Retry-After).
    if (failure.code === 'metrics_unavailable') {
      throw new RetryableError(failure.code, failure.message, { ...details, ...(failure.details?.missing === 'prometheus_url' ? {} : { retryAfterMs: 10_000 }) });
    }
    throw new RetryableError(failure.code, `the watcher could not read the metrics: ${failure.message}`, details);
  }
}
