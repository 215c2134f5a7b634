import { describe, expect, it } from 'vitest';
import { activeThresholds, decideAppHealth, describeCheck, liveValue, thresholdVerdict, type HealthInputs, type ThresholdVerdict } from './app-health.ts';

const measured = (checks: { threshold: 'max_error_ratio' | 'max_latency_p95_ms'; limit: number; value: number | null }[], window = '5m'): ThresholdVerdict => ({
  kind: 'measured',
  data: { window, checks: checks.map((c) => ({ ...c, crossed: c.value !== null && c.value > c.limit })) },
});

const base: HealthInputs = {
  appStatus: 'running',
  versionLabel: 'v3',
  pods: { available: 2, desired: 2 },
  podsShortSince: undefined,
  now: 100_000,
  degradedGraceMs: 30_000,
  thresholds: { kind: 'off' },
};

describe('activeThresholds', () => {
  it('lists the thresholds set, in a fixed order, with the window (default 5m)', () => {
    expect(activeThresholds(undefined)).toEqual({ window: '5m', limits: [] });
    expect(activeThresholds({})).toEqual({ window: '5m', limits: [] });
    expect(activeThresholds({ window: '2m' })).toEqual({ window: '2m', limits: [] });
    expect(activeThresholds({ max_latency_p95_ms: 500, max_error_ratio: 0 })).toEqual({
      window: '5m',
      limits: [
        { threshold: 'max_error_ratio', limit: 0 },
        { threshold: 'max_latency_p95_ms', limit: 500 },
      ],
    });
  });
});

describe('liveValue', () => {
  it('takes the worst of the tracks serving the live release, never the canary\'s', () => {
    const samples = [
      { track: 'stable', value: 0.1 },
      { track: 'primary', value: 0.3 },
      { track: 'canary', value: 0.9 },
    ];
    // A Flagger app: its own Service (`stable`) and `-primary` both reach the primary pods.
    expect(liveValue(samples, 'canary')).toBe(0.3);
    expect(liveValue(samples, 'blue-green')).toBe(0.3);
    // A rolling app: its Service is `stable`.
    expect(liveValue([{ track: 'stable', value: 0.1 }, { track: 'canary', value: 0.9 }], 'rolling')).toBe(0.1);
  });

  it('is null without traffic: no sample, or NaN (0/0)', () => {
    expect(liveValue([], 'rolling')).toBeNull();
    expect(liveValue([{ track: 'stable', value: Number.NaN }], 'rolling')).toBeNull();
    expect(liveValue([{ track: undefined, value: 1 }], 'rolling')).toBeNull();
  });
});

describe('thresholdVerdict', () => {
  it('is off when no threshold is set, whatever was measured', () => {
    expect(thresholdVerdict(undefined, {})).toEqual({ kind: 'off' });
    expect(thresholdVerdict({ window: '1m' }, { max_error_ratio: { kind: 'value', value: 1 } })).toEqual({ kind: 'off' });
  });

  it('compares each value with its limit: above crosses, equal does not, no traffic does not', () => {
    const verdict = thresholdVerdict(
      { max_error_ratio: 0.1, max_latency_p95_ms: 500, window: '1m' },
      { max_error_ratio: { kind: 'value', value: 0.1 }, max_latency_p95_ms: { kind: 'value', value: 812.4 } },
    );
    expect(verdict).toEqual({
      kind: 'measured',
      data: {
        window: '1m',
        checks: [
          { threshold: 'max_error_ratio', limit: 0.1, value: 0.1, crossed: false },
          { threshold: 'max_latency_p95_ms', limit: 500, value: 812.4, crossed: true },
        ],
      },
    });
    expect(thresholdVerdict({ max_error_ratio: 0 }, { max_error_ratio: { kind: 'value', value: null } })).toEqual({
      kind: 'measured',
      data: { window: '5m', checks: [{ threshold: 'max_error_ratio', limit: 0, value: null, crossed: false }] },
    });
  });

  it('is unknown when a query failed or was not run: "query failed" is not "no data"', () => {
    expect(thresholdVerdict({ max_error_ratio: 0.1 }, { max_error_ratio: { kind: 'failed', error: 'Prometheus did not answer' } })).toEqual({ kind: 'unknown', error: 'Prometheus did not answer' });
    expect(thresholdVerdict({ max_error_ratio: 0.1 }, {})).toMatchObject({ kind: 'unknown' });
  });
});

