import type { AppMetrics, MetricName, MetricRelease, MetricTrack } from '../api/types.ts';

/** The ranges the picker offers, and the step each is read at (about 60 to 170 points a series). */
export const RANGES = ['15m', '1h', '6h', '24h', '7d'] as const;
export type MetricsRange = (typeof RANGES)[number];
export const STEPS: Record<MetricsRange, string> = { '15m': '15s', '1h': '30s', '6h': '3m', '24h': '10m', '7d': '1h' };

/** How a value is shown: the unit of its chart's axis. */
export type ValueKind = 'rate' | 'ratio' | 'ms' | 'cores' | 'bytes' | 'count' | 'seconds';

export type ChartId = 'requests' | 'errors' | 'latency' | 'cpu' | 'memory' | 'pods' | 'jvmHeap' | 'jvmGc';

export interface ChartSpec {
  id: ChartId;
  kind: ValueKind;
  /** The series drawn as lines, one per track each. */
  metrics: MetricName[];
  /** The series drawn dashed against them (the limit), one per track. */
  limit?: MetricName;
  /** Shown only when one of its series has data (restarts and ready pods, JVM). */
  optional?: boolean;
}

export const CHARTS: ChartSpec[] = [
  { id: 'requests', kind: 'rate', metrics: ['requests_per_second'] },
  { id: 'errors', kind: 'ratio', metrics: ['error_ratio'] },
  { id: 'latency', kind: 'ms', metrics: ['latency_p50_ms', 'latency_p95_ms', 'latency_p99_ms'] },
  { id: 'cpu', kind: 'cores', metrics: ['cpu_cores'], limit: 'cpu_limit_cores' },
  { id: 'memory', kind: 'bytes', metrics: ['memory_bytes'], limit: 'memory_limit_bytes' },
  { id: 'pods', kind: 'count', metrics: ['ready_pods', 'restarts'], optional: true },
  { id: 'jvmHeap', kind: 'bytes', metrics: ['jvm_heap_used_bytes'], limit: 'jvm_heap_max_bytes', optional: true },
  { id: 'jvmGc', kind: 'seconds', metrics: ['jvm_gc_seconds_per_second'], optional: true },
];

const TRACK_ORDER: MetricTrack[] = ['stable', 'primary', 'canary'];

export interface ChartLine {
  metric: MetricName;
  track: MetricTrack;
  /** The release the track runs now (the answer's `tracks`), named in the legend. */
  release: MetricRelease | null;
  limit: boolean;
  values: (number | null)[];
  /** Points with a value. */
  points: number;
}

export interface ChartModel {
  spec: ChartSpec;
  /** Unix seconds, every series' timestamps merged. */
  xs: number[];
  lines: ChartLine[];
}

/** The lines of a chart, aligned on one time axis (uPlot's data), tracks in a fixed order. */
export function chartModel(view: AppMetrics, spec: ChartSpec): ChartModel {
  const wanted = [...spec.metrics, ...(spec.limit ? [spec.limit] : [])];
  const series = view.series
    .filter((s) => wanted.includes(s.metric) && s.points.length > 0)
    .sort((a, b) => wanted.indexOf(a.metric) - wanted.indexOf(b.metric) || TRACK_ORDER.indexOf(a.track) - TRACK_ORDER.indexOf(b.track));
  const xs = [...new Set(series.flatMap((s) => s.points.map(([t]) => t)))].sort((a, b) => a - b);
  const releases = new Map(view.tracks.map((t) => [t.track, t.release]));
  const lines = series.map((s) => {
    const byTime = new Map(s.points.map(([t, v]) => [t, v]));
    return {
      metric: s.metric,
      track: s.track,
      release: releases.get(s.track) ?? null,
      limit: s.metric === spec.limit,
      values: xs.map((t) => byTime.get(t) ?? null),
      points: s.points.length,
    };
  });
  return { spec, xs, lines };
}

export interface Figures {
  requests_per_second: number | null;
  error_ratio: number | null;
  latency_p95_ms: number | null;
  cpu_cores: number | null;
  memory_bytes: number | null;
}
export const FIGURES: (keyof Figures)[] = ['requests_per_second', 'error_ratio', 'latency_p95_ms', 'cpu_cores', 'memory_bytes'];
export const FIGURE_KIND: Record<keyof Figures, ValueKind> = { requests_per_second: 'rate', error_ratio: 'ratio', latency_p95_ms: 'ms', cpu_cores: 'cores', memory_bytes: 'bytes' };

export interface ComparedRelease {
  release: MetricRelease | null;
  track: MetricTrack;
  /** Unix seconds: the span the figures are taken over. */
  from: number;
  to: number;
  figures: Figures;
}

export type Comparison =
  | { mode: 'canary' | 'before-after'; current: ComparedRelease; previous: ComparedRelease }
  /** Why there is nothing to compare: no release runs, it went live before the range began, or nothing before it was measured. */
  | { mode: 'none'; reason: 'no-release' | 'live-before-range' | 'no-data-before'; current?: MetricRelease | null };

/**
 * The current release's key figures beside the previous release's, from the series over each one's time:
 * - a canary under analysis (a canary track beside the primary): the canary's release and the primary's, over
 *   the same span (since the canary first had traffic);
 * - otherwise on the app's main track (stable, or a Flagger app's primary): since the current release's
 *   `deployed` marker, and before it back to the previous release's marker (or the start of the range).
 * Each figure is the mean of the span's points; the error ratio is weighted by the request rate. The points of the
 * first rate window after a marker still hold the release before it, and are left out when more remain.
 * `previousRelease` names the release before the current one where no marker in the range does.
 */
