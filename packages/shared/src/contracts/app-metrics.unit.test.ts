import { describe, expect, it } from 'vitest';
import {
  appMetricNames,
  appMetricQueries,
  appMetricSources,
  appMetricUnits,
  durationSeconds,
  metricsWindow,
  resolveMetricsRange,
  resolveTrack,
} from './app-metrics.ts';

const vars = { namespace: 'shop', app: 'orders', window: '1m' };

describe('app metric queries', () => {
  it('has one query, unit and source per series, every one per track and naming only this app', () => {
    const queries = appMetricQueries(vars);
    expect(Object.keys(queries).sort()).toEqual([...appMetricNames].sort());
    expect(Object.keys(appMetricSources).sort()).toEqual(Object.keys(appMetricUnits).sort());
    for (const [name, query] of Object.entries(queries)) {
      expect(query, name).toMatch(/^(\(|sum by \(track\)|histogram_quantile\()/);
      expect(query, name).toContain('"track"');
      expect(query, name).not.toMatch(/\$\{|undefined/);
      // Balanced parentheses and braces: a typo would be a query Prometheus refuses.
      for (const [open, close] of [['(', ')'], ['{', '}']] as const) expect(query.split(open).length, `${name} ${open}`).toBe(query.split(close).length);
    }
  });

  it('selects the gateway\'s backend Services of the app and its Flagger twins, and the app\'s pods', () => {
    const q = appMetricQueries(vars);
    expect(q.requests_per_second).toContain('traefik_service_requests_total{service=~"shop-orders(-primary|-canary)?-http-[0-9]+@kubernetesgateway"}[1m]');
    expect(q.requests_per_second).toContain('"track", "canary", "service", "shop-orders-canary-http-[0-9]+@kubernetesgateway"');
    expect(q.error_ratio).toContain('code=~"5.."');
    expect(q.latency_p99_ms).toMatch(/^histogram_quantile\(0\.99, sum by \(track, le\)/);
    expect(q.cpu_cores).toContain('rate(container_cpu_usage_seconds_total{namespace="shop",pod=~"orders(-primary)?-[0-9a-z]+-[0-9a-z]+",container!="",container!="POD"}[1m])');
    expect(q.memory_limit_bytes).toContain('container_spec_memory_limit_bytes');
    // The pods' cgroups stand in for a track whose containers cAdvisor could not name.
    expect(q.memory_bytes).toMatch(/^sum by \(track\) \(.*container!="POD".*\) or sum by \(track\) \(.*container="",image="".*\)$/);
    expect(q.ready_pods).toContain('condition="true"');
  });

  it('tells a pod of the app from a pod of another app whose name starts the same (Prometheus anchors label regexes)', () => {
    const pods = new RegExp(`^(?:${'orders(-primary)?-[0-9a-z]+-[0-9a-z]+'})$`);
    expect(pods.test('orders-6d9f7c-abcde')).toBe(true);
    expect(pods.test('orders-primary-6d9f7c-abcde')).toBe(true);
    expect(pods.test('orders-api-6d9f7c-abcde')).toBe(false);
    const main = new RegExp('^(?:orders-[0-9a-z]+-[0-9a-z]+)$');
    expect(main.test('orders-primary-6d9f7c-abcde')).toBe(false);
  });
});

describe('tracks', () => {
  it('names the pod series\' main track from the strategy, and a Flagger app\'s own Service as its primary', () => {
    expect(resolveTrack('main', 'rolling')).toBe('stable');
    expect(resolveTrack('main', 'canary')).toBe('canary');
    expect(resolveTrack('main', 'blue-green')).toBe('canary');
    expect(resolveTrack('stable', 'rolling')).toBe('stable');
    expect(resolveTrack('stable', 'canary')).toBe('primary');
    expect(resolveTrack('primary', 'canary')).toBe('primary');
    expect(resolveTrack('canary', 'blue-green')).toBe('canary');
    expect(resolveTrack(undefined, 'rolling')).toBeUndefined();
    expect(resolveTrack('other', 'rolling')).toBeUndefined();
  });
});

describe('range and step', () => {
  it('reads durations', () => {
    expect(durationSeconds('30s')).toBe(30);
    expect(durationSeconds('15m')).toBe(900);
    expect(durationSeconds('7d')).toBe(604_800);
    expect(() => durationSeconds('1y')).toThrow(RangeError);
    expect(() => durationSeconds('0s')).toThrow(RangeError);
  });

  it('defaults to an hour in 120 steps, a step of range/120 but at least 5 s', () => {
    expect(resolveMetricsRange(undefined, undefined)).toEqual({ rangeSeconds: 3_600, stepSeconds: 30, points: 121 });
    expect(resolveMetricsRange('1m', undefined)).toEqual({ rangeSeconds: 60, stepSeconds: 5, points: 13 });
    expect(resolveMetricsRange('7d', undefined)).toEqual({ rangeSeconds: 604_800, stepSeconds: 5_040, points: 121 });
    expect(resolveMetricsRange('2h', '10s').points).toBe(721);
    expect(resolveMetricsRange('1000s', '5s').points).toBe(201);
  });

  it('refuses what is out of bounds, naming the parameter and the point count', () => {
    expect(() => resolveMetricsRange('30s', undefined)).toThrow('range must be from 1m to 7d');
    expect(() => resolveMetricsRange('8d', undefined)).toThrow('range must be from 1m to 7d');
    expect(() => resolveMetricsRange('1h', '1s')).toThrow('step must be at least 5s');
    expect(() => resolveMetricsRange('abc', undefined)).toThrow(/^range must be a duration/);
    expect(() => resolveMetricsRange(undefined, '5x')).toThrow(/^step must be a duration/);
    expect(() => resolveMetricsRange('2h', '5s')).toThrow('1441 points per series, more than 1000');
    expect(() => resolveMetricsRange('1h', '2h')).toThrow('must not be longer than range');
  });

  it('uses a rate window of twice the step, at least a minute', () => {
    expect(metricsWindow(5)).toBe('60s');
    expect(metricsWindow(30)).toBe('60s');
    expect(metricsWindow(45)).toBe('90s');
    expect(metricsWindow(5_040)).toBe('10080s');
  });
});
