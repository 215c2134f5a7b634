import 'uplot/dist/uPlot.min.css';
import { useEffect, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import uPlot from 'uplot';
import type { CanaryAnalysis } from '../api/types.ts';

const COLORS = ['#1971c2', '#c2255c', '#2f9e44', '#e8590c'];

/**
 * The canary analysis as a chart (uPlot, drawn on a canvas): the traffic weight and each metric's value per
 * analysis step. The same values are in the table beside it for screen readers.
 */
export default function CanaryChart({ analysis }: { analysis: CanaryAnalysis[] }) {
  const { t } = useTranslation();
  const container = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = container.current;
    if (!element) return;
    const metrics = [...new Set(analysis.flatMap((a) => a.metrics.map((m) => m.name)))];
    const data: uPlot.AlignedData = [
      analysis.map((a) => a.step),
      analysis.map((a) => a.weight),
      ...metrics.map((name) => analysis.map((a) => a.metrics.find((m) => m.name === name)?.value ?? null)),
    ];
    const plot = new uPlot(
      {
        width: Math.max(320, element.clientWidth),
        height: 220,
        scales: { x: { time: false } },
        axes: [{ label: t('analysis.step'), incrs: [1, 2, 5, 10] }, { label: t('analysis.weight') }],
        series: [
          { label: t('analysis.step') },
          { label: t('analysis.weight'), stroke: COLORS[0], width: 2 },
          ...metrics.map((name, i) => ({ label: t(`metric.${name}`, { defaultValue: name }), stroke: COLORS[(i + 1) % COLORS.length], width: 2 })),
        ],
      },
      data,
      element,
    );
    return () => plot.destroy();
  }, [analysis, t]);
  return <div ref={container} role="img" aria-label={t('analysis.chart')} data-testid="canary-chart" />;
}
