import { rpcs, type AppMetricsRequestV1, type AppMetricsV1 } from '@appserving/shared';
import { connect, type NatsConnection } from '@nats-io/transport-node';

/**
 * Plays the watcher's metrics RPC (rpcs.appMetrics) for the console tests over the gateway alone: made-up series
 * for the seeded canary app (a primary on v1 with a quarter of its answers failing, a canary on v3 since 25
 * minutes with none), and 503 `metrics_unavailable` naming the missing Prometheus for any other app. The real
 * watcher, reading the real Prometheus, is driven by console-monitoring.cluster.test.ts.
 */
export async function startFakeWatcher(natsUrl: string, apps: { canaryId: string; releases: { v1: string; v3: string } }): Promise<{ asked: AppMetricsRequestV1[]; stop(): Promise<void> }> {
  const nc: NatsConnection = await connect({ servers: natsUrl });
  const asked: AppMetricsRequestV1[] = [];
  nc.subscribe(rpcs.appMetrics.subject, {
    queue: 'watcher',
    callback: (_error, msg) => {
      const request = msg.json<AppMetricsRequestV1>();
      asked.push(request);
      if (request.app_id !== apps.canaryId) {
        msg.respond(
          JSON.stringify({
            ok: false,
            error: {
              code: 'metrics_unavailable',
              message: 'cluster local has no Prometheus registered (prometheus_url), so there are no metrics to read: register the cluster with its Prometheus\'s URL',
              details: { cluster: 'local', missing: 'prometheus_url' },
            },
          }),
        );
        return;
      }
      msg.respond(JSON.stringify({ ok: true, data: canaryAnswer(request, apps.releases) }));
    },
  });
  return {
    asked,
    async stop() {
      await nc.drain();
    },
  };
}

function canaryAnswer(request: AppMetricsRequestV1, ids: { v1: string; v3: string }): AppMetricsV1 {
  const v1 = { id: ids.v1, version: 'v1' };
  const v3 = { id: ids.v3, version: 'v3' };
  const canaryFrom = request.end - 25 * 60;
  const times: number[] = [];
  for (let t = request.start; t <= request.end; t += request.step_seconds) times.push(t);
  const wave = (t: number, period: number) => Math.sin((t / period) * 2 * Math.PI);
  const series: AppMetricsV1['series'] = [];
  const add = (metric: AppMetricsV1['series'][number]['metric'], track: 'primary' | 'canary', unit: string, value: (t: number) => number) => {
    const points = times.filter((t) => track === 'primary' || t >= canaryFrom).map((t) => [t, value(t)] as [number, number]);
    if (points.length > 0) series.push({ metric, track, unit, points });
  };
  for (const track of ['primary', 'canary'] as const) {
    const canary = track === 'canary';
    add('requests_per_second', track, 'requests/s', (t) => (canary ? 3 : 8) + wave(t, 600));
    add('error_ratio', track, 'ratio', (t) => (canary ? 0 : 0.25 + 0.02 * wave(t, 900)));
    add('latency_p50_ms', track, 'ms', (t) => (canary ? 9 : 12) + wave(t, 300));
    add('latency_p95_ms', track, 'ms', (t) => (canary ? 30 : 45) + 4 * wave(t, 300));
    add('latency_p99_ms', track, 'ms', (t) => (canary ? 60 : 95) + 10 * wave(t, 300));
    add('cpu_cores', track, 'cores', (t) => (canary ? 0.04 : 0.09) + 0.01 * wave(t, 450));
    add('cpu_limit_cores', track, 'cores', () => 0.25);
    add('memory_bytes', track, 'bytes', (t) => (canary ? 150 : 180) * 2 ** 20 + 8 * 2 ** 20 * wave(t, 1200));
    add('memory_limit_bytes', track, 'bytes', () => 384 * 2 ** 20);
    add('jvm_heap_used_bytes', track, 'bytes', (t) => 60 * 2 ** 20 + 20 * 2 ** 20 * ((t % 300) / 300));
    add('jvm_heap_max_bytes', track, 'bytes', () => 128 * 2 ** 20);
    add('jvm_gc_seconds_per_second', track, 'seconds/s', (t) => 0.004 + 0.002 * wave(t, 300));
  }
  const iso = (s: number) => new Date(s * 1000).toISOString();
  return {
    app_id: request.app_id,
    start: iso(request.start),
    end: iso(request.end),
    step_seconds: request.step_seconds,
    tracks: [
      { track: 'canary', release: v3 },
      { track: 'primary', release: v1 },
    ],
    series,
    pods: [
      { name: 'petclinic-7d9f8c6b5-x2kq4', track: 'canary', release: v3, phase: 'Running', ready: true, restarts: 0 },
      { name: 'petclinic-primary-5c4b7d8f9-m8zt1', track: 'primary', release: v1, phase: 'Running', ready: true, restarts: 0 },
      { name: 'petclinic-primary-5c4b7d8f9-q4vn7', track: 'primary', release: v1, phase: 'Running', ready: true, restarts: 1 },
    ],
    markers: [{ release: v1, at: iso(request.end - 59 * 60), kind: 'deployed' as const }].filter((m) => Date.parse(m.at) / 1000 >= request.start),
    missing: [
      { metric: 'restarts', reason: 'no kube-state-metrics series in the Prometheus of cluster local (kube_pod_status_ready): kube-state-metrics is not installed or not scraped' },
      { metric: 'ready_pods', reason: 'no kube-state-metrics series in the Prometheus of cluster local (kube_pod_status_ready): kube-state-metrics is not installed or not scraped' },
    ],
  };
}
