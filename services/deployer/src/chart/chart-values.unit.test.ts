import { readFileSync } from 'node:fs';
import { analysisDefaults, analysisMetrics, InputError, type ReleaseSpecV1 } from '@appserving/shared';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildChartValues, hostOf, resourcePresets, type ChartValuesInput } from './chart-values.ts';

const release = { app_id: '0b6c5c8e-1111-4222-8333-444455556666', app_name: 'orders', release_id: '1b6c5c8e-1111-4222-8333-444455556666', version: 3, cluster_id: '2b6c5c8e-1111-4222-8333-444455556666' };
const spec: ReleaseSpecV1 = { port: 8080, resource_spec: 'small', strategy: 'rolling', env: {}, config: {}, secret_names: [], volumes: [], replicas: 2 };
const settings: ChartValuesInput['settings'] = {
  trafficProvider: 'gatewayapi',
  appGateway: 'gateway-system/public',
  ingressClass: 'nginx',
  appDomain: '',
  otelAgent: 'analysed',
  otelAgentImage: 'ghcr.io/open-telemetry/opentelemetry-operator/autoinstrumentation-java:2.11.0',
  volumeStorageClass: '',
  appUrl: 'https://{host}/',
  analysisMetrics: 'otel-agent',
  loadTesterUrl: '',
  analysisLoadRps: 0,
  appGatewayAddress: '',
};
const input = (over: Partial<ChartValuesInput> = {}, specOver: Partial<ReleaseSpecV1> = {}): ChartValuesInput => ({
  release,
  spec: { ...spec, ...specOver },
  image: 'registry.example.com/shop/orders:v3',
  skipAnalysis: false,
  appType: 'jar',
  versionLabel: 'v3',
  namespace: 'shop',
  secrets: {},
  prometheusUrl: 'http://127.0.0.1:26407',
  placement: null,
  clusterName: 'local',
  gateWebhookBase: 'http://127.0.0.1:9114/flagger/v1/apps/a/releases/r/t',
  settings,
  ...over,
});
const chartDefaults = parse(readFileSync(new URL('../../chart/values.yaml', import.meta.url), 'utf8'));

/** The message of the InputError a release's values are refused with. */
const refused = (i: ChartValuesInput) => {
  try {
    buildChartValues(i);
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return (error as InputError).message;
  }
  throw new Error('not refused');
};

