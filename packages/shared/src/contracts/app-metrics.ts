import Type from 'typebox';

/**
 * An app's metrics, per track, read from its cluster's Prometheus by the watcher (rpcs.appMetrics) and served as
 * `GET /apps/{id}/metrics`. The same PromQL builds the Grafana dashboard shipped with the chart and the health
 * thresholds, so every view of an app reads the same series.
 *
 * A track is the Deployment a pod belongs to, which is what tells releases apart at one moment:
 * - `stable`: a rolling app's `<app>` Deployment (and Service);
 * - `primary`: Flagger's `<app>-primary` (the live release of a canary or blue/green app);
 * - `canary`: Flagger's `<app>` target while a new release is analysed, reached through `<app>-canary`.
 * The answer names the release each track runs now; release markers place earlier releases in time.
 */
export const metricTracks = ['stable', 'primary', 'canary'] as const;
export type MetricTrack = (typeof metricTracks)[number];

/** Series names and their units. */
export const appMetricUnits = {
  requests_per_second: 'requests/s',
  error_ratio: 'ratio',
  latency_p50_ms: 'ms',
  latency_p95_ms: 'ms',
  latency_p99_ms: 'ms',
  cpu_cores: 'cores',
  cpu_limit_cores: 'cores',
  memory_bytes: 'bytes',
  memory_limit_bytes: 'bytes',
  restarts: 'count',
  ready_pods: 'count',
  jvm_heap_used_bytes: 'bytes',
  jvm_heap_max_bytes: 'bytes',
  jvm_gc_seconds_per_second: 'seconds/s',
} as const;
export type AppMetricName = keyof typeof appMetricUnits;
export const appMetricNames = Object.keys(appMetricUnits) as AppMetricName[];

/** What a series is read from; a cluster lacking a source leaves its metrics in `missing`. */
export const appMetricSources: Record<AppMetricName, 'traffic-gateway' | 'cadvisor' | 'kube-state-metrics' | 'jvm'> = {
  requests_per_second: 'traffic-gateway',
  error_ratio: 'traffic-gateway',
  latency_p50_ms: 'traffic-gateway',
  latency_p95_ms: 'traffic-gateway',
  latency_p99_ms: 'traffic-gateway',
  cpu_cores: 'cadvisor',
  cpu_limit_cores: 'cadvisor',
  memory_bytes: 'cadvisor',
  memory_limit_bytes: 'cadvisor',
  restarts: 'kube-state-metrics',
  ready_pods: 'kube-state-metrics',
  jvm_heap_used_bytes: 'jvm',
  jvm_heap_max_bytes: 'jvm',
  jvm_gc_seconds_per_second: 'jvm',
};

/** The variables a query is built from; in Grafana they are the dashboard's `$namespace`, `$app` and `$__rate_interval`. */
export interface AppMetricVars {
  readonly namespace: string;
  readonly app: string;
  /** A Prometheus duration for rate windows, e.g. `1m`. */
  readonly window: string;
}

/**
 * Traefik (Gateway API provider) names a backend Service `<namespace>-<service>-http-<port>@kubernetesgateway`.
 * The label `service` is turned into a `track` label by label_replace so the answer is per track.
 */
function gatewayServices(v: AppMetricVars): string {
  return `service=~"${v.namespace}-${v.app}(-primary|-canary)?-http-[0-9]+@kubernetesgateway"`;
}
function byGatewayTrack(expr: string, v: AppMetricVars): string {
  // `<ns>-<app>-http-…` → stable, `-primary-` → primary, `-canary-` → canary.
  const prefix = `${v.namespace}-${v.app}`;
  return (
    `label_replace(label_replace(label_replace(${expr}, "track", "stable", "service", "${prefix}-http-[0-9]+@kubernetesgateway"),` +
    ` "track", "primary", "service", "${prefix}-primary-http-[0-9]+@kubernetesgateway"),` +
    ` "track", "canary", "service", "${prefix}-canary-http-[0-9]+@kubernetesgateway")`
  );
}

