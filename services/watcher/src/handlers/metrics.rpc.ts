import {
  appMetricNames,
  appMetricQueries,
  appMetricSourceNames,
  appMetricSourceProbes,
  appMetricSources,
  appMetricUnits,
  InputError,
  isAppServingError,
  LABELS,
  metricsLimits,
  metricsWindow,
  NotFoundError,
  resolveTrack,
  RetryableError,
  rpcs,
  type AppMetricName,
  type AppMetricsRequestV1,
  type AppMetricsV1,
  type Database,
  type Logger,
  type MetricTrack,
  type Strategy,
} from '@appserving/shared';
import type { ClusterAccessProvider } from '@appserving/shared/kube';
import type { V1Pod } from '@kubernetes/client-node';
import type { Msg, NatsConnection, Subscription } from '@nats-io/nats-core';
import type { Kysely } from 'kysely';
import Value from 'typebox/value';
import { createClusterReader } from '../adapters/cluster-api.ts';
import { queryPrometheus, queryPrometheusRange, type RangeOutcome } from '../adapters/prometheus.ts';

/** Queries of one request at once, at most. */
const CONCURRENCY = 5;
/** All of one request's queries end within this time (the gateway waits 30 s for the answer). */
const REQUEST_BUDGET_MS = 20_000;

type Source = (typeof appMetricSources)[AppMetricName];
type Series = AppMetricsV1['series'][number];
type Missing = AppMetricsV1['missing'][number];

export interface MetricsRpcDeps {
  nc: NatsConnection;
  db: Kysely<Database>;
  access: ClusterAccessProvider;
  log: Logger;
  /** Timeout of one Prometheus query. */
  queryTimeoutMs: number;
}

/**
 * Answers `rpcs.appMetrics` (queue group `watcher`): an app's metrics per track over a time range, read from its
 * cluster's Prometheus with the contract's queries, with its pods now (from the cluster's API) and its release
 * markers (from the timeline). A cluster without a Prometheus, or a Prometheus that does not answer, is an error
 * (`metrics_unavailable`) naming what is missing, never empty charts.
 */
export function serveMetrics(deps: MetricsRpcDeps): Subscription {
  const log = deps.log.child({ rpc: rpcs.appMetrics.subject });
  return deps.nc.subscribe(rpcs.appMetrics.subject, {
    queue: 'watcher',
    callback: (error, msg) => {
      if (error) {
        log.warn({ err: error }, 'metrics subscription error');
        return;
      }
      void answer(msg).catch((failure: unknown) => log.warn({ err: failure }, 'could not answer a metrics request'));
    },
  });

  async function answer(msg: Msg): Promise<void> {
    try {
      const data = await appMetrics(deps, parse(msg));
      msg.respond(JSON.stringify({ ok: true, data }));
    } catch (error) {
      const known = isAppServingError(error);
      if (!known) log.error({ err: error }, 'metrics request failed');
      const body = known
        ? { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) }
        : { code: 'metrics_failed', message: 'the watcher could not read the metrics; see its log' };
      msg.respond(JSON.stringify({ ok: false, error: body }));
    }
  }
}

function parse(msg: Msg): AppMetricsRequestV1 {
  let request: unknown;
  try {
    request = msg.json();
  } catch {
    throw new InputError('invalid_request', 'the request is not JSON');
  }
  if (!Value.Check(rpcs.appMetrics.request, request)) {
    const first = [...Value.Errors(rpcs.appMetrics.request, request)][0];
    throw new InputError('invalid_request', `invalid metrics request${first ? `: ${first.instancePath} ${first.message}` : ''}`);
  }
  if (request.end <= request.start) throw new InputError('invalid_request', 'end must be after start');
  if (Math.floor((request.end - request.start) / request.step_seconds) + 1 > metricsLimits.maxPoints) {
    throw new InputError('invalid_request', `more than ${metricsLimits.maxPoints} points per series`);
  }
  return request;
}

/** Runs `work` on every item, at most `limit` at once, results in order. */
async function mapBounded<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await work(items[i] as T);
      }
    }),
  );
  return results;
}

