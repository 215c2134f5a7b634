import { appMetricQueries, type AppMetricName } from '@appserving/shared/contracts';

/**
 * The Grafana dashboard "AppServing apps": one app's metrics per track, with the PromQL of the shared contract
 * (`appMetricQueries`, the queries behind GET /apps/{id}/metrics and the health thresholds) built with Grafana's
 * variables in place of an app's values. The chart ships it (files/grafana-apps-dashboard.json, written by
 * apps-dashboard.main.ts); a unit test keeps the file equal to what this makes, so the dashboard never reads other
 * series than the API.
 */

/** What the contract's queries are built with: the dashboard's variables. */
export const dashboardVars = { namespace: '$namespace', app: '$app', window: '$__rate_interval' } as const;

/**
 * Only the tracks the `track` variable selects: series whose `track` matches it get a marker label, and `and` keeps
 * those. (PromQL has no label filter on an expression; `label_replace` anchors its regex, so All (`.*`) keeps every
 * series.)
 */
export function onTracks(expr: string): string {
  return `label_replace(${expr}, "track_selected", "1", "track", "\${track:regex}") and on (track_selected) label_replace(vector(1), "track_selected", "1", "", "")`;
}

interface Target {
  metric: AppMetricName;
  legend: string;
}

interface PanelSpec {
  title: string;
  description: string;
  unit: string;
  targets: Target[];
  /** Grafana's y-axis minimum (0 for counts and ratios). */
  min?: number;
}

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' } as const;

/** Every series of the contract, grouped the way a person compares them. */
export const panelSpecs: readonly PanelSpec[] = [
  {
    title: 'Requests / s',
    description: 'Requests through the traffic gateway (Traefik) to the app\'s Service, per track.',
    unit: 'reqps',
    min: 0,
    targets: [{ metric: 'requests_per_second', legend: '{{track}}' }],
  },
  {
    title: 'Error ratio',
    description: '5xx answers over all answers at the traffic gateway, per track (0 with traffic and no 5xx; no point without traffic).',
    unit: 'percentunit',
    min: 0,
    targets: [{ metric: 'error_ratio', legend: '{{track}}' }],
  },
  {
    title: 'Latency p50 / p95 / p99',
    description: 'Request duration at the traffic gateway, from its histogram buckets, per track.',
    unit: 'ms',
    min: 0,
    targets: [
      { metric: 'latency_p50_ms', legend: 'p50 {{track}}' },
      { metric: 'latency_p95_ms', legend: 'p95 {{track}}' },
      { metric: 'latency_p99_ms', legend: 'p99 {{track}}' },
    ],
  },
  {
    title: 'CPU vs limit',
    description: 'Cores used by the app\'s containers (kubelet cAdvisor) and their CPU limit, per track (pod tracks: main = a rolling app\'s pods or a canary app\'s canary pods; primary).',
    unit: 'short',
    min: 0,
    targets: [
      { metric: 'cpu_cores', legend: 'used {{track}}' },
      { metric: 'cpu_limit_cores', legend: 'limit {{track}}' },
    ],
  },
  {
    title: 'Memory vs limit',
    description: 'Working set of the app\'s containers (kubelet cAdvisor) and their memory limit, per track.',
    unit: 'bytes',
    min: 0,
    targets: [
      { metric: 'memory_bytes', legend: 'working set {{track}}' },
      { metric: 'memory_limit_bytes', legend: 'limit {{track}}' },
    ],
  },
  {
    title: 'Ready pods',
    description: 'Pods of the app that are ready (kube-state-metrics), per track.',
    unit: 'short',
    min: 0,
    targets: [{ metric: 'ready_pods', legend: '{{track}}' }],
  },
  {
    title: 'Restarts',
    description: 'Container restarts of the app\'s pods (kube-state-metrics), per track.',
    unit: 'short',
    min: 0,
    targets: [{ metric: 'restarts', legend: '{{track}}' }],
  },
  {
    title: 'JVM heap',
    description: 'Heap used and its maximum, from the OpenTelemetry Java agent\'s or Micrometer\'s metrics where the app exports them, per track.',
    unit: 'bytes',
    min: 0,
    targets: [
      { metric: 'jvm_heap_used_bytes', legend: 'used {{track}}' },
      { metric: 'jvm_heap_max_bytes', legend: 'max {{track}}' },
    ],
  },
  {
    title: 'JVM GC time',
    description: 'Share of time spent in garbage collection (seconds of GC per second), per track.',
    unit: 'percentunit',
    min: 0,
    targets: [{ metric: 'jvm_gc_seconds_per_second', legend: '{{track}}' }],
  },
];

/** A variable whose values Grafana reads from Prometheus. */
function queryVariable(name: string, label: string, query: string, regex: string, description: string) {
  return {
    name,
    type: 'query',
    label,
    description,
    datasource: DATASOURCE,
    query: { query, refId: name },
    definition: query,
    regex,
    includeAll: false,
    multi: false,
    refresh: 2,
    sort: 1,
  };
}

export function appsDashboard() {
  const queries = appMetricQueries(dashboardVars);
  const width = 12;
  const height = 8;
  const panels = panelSpecs.map((spec, index) => ({
    id: index + 1,
    type: 'timeseries',
    title: spec.title,
    description: spec.description,
    datasource: DATASOURCE,
    gridPos: { x: (index % 2) * width, y: Math.floor(index / 2) * height, w: width, h: height },
    fieldConfig: { defaults: { unit: spec.unit, ...(spec.min === undefined ? {} : { min: spec.min }) }, overrides: [] },
    options: { legend: { displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi' } },
    targets: spec.targets.map((target, t) => ({
      refId: String.fromCharCode(65 + t),
      expr: onTracks(queries[target.metric]),
      legendFormat: target.legend,
      datasource: DATASOURCE,
    })),
  }));
  return {
    title: 'AppServing apps',
    uid: 'appserving-apps',
    description: "One app's metrics per track (stable, primary, canary; pod series: main, primary), with the queries of GET /apps/{id}/metrics.",
    tags: ['appserving'],
    timezone: 'browser',
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: 'now-1h', to: 'now' },
    templating: {
      list: [
        { name: 'datasource', type: 'datasource', query: 'prometheus', label: 'Data source' },
        queryVariable(
          'namespace',
          'Namespace',
          'label_values(container_cpu_usage_seconds_total{pod!=""}, namespace)',
          '',
          'The app\'s project namespace: namespaces with containers measured by the kubelets\' cAdvisor.',
        ),
        queryVariable(
          'app',
          'App',
          'label_values(container_cpu_usage_seconds_total{namespace="$namespace", pod!=""}, pod)',
          // `<app>-<replicaset hash>-<id>` or `<app>-primary-<hash>-<id>`: the app's name.
          '/^(.+?)(?:-primary)?-[0-9a-z]+-[0-9a-z]+$/',
          'The app: the Deployments\' pods of the namespace, named without their suffixes.',
        ),
        {
          name: 'track',
          type: 'custom',
          label: 'Track',
          description: 'stable: a rolling app; primary: a canary or blue/green app\'s live release; canary: the release under analysis; main: the pods of a rolling app, or the canary pods of a canary app.',
          query: 'stable,primary,canary,main',
          includeAll: true,
          multi: true,
          allValue: '.*',
          current: { text: 'All', value: '$__all' },
          options: [],
        },
      ],
    },
    panels,
  };
}

/** The file the chart carries: the dashboard as pretty JSON with a final newline. */
export function appsDashboardFile(): string {
  return `${JSON.stringify(appsDashboard(), null, 2)}\n`;
}
