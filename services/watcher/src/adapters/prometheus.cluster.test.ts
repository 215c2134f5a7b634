// The analysis record's Prometheus reads against the real Prometheus of the local cluster: a value, "no data"
// and "query failed" are three different answers.
import { randomBytes } from 'node:crypto';
import { remoteWrite } from '@appserving/test-cluster';
import type {} from '@appserving/test-cluster/global-setup';
import { freePort } from '@appserving/shared/testing';
import { describe, expect, inject, it } from 'vitest';
import { queryPrometheus, queryPrometheusRange, queryPrometheusVector } from './prometheus.ts';

const { prometheusUrl } = inject('appservingCluster');
const series = `appserving_watcher_prom_test_${randomBytes(3).toString('hex')}`;

describe('queryPrometheus', () => {
  it('reads the value of a vector (the last series, as Flagger does) and of a scalar', async () => {
    await remoteWrite(prometheusUrl, [{ labels: { __name__: series, app: 'a' }, samples: [{ value: 99.5 }] }]);
    expect(await queryPrometheus(prometheusUrl, `min(${series}{app="a"})`, 5_000)).toEqual({ kind: 'value', value: 99.5 });
    expect(await queryPrometheus(prometheusUrl, 'scalar(vector(42))', 5_000)).toEqual({ kind: 'value', value: 42 });
  });

  it('says "no data" for an empty result and for NaN', async () => {
    expect(await queryPrometheus(prometheusUrl, `${series}{app="nobody"}`, 5_000)).toEqual({ kind: 'no-data' });
    expect(await queryPrometheus(prometheusUrl, 'vector(0) / vector(0)', 5_000)).toEqual({ kind: 'no-data' });
  });

  it('says "query failed" for a refused query, a range result and an unreachable Prometheus', async () => {
    const refused = await queryPrometheus(prometheusUrl, 'sum(rate(', 5_000);
    expect(refused).toMatchObject({ kind: 'failed', error: expect.stringMatching(/refused the query \(400 bad_data\)/) });
    const range = await queryPrometheus(prometheusUrl, `${series}[5m]`, 5_000);
    expect(range).toMatchObject({ kind: 'failed', error: expect.stringContaining('matrix') });
    const down = await queryPrometheus(`http://127.0.0.1:${await freePort()}`, 'vector(1)', 2_000);
    expect(down).toMatchObject({ kind: 'failed', error: expect.stringMatching(/did not answer/) });
  });
});

describe('queryPrometheusRange', () => {
  it('returns every series of the matrix with its finite samples, its labels kept', async () => {
    const range = `appserving_watcher_range_test_${randomBytes(3).toString('hex')}`;
    const now = Math.floor(Date.now() / 1000);
    await remoteWrite(prometheusUrl, [
      { labels: { __name__: range, track: 'primary' }, samples: [{ value: 1, timestampMs: (now - 60) * 1000 }, { value: 2, timestampMs: (now - 30) * 1000 }] },
      { labels: { __name__: range, track: 'canary' }, samples: [{ value: 5, timestampMs: (now - 30) * 1000 }] },
    ]);
    const outcome = await queryPrometheusRange(prometheusUrl, `${range} / ${range}{track="primary"} or ${range}`, { start: now - 60, end: now - 30, stepSeconds: 30 }, 5_000);
    expect(outcome.kind).toBe('series');
    const series = outcome.kind === 'series' ? outcome.series : [];
    expect(series.find((s) => s.labels.track === 'primary')?.points).toEqual([[now - 60, 1], [now - 30, 1]]);
    expect(series.find((s) => s.labels.track === 'canary')?.points).toEqual([[now - 30, 5]]);
    // NaN (0/0) is no sample.
    const nan = await queryPrometheusRange(prometheusUrl, `${range}{track="canary"} * 0 / 0`, { start: now - 30, end: now - 30, stepSeconds: 30 }, 5_000);
    expect(nan).toEqual({ kind: 'series', series: [{ labels: { track: 'canary' }, points: [] }] });
  });

  it('tells a refused query from a Prometheus that does not answer', async () => {
    const refused = await queryPrometheusRange(prometheusUrl, 'sum(rate(', { start: 0, end: 60, stepSeconds: 30 }, 5_000);
    expect(refused).toMatchObject({ kind: 'failed', unreachable: false, error: expect.stringMatching(/refused the query \(400 bad_data\)/) });
    const down = await queryPrometheusRange(`http://127.0.0.1:${await freePort()}`, 'vector(1)', { start: 0, end: 60, stepSeconds: 30 }, 2_000);
    expect(down).toMatchObject({ kind: 'failed', unreachable: true, error: expect.stringMatching(/did not answer/) });
  });
});

describe('queryPrometheusVector', () => {
  it('returns every series of an instant vector with its labels, NaN kept; an empty vector is no series', async () => {
    const name = `appserving_watcher_vector_test_${randomBytes(3).toString('hex')}`;
    await remoteWrite(prometheusUrl, [
      { labels: { __name__: name, track: 'primary' }, samples: [{ value: 0.25 }] },
      { labels: { __name__: name, track: 'canary' }, samples: [{ value: 0 }] },
    ]);
    const outcome = await queryPrometheusVector(prometheusUrl, `${name} / (${name} > 0 or ${name})`, 5_000);
    expect(outcome.kind).toBe('samples');
    const samples = outcome.kind === 'samples' ? outcome.samples : [];
    expect(samples.find((s) => s.labels.track === 'primary')?.value).toBe(1);
    expect(samples.find((s) => s.labels.track === 'canary')?.value).toBeNaN();
    expect(await queryPrometheusVector(prometheusUrl, `${name}{track="nobody"}`, 5_000)).toEqual({ kind: 'samples', samples: [] });
  });

  it('says "failed" for a refused query, a scalar, and a Prometheus that does not answer', async () => {
    expect(await queryPrometheusVector(prometheusUrl, 'sum(rate(', 5_000)).toMatchObject({ kind: 'failed', error: expect.stringMatching(/refused the query \(400 bad_data\)/) });
    expect(await queryPrometheusVector(prometheusUrl, 'scalar(vector(1))', 5_000)).toMatchObject({ kind: 'failed', error: expect.stringContaining('scalar') });
    expect(await queryPrometheusVector(`http://127.0.0.1:${await freePort()}`, 'vector(1)', 2_000)).toMatchObject({ kind: 'failed', error: expect.stringMatching(/did not answer/) });
  });
});