export async function appMetrics(deps: Pick<MetricsRpcDeps, 'db' | 'access' | 'queryTimeoutMs'>, request: AppMetricsRequestV1): Promise<AppMetricsV1> {
  const app = await deps.db
    .selectFrom('apps')
    .leftJoin('projects', 'projects.id', 'apps.project_id')
    .select(['apps.id', 'apps.name', 'apps.cluster_id', 'apps.strategy', 'projects.namespace'])
    .where('apps.id', '=', request.app_id)
    .where('apps.deleted_at', 'is', null)
    .executeTakeFirst();
  if (!app) throw new NotFoundError('app_not_found', `no app with id ${request.app_id}`);
  const cluster = await deps.access.get(app.cluster_id);
  if (!cluster.prometheusUrl) {
    throw new RetryableError(
      'metrics_unavailable',
      `cluster ${cluster.name} has no Prometheus registered (prometheus_url), so there are no metrics to read: register the cluster with its Prometheus's URL`,
      { details: { cluster: cluster.name, missing: 'prometheus_url' } },
    );
  }
  const prometheusUrl = cluster.prometheusUrl;
  const namespace = app.namespace ?? 'default';
  const strategy: Strategy = app.strategy;
  const queries = appMetricQueries({ namespace, app: app.name, window: metricsWindow(request.step_seconds) });
  const range = { start: request.start, end: request.end, stepSeconds: request.step_seconds };

  // The pods and releases are read while Prometheus answers.
  const podsNow = readPods(cluster.kubeConfig, namespace, app.id, app.name, strategy);
  const releases = deps.db.selectFrom('releases').select(['id', 'version_label']).where('app_id', '=', app.id).execute();
  const markers = deps.db
    .selectFrom('timeline')
    .select(['release_id', 'occurred_at', 'data'])
    .where('app_id', '=', app.id)
    .where('type', '=', 'dev.appserving.release.status.v1')
    .where('occurred_at', '>=', new Date(request.start * 1000))
    .where('occurred_at', '<=', new Date(request.end * 1000))
    .orderBy('occurred_at')
    .execute();
  // A rejection of these is awaited below; until then it must not be reported as unhandled.
  for (const pending of [podsNow, releases, markers]) pending.catch(() => {});

  const deadline = Date.now() + REQUEST_BUDGET_MS;
  const timeout = () => Math.max(500, Math.min(deps.queryTimeoutMs, deadline - Date.now()));
  const outcomes = await mapBounded(appMetricNames, CONCURRENCY, async (metric) => ({
    metric,
    outcome: await queryPrometheusRange(prometheusUrl, queries[metric], range, timeout()),
  }));
  const unreachable = outcomes.find((o): o is { metric: AppMetricName; outcome: Extract<RangeOutcome, { kind: 'failed' }> } => o.outcome.kind === 'failed' && o.outcome.unreachable);
  if (unreachable) {
    throw new RetryableError('metrics_unavailable', `the Prometheus of cluster ${cluster.name} did not answer: ${unreachable.outcome.error}`, {
      details: { cluster: cluster.name, missing: 'prometheus' },
      retryAfterMs: 10_000,
    });
  }

  const series: Series[] = [];
  const missing: Missing[] = [];
  const empty: AppMetricName[] = [];
  for (const { metric, outcome } of outcomes) {
    if (outcome.kind === 'failed') {
      missing.push({ metric, reason: `the query of ${appMetricSourceNames[appMetricSources[metric]]} series failed: ${outcome.error}` });
      continue;
    }
    const byTrack = new Map<MetricTrack, [number, number][]>();
    for (const raw of outcome.series) {
      const track = resolveTrack(raw.labels.track, strategy);
      if (!track || raw.points.length === 0) continue;
      // Two raw tracks on one (a Flagger app's own Service and its primary): the one with more samples.
      if ((byTrack.get(track)?.length ?? -1) < raw.points.length) byTrack.set(track, raw.points);
    }
    if (byTrack.size === 0) {
      empty.push(metric);
      continue;
    }
    for (const [track, points] of [...byTrack].sort(([a], [b]) => a.localeCompare(b))) series.push({ metric, track, unit: appMetricUnits[metric], points });
  }

  // Why a series is empty: its source is absent from this Prometheus altogether, or has nothing of this app.
  const sources = [...new Set(empty.map((m) => appMetricSources[m]))];
  const present = new Map<Source, boolean | undefined>(
    await mapBounded(sources, CONCURRENCY, async (source) => {
      const probe = await queryPrometheus(prometheusUrl, `count(${appMetricSourceProbes[source]})`, timeout());
      return [source, probe.kind === 'failed' ? undefined : probe.kind === 'value'] as const;
    }),
  );
  for (const metric of empty) missing.push({ metric, reason: missingReason(metric, present.get(appMetricSources[metric]), cluster.name) });

  const versions = new Map((await releases).map((r) => [r.id, r.version_label]));
  const release = (id: string | null | undefined) => (id && versions.has(id) ? { id, version: versions.get(id) as string } : null);
  const pods = (await podsNow).map((p) => ({ ...p, release: release(p.releaseId) })).map(({ releaseId: _, ...p }) => p);
  const tracks = new Map<MetricTrack, AppMetricsV1['tracks'][number]['release']>();
  for (const pod of pods) if (!tracks.has(pod.track) || (pod.ready && tracks.get(pod.track) === null)) tracks.set(pod.track, pod.release);
  const kinds: Record<string, AppMetricsV1['markers'][number]['kind']> = { succeeded: 'deployed', failed: 'failed', aborted: 'failed', 'rolled-back': 'rolled-back' };

  return {
    app_id: app.id,
    start: new Date(request.start * 1000).toISOString(),
    end: new Date(request.end * 1000).toISOString(),
    step_seconds: request.step_seconds,
    tracks: [...tracks].map(([track, r]) => ({ track, release: r })).sort((a, b) => a.track.localeCompare(b.track)),
    series,
    pods,
    markers: (await markers).flatMap((m) => {
      const kind = kinds[(m.data as { status?: string } | null)?.status ?? ''];
      const r = release(m.release_id);
      return kind && r ? [{ release: r, at: m.occurred_at.toISOString(), kind }] : [];
    }),
    missing,
  };
}

