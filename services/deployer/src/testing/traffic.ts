// Request metrics of an app, as the OpenTelemetry Java agent exports them and the cluster's Prometheus scrapes
// them (with `namespace` and `pod` labels), written into the real local Prometheus through its remote-write
// receiver: the series the app chart's MetricTemplates query (docs/app-chart.md).
import { remoteWrite, type RemoteWriteSeries } from '@appserving/test-cluster';

export interface TrafficShape {
  /** Share of requests answered without a 5xx, 0..1. */
  successRatio: number;
  /** Duration of every request, seconds. */
  latencySeconds: number;
}

export interface Traffic {
  /** Changes what the next samples say (e.g. the new version starts failing). */
  set(shape: TrafficShape): void;
  stop(): Promise<void>;
}

const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Writes, every `everyMs`, the counters of `requestsPerTick` more requests for one pod of the app's Deployment
 * under analysis (`<app>-<replicaset hash>-<pod id>`, the pods Flagger's target runs) and one of its primary
 * (`<app>-primary-…`, which the queries must leave out: it always answers well here).
 */
export function startTraffic(prometheusUrl: string, target: { namespace: string; app: string }, initial: TrafficShape, everyMs = 2_000, requestsPerTick = 20): Traffic {
  let shape = initial;
  const pods = { canary: `${target.app}-5d8f6b7c9d-x2k4p`, primary: `${target.app}-primary-6c9b8d7f5c-q7w2n` };
  const counts = new Map<string, number>();
  const add = (key: string, n: number) => {
    const next = (counts.get(key) ?? 0) + n;
    counts.set(key, next);
    return next;
  };

  function seriesOf(pod: string, success: number, latency: number): RemoteWriteSeries[] {
    const series: RemoteWriteSeries[] = [];
    const now = Date.now();
    const ok = Math.round(requestsPerTick * success);
    for (const [code, n] of [['200', ok], ['500', requestsPerTick - ok]] as const) {
      const labels = { namespace: target.namespace, pod, http_request_method: 'GET', http_route: '/orders', http_response_status_code: code };
      series.push({ labels: { __name__: 'http_server_request_duration_seconds_count', ...labels }, samples: [{ value: add(`${pod}/${code}/count`, n), timestampMs: now }] });
      for (const le of [...buckets.map(String), '+Inf']) {
        const inBucket = le === '+Inf' || latency <= Number(le) ? n : 0;
        series.push({ labels: { __name__: 'http_server_request_duration_seconds_bucket', ...labels, le }, samples: [{ value: add(`${pod}/${code}/${le}`, inBucket), timestampMs: now }] });
      }
    }
    return series;
  }

  let stopped = false;
  let pending: Promise<void> = Promise.resolve();
  const tick = () => {
    pending = remoteWrite(prometheusUrl, [...seriesOf(pods.canary, shape.successRatio, shape.latencySeconds), ...seriesOf(pods.primary, 1, 0.01)]).catch((error: unknown) => {
      if (!stopped) process.stderr.write(`traffic: remote write failed: ${String(error)}\n`);
    });
  };
  tick();
  const timer = setInterval(tick, everyMs);
  return {
    set(next) {
      shape = next;
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await pending;
    },
  };
}