/**
 * Pods of the app (kubelet cAdvisor and kube-state-metrics label them `namespace`, `pod`, `container`): `<app>-primary-<hash>-<id>`
 * for the primary, `<app>-<hash>-<id>` otherwise (stable for a rolling app, canary for a Flagger one; the watcher names it from the
 * app's strategy). The track label is `primary` or `main`.
 */
function appPods(v: AppMetricVars): string {
  return `namespace="${v.namespace}",pod=~"${v.app}(-primary)?-[0-9a-z]+-[0-9a-z]+",container!="",container!="POD"`;
}
function byPodTrack(expr: string, v: AppMetricVars): string {
  return `label_replace(label_replace(${expr}, "track", "main", "pod", "${v.app}-[0-9a-z]+-[0-9a-z]+"), "track", "primary", "pod", "${v.app}-primary-[0-9a-z]+-[0-9a-z]+")`;
}

/**
 * One PromQL range query per series. Each returns one sample stream per track (label `track`): the traffic gateway's
 * series `stable`/`primary`/`canary`, the pod series `main`/`primary` (the watcher maps `main` to `stable` or
 * `canary` from the app's strategy).
 */
export function appMetricQueries(v: AppMetricVars): Record<AppMetricName, string> {
  const gw = gatewayServices(v);
  const pods = appPods(v);
  const quantile = (q: number) =>
    `histogram_quantile(${q}, sum by (track, le) (${byGatewayTrack(`rate(traefik_service_request_duration_seconds_bucket{${gw}}[${v.window}])`, v)})) * 1000`;
  return {
    requests_per_second: `sum by (track) (${byGatewayTrack(`rate(traefik_service_requests_total{${gw}}[${v.window}])`, v)})`,
    // 5xx answers over all answers; `or … * 0` makes a track with no 5xx read 0, not "no data".
    error_ratio:
      `(sum by (track) (${byGatewayTrack(`rate(traefik_service_requests_total{${gw},code=~"5.."}[${v.window}])`, v)})` +
      ` or sum by (track) (${byGatewayTrack(`rate(traefik_service_requests_total{${gw}}[${v.window}])`, v)}) * 0)` +
      ` / sum by (track) (${byGatewayTrack(`rate(traefik_service_requests_total{${gw}}[${v.window}])`, v)})`,
    latency_p50_ms: quantile(0.5),
    latency_p95_ms: quantile(0.95),
    latency_p99_ms: quantile(0.99),
    cpu_cores: `sum by (track) (${byPodTrack(`rate(container_cpu_usage_seconds_total{${pods}}[${v.window}])`, v)})`,
    cpu_limit_cores: `sum by (track) (${byPodTrack(`container_spec_cpu_quota{${pods}} / container_spec_cpu_period{${pods}}`, v)})`,
    memory_bytes: `sum by (track) (${byPodTrack(`container_memory_working_set_bytes{${pods}}`, v)})`,
    memory_limit_bytes: `sum by (track) (${byPodTrack(`container_spec_memory_limit_bytes{${pods}} > 0`, v)})`,
    restarts: `sum by (track) (${byPodTrack(`kube_pod_container_status_restarts_total{${pods}}`, v)})`,
    ready_pods: `sum by (track) (${byPodTrack(`kube_pod_status_ready{namespace="${v.namespace}",pod=~"${v.app}(-primary)?-[0-9a-z]+-[0-9a-z]+",condition="true"}`, v)})`,
    jvm_heap_used_bytes: `sum by (track) (${byPodTrack(`jvm_memory_used_bytes{namespace="${v.namespace}",pod=~"${v.app}(-primary)?-[0-9a-z]+-[0-9a-z]+",jvm_memory_type="heap"}`, v)})`,
    jvm_heap_max_bytes: `sum by (track) (${byPodTrack(`jvm_memory_limit_bytes{namespace="${v.namespace}",pod=~"${v.app}(-primary)?-[0-9a-z]+-[0-9a-z]+",jvm_memory_type="heap"}`, v)})`,
    jvm_gc_seconds_per_second: `sum by (track) (${byPodTrack(`rate(jvm_gc_duration_seconds_sum{namespace="${v.namespace}",pod=~"${v.app}(-primary)?-[0-9a-z]+-[0-9a-z]+"}[${v.window}])`, v)})`,
  };
}

