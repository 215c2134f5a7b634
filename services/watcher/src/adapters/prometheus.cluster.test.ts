// The analysis record's Prometheus reads against the real Prometheus of the local cluster: a value, "no data"
// and "query failed" are three different answers.
import { randomBytes } from 'node:crypto';
import { remoteWrite } from '@appserving/test-cluster';
import type {} from '@appserving/test-cluster/global-setup';
import { freePort } from '@appserving/shared/testing';
import { describe, expect, inject, it } from 'vitest';
import { queryPrometheus } from './prometheus.ts';

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
