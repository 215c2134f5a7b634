// The app chart rendered by the real helm CLI (`helm template`, no cluster needed; it runs in the cluster project
// because that is where the helm binary is built): what each strategy renders, the labels, the pod spec, and the
// values the schema refuses. That a refused value never reaches a cluster is shown by deploy-refused.cluster.test.ts.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ReleaseSpecV1 } from '@appserving/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { appChartDir } from '../service.ts';
import { buildChartValues, type ChartValuesInput } from './chart-values.ts';

const run = promisify(execFile);
const helm = process.env.APPSERVING_TEST_HELM ?? 'helm';
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'app-chart-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
}

let fileCount = 0;
async function render(values: unknown, namespace = 'shop'): Promise<K8sObject[]> {
  const file = join(dir, `values-${fileCount++}.json`);
  await writeFile(file, JSON.stringify(values));
  const { stdout } = await run(helm, ['template', 'orders', appChartDir, '--namespace', namespace, '--values', file]);
  return parseAllDocuments(stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

/** helm's message for values it refuses (the command must fail). */
async function refused(values: unknown): Promise<string> {
  const file = join(dir, `values-${fileCount++}.json`);
  await writeFile(file, JSON.stringify(values));
  try {
    await run(helm, ['template', 'orders', appChartDir, '--namespace', 'shop', '--values', file]);
  } catch (error) {
    return (error as { stderr: string }).stderr;
  }
  throw new Error('helm accepted the values');
}

const ids = { app: '0b6c5c8e-1111-4222-8333-444455556666', release: '1b6c5c8e-1111-4222-8333-444455556666' };
const spec: ReleaseSpecV1 = {
  app_type: 'jar',
  port: 8080,
  resource_spec: 'medium',
  profile: 'prod',
  strategy: 'rolling',
  env: { GREETING: 'hello: "world"\nsecond line', JAVA_TOOL_OPTIONS: '-Xss512k' },
  config: { 'application.yml': 'server:\n  port: 8080\n' },
  secret_names: ['db-password'],
  volumes: [{ name: 'data', mount_path: '/var/data', size: '2Gi' }],
  replicas: 2,
  health_path: '/actuator/health',
};
const input = (over: Partial<ReleaseSpecV1> = {}, settings: Partial<ChartValuesInput['settings']> = {}): ChartValuesInput => ({
  release: { app_id: ids.app, app_name: 'orders', release_id: ids.release, version: 4, cluster_id: ids.app },
  spec: { ...spec, ...over },
  image: '127.0.0.1:26408/shop/orders:v4@sha256:' + 'a'.repeat(64),
  skipAnalysis: false,
  appType: 'jar',
  versionLabel: 'v4',
  namespace: 'shop',
  secrets: { 'db-password': 'correct horse battery staple' },
  prometheusUrl: 'http://127.0.0.1:26407',
  placement: null,
  clusterName: 'local',
  gateWebhookBase: 'http://127.0.0.1:9114/flagger/v1/apps/a/releases/r/token',
  settings: {
    trafficProvider: 'gatewayapi',
    appGateway: 'gateway-system/public',
    ingressClass: 'nginx',
    appDomain: 'apps.example.com',
    otelAgent: 'analysed',
    otelAgentImage: 'ghcr.io/open-telemetry/opentelemetry-operator/autoinstrumentation-java:2.11.0',
    volumeStorageClass: '',
    appUrl: 'https://{host}/',
    analysisMetrics: 'otel-agent',
    loadTesterUrl: '',
    analysisLoadRps: 0,
    appGatewayAddress: '',
    ...settings,
  },
});
const kinds = (objects: K8sObject[]) => objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
const one = (objects: K8sObject[], kind: string) => {
  const found = objects.filter((o) => o.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0] as K8sObject;
};

describe('app chart: rolling', () => {
  it('renders the workload, its Service, config, secret, volume and route, every object labelled', async () => {
    const objects = await render(buildChartValues(input()));
    expect(kinds(objects)).toEqual(['ConfigMap/orders-config', 'Deployment/orders', 'HTTPRoute/orders', 'PersistentVolumeClaim/orders-data', 'Secret/orders-secrets', 'Service/orders']);
    for (const o of objects) {
      expect(o.metadata.labels, `${o.kind} labels`).toMatchObject({
        'app.kubernetes.io/managed-by': 'appserving',
        'app.kubernetes.io/name': 'orders',
        'app.kubernetes.io/instance': 'orders',
        'app.kubernetes.io/version': 'v4',
        'appserving.dev/app-id': ids.app,
      });
    }
    const deployment = one(objects, 'Deployment');
    const releaseLabels = { 'appserving.dev/release-id': ids.release, 'appserving.dev/release-version': '4' };
    expect(deployment.metadata.labels).toMatchObject(releaseLabels);
    expect(deployment.spec.template.metadata.labels).toMatchObject({ ...releaseLabels, 'appserving.dev/app-id': ids.app, 'app.kubernetes.io/managed-by': 'appserving' });
    expect(deployment.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'orders', 'app.kubernetes.io/instance': 'orders' });
    expect(deployment.spec.replicas).toBe(2);
    expect(deployment.spec.strategy.type).toBe('Recreate');
    expect(one(objects, 'HTTPRoute').spec).toEqual({
      parentRefs: [{ name: 'public', namespace: 'gateway-system' }],
      hostnames: ['orders-shop.apps.example.com'],
      rules: [{ backendRefs: [{ name: 'orders', port: 8080 }] }],
    });
    expect(one(objects, 'Service').spec.ports).toEqual([{ name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' }]);
  });

  it('puts env, profile, JAVA_TOOL_OPTIONS, resources, probes and mounts in the pod spec as asked', async () => {
    const objects = await render(buildChartValues(input()));
    const pod = one(objects, 'Deployment').spec.template.spec;
    const container = pod.containers[0];
    expect(container.image).toBe('127.0.0.1:26408/shop/orders:v4@sha256:' + 'a'.repeat(64));
    const env = Object.fromEntries(container.env.map((e: { name: string; value: string }) => [e.name, e.value]));
    expect(env).toEqual({
      GREETING: 'hello: "world"\nsecond line',
      // The app's own options come after the platform's (the JVM lets the later one win).
      JAVA_TOOL_OPTIONS: '-XX:MaxRAMPercentage=75.0 -Xss512k',
      PORT: '8080',
      SERVER_PORT: '8080',
      SPRING_PROFILES_ACTIVE: 'prod',
    });
    expect(container.resources).toEqual({ requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '2', memory: '1Gi' } });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/actuator/health', port: 'http' });
    expect(container.startupProbe).toMatchObject({ periodSeconds: 1, failureThreshold: 300 });
    expect(container.volumeMounts).toEqual([
      { name: 'config', mountPath: '/app/config', readOnly: true },
      { name: 'secrets', mountPath: '/app/secrets', readOnly: true },
      { name: 'data', mountPath: '/var/data' },
    ]);
    expect(pod.volumes).toEqual([
      { name: 'config', configMap: { name: 'orders-config' } },
      { name: 'secrets', secret: { secretName: 'orders-secrets', defaultMode: 0o400 } },
      { name: 'data', persistentVolumeClaim: { claimName: 'orders-data' } },
    ]);
    expect(one(objects, 'ConfigMap').data).toEqual({ 'application.yml': 'server:\n  port: 8080\n' });
    expect(Buffer.from(one(objects, 'Secret').data?.['db-password'] ?? '', 'base64').toString()).toBe('correct horse battery staple');
    expect(one(objects, 'PersistentVolumeClaim').spec).toEqual({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '2Gi' } } });
  });

  it('TCP probes without a health path; explicit cpu and memory; an HPA instead of a replica count', async () => {
    const objects = await render(buildChartValues(input({ health_path: undefined, resource_spec: { cpu: '750m', memory: '768Mi' }, autoscaling: { min_replicas: 2, max_replicas: 5 } })));
    const deployment = one(objects, 'Deployment');
    const container = deployment.spec.template.spec.containers[0];
    expect(container.livenessProbe.tcpSocket).toEqual({ port: 'http' });
    expect(container.resources).toEqual({ requests: { cpu: '750m', memory: '768Mi' }, limits: { cpu: '750m', memory: '768Mi' } });
    expect(deployment.spec.replicas).toBeUndefined();
    expect(one(objects, 'HorizontalPodAutoscaler').spec).toMatchObject({ minReplicas: 2, maxReplicas: 5, scaleTargetRef: { kind: 'Deployment', name: 'orders' } });
  });

  it("places pods by the cluster's node selector and tolerations, and nowhere in particular without them", async () => {
    const placement = { node_selector: { 'appserving.dev/node': 'real' }, tolerations: [{ key: 'appserving.dev/node', value: 'real', effect: 'NoSchedule' as const }] };
    const placed = one(await render(buildChartValues({ ...input(), placement })), 'Deployment').spec.template.spec;
    expect(placed.nodeSelector).toEqual({ 'appserving.dev/node': 'real' });
    expect(placed.tolerations).toEqual([{ key: 'appserving.dev/node', operator: 'Equal', value: 'real', effect: 'NoSchedule' }]);
    const anywhere = one(await render(buildChartValues(input())), 'Deployment').spec.template.spec;
    expect(anywhere.nodeSelector).toBeUndefined();
    expect(anywhere.tolerations).toBeUndefined();
  });
});

describe('app chart: canary and blue-green', () => {
  it('canary on the Gateway API: a Canary weighting an HTTPRoute Flagger owns, two MetricTemplates, the agent, the gate webhooks', async () => {
    const objects = await render(buildChartValues(input({ strategy: 'canary', volumes: [], analysis: { interval_seconds: 15, step_weight: 20, max_weight: 60, manual_promotion: true } })));
    // Flagger creates the Services and the weighted HTTPRoute itself; the chart adds the new version's own route.
    expect(kinds(objects)).toEqual([
      'Canary/orders',
      'ConfigMap/orders-config',
      'Deployment/orders',
      'HTTPRoute/orders-canary',
      'MetricTemplate/orders-latency-p99',
      'MetricTemplate/orders-success-rate',
      'Secret/orders-secrets',
    ]);
    expect(one(objects, 'HTTPRoute').spec).toEqual({
      parentRefs: [{ name: 'public', namespace: 'gateway-system' }],
      hostnames: ['orders-canary-shop.apps.example.com'],
      rules: [{ backendRefs: [{ name: 'orders-canary', port: 8080 }] }],
    });
    const canary = one(objects, 'Canary');
    expect(canary.spec).toMatchObject({
      provider: 'gatewayapi:v1',
      targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'orders' },
      skipAnalysis: false,
      service: { port: 8080, targetPort: 8080, gatewayRefs: [{ name: 'public', namespace: 'gateway-system' }], hosts: ['orders-shop.apps.example.com'] },
      analysis: {
        interval: '15s',
        threshold: 5,
        stepWeight: 20,
        maxWeight: 60,
        metrics: [
          { name: 'success-rate', templateRef: { name: 'orders-success-rate' }, thresholdRange: { min: 99 }, interval: '60s' },
          { name: 'latency-p99', templateRef: { name: 'orders-latency-p99' }, thresholdRange: { max: 500 }, interval: '60s' },
        ],
        webhooks: [
          { name: 'appserving-confirm-promotion', type: 'confirm-promotion', url: 'http://127.0.0.1:9114/flagger/v1/apps/a/releases/r/token/confirm-promotion', timeout: '5s' },
          { name: 'appserving-rollback', type: 'rollback', url: 'http://127.0.0.1:9114/flagger/v1/apps/a/releases/r/token/rollback', timeout: '5s' },
          { name: 'appserving-events', type: 'event', url: 'http://127.0.0.1:9114/flagger/v1/apps/a/releases/r/token/event', timeout: '5s' },
        ],
      },
    });
    expect(canary.spec.service.apex.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'appserving', 'appserving.dev/app-id': ids.app });
    const template = objects.find((o) => o.metadata.name === 'orders-success-rate');
    expect(template?.spec.provider).toEqual({ type: 'prometheus', address: 'http://127.0.0.1:26407' });
    expect(template?.spec.query).toContain('http_server_request_duration_seconds_count{namespace="{{ namespace }}",pod=~"{{ target }}-');
    const pod = one(objects, 'Deployment').spec.template;
    expect(pod.spec.initContainers[0]).toMatchObject({ name: 'otel-agent', command: ['cp', '/javaagent.jar', '/otel-agent/javaagent.jar'] });
    const env = Object.fromEntries(pod.spec.containers[0].env.map((e: { name: string; value: string }) => [e.name, e.value]));
    expect(env).toMatchObject({ JAVA_TOOL_OPTIONS: '-javaagent:/otel-agent/javaagent.jar -XX:MaxRAMPercentage=75.0 -Xss512k', OTEL_METRICS_EXPORTER: 'prometheus', OTEL_EXPORTER_PROMETHEUS_PORT: '9464' });
    expect(pod.metadata.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9464' });
  });

  it("canary on the gateway's metrics with the load tester: no agent, Traefik's queries, a rollout webhook running hey through the gateway", async () => {
    const objects = await render(
      buildChartValues(
        input(
          { strategy: 'canary', volumes: [], analysis: { interval_seconds: 10, load_rps: 5 } },
          { analysisMetrics: 'traefik', loadTesterUrl: 'http://127.0.0.1:26413', appGatewayAddress: 'http://127.0.0.1:26411' },
        ),
      ),
    );
    const canary = one(objects, 'Canary');
    expect(canary.spec.analysis.webhooks[0]).toEqual({
      name: 'appserving-load-test',
      type: 'rollout',
      url: 'http://127.0.0.1:26413/',
      timeout: '15s',
      metadata: { type: 'cmd', cmd: 'hey -z 10s -q 5 -c 1 -host orders-canary-shop.apps.example.com http://127.0.0.1:26411/' },
    });
    expect(objects.find((o) => o.metadata.name === 'orders-success-rate')?.spec.query).toContain('traefik_service_requests_total{service=~"{{ namespace }}-{{ target }}-canary-http-[0-9]+@kubernetesgateway"');
    const pod = one(objects, 'Deployment').spec.template;
    expect(pod.spec.initContainers).toBeUndefined();
    expect(pod.spec.containers[0].lifecycle).toEqual({ preStop: { sleep: { seconds: 5 } } });
  });

  it('canary on nginx: the app\'s Ingress, which Flagger clones and weights', async () => {
    const objects = await render(buildChartValues(input({ strategy: 'canary' }, { trafficProvider: 'nginx' })));
    const canary = one(objects, 'Canary');
    expect(canary.spec.provider).toBe('nginx');
    expect(canary.spec.ingressRef).toEqual({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', name: 'orders' });
    expect(canary.spec.analysis.webhooks.map((w: { type: string }) => w.type)).toEqual(['rollback', 'event']);
    expect(one(objects, 'Ingress').spec).toEqual({
      ingressClassName: 'nginx',
      rules: [{ host: 'orders-shop.apps.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'orders', port: { number: 8080 } } } }] } }],
    });
  });

  it('blue-green: on the Gateway the route switches at once (no route of the chart\'s own), else the Services; iterations, the promotion gate; a fast rollback skips the analysis', async () => {
    const onGateway = await render(buildChartValues(input({ strategy: 'blue-green', volumes: [] })));
    expect(one(onGateway, 'Canary').spec).toMatchObject({ provider: 'gatewayapi:v1', service: { gatewayRefs: [{ name: 'public', namespace: 'gateway-system' }], hosts: ['orders-shop.apps.example.com'] } });
    expect(onGateway.filter((o) => o.kind === 'HTTPRoute').map((o) => o.metadata.name)).toEqual(['orders-canary']);
    const objects = await render(buildChartValues(input({ strategy: 'blue-green' }, { appGateway: '', appDomain: '' })));
    const canary = one(objects, 'Canary');
    expect(canary.spec.provider).toBe('kubernetes');
    expect(canary.spec.analysis).toMatchObject({ iterations: 10, threshold: 5 });
    expect(canary.spec.analysis.stepWeight).toBeUndefined();
    expect(canary.spec.analysis.webhooks[0].type).toBe('confirm-promotion');
    const skipped = { ...buildChartValues({ ...input({ strategy: 'blue-green' }), skipAnalysis: true }) };
    expect(one(await render(skipped), 'Canary').spec.skipAnalysis).toBe(true);
  });
});

describe('app chart: values the schema refuses', () => {
  const good = () => buildChartValues(input());
  it.each([
    ['a port out of range', (v: any) => (v.port = 70000), "at '/port'"],
    ['a malformed image reference', (v: any) => (v.image.reference = 'Not An Image!'), "at '/image/reference'"],
    ['an unknown value (a typo)', (v: any) => (v.replica = 3), "additional properties 'replica' not allowed"],
    ['an environment variable name with a space', (v: any) => (v.env['BAD NAME'] = 'x'), "at '/env': additional properties 'BAD NAME' not allowed"],
    ['a volume named like the config mount', (v: any) => (v.volumes = [{ name: 'config', mountPath: '/x', size: '1Gi' }]), "at '/volumes/0/name'"],
    ['a relative mount path', (v: any) => (v.config.mountPath = 'config'), "at '/config/mountPath'"],
    ['a custom preset without cpu', (v: any) => (v.resources = { preset: 'custom', cpu: '', memory: '1Gi' }), "at '/resources/cpu'"],
    ['a canary on the kubernetes provider', (v: any) => ((v.strategy = 'canary'), (v.rollout.provider = 'kubernetes')), "at '/rollout/provider'"],
    ['an analysed canary without Prometheus', (v: any) => ((v.strategy = 'canary'), (v.rollout.provider = 'gatewayapi:v1'), (v.rollout.prometheusUrl = '')), "at '/rollout/prometheusUrl'"],
    ['a label that is not label-safe', (v: any) => (v.release.label = 'v1+build'), "at '/release/label'"],
    ['a node selector value that is not a label value', (v: any) => (v.placement.nodeSelector = { pool: 'not a label' }), "at '/placement/nodeSelector/pool'"],
  ])('refuses %s, naming the value', async (_what, change, where) => {
    const values = good() as any;
    change(values);
    const message = await refused(values);
    expect(message).toContain("values don't meet the specifications of the schema");
    expect(message).toContain(where);
  });

  it('refuses relations the schema cannot express, at render time', async () => {
    const values = good() as any;
    values.volumes = [
      { name: 'data', mountPath: '/data', size: '1Gi' },
      { name: 'logs', mountPath: '/data', size: '1Gi' },
    ];
    expect(await refused(values)).toContain('volumes[logs].mountPath /data is also volumes[data].mountPath');
    const scaling = good() as any;
    scaling.autoscaling = { enabled: true, minReplicas: 4, maxReplicas: 2, cpuPercent: 80 };
    expect(await refused(scaling)).toContain('autoscaling.maxReplicas (2) is below autoscaling.minReplicas (4)');
  });
});