export function compareReleases(view: AppMetrics, previousRelease?: MetricRelease | null): Comparison {
  const start = Date.parse(view.start) / 1000;
  const end = Date.parse(view.end) / 1000;
  const windowSeconds = Math.max(2 * view.step_seconds, 60);
  const release = (track: MetricTrack) => view.tracks.find((t) => t.track === track)?.release ?? null;
  const canary = view.series.find((s) => s.track === 'canary' && s.metric === 'requests_per_second' && s.points.length > 0);
  const canaryRelease = release('canary');
  const primaryRelease = release('primary');
  if (canary && canaryRelease && primaryRelease && canaryRelease.id !== primaryRelease.id) {
    const from = canary.points[0]?.[0] ?? start;
    return {
      mode: 'canary',
      current: { release: canaryRelease, track: 'canary', from, to: end, figures: figuresOf(view, 'canary', from, end, 0) },
      previous: { release: primaryRelease, track: 'primary', from, to: end, figures: figuresOf(view, 'primary', from, end, 0) },
    };
  }
  const main: MetricTrack = view.tracks.some((t) => t.track === 'stable') || view.series.some((s) => s.track === 'stable') ? 'stable' : 'primary';
  const current = release(main);
  if (!current) return { mode: 'none', reason: 'no-release', current };
  const deployed = view.markers.filter((m) => m.kind === 'deployed').map((m) => ({ ...m, t: Date.parse(m.at) / 1000 }));
  const wentLive = deployed.filter((m) => m.release.id === current.id).at(-1);
  if (!wentLive) return { mode: 'none', reason: 'live-before-range', current };
  const before = deployed.filter((m) => m.t < wentLive.t && m.release.id !== current.id).at(-1);
  const previousFrom = before ? before.t : start;
  const previousFigures = figuresOf(view, main, previousFrom, wentLive.t, before ? windowSeconds : 0);
  if (FIGURES.every((f) => previousFigures[f] === null)) return { mode: 'none', reason: 'no-data-before', current };
  return {
    mode: 'before-after',
    current: { release: current, track: main, from: wentLive.t, to: end, figures: figuresOf(view, main, wentLive.t, end, windowSeconds) },
    previous: { release: before?.release ?? previousRelease ?? null, track: main, from: previousFrom, to: wentLive.t, figures: previousFigures },
  };
}

/** Means over [from, to) of a track's series, skipping the first `settle` seconds when later points remain. */
function figuresOf(view: AppMetrics, track: MetricTrack, from: number, to: number, settle: number): Figures {
  const pointsOf = (metric: MetricName) => {
    const all = view.series.find((s) => s.track === track && s.metric === metric)?.points ?? [];
    const within = all.filter(([t]) => t >= from && (t < to || to === Date.parse(view.end) / 1000));
    const settled = within.filter(([t]) => t >= from + settle);
    return settled.length > 0 ? settled : within;
  };
  const mean = (metric: MetricName) => {
    const values = pointsOf(metric).map(([, v]) => v);
    return values.length > 0 ? values.reduce((a, b) => a + b, 0) / values.length : null;
  };
  // The error ratio over all the span's requests: each point weighted by its request rate.
  const rates = new Map(pointsOf('requests_per_second'));
  const ratios = pointsOf('error_ratio');
  let weight = 0;
  let weighted = 0;
  for (const [t, ratio] of ratios) {
    const rate = rates.get(t) ?? 0;
    weight += rate;
    weighted += ratio * rate;
  }
  const errorRatio = ratios.length === 0 ? null : weight > 0 ? weighted / weight : ratios.reduce((a, [, v]) => a + v, 0) / ratios.length;
  return {
    requests_per_second: mean('requests_per_second'),
    error_ratio: errorRatio,
    latency_p95_ms: mean('latency_p95_ms'),
    cpu_cores: mean('cpu_cores'),
    memory_bytes: mean('memory_bytes'),
  };
}

/** A value in its unit, in the console's language. */
export function formatValue(kind: ValueKind, value: number | null | undefined, locale: string): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  const number = (digits: number, v = value) => new Intl.NumberFormat(locale, { maximumFractionDigits: digits }).format(v);
  switch (kind) {
    case 'rate':
      return `${number(value < 10 ? 2 : 1)}/s`;
    case 'ratio':
      return new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: value < 0.1 ? 2 : 1 }).format(value);
    case 'ms':
      return value >= 1000 ? `${number(2, value / 1000)} s` : `${number(value < 10 ? 2 : 0)} ms`;
    case 'cores':
      return value < 1 ? `${number(0, value * 1000)}m` : number(2);
    case 'bytes': {
      const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
      let v = value;
      let i = 0;
      while (Math.abs(v) >= 1024 && i < units.length - 1) {
        v /= 1024;
        i += 1;
      }
      return `${number(v < 10 ? 1 : 0, v)} ${units[i]}`;
    }
    case 'count':
      return number(0);
    case 'seconds':
      return `${number(3)} s/s`;
  }
}

/** The change from `before` to `after`, as a signed ratio (null when either is missing or `before` is 0). */
export function change(before: number | null, after: number | null): number | null {
  if (before === null || after === null || before === 0) return null;
  return (after - before) / Math.abs(before);
}
