// The app metrics PromQL of the shared contract on the real Prometheus of the local cluster, over series written with
// the labels their sources give them (Traefik's backend Services, cAdvisor's container and pod cgroups, OpenTelemetry's
// and Micrometer's JVM names): each answers per track, and a track without the first kind of series reads the second.
import { randomBytes } from 'node:crypto';
import { appMetricQueries } from '@appserving/shared';
import { remoteWrite } from '@appserving/test-cluster';
import type {} from '@appserving/test-cluster/global-setup';
import { describe, expect, inject, it } from 'vitest';
import { queryPrometheus, queryPrometheusRange } from './prometheus.ts';

const { prometheusUrl } = inject('appservingCluster');

describe('app metric queries', () => {
  it('read each track from the series their sources write', async () => {
    const ns = `q${randomBytes(3).toString('hex')}`;
    const app = 'orders';
    const now = Math.floor(Date.now() / 1000) * 1000;
    const at = (secondsAgo: number) => now - secondsAgo * 1000;
    const counter = (labels: Record<string, string>, perSecond: number) => ({
      labels,
      samples: [60, 45, 30, 15, 0].map((ago) => ({ value: (60 - ago) * perSecond, timestampMs: at(ago) })),
    });
    const gauge = (labels: Record<string, string>, value: number) => ({ labels, samples: [{ value, timestampMs: at(5) }] });
    const primaryPod = `${app}-primary-6d9f7c5b4-abcde`;
    const canaryPod = `${app}-7c4b8d9f6-fghij`;
    await remoteWrite(prometheusUrl, [
      // The gateway: the primary's and the canary's Services, 200s and 500s.
      counter({ __name__: 'traefik_service_requests_total', service: `${ns}-${app}-primary-http-8080@kubernetesgateway`, code: '200' }, 3),
      counter({ __name__: 'traefik_service_requests_total', service: `${ns}-${app}-primary-http-8080@kubernetesgateway`, code: '500' }, 1),
      counter({ __name__: 'traefik_service_requests_total', service: `${ns}-${app}-canary-http-8080@kubernetesgateway`, code: '200' }, 2),
      // Another app whose name starts the same: never counted.
      counter({ __name__: 'traefik_service_requests_total', service: `${ns}-${app}-api-http-8080@kubernetesgateway`, code: '200' }, 50),
      // cAdvisor: the primary's container named, the canary's only as its pod's cgroup (a kubelet that could not ask containerd).
      gauge({ __name__: 'container_memory_working_set_bytes', namespace: ns, pod: primaryPod, container: 'app', image: 'app:v1', id: '/kubepods/pod1/c1' }, 100e6),
      gauge({ __name__: 'container_memory_working_set_bytes', namespace: ns, pod: primaryPod, container: '', image: '', id: '/kubepods/pod1' }, 101e6),
      gauge({ __name__: 'container_memory_working_set_bytes', namespace: ns, pod: canaryPod, container: '', image: '', id: '/kubepods/pod2' }, 50e6),
      gauge({ __name__: 'container_memory_working_set_bytes', namespace: ns, pod: canaryPod, container: '', image: 'pause:3.10', id: '/kubepods/pod2/sandbox' }, 1e6),
      // JVM: OpenTelemetry's names on the primary, Micrometer's on the canary.
      gauge({ __name__: 'jvm_memory_used_bytes', namespace: ns, pod: primaryPod, jvm_memory_type: 'heap', jvm_memory_pool_name: 'G1 Eden Space' }, 30e6),
      gauge({ __name__: 'jvm_memory_used_bytes', namespace: ns, pod: primaryPod, jvm_memory_type: 'non_heap', jvm_memory_pool_name: 'Metaspace' }, 9e6),
      gauge({ __name__: 'jvm_memory_used_bytes', namespace: ns, pod: canaryPod, area: 'heap', id: 'G1 Eden Space' }, 20e6),
      gauge({ __name__: 'jvm_memory_used_bytes', namespace: ns, pod: canaryPod, area: 'heap', id: 'G1 Old Gen' }, 5e6),
    ]);
    const q = appMetricQueries({ namespace: ns, app, window: '60s' });
    const byTrack = async (metric: keyof typeof q) => {
      const outcome = await queryPrometheusRange(prometheusUrl, q[metric], { start: now / 1000, end: now / 1000, stepSeconds: 5 }, 5_000);
      if (outcome.kind !== 'series') throw new Error(`${metric}: ${outcome.error}`);
      return Object.fromEntries(outcome.series.map((s) => [s.labels.track, s.points.at(-1)?.[1]]));
    };
    const rates = await byTrack('requests_per_second');
    expect(Object.keys(rates).sort()).toEqual(['canary', 'primary']);
    // rate() extrapolates over the window's edges: within 10 % of the written rates, in their exact proportion.
    expect(Math.abs((rates.primary ?? 0) - 4) / 4).toBeLessThan(0.1);
    expect((rates.primary ?? 0) / (rates.canary ?? 1)).toBeCloseTo(2, 6);
    const errors = await byTrack('error_ratio');
    expect(errors.primary).toBeCloseTo(0.25, 2);
    expect(errors.canary).toBe(0);
    // The container where named (not the pod cgroup too), the pod's cgroup where not (not the pause sandbox).
    expect(await byTrack('memory_bytes')).toEqual({ primary: 100e6, main: 50e6 });
    expect(await byTrack('jvm_heap_used_bytes')).toEqual({ primary: 30e6, main: 25e6 });
    // What the watcher's "is this source here at all" probe reads.
    expect(await queryPrometheus(prometheusUrl, 'count(jvm_memory_used_bytes)', 5_000)).toMatchObject({ kind: 'value' });
  });
});