describe('chart values of a release', () => {
  it('carries the release, its image and its spec', () => {
    const values = buildChartValues(
      input({ secrets: { 'db-password': 's3cr3t' } }, { env: { A: '1' }, config: { 'application.yml': 'x: 1' }, secret_names: ['db-password'], profile: 'prod', health_path: '/health' }),
    );
    expect(values.app).toEqual({ name: 'orders', id: release.app_id, type: 'jar' });
    expect(values.release).toEqual({ id: release.release_id, version: 3, label: 'v3' });
    expect(values.image.reference).toBe('registry.example.com/shop/orders:v3');
    expect(values).toMatchObject({ port: 8080, replicas: 2, profile: 'prod', healthPath: '/health', env: { A: '1' } });
    expect(values.config.files).toEqual({ 'application.yml': 'x: 1' });
    expect(values.secrets.files).toEqual({ 'db-password': 's3cr3t' });
    expect(values.resources).toEqual({ preset: 'small', cpu: '', memory: '' });
  });

  it('has every key of the chart\'s values.yaml, and the chart\'s presets and queries are the code\'s', () => {
    const values = buildChartValues(input());
    const keys = (o: object, prefix = ''): string[] =>
      Object.entries(o).flatMap(([k, v]) => (v && typeof v === 'object' && !Array.isArray(v) && !['env', 'files', 'resourcePresets'].includes(k) ? keys(v, `${prefix}${k}.`) : [`${prefix}${k}`]));
    expect(keys(values).sort()).toEqual(keys(chartDefaults).sort());
    expect(chartDefaults.resourcePresets).toEqual(resourcePresets);
    expect(chartDefaults.rollout.queries).toEqual({ requestSuccessRate: analysisMetrics.requestSuccessRate.query, requestDuration: analysisMetrics.requestDuration.query });
    expect(chartDefaults.rollout.analysis.intervalSeconds).toBe(analysisDefaults.interval_seconds);
  });

  it('maps explicit cpu and memory to the custom preset', () => {
    expect(buildChartValues(input({}, { resource_spec: { cpu: '750m', memory: '768Mi' } })).resources).toEqual({ preset: 'custom', cpu: '750m', memory: '768Mi' });
  });

  it('makes the version label a label value', () => {
    expect(buildChartValues(input({ versionLabel: '1.4.2+build.7' })).release.label).toBe('1.4.2-build.7');
    expect(buildChartValues(input({ versionLabel: '+++' })).release.label).toBe('v3');
  });

  it('canary: the configured traffic provider; analysis defaults unless the spec sets them', () => {
    const gatewayApi = buildChartValues(input({}, { strategy: 'canary', analysis: { interval_seconds: 10, step_weight: 25 } }));
    expect(gatewayApi.rollout.provider).toBe('gatewayapi:v1');
    expect(gatewayApi.expose).toMatchObject({ kind: 'httproute', gateway: { name: 'public', namespace: 'gateway-system' } });
    expect(gatewayApi.rollout.analysis).toMatchObject({ intervalSeconds: 10, stepWeight: 25, maxWeight: analysisDefaults.max_weight, threshold: analysisDefaults.threshold });
    expect(gatewayApi.rollout.gate.manualPromotion).toBe(false);
    expect(gatewayApi.otelAgent.enabled).toBe(true);

    const nginx = buildChartValues(input({ settings: { ...settings, trafficProvider: 'nginx', appDomain: 'apps.example.com' } }, { strategy: 'canary' }));
    expect(nginx.rollout.provider).toBe('nginx');
    expect(nginx.expose).toMatchObject({ kind: 'ingress', host: 'orders-shop.apps.example.com', ingressClassName: 'nginx' });
  });

  it("blue-green: the Gateway API route switched at once when there is a Gateway, else Flagger's kubernetes provider; waiting for a promote by default", () => {
    expect(buildChartValues(input({}, { strategy: 'blue-green' })).rollout.provider).toBe('gatewayapi:v1');
    const values = buildChartValues(input({ settings: { ...settings, appGateway: '' } }, { strategy: 'blue-green' }));
    expect(values.rollout.provider).toBe('kubernetes');
    expect(values.rollout.gate.manualPromotion).toBe(true);
    expect(values.expose.kind).toBe('none');
    expect(buildChartValues(input({}, { strategy: 'blue-green', analysis: { manual_promotion: false } })).rollout.gate.manualPromotion).toBe(false);
  });

  it("on the traffic gateway's metrics: no agent, the new version's own route, and the load tester at every step", () => {
    const local = {
      ...settings,
      appDomain: 'localhost',
      appUrl: 'http://{host}:26411/',
      analysisMetrics: 'traefik' as const,
      loadTesterUrl: 'http://127.0.0.1:26413',
      analysisLoadRps: 10,
      appGatewayAddress: 'http://127.0.0.1:26411',
    };
    const canary = buildChartValues(input({ settings: local }, { strategy: 'canary', analysis: { interval_seconds: 15 } }));
    expect(canary.otelAgent.enabled).toBe(false);
    expect(canary.rollout.queries.requestSuccessRate).toContain('traefik_service_requests_total{service=~"{{ namespace }}-{{ target }}-canary-http-[0-9]+@kubernetesgateway"');
    expect(canary.rollout.canaryRoute).toEqual({ host: 'orders-canary-shop.localhost' });
    expect(canary.rollout.loadTest).toEqual({ url: 'http://127.0.0.1:26413/', cmd: 'hey -z 15s -q 10 -c 1 -host orders-canary-shop.localhost http://127.0.0.1:26411/' });
    // The app's own rate wins; 0 turns the load off; without a gateway address the route's URL is dialled.
    expect(buildChartValues(input({ settings: local }, { strategy: 'blue-green', analysis: { load_rps: 3 } })).rollout.loadTest.cmd).toContain(' -q 3 ');
    expect(buildChartValues(input({ settings: local }, { strategy: 'canary', analysis: { load_rps: 0 } })).rollout.loadTest).toEqual({ url: '', cmd: '' });
    expect(buildChartValues(input({ settings: { ...local, appGatewayAddress: '' } }, { strategy: 'canary' })).rollout.loadTest.cmd).toMatch(/ http:\/\/orders-canary-shop\.localhost:26411\/$/);
    // No load for rolling releases, skipped analyses, or a platform without a load tester (unless the app asks).
    expect(buildChartValues(input({ settings: local })).rollout.loadTest.url).toBe('');
    expect(buildChartValues(input({ settings: local, skipAnalysis: true }, { strategy: 'canary' })).rollout.loadTest.url).toBe('');
    expect(buildChartValues(input({ settings: { ...local, loadTesterUrl: '' } }, { strategy: 'canary' })).rollout.loadTest.url).toBe('');
    expect(refused(input({ settings: { ...local, loadTesterUrl: '' } }, { strategy: 'canary', analysis: { load_rps: 5 } }))).toMatch(/no load tester \(APPSERVING_LOAD_TESTER_URL\)/);
  });

  it('rolling: exposed only with a domain; the agent only when asked for', () => {
    expect(buildChartValues(input()).expose.kind).toBe('none');
    expect(buildChartValues(input()).otelAgent.enabled).toBe(false);
    expect(buildChartValues(input({ settings: { ...settings, appDomain: 'apps.example.com' } })).expose).toMatchObject({ kind: 'httproute', host: 'orders-shop.apps.example.com' });
    expect(buildChartValues(input({ settings: { ...settings, appDomain: 'apps.example.com', trafficProvider: 'nginx' } })).expose.kind).toBe('ingress');
    expect(buildChartValues(input({ settings: { ...settings, otelAgent: 'always' } })).otelAgent.enabled).toBe(true);
    expect(buildChartValues(input({ settings: { ...settings, otelAgent: 'always' }, appType: 'python' })).otelAgent.enabled).toBe(false);
  });

  it('volumes and autoscaling', () => {
    const values = buildChartValues(
      input({ settings: { ...settings, volumeStorageClass: 'fast' } }, { volumes: [{ name: 'data', mount_path: '/data', size: '1Gi' }], autoscaling: { min_replicas: 2, max_replicas: 6 } }),
    );
    expect(values.volumes).toEqual([{ name: 'data', mountPath: '/data', size: '1Gi', storageClassName: 'fast' }]);
    expect(values.autoscaling).toEqual({ enabled: true, minReplicas: 2, maxReplicas: 6, cpuPercent: 80 });
  });

  it('refuses, naming the problem, what no retry can fix', () => {
    expect(refused(input({ prometheusUrl: null }, { strategy: 'canary' }))).toMatch(/cluster local has no Prometheus registered/);
    expect(() => buildChartValues(input({ prometheusUrl: null, skipAnalysis: true }, { strategy: 'canary' }))).not.toThrow();
    expect(refused(input({ settings: { ...settings, appGateway: '' } }, { strategy: 'canary' }))).toMatch(/APPSERVING_APP_GATEWAY/);
    expect(refused(input({}, { secret_names: ['db-password'] }))).toMatch(/names secrets db-password but no value is stored/);
    expect(refused(input({}, { autoscaling: { min_replicas: 5, max_replicas: 2 } }))).toMatch(/max_replicas \(2\) is below min_replicas \(5\)/);
  });

  it('names hosts <app>-<namespace>.<domain>', () => {
    expect(hostOf('orders', 'shop', 'apps.example.com')).toBe('orders-shop.apps.example.com');
    expect(hostOf('orders', 'shop', '')).toBe('');
    expect(() => hostOf('a'.repeat(40), 'b'.repeat(30), 'x.io')).toThrow(/DNS allows 63/);
  });
});
