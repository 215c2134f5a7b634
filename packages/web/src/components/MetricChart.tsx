import 'uplot/dist/uPlot.min.css';
import './metrics.css';
import { memo, useEffect, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import uPlot from 'uplot';
import type { MetricTrack } from '../api/types.ts';
import { formatValue, type ChartLine, type ChartModel } from './metrics-model.ts';

const TRACK_COLORS: Record<MetricTrack, string> = { stable: '#1971c2', primary: '#1971c2', canary: '#d9480f' };
/** Each metric of a chart drawn differently: p50 dotted, p95 solid, p99 dashed; ready pods solid, restarts dashed. */
const DASHES: Record<string, number[]> = { latency_p50_ms: [2, 3], latency_p99_ms: [7, 3], restarts: [7, 3] };
const HEIGHT = 200;

export interface ChartMarker {
  /** Unix seconds. */
  at: number;
  label: string;
  kind: 'deployed' | 'failed' | 'rolled-back';
}

/**
 * One chart of the metrics panel (uPlot, on a canvas): a line per series and track, the limits dashed, release
 * markers as vertical lines labelled "v3 deployed". The container carries what was drawn in data attributes
 * (`data-lines`: each line's label and its number of points; `data-markers`: the markers' labels), which the
 * browser tests read; the figures themselves are in the comparison table for screen readers.
 */
export const MetricChart = memo(function MetricChart({ model, title, from, to, markers, lineLabel }: {
  model: ChartModel;
  title: string;
  /** The range shown, unix seconds. */
  from: number;
  to: number;
  markers: ChartMarker[];
  lineLabel: (line: ChartLine) => string;
}) {
  const { t, i18n } = useTranslation();
  const container = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = container.current;
    if (!element) return;
    const locale = i18n.language;
    const { kind } = model.spec;
    const time = timeFormatter(locale, to - from);
    const data: uPlot.AlignedData = [model.xs, ...model.lines.map((l) => l.values)];
    const plot = new uPlot(
      {
        width: Math.max(300, element.clientWidth),
        height: HEIGHT,
        scales: { x: { time: true, range: () => [from, to] }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.15 : 1] } },
        axes: [
          { values: (_u, splits) => splits.map((s) => time(s)), stroke: '#495057' },
          { values: (_u, splits) => splits.map((v) => formatValue(kind, v, locale)), size: 72, stroke: '#495057' },
        ],
        series: [
          { label: t('metrics.time'), value: (_u, v) => (v === null ? '—' : time(v)) },
          ...model.lines.map((line) => ({
            label: lineLabel(line),
            stroke: TRACK_COLORS[line.track],
            width: line.limit ? 1.5 : 2,
            dash: line.limit ? [10, 5] : DASHES[line.metric],
            spanGaps: false,
            points: { show: false },
            value: (_u: uPlot, v: number | null) => formatValue(kind, v, locale),
          })),
        ],
        plugins: [markersPlugin(markers)],
      },
      data,
      element,
    );
    element.dataset.lines = JSON.stringify(
      plot.series.slice(1).map((s, i) => ({ label: s.label, points: (plot.data[i + 1] ?? []).filter((v) => v !== null && v !== undefined).length })),
    );
    element.dataset.markers = JSON.stringify(markers.filter((m) => m.at >= from && m.at <= to).map((m) => m.label));
    const resize = new ResizeObserver(() => {
      const width = Math.max(300, element.clientWidth);
      if (Math.abs(width - plot.width) > 2) plot.setSize({ width, height: HEIGHT });
    });
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [model, from, to, markers, lineLabel, t, i18n.language]);
  return <div ref={container} role="img" aria-label={title} data-testid="metric-chart" data-chart={model.spec.id} className="metric-chart" />;
});

/** Times on the axis and in the legend: hours and minutes, with the day for ranges over a day. */
function timeFormatter(locale: string, spanSeconds: number): (unixSeconds: number) => string {
  const format = new Intl.DateTimeFormat(
    locale,
    spanSeconds > 86_400 ? { month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit' } : { hour: '2-digit', minute: '2-digit', ...(spanSeconds <= 900 ? { second: '2-digit' } : {}) },
  );
  return (s) => format.format(new Date(s * 1000));
}

/**
 * Release markers as elements over the plot (uPlot's `over` layer): a vertical line at the time a release went
 * live, failed or was rolled back, labelled with it. Placed again each time uPlot draws.
 */
function markersPlugin(markers: ChartMarker[]): uPlot.Plugin {
  let elements: HTMLElement[] = [];
  return {
    hooks: {
      init: (u) => {
        elements = markers.map((m) => {
          const line = document.createElement('div');
          line.className = 'metric-marker';
          line.dataset.kind = m.kind;
          const label = document.createElement('span');
          label.textContent = m.label;
          line.append(label);
          u.over.append(line);
          return line;
        });
      },
      draw: (u) => {
        const min = u.scales.x?.min ?? -Infinity;
        const max = u.scales.x?.max ?? Infinity;
        markers.forEach((m, i) => {
          const element = elements[i];
          if (!element) return;
          const shown = m.at >= min && m.at <= max;
          element.style.display = shown ? '' : 'none';
          if (shown) element.style.left = `${Math.round(u.valToPos(m.at, 'x'))}px`;
        });
      },
      destroy: () => {
        for (const element of elements) element.remove();
        elements = [];
      },
    },
  };
}
