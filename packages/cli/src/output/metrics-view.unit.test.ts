import { describe, expect, it } from 'vitest';
import { formatMetricValue, renderMetrics, sparkline, type AppMetricsView } from './metrics-view.ts';

describe('metric values for people', () => {
  it.each([
    [12.345, 'requests/s', '12.3 req/s'],
    [0.5, 'requests/s', '0.50 req/s'],
    [0, 'requests/s', '0 req/s'],
    [0.25, 'ratio', '25.0%'],
    [180, 'ms', '180 ms'],
    [3.25, 'ms', '3.25 ms'],
    [1200, 'ms', '1.20 s'],
    [0.25, 'cores', '250m'],
    [0.0123, 'cores', '12.3m'],
    [2, 'cores', '2.00 cores'],
    [402_653_184, 'bytes', '384 MiB'],
    [3, 'count', '3'],
    [0.012, 'seconds/s', '1.2% of time'],
  ])('%d %s → %s', (value, unit, text) => expect(formatMetricValue(value, unit)).toBe(text));
});

describe('sparkline', () => {
  it('scales from min to max over the range, one character per slice, a space where there is no point', () => {
    expect(sparkline([[0, 0], [10, 1], [20, 2], [30, 3], [40, 4], [50, 5], [60, 6], [70, 7]], 0, 80, 8)).toBe('▁▂▃▄▅▆▇█');
    expect(sparkline([[0, 1], [70, 1]], 0, 80, 8)).toBe('▁      ▁');
    expect(sparkline([], 0, 80, 8)).toBe('');
    expect(sparkline([[0, 95], [10, 94.99999999999999], [20, 95.00000000000001]], 0, 30, 3)).toBe('▁▁▁');
    // Several points in one slice: their mean.
    expect(sparkline([[0, 0], [1, 10], [50, 5]], 0, 100, 2)).toBe('▁▁');
    expect(sparkline([[0, 0], [1, 2], [50, 5]], 0, 100, 2)).toBe('▁█');
  });
});

const v1 = { id: '00000000-0000-4000-8000-000000000001', version: 'v1' };
const v2 = { id: '00000000-0000-4000-8000-000000000002', version: 'v2' };
const t0 = Date.parse('2026-12-05T05:00:00Z') / 1000;
const view: AppMetricsView = {
  app_id: '00000000-0000-4000-8000-00000000000a',
  start: '2026-12-05T05:00:00.000Z',
  end: '2026-12-05T05:10:00.000Z',
  step_seconds: 30,
  tracks: [
    { track: 'primary', release: v1 },
    { track: 'canary', release: v2 },
  ],
  series: [
    { metric: 'requests_per_second', track: 'primary', unit: 'requests/s', points: [[t0, 4], [t0 + 300, 8], [t0 + 570, 6]] },
    { metric: 'error_ratio', track: 'primary', unit: 'ratio', points: [[t0, 0], [t0 + 570, 0]] },
    { metric: 'memory_bytes', track: 'primary', unit: 'bytes', points: [[t0 + 570, 125_829_120]] },
    { metric: 'requests_per_second', track: 'canary', unit: 'requests/s', points: [[t0 + 300, 2], [t0 + 570, 2]] },
    { metric: 'error_ratio', track: 'canary', unit: 'ratio', points: [[t0 + 300, 0.25], [t0 + 570, 0.5]] },
  ],
  pods: [
    { name: 'orders-primary-6d9f-abcde', track: 'primary', release: v1, phase: 'Running', ready: true, restarts: 0 },
    { name: 'orders-7c4b-fghij', track: 'canary', release: v2, phase: 'Running', ready: false, restarts: 2 },
  ],
  markers: [{ release: v2, at: '2026-12-05T05:05:00.000Z', kind: 'failed' }],
  missing: [
    { metric: 'restarts', reason: 'no kube-state-metrics series in the Prometheus of cluster local' },
    { metric: 'ready_pods', reason: 'no kube-state-metrics series in the Prometheus of cluster local' },
    { metric: 'jvm_heap_used_bytes', reason: 'this app exports no JVM metrics' },
  ],
};

describe('the metrics view', () => {
  it('shows each track with its release and pods, each series now, its min–max and a sparkline; pods, markers and missing series with why', () => {
    const text = renderMetrics(view, { appName: 'orders', width: 10 });
    expect(text).toBe(
      [
        'orders  2026-12-05 05:00:00 → 2026-12-05 05:10:00 UTC, every 30s',
        '',
        'primary v1  1/1 pods ready',
        '  requests  6.00 req/s  4.00 req/s – 8.00 req/s  ▁    █   ▅',
        '  errors          0.0%  0.0% – 0.0%              ▁        ▁',
        '  memory       120 MiB                                    ▁',
        '',
        'canary v2  0/1 pods ready',
        '  requests  2.00 req/s  2.00 req/s – 2.00 req/s       ▁   ▁',
        '  errors         50.0%  25.0% – 50.0%                 ▁   █',
        '',
        'pods now',
        '  orders-primary-6d9f-abcde  primary  v1  Running ready',
        '  orders-7c4b-fghij  canary  v2  Running not ready  2 restarts',
        '',
        'releases',
        '  2026-12-05 05:05:00  v2 failed',
        '',
        'no data',
        '  restarts, ready pods: no kube-state-metrics series in the Prometheus of cluster local',
        '  JVM heap: this app exports no JVM metrics',
        '',
      ].join('\n'),
    );
  });

  it('says so when a track has no data, and shows a rolling app\'s one track', () => {
    const text = renderMetrics({ ...view, tracks: [{ track: 'stable', release: v1 }], series: [], pods: [], markers: [], missing: [] }, { appName: 'orders' });
    expect(text).toContain('stable v1  no pods now\n  no data in this range\n');
    expect(text).not.toContain('primary');
  });
});
