import { formatBytes, formatTime, type Painter } from './format.ts';

/** GET /apps/{id}/metrics as the CLI reads it (the server's `AppMetricsV1`). */
export interface AppMetricsView {
  app_id: string;
  start: string;
  end: string;
  step_seconds: number;
  tracks: { track: string; release: { id: string; version: string } | null }[];
  series: { metric: string; track: string; unit: string; points: [number, number][] }[];
  pods: { name: string; track: string; release: { id: string; version: string } | null; phase: string; ready: boolean; restarts: number }[];
  markers: { release: { id: string; version: string }; at: string; kind: 'deployed' | 'failed' | 'rolled-back' }[];
  missing: { metric: string; reason: string }[];
}

/** Series in the order they are shown, with the words people read. */
const LABELS: Record<string, string> = {
  requests_per_second: 'requests',
  error_ratio: 'errors',
  latency_p50_ms: 'latency p50',
  latency_p95_ms: 'latency p95',
  latency_p99_ms: 'latency p99',
  cpu_cores: 'CPU',
  cpu_limit_cores: 'CPU limit',
  memory_bytes: 'memory',
  memory_limit_bytes: 'memory limit',
  restarts: 'restarts',
  ready_pods: 'ready pods',
  jvm_heap_used_bytes: 'JVM heap',
  jvm_heap_max_bytes: 'JVM heap max',
  jvm_gc_seconds_per_second: 'JVM GC time',
};
const TRACK_ORDER = ['stable', 'primary', 'canary'];
const BARS = '▁▂▃▄▅▆▇█';

/** A number with about three significant digits. */
function num(value: number): string {
  const abs = Math.abs(value);
  if (abs === 0) return '0';
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 0.01) return value.toFixed(2);
  return value.toPrecision(2);
}

/** A value in its unit, for people: `12.5 req/s`, `25.0%`, `180 ms`, `1.20 s`, `250m CPU`, `384 MiB`. */
export function formatMetricValue(value: number, unit: string): string {
  switch (unit) {
    case 'requests/s':
      return `${num(value)} req/s`;
    case 'ratio':
      return `${(value * 100).toFixed(1)}%`;
    case 'ms':
      return value >= 1000 ? `${num(value / 1000)} s` : `${num(value)} ms`;
    case 'cores':
      return value < 1 ? `${num(value * 1000)}m` : `${num(value)} cores`;
    case 'bytes':
      return formatBytes(Math.round(value));
    case 'count':
      return String(Math.round(value));
    case 'seconds/s':
      return `${(value * 100).toFixed(1)}% of time`;
    default:
      return `${num(value)} ${unit}`;
  }
}

/**
 * A sparkline of `width` characters over [start, end]: each character the mean of the points in its slice, scaled
 * from the series' min to its max (all ▁ when flat); a slice with no point is a space, so gaps show.
 */
export function sparkline(points: readonly [number, number][], start: number, end: number, width: number): string {
  if (points.length === 0 || width <= 0) return '';
  const slices: number[][] = Array.from({ length: width }, () => []);
  const span = Math.max(1, end - start);
  for (const [t, v] of points) {
    const i = Math.min(width - 1, Math.max(0, Math.floor(((t - start) / span) * width)));
    slices[i]?.push(v);
  }
  const means = slices.map((s) => (s.length === 0 ? undefined : s.reduce((a, b) => a + b, 0) / s.length));
  const defined = means.filter((m): m is number => m !== undefined);
  const low = Math.min(...defined);
  const high = Math.max(...defined);
  return means
    .map((m) => {
      if (m === undefined) return ' ';
      // Flat, floating-point noise aside (a quantile read as 94.99999999 and 95).
      if (high - low <= 1e-6 * Math.max(Math.abs(high), Math.abs(low))) return BARS[0];
      return BARS[Math.min(BARS.length - 1, Math.floor(((m - low) / (high - low)) * BARS.length))];
    })
    .join('');
}

/** The terminal view of `appserve metrics`: per track, each series' value now, min and max, and a sparkline. */
export function renderMetrics(view: AppMetricsView, opts: { appName: string; paint?: Painter; width?: number }): string {
  const dim = opts.paint?.dim ?? ((s: string) => s);
  const bold = opts.paint?.bold ?? ((s: string) => s);
  const warn = opts.paint?.warn ?? ((s: string) => s);
  const width = Math.max(10, opts.width ?? 40);
  const start = Date.parse(view.start) / 1000;
  const end = Date.parse(view.end) / 1000;
  const lines: string[] = [`${bold(opts.appName)}  ${formatTime(view.start)} → ${formatTime(view.end)} UTC, every ${view.step_seconds}s`];

  const tracks = [...new Set([...view.tracks.map((t) => t.track), ...view.series.map((s) => s.track)])].sort((a, b) => TRACK_ORDER.indexOf(a) - TRACK_ORDER.indexOf(b));
  const order = Object.keys(LABELS);
  for (const track of tracks) {
    const release = view.tracks.find((t) => t.track === track)?.release;
    const pods = view.pods.filter((p) => p.track === track);
    const podText = pods.length === 0 ? 'no pods now' : `${pods.filter((p) => p.ready).length}/${pods.length} pods ready`;
    lines.push('', `${bold(track)}${release ? ` ${release.version}` : ''}  ${dim(podText)}`);
    const rows = view.series.filter((s) => s.track === track).sort((a, b) => order.indexOf(a.metric) - order.indexOf(b.metric));
    if (rows.length === 0) lines.push(dim('  no data in this range'));
    const cells = rows.map((s) => {
      const values = s.points.map(([, v]) => v);
      const last = values.at(-1) ?? 0;
      return {
        label: LABELS[s.metric] ?? s.metric,
        now: formatMetricValue(last, s.unit),
        range: values.length > 1 ? `${formatMetricValue(Math.min(...values), s.unit)} – ${formatMetricValue(Math.max(...values), s.unit)}` : '',
        line: sparkline(s.points, start, end, width),
      };
    });
    const w = (key: 'label' | 'now' | 'range') => Math.max(0, ...cells.map((c) => c[key].length));
    for (const c of cells) lines.push(`  ${c.label.padEnd(w('label'))}  ${c.now.padStart(w('now'))}  ${dim(c.range.padEnd(w('range')))}  ${c.line}`.trimEnd());
  }

  if (view.pods.length > 0) {
    lines.push('', bold('pods now'));
    for (const p of view.pods) {
      lines.push(`  ${p.name}  ${p.track}  ${p.release?.version ?? '-'}  ${p.phase}${p.ready ? ' ready' : warn(' not ready')}${p.restarts > 0 ? warn(`  ${p.restarts} restarts`) : ''}`);
    }
  }
  if (view.markers.length > 0) {
    lines.push('', bold('releases'));
    for (const m of view.markers) lines.push(`  ${formatTime(m.at)}  ${m.release.version} ${m.kind === 'deployed' ? 'deployed' : warn(m.kind)}`);
  }
  if (view.missing.length > 0) {
    lines.push('', bold('no data'));
    const byReason = new Map<string, string[]>();
    for (const m of view.missing) byReason.set(m.reason, [...(byReason.get(m.reason) ?? []), LABELS[m.metric] ?? m.metric]);
    for (const [reason, metrics] of byReason) lines.push(`  ${metrics.join(', ')}: ${dim(reason)}`);
  }
  return `${lines.join('\n')}\n`;
}