/** `range` and `step` of GET /apps/{id}/metrics: a count and a unit (s, m, h, d). */
export const promDurationPattern = '^[1-9][0-9]{0,5}[smhd]$';
export const metricsLimits = { minRangeSeconds: 60, maxRangeSeconds: 7 * 86_400, minStepSeconds: 5, maxPoints: 1_000, defaultPoints: 120 } as const;

export function durationSeconds(text: string): number {
  const match = /^([1-9][0-9]{0,5})([smhd])$/.exec(text);
  if (!match) throw new RangeError(`not a duration: ${text}`);
  return Number(match[1]) * { s: 1, m: 60, h: 3_600, d: 86_400 }[match[2] as 's' | 'm' | 'h' | 'd'];
}

const Point = Type.Tuple([Type.Number({ description: 'Unix time, seconds' }), Type.Number()]);
const Release = Type.Union([Type.Object({ id: Type.String({ format: 'uuid' }), version: Type.String() }, { additionalProperties: false }), Type.Null()]);

export const AppMetricsRequestV1 = Type.Object(
  {
    app_id: Type.String({ format: 'uuid' }),
    /** Seconds since the epoch. */
    start: Type.Integer({ minimum: 0 }),
    end: Type.Integer({ minimum: 0 }),
    step_seconds: Type.Integer({ minimum: metricsLimits.minStepSeconds }),
  },
  { additionalProperties: false },
);
export type AppMetricsRequestV1 = Type.Static<typeof AppMetricsRequestV1>;

export const AppMetricsV1 = Type.Object(
  {
    app_id: Type.String({ format: 'uuid' }),
    start: Type.String({ format: 'date-time' }),
    end: Type.String({ format: 'date-time' }),
    step_seconds: Type.Integer(),
    tracks: Type.Array(Type.Object({ track: Type.Enum([...metricTracks]), release: Release }, { additionalProperties: false }), {
      description: 'The tracks the app has now and the release each one runs.',
    }),
    series: Type.Array(
      Type.Object(
        {
          metric: Type.Enum(appMetricNames),
          track: Type.Enum([...metricTracks]),
          unit: Type.String(),
          points: Type.Array(Point),
        },
        { additionalProperties: false },
      ),
    ),
    pods: Type.Array(
      Type.Object(
        {
          name: Type.String(),
          track: Type.Enum([...metricTracks]),
          release: Release,
          phase: Type.String(),
          ready: Type.Boolean(),
          restarts: Type.Integer({ minimum: 0 }),
        },
        { additionalProperties: false },
      ),
      { description: 'The app\'s pods now, read from the cluster\'s API.' },
    ),
    markers: Type.Array(
      Type.Object(
        {
          release: Type.Object({ id: Type.String({ format: 'uuid' }), version: Type.String() }, { additionalProperties: false }),
          at: Type.String({ format: 'date-time' }),
          kind: Type.Enum(['deployed', 'failed', 'rolled-back']),
        },
        { additionalProperties: false },
      ),
      { description: 'When each release in the range went live (or failed, or was rolled back): "v3 deployed here".' },
    ),
    missing: Type.Array(
      Type.Object({ metric: Type.Enum(appMetricNames), reason: Type.String() }, { additionalProperties: false }),
      { description: 'Series with no data in the range, with why (e.g. the cluster has no kube-state-metrics, the app exports no JVM metrics).' },
    ),
  },
  { additionalProperties: false },
);
export type AppMetricsV1 = Type.Static<typeof AppMetricsV1>;
