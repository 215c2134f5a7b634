import type { AnalysisSpecV1 } from './release.schemas.ts';

/**
 * Canary and blue/green analysis: the defaults a release gets when its spec leaves a setting out, and the two
 * Prometheus queries the app chart puts in its Flagger MetricTemplates. The deployer renders them into the chart;
 * the watcher re-evaluates the same queries for its analysis record. `services/deployer/chart/values.yaml`
 * holds a copy of each query, checked equal to these by the chart's unit test (docs/app-chart.md explains them).
 */
export const analysisDefaults = {
  /** Seconds between two analysis steps (Flagger never runs them more often than every 10 s). */
  interval_seconds: 60,
  /** Failed checks before Flagger rolls back. */
  threshold: 5,
  /** Canary: traffic added to the new version per step, and the most it gets before promotion (percent). */
  step_weight: 10,
  max_weight: 50,
  /** Blue/green: analysis steps before promotion. */
  iterations: 10,
  /** Lowest acceptable share of non-5xx responses of the new version (percent). */
  success_rate_min: 99,
  /** Highest acceptable 99th percentile request duration of the new version (milliseconds). */
  latency_p99_max_ms: 500,
  /** Range of the rate() in both queries (seconds): Flagger's `{{ interval }}` of each metric. */
  metric_window_seconds: 60,
} as const satisfies Required<Omit<AnalysisSpecV1, 'manual_promotion' | 'load_rps'>>;

/** The resolved analysis of one release: defaults where the spec is silent (the load's default is a platform setting). */
export type ResolvedAnalysis = Required<Omit<AnalysisSpecV1, 'load_rps'>> & Pick<AnalysisSpecV1, 'load_rps'>;

/**
 * Blue/green waits for a promote by default (`manual_promotion` true); canary promotes on its own after a
 * passing analysis unless the spec asks for the gate.
 */
export function resolveAnalysis(spec: AnalysisSpecV1 | undefined, strategy: 'canary' | 'blue-green'): ResolvedAnalysis {
  return { ...analysisDefaults, manual_promotion: strategy === 'blue-green', ...stripUndefined(spec ?? {}) };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Pods of the version under analysis: Flagger's target Deployment `<app>` names its pods `<app>-<hash>-<id>`,
 * while the stable version runs as `<app>-primary-<hash>-<id>`, which this pattern does not match.
 */
const targetPods = 'namespace="{{ namespace }}",pod=~"{{ target }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"';

/** Where the analysis reads its request metrics (APPSERVING_ANALYSIS_METRICS). */
export const analysisMetricSources = ['otel-agent', 'traefik'] as const;
export type AnalysisMetricSource = (typeof analysisMetricSources)[number];

export interface AnalysisMetric {
  /**
   * Metric (and MetricTemplate suffix) name; Flagger names it in its "Halt advancement" events. Not
   * `request-success-rate` or `request-duration`: Flagger treats those names as its built-in metrics and ignores
   * the template.
   */
  readonly name: string;
  readonly unit: 'percent' | 'milliseconds';
  readonly query: string;
}

/**
 * `otel-agent`: the request metrics the OpenTelemetry Java agent (2.x, stable HTTP semantic conventions) exports
 * through its Prometheus exporter: the histogram `http.server.request.duration` (seconds) becomes
 * `http_server_request_duration_seconds_{bucket,count,sum}` with the label `http_response_status_code`;
 * `namespace` and `pod` are added by the cluster Prometheus' usual pod scrape job.
 */
export const analysisMetrics = {
  requestSuccessRate: {
    /**
     * Metric (and MetricTemplate suffix) name; Flagger names it in its "Halt advancement" events. Not
     * `request-success-rate` or `request-duration`: Flagger treats those names as its built-in metrics and ignores
     * the template.
     */
    name: 'success-rate',
    unit: 'percent',
    query:
      `sum(rate(http_server_request_duration_seconds_count{${targetPods},http_response_status_code!~"5.."}[{{ interval }}]))` +
      ` / sum(rate(http_server_request_duration_seconds_count{${targetPods}}[{{ interval }}])) * 100`,
  },
  requestDuration: {
    name: 'latency-p99',
    unit: 'milliseconds',
    query: `histogram_quantile(0.99, sum by (le) (rate(http_server_request_duration_seconds_bucket{${targetPods}}[{{ interval }}]))) * 1000`,
  },
} as const satisfies Record<string, AnalysisMetric>;

/**
 * The new version's Service as Traefik's Gateway API provider names it in its metrics:
 * `<namespace>-<backend Service>-http-<port>@kubernetesgateway`. Both the canary's weighted route and the canary
 * route of blue/green send the new version's requests to Flagger's `<app>-canary` Service.
 */
const canaryService = 'service=~"{{ namespace }}-{{ target }}-canary-http-[0-9]+@kubernetesgateway"';

/**
 * `traefik`: the traffic gateway's own request metrics (Traefik's `traefik_service_requests_total` and
 * `traefik_service_request_duration_seconds`, per backend Service with the status code): every request that went
 * through the gateway to the new version counts, with no agent and no change in the app.
 */
export const gatewayAnalysisMetrics = {
  requestSuccessRate: {
    name: 'success-rate',
    unit: 'percent',
    query:
      `sum(rate(traefik_service_requests_total{${canaryService},code!~"5.."}[{{ interval }}]))` +
      ` / sum(rate(traefik_service_requests_total{${canaryService}}[{{ interval }}])) * 100`,
  },
  requestDuration: {
    name: 'latency-p99',
    unit: 'milliseconds',
    query: `histogram_quantile(0.99, sum by (le) (rate(traefik_service_request_duration_seconds_bucket{${canaryService}}[{{ interval }}]))) * 1000`,
  },
} as const satisfies Record<string, AnalysisMetric>;

/** The two analysis metrics read from `source`. */
export function analysisMetricsOf(source: AnalysisMetricSource): { requestSuccessRate: AnalysisMetric; requestDuration: AnalysisMetric } {
  return source === 'traefik' ? gatewayAnalysisMetrics : analysisMetrics;
}

/**
 * A query as Flagger sends it to Prometheus: its `{{ namespace }}`, `{{ target }}` (the app's Deployment, i.e.
 * the app name) and `{{ interval }}` (a Prometheus duration such as `1m`) filled in.
 */
export function renderAnalysisQuery(query: string, vars: { namespace: string; target: string; interval: string }): string {
  return query
    .replaceAll('{{ namespace }}', vars.namespace)
    .replaceAll('{{ target }}', vars.target)
    .replaceAll('{{ interval }}', vars.interval);
}

/** Seconds as a Prometheus/Go duration: `60` → `1m`, `90` → `90s`. */
export function durationOf(seconds: number): string {
  return seconds % 60 === 0 ? `${seconds / 60}m` : `${seconds}s`;
}