function missingReason(metric: AppMetricName, sourcePresent: boolean | undefined, clusterName: string): string {
  const source = appMetricSources[metric];
  const name = appMetricSourceNames[source];
  if (sourcePresent === false) {
    const how: Record<Source, string> = {
      'traffic-gateway': 'the gateway is not scraped, or no app has had requests through it',
      cadvisor: 'the kubelets\' /metrics/cadvisor are not scraped',
      'kube-state-metrics': 'kube-state-metrics is not installed or not scraped',
      jvm: 'no app on it exports JVM metrics (OpenTelemetry or Micrometer names) that are scraped',
    };
    return `no ${name} series in the Prometheus of cluster ${clusterName} (${appMetricSourceProbes[source]}): ${how[source]}`;
  }
  const none: Record<Source, string> = {
    'traffic-gateway': 'no request reached this app through the traffic gateway in the range',
    cadvisor: 'no container of this app was measured in the range',
    'kube-state-metrics': 'no pod of this app was recorded in the range',
    jvm: 'this app exports no JVM metrics, or they are not scraped',
  };
  return `${none[source]} (${name} series${sourcePresent === undefined ? '; whether this Prometheus has them at all could not be checked' : ''})`;
}

interface PodNow {
  name: string;
  track: MetricTrack;
  releaseId: string | undefined;
  phase: string;
  ready: boolean;
  restarts: number;
}

async function readPods(
  kubeConfig: Parameters<typeof createClusterReader>[0],
  namespace: string,
  appId: string,
  appName: string,
  strategy: Strategy,
): Promise<PodNow[]> {
  let pods: V1Pod[];
  try {
    pods = await createClusterReader(kubeConfig).listPods(namespace, `${LABELS.appId}=${appId},${LABELS.component}!=build`);
  } catch (error) {
    throw new RetryableError('cluster_unreachable', `the app's pods could not be read from its cluster: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return pods
    .filter((pod) => !pod.metadata?.deletionTimestamp || pod.status?.phase === 'Running')
    .map((pod) => {
      const name = pod.metadata?.name ?? '';
      const track = resolveTrack(name.startsWith(`${appName}-primary-`) ? 'primary' : 'main', strategy) as MetricTrack;
      return {
        name,
        track,
        releaseId: pod.metadata?.labels?.[LABELS.releaseId],
        phase: pod.status?.phase ?? 'Unknown',
        ready: pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
        restarts: (pod.status?.containerStatuses ?? []).reduce((sum, c) => sum + (c.restartCount ?? 0), 0),
      };
    })
    .sort((a, b) => a.track.localeCompare(b.track) || a.name.localeCompare(b.name));
}