describe('decideAppHealth', () => {
  it('keeps a whole app within its thresholds as it is', () => {
    expect(decideAppHealth(base)).toBeUndefined();
    expect(decideAppHealth({ ...base, thresholds: measured([{ threshold: 'max_error_ratio', limit: 0.1, value: 0.02 }]) })).toBeUndefined();
  });

  it('degrades on a crossed threshold at once, naming it and the value measured', () => {
    const decision = decideAppHealth({ ...base, thresholds: measured([{ threshold: 'max_error_ratio', limit: 0.1, value: 0.2512 }, { threshold: 'max_latency_p95_ms', limit: 500, value: 120 }], '1m') });
    expect(decision).toEqual({
      status: 'degraded',
      reason: 'error ratio 0.251 is above max_error_ratio 0.1 (version v3, over 1m)',
      thresholds: {
        window: '1m',
        checks: [
          { threshold: 'max_error_ratio', limit: 0.1, value: 0.2512, crossed: true },
          { threshold: 'max_latency_p95_ms', limit: 500, value: 120, crossed: false },
        ],
      },
    });
    const both = decideAppHealth({ ...base, thresholds: measured([{ threshold: 'max_error_ratio', limit: 0.1, value: 0.5 }, { threshold: 'max_latency_p95_ms', limit: 500, value: 812.37 }]) });
    expect(both?.reason).toBe('error ratio 0.5 is above max_error_ratio 0.1 and p95 latency 812 ms is above max_latency_p95_ms 500 (version v3, over 5m)');
  });

  it('degrades on missing pods only after the grace time, with the reason it always gave', () => {
    const short = { ...base, pods: { available: 1, desired: 2 }, podsShortSince: 80_000 };
    expect(decideAppHealth(short)).toBeUndefined();
    expect(decideAppHealth({ ...short, podsShortSince: 70_000 })).toEqual({ status: 'degraded', reason: '1 of 2 pods of version v3 are available' });
    // Both at once: both named.
    const both = decideAppHealth({ ...short, podsShortSince: 70_000, thresholds: measured([{ threshold: 'max_latency_p95_ms', limit: 200, value: 350 }]) });
    expect(both?.reason).toBe('1 of 2 pods of version v3 are available; p95 latency 350 ms is above max_latency_p95_ms 200 (version v3, over 5m)');
  });

  it('recovers only when the pods are all there and no threshold is crossed', () => {
    const degraded = { ...base, appStatus: 'degraded' };
    expect(decideAppHealth({ ...degraded, thresholds: measured([{ threshold: 'max_error_ratio', limit: 0.1, value: 0.3 }]) })).toBeUndefined();
    expect(decideAppHealth({ ...degraded, pods: { available: 1, desired: 2 }, podsShortSince: 99_000, thresholds: measured([{ threshold: 'max_error_ratio', limit: 0.1, value: 0 }]) })).toBeUndefined();
    expect(decideAppHealth({ ...degraded, thresholds: measured([{ threshold: 'max_error_ratio', limit: 0.1, value: 0.01 }]) })).toEqual({
      status: 'running',
      reason: 'all 2 pods of version v3 are available again; error ratio 0.01 is within max_error_ratio 0.1 (over 5m)',
      thresholds: { window: '5m', checks: [{ threshold: 'max_error_ratio', limit: 0.1, value: 0.01, crossed: false }] },
    });
    // No thresholds: the reason it always gave.
    expect(decideAppHealth(degraded)).toEqual({ status: 'running', reason: 'all 2 pods of version v3 are available again' });
    // Thresholds not measurable (no Prometheus, none measured yet): judged by pods alone.
    expect(decideAppHealth({ ...degraded, thresholds: { kind: 'unknown', error: 'no Prometheus' } })).toMatchObject({ status: 'running' });
  });

  it('leaves an app that is not running or degraded alone (deploying, failed)', () => {
    const crossed = measured([{ threshold: 'max_error_ratio', limit: 0.1, value: 0.9 }]);
    expect(decideAppHealth({ ...base, appStatus: 'deploying', thresholds: crossed })).toBeUndefined();
    expect(decideAppHealth({ ...base, appStatus: 'failed', thresholds: crossed })).toBeUndefined();
  });

  it('says "no requests" for a threshold without traffic', () => {
    expect(describeCheck({ threshold: 'max_latency_p95_ms', limit: 300, value: null, crossed: false })).toBe('p95 latency has no requests to judge (max_latency_p95_ms 300)');
  });
});
