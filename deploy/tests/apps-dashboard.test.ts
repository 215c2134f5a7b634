import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { remoteWrite } from '../../test/cluster/src/prometheus-remote-write.ts';
import { appsDashboard } from '../scripts/apps-dashboard.ts';
import { CHART, clusterTools, externalValues, valuesFile } from './support.ts';

// The apps dashboard as the chart renders it (helm template with the local cluster's helm), and every query of it,
// its variables filled for an app, answered by the local cluster's real Prometheus.
const t = clusterTools();
afterAll(() => t.cleanup());

interface ConfigMap {
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  data: Record<string, string>;
}

async function dashboards(values: Record<string, unknown>): Promise<ConfigMap[]> {
  const result = await t.helmRaw('template', 'dash', CHART, '--kube-version=1.36.0', '-f', valuesFile(externalValues(values)), '--show-only', 'templates/grafana-dashboard.yaml');
  // helm refuses --show-only of a template that renders nothing.
  if (result.code !== 0 && result.stderr.includes('could not find template')) return [];
  if (result.code !== 0) throw new Error(`helm template failed: ${result.stderr}`);
  return parseAllDocuments(result.stdout)
    .map((d) => d.toJS() as ConfigMap | null)
    .filter((d): d is ConfigMap => d?.kind === 'ConfigMap');
}

describe('the apps dashboard ConfigMap', () => {
  it('is rendered for Grafana\'s sidecar, with the generated dashboard', async () => {
    const maps = await dashboards({});
    const apps = maps.find((m) => m.metadata.name === 'dash-appserving-apps-dashboard');
    expect(maps.map((m) => m.metadata.name).sort()).toEqual(['dash-appserving-apps-dashboard', 'dash-appserving-dashboard']);
    expect(apps?.metadata.labels?.grafana_dashboard).toBe('1');
    expect(JSON.parse(apps?.data['appserving-apps.json'] ?? '{}')).toEqual(JSON.parse(readFileSync(join(CHART, 'files', 'grafana-apps-dashboard.json'), 'utf8')));
  });

  it('takes the label and annotations the sidecar is set up for', async () => {
    const maps = await dashboards({ grafanaDashboard: { labels: { grafana_dashboard: 'appserving' }, annotations: { grafana_folder: 'Apps' } } });
    const apps = maps.find((m) => m.metadata.name === 'dash-appserving-apps-dashboard');
    expect(apps?.metadata.labels?.grafana_dashboard).toBe('appserving');
    expect(apps?.metadata.annotations).toEqual({ grafana_folder: 'Apps' });
  });

  it('is left out by grafanaDashboard.apps.enabled=false, and with every dashboard by grafanaDashboard.enabled=false', async () => {
    expect((await dashboards({ grafanaDashboard: { apps: { enabled: false } } })).map((m) => m.metadata.name)).toEqual(['dash-appserving-dashboard']);
    expect(await dashboards({ grafanaDashboard: { enabled: false } })).toEqual([]);
  });
});

describe('the apps dashboard on the real Prometheus', () => {
  it('every panel\'s query, filled for an app, is accepted and reads the app\'s series per track', async () => {
    const prometheusUrl = t.cluster.prometheusUrl;
    const ns = `dash${randomBytes(3).toString('hex')}`;
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
    const primaryService = `${ns}-${app}-primary-http-8080@kubernetesgateway`;
    const canaryService = `${ns}-${app}-canary-http-8080@kubernetesgateway`;
    const container = (pod: string) => ({ namespace: ns, pod, container: 'app', image: 'app:v1' });
    await remoteWrite(prometheusUrl, [
      counter({ __name__: 'traefik_service_requests_total', service: primaryService, code: '200' }, 3),
      counter({ __name__: 'traefik_service_requests_total', service: primaryService, code: '500' }, 1),
      counter({ __name__: 'traefik_service_requests_total', service: canaryService, code: '200' }, 2),
      ...['0.005', '0.05', '+Inf'].map((le) => counter({ __name__: 'traefik_service_request_duration_seconds_bucket', service: primaryService, le }, 4)),
      ...['0.005', '0.05', '+Inf'].map((le) => counter({ __name__: 'traefik_service_request_duration_seconds_bucket', service: canaryService, le }, 2)),
      ...[primaryPod, canaryPod].flatMap((pod) => [
        counter({ __name__: 'container_cpu_usage_seconds_total', ...container(pod) }, 0.25),
        gauge({ __name__: 'container_spec_cpu_quota', ...container(pod) }, 50_000),
        gauge({ __name__: 'container_spec_cpu_period', ...container(pod) }, 100_000),
        gauge({ __name__: 'container_memory_working_set_bytes', ...container(pod) }, 200e6),
        gauge({ __name__: 'container_spec_memory_limit_bytes', ...container(pod) }, 512e6),
        gauge({ __name__: 'kube_pod_container_status_restarts_total', ...container(pod) }, 1),
        gauge({ __name__: 'kube_pod_status_ready', namespace: ns, pod, condition: 'true' }, 1),
        gauge({ __name__: 'jvm_memory_used_bytes', namespace: ns, pod, jvm_memory_type: 'heap' }, 30e6),
        gauge({ __name__: 'jvm_memory_limit_bytes', namespace: ns, pod, jvm_memory_type: 'heap' }, 256e6),
        counter({ __name__: 'jvm_gc_duration_seconds_sum', namespace: ns, pod }, 0.01),
      ]),
    ]);

    // Grafana's interpolation: single values as they are, the track's regex form (All is its allValue `.*`).
    const fill = (expr: string, track: string) =>
      expr.replaceAll('$namespace', ns).replaceAll('$app', app).replaceAll('$__rate_interval', '1m').replaceAll('${track:regex}', track);
    const query = async (expr: string) => {
      const url = new URL('api/v1/query', `${prometheusUrl}/`);
      url.searchParams.set('query', expr);
      url.searchParams.set('time', String(now / 1000));
      const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
      return (await response.json()) as { status: string; error?: string; data?: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    };

    const targets = appsDashboard().panels.flatMap((p) => p.targets.map((target) => ({ panel: p.title, ...target })));
    expect(targets.length).toBe(14);
    for (const target of targets) {
      const name = `${target.panel} ${target.refId}`;
      const all = await query(fill(target.expr, '.*'));
      expect(all.status, `${name}: ${all.error ?? ''}`).toBe('success');
      expect((all.data?.result ?? []).map((r) => r.metric.track).sort(), name).toEqual(target.expr.includes('traefik_') ? ['canary', 'primary'] : ['main', 'primary']);
      // One track chosen: only its series.
      const primary = await query(fill(target.expr, '(primary)'));
      expect(primary.status, name).toBe('success');
      expect((primary.data?.result ?? []).map((r) => r.metric.track), name).toEqual(['primary']);
    }

    const value = async (panel: string, refId: string, track: string) => {
      const target = targets.find((x) => x.panel === panel && x.refId === refId);
      const answer = await query(fill(target?.expr ?? '', `(${track})`));
      return Number(answer.data?.result[0]?.value[1]);
    };
    // The numbers are the app's: the primary's error ratio and CPU limit.
    expect(await value('Error ratio', 'A', 'primary')).toBeCloseTo(0.25, 2);
    expect(await value('CPU vs limit', 'B', 'primary')).toBeCloseTo(0.5, 6);
  });
});
