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
/**
 * The pods' own cgroups (cAdvisor's series with a `pod` but no `container` and no image): what a kubelet whose
 * cAdvisor cannot ask the container runtime for names still labels. Their usage and limits are the sum of the
 * pod's containers' (an app pod has one container); read only for a track with no container series.
 */
function appPodCgroups(v: AppMetricVars): string {
  return `namespace="${v.namespace}",pod=~"${v.app}(-primary)?-[0-9a-z]+-[0-9a-z]+",container="",image=""`;
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
  const cgroups = appPodCgroups(v);
  const appPodNames = `namespace="${v.namespace}",pod=~"${v.app}(-primary)?-[0-9a-z]+-[0-9a-z]+"`;
  const jvm = (otel: (selector: string) => string, micrometer: (selector: string) => string) =>
    `sum by (track) (${byPodTrack(otel(appPodNames), v)}) or sum by (track) (${byPodTrack(micrometer(appPodNames), v)})`;
  /** Per track: the containers' series, or the pods' cgroups' where a track has no container series. */
  const cadvisor = (expr: (selector: string) => string) =>
    `sum by (track) (${byPodTrack(expr(pods), v)}) or sum by (track) (${byPodTrack(expr(cgroups), v)})`;
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
    cpu_cores: cadvisor((sel) => `rate(container_cpu_usage_seconds_total{${sel}}[${v.window}])`),
    cpu_limit_cores: cadvisor((sel) => `container_spec_cpu_quota{${sel}} / container_spec_cpu_period{${sel}}`),
    memory_bytes: cadvisor((sel) => `container_memory_working_set_bytes{${sel}}`),
    memory_limit_bytes: cadvisor((sel) => `container_spec_memory_limit_bytes{${sel}} > 0`),
    restarts: `sum by (track) (${byPodTrack(`kube_pod_container_status_restarts_total{${pods}}`, v)})`,
    ready_pods: `sum by (track) (${byPodTrack(`kube_pod_status_ready{namespace="${v.namespace}",pod=~"${v.app}(-primary)?-[0-9a-z]+-[0-9a-z]+",condition="true"}`, v)})`,
    // OpenTelemetry's names (the Java agent's Prometheus exporter), or Micrometer's (Spring Boot's actuator) for a track without them.
    jvm_heap_used_bytes: jvm((sel) => `jvm_memory_used_bytes{${sel},jvm_memory_type="heap"}`, (sel) => `jvm_memory_used_bytes{${sel},area="heap"}`),
    jvm_heap_max_bytes: jvm((sel) => `jvm_memory_limit_bytes{${sel},jvm_memory_type="heap"}`, (sel) => `jvm_memory_max_bytes{${sel},area="heap"} > 0`),
    jvm_gc_seconds_per_second: jvm((sel) => `rate(jvm_gc_duration_seconds_sum{${sel}}[${v.window}])`, (sel) => `rate(jvm_gc_pause_seconds_sum{${sel}}[${v.window}])`),
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

/**
 * The range and step of GET /apps/{id}/metrics from its query: range default 1h, from 1m to 7d; step default
 * range/120 (at least 5s); at most 1000 points. Throws a RangeError naming the parameter otherwise.
 */
export function resolveMetricsRange(range: string | undefined, step: string | undefined): { rangeSeconds: number; stepSeconds: number; points: number } {
  const read = (name: 'range' | 'step', text: string) => {
    try {
      return durationSeconds(text);
    } catch {
      throw new RangeError(`${name} must be a duration like 30s, 15m, 1h or 7d, not ${JSON.stringify(text)}`);
    }
  };
  const rangeSeconds = range === undefined ? 3_600 : read('range', range);
  if (rangeSeconds < metricsLimits.minRangeSeconds || rangeSeconds > metricsLimits.maxRangeSeconds) {
    throw new RangeError(`range must be from 1m to 7d, not ${range}`);
  }
  const stepSeconds =
    step === undefined ? Math.max(metricsLimits.minStepSeconds, Math.ceil(rangeSeconds / metricsLimits.defaultPoints)) : read('step', step);
  if (stepSeconds < metricsLimits.minStepSeconds) throw new RangeError(`step must be at least ${metricsLimits.minStepSeconds}s, not ${step}`);
  if (stepSeconds > rangeSeconds) throw new RangeError(`step (${step}) must not be longer than range (${range ?? '1h'})`);
  const points = Math.floor(rangeSeconds / stepSeconds) + 1;
  if (points > metricsLimits.maxPoints) {
    throw new RangeError(`range ${range ?? '1h'} at step ${step} is ${points} points per series, more than ${metricsLimits.maxPoints}: use a longer step`);
  }
  return { rangeSeconds, stepSeconds, points };
}

/** The rate window of a query at `stepSeconds`: twice the step, at least a minute (so a 15s scrape has 4 samples). */
export function metricsWindow(stepSeconds: number): string {
  return `${Math.max(2 * stepSeconds, 60)}s`;
}

/**
 * The track of a query's `track` label for an app of `strategy`: the pod series' `main` is the rolling app's
 * `stable` Deployment or a Flagger app's `canary` target; the gateway's `stable` (the app's own Service) is the
 * primary's for a Flagger app, whose apex Service selects the primary pods.
 */
export function resolveTrack(raw: string | undefined, strategy: 'rolling' | 'canary' | 'blue-green'): MetricTrack | undefined {
  const flagger = strategy !== 'rolling';
  if (raw === 'main') return flagger ? 'canary' : 'stable';
  if (raw === 'stable') return flagger ? 'primary' : 'stable';
  if (raw === 'primary' || raw === 'canary') return raw;
  return undefined;
}

/** What a source is, in the words of a `missing` reason. */
export const appMetricSourceNames: Record<(typeof appMetricSources)[AppMetricName], string> = {
  'traffic-gateway': 'traffic gateway (Traefik)',
  cadvisor: 'kubelet cAdvisor',
  'kube-state-metrics': 'kube-state-metrics',
  jvm: 'JVM',
};

/** A series whose presence tells a cluster's Prometheus has the source at all (any app). */
export const appMetricSourceProbes: Record<(typeof appMetricSources)[AppMetricName], string> = {
  'traffic-gateway': 'traefik_service_requests_total',
  cadvisor: 'container_cpu_usage_seconds_total',
  'kube-state-metrics': 'kube_pod_status_ready',
  jvm: 'jvm_memory_used_bytes',
};

/** `[unix seconds, value]`: an array of two numbers in the schema (OpenAPI 3.0 has no tuples), a pair in TypeScript. */
const Point = Type.Unsafe<[number, number]>(Type.Array(Type.Number(), { minItems: 2, maxItems: 2, description: '[Unix time in seconds, value]' }));
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
