import {
  analysisMetricsOf,
  InputError,
  kubePlacement,
  labelValue,
  resolveAnalysis,
  type AppType,
  type KubePlacement,
  type PodPlacement,
  type ReleaseRefV1,
  type ReleaseSpecV1,
} from '@appserving/shared';
import type { ConfigOf } from '@appserving/shared';
import type { deployerSettings } from '../config.ts';

/**
 * The values of the appserving-app chart (services/deployer/chart/values.yaml), every key always present: the
 * chart's values.schema.json requires them all, so a value this builder forgets is refused by helm, not guessed.
 */
export interface ChartValues {
  app: { name: string; id: string; type: AppType };
  release: { id: string; version: number; label: string };
  image: { reference: string; pullPolicy: 'IfNotPresent'; pullSecrets: string[] };
  port: number;
  replicas: number;
  resources: { preset: 'small' | 'medium' | 'large' | 'custom'; cpu: string; memory: string };
  resourcePresets: Record<'small' | 'medium' | 'large', { requestCpu: string; requestMemory: string; limitCpu: string; limitMemory: string }>;
  shutdownDelaySeconds: number;
  healthPath: string;
  profile: string;
  javaToolOptions: string;
  env: Record<string, string>;
  config: { files: Record<string, string>; mountPath: string };
  secrets: { files: Record<string, string>; mountPath: string };
  volumes: { name: string; mountPath: string; size: string; storageClassName?: string }[];
  autoscaling: { enabled: boolean; minReplicas: number; maxReplicas: number; cpuPercent: number };
  otelAgent: { enabled: boolean; image: string; metricsPort: number };
  expose: { kind: 'none' | 'ingress' | 'httproute'; host: string; ingressClassName: string; gateway: { name: string; namespace: string } };
  placement: KubePlacement;
  strategy: ReleaseSpecV1['strategy'];
  rollout: {
    provider: 'kubernetes' | 'nginx' | 'gatewayapi:v1';
    skipAnalysis: boolean;
    progressDeadlineSeconds: number;
    analysis: {
      intervalSeconds: number;
      threshold: number;
      stepWeight: number;
      maxWeight: number;
      iterations: number;
      successRateMin: number;
      latencyP99MaxMs: number;
      metricWindowSeconds: number;
    };
    prometheusUrl: string;
    queries: { requestSuccessRate: string; requestDuration: string };
    /** A route of the new version's own (`<app>-canary` Service) on the Gateway: the load tester's and testers' way in. */
    canaryRoute: { host: string };
    /** Flagger's load tester, called at every analysis step with this command (empty url: no load). */
    loadTest: { url: string; cmd: string };
    gate: { manualPromotion: boolean; webhookBase: string; webhookTimeout: string };
  };
}

export type ExposureSettings = Pick<
  ConfigOf<typeof deployerSettings>,
  | 'trafficProvider'
  | 'appGateway'
  | 'ingressClass'
  | 'appDomain'
  | 'appUrl'
  | 'otelAgent'
  | 'otelAgentImage'
  | 'volumeStorageClass'
  | 'analysisMetrics'
  | 'loadTesterUrl'
  | 'analysisLoadRps'
  | 'appGatewayAddress'
>;

/**
 * The URL people reach a release at: its host name through the cluster's traffic gateway (APPSERVING_APP_URL),
 * when the chart gives it a route with a host name; null when it is reachable inside the cluster only.
 */
export function publicEndpoint(values: Pick<ChartValues, 'expose'>, urlTemplate: string): string | null {
  if (values.expose.kind === 'none' || !values.expose.host) return null;
  return urlTemplate.replace('{host}', values.expose.host);
}

export interface ChartValuesInput {
  release: ReleaseRefV1;
  spec: ReleaseSpecV1;
  image: string;
  skipAnalysis: boolean;
  /** The app's type when the spec does not say (the apps row). */
  appType: AppType;
  /** The version a person gave (`v1`, `1.4.2`). */
  versionLabel: string;
  namespace: string;
  /** Secret file name → content, opened from the release row. */
  secrets: Record<string, string>;
  /** The target cluster's Prometheus, for canary and blue-green analysis. */
  prometheusUrl: string | null;
  /** The target cluster's placement of pods (node selector, tolerations). */
  placement: PodPlacement | null;
  clusterName: string;
  /** This release's gate on the deployer (…/flagger/v1/apps/<app>/releases/<release>/<token>). */
  gateWebhookBase: string;
  settings: ExposureSettings;
}

/** Kept in one place so that docs/app-chart.md and the chart's values.yaml can be checked against them. */
export const resourcePresets: ChartValues['resourcePresets'] = {
  small: { requestCpu: '250m', requestMemory: '512Mi', limitCpu: '1', limitMemory: '512Mi' },
  medium: { requestCpu: '500m', requestMemory: '1Gi', limitCpu: '2', limitMemory: '1Gi' },
  large: { requestCpu: '1', requestMemory: '2Gi', limitCpu: '4', limitMemory: '2Gi' },
};

/** Canary and blue-green releases must reach a terminal Flagger phase within this long of no progress. */
const progressDeadlineSeconds = 600;

/**
 * The chart values of one release: what the deploy command asks for, resolved against the platform's settings.
 * Pure. Throws InputError (never retried: the release fails with the message) for what no retry can fix.
 */
export function buildChartValues(input: ChartValuesInput): ChartValues {
  const { release, spec, settings } = input;
  const appType = spec.app_type ?? input.appType;
  const progressive = spec.strategy !== 'rolling';
  const analysis = resolveAnalysis(spec.analysis, spec.strategy === 'blue-green' ? 'blue-green' : 'canary');
  const gateway = parseGateway(settings.appGateway);
  // Blue-green on a Gateway switches the route's weights, so every user moves to the new version at once; without
  // one it switches Services (the primary's pods are replaced one by one, both versions answering meanwhile).
  const provider =
    spec.strategy === 'canary'
      ? settings.trafficProvider === 'nginx'
        ? 'nginx'
        : 'gatewayapi:v1'
      : spec.strategy === 'blue-green' && settings.trafficProvider === 'gatewayapi' && gateway.name
        ? 'gatewayapi:v1'
        : 'kubernetes';
  const host = hostOf(release.app_name, input.namespace, settings.appDomain);
  const metrics = analysisMetricsOf(settings.analysisMetrics);

  if (provider === 'gatewayapi:v1' && !gateway.name) {
    throw new InputError(
      'canary_needs_gateway',
      'a canary release moves traffic on a Gateway API HTTPRoute, but no Gateway is configured: set APPSERVING_APP_GATEWAY on the deployer (or APPSERVING_TRAFFIC_PROVIDER=nginx)',
    );
  }
  if (progressive && !input.skipAnalysis && !input.prometheusUrl) {
    throw new InputError(
      'cluster_has_no_prometheus',
      `a ${spec.strategy} release is analysed with Prometheus, but cluster ${input.clusterName} has no Prometheus registered: register its prometheus_url, use strategy rolling, or skip the analysis`,
    );
  }
  if (spec.autoscaling && spec.autoscaling.max_replicas < spec.autoscaling.min_replicas) {
    throw new InputError('invalid_autoscaling', `autoscaling.max_replicas (${spec.autoscaling.max_replicas}) is below min_replicas (${spec.autoscaling.min_replicas})`);
  }
  const missing = spec.secret_names.filter((name) => !(name in input.secrets));
  if (missing.length > 0) {
    throw new InputError('secrets_missing', `the release names secrets ${missing.join(', ')} but no value is stored for them`);
  }

  const exposeKind = exposureKind(provider, settings, gateway.name !== '', host !== '');
  const canaryHost = progressive && exposeKind === 'httproute' && host ? hostOf(`${release.app_name}-canary`, input.namespace, settings.appDomain) : '';
  const loadTest = loadTestOf(input, analysis.interval_seconds, canaryHost);
  return {
    app: { name: release.app_name, id: release.app_id, type: appType },
    release: { id: release.release_id, version: release.version, label: labelValue(input.versionLabel) || `v${release.version}` },
    image: { reference: input.image, pullPolicy: 'IfNotPresent', pullSecrets: [] },
    port: spec.port,
    replicas: spec.replicas,
    resources:
      typeof spec.resource_spec === 'string'
        ? { preset: spec.resource_spec, cpu: '', memory: '' }
        : { preset: 'custom', cpu: spec.resource_spec.cpu, memory: spec.resource_spec.memory },
    resourcePresets,
    shutdownDelaySeconds: 5,
    healthPath: spec.health_path ?? '',
    profile: spec.profile ?? '',
    javaToolOptions: '-XX:MaxRAMPercentage=75.0',
    env: { ...spec.env },
    config: { files: { ...spec.config }, mountPath: '/app/config' },
    secrets: { files: { ...input.secrets }, mountPath: '/app/secrets' },
    volumes: spec.volumes.map((v) => ({
      name: v.name,
      mountPath: v.mount_path,
      size: v.size,
      ...(settings.volumeStorageClass ? { storageClassName: settings.volumeStorageClass } : {}),
    })),
    autoscaling: spec.autoscaling
      ? { enabled: true, minReplicas: spec.autoscaling.min_replicas, maxReplicas: spec.autoscaling.max_replicas, cpuPercent: spec.autoscaling.cpu_percent ?? 80 }
      : { enabled: false, minReplicas: 1, maxReplicas: 3, cpuPercent: 80 },
    otelAgent: {
      enabled:
        (appType === 'jar' || appType === 'war') &&
        (settings.otelAgent === 'always' || (settings.otelAgent === 'analysed' && progressive && settings.analysisMetrics === 'otel-agent')),
      image: settings.otelAgentImage,
      metricsPort: 9464,
    },
    expose: {
      kind: exposeKind,
      host,
      ingressClassName: settings.ingressClass,
      gateway,
    },
    placement: kubePlacement(input.placement),
    strategy: spec.strategy,
    rollout: {
      provider,
      skipAnalysis: input.skipAnalysis,
      progressDeadlineSeconds,
      analysis: {
        intervalSeconds: analysis.interval_seconds,
        threshold: analysis.threshold,
        stepWeight: analysis.step_weight,
        maxWeight: analysis.max_weight,
        iterations: analysis.iterations,
        successRateMin: analysis.success_rate_min,
        latencyP99MaxMs: analysis.latency_p99_max_ms,
        metricWindowSeconds: analysis.metric_window_seconds,
      },
      prometheusUrl: input.prometheusUrl ?? '',
      queries: { requestSuccessRate: metrics.requestSuccessRate.query, requestDuration: metrics.requestDuration.query },
      canaryRoute: { host: canaryHost },
      loadTest,
      gate: { manualPromotion: analysis.manual_promotion, webhookBase: input.gateWebhookBase, webhookTimeout: '5s' },
    },
  };
}

/**
 * The load tester's command for a release under analysis: `hey` for one analysis interval at the release's rate,
 * to the new version's own route (the Host header names it; the connection goes to APPSERVING_APP_GATEWAY_ADDRESS
 * when set, else to the route's URL). Every value is a number or a DNS name, so the command needs no quoting. A
 * release that asks for load where the platform cannot make it is refused; the platform's default is just dropped.
 */
function loadTestOf(input: ChartValuesInput, intervalSeconds: number, canaryHost: string): ChartValues['rollout']['loadTest'] {
  const { spec, settings } = input;
  const asked = spec.analysis?.load_rps;
  const rps = asked ?? settings.analysisLoadRps;
  if (spec.strategy === 'rolling' || input.skipAnalysis || rps === 0) return { url: '', cmd: '' };
  if (!settings.loadTesterUrl || !canaryHost) {
    if (asked === undefined) return { url: '', cmd: '' };
    throw new InputError(
      'load_test_unavailable',
      `analysis.load_rps ${asked} asks for a load test, but ${!settings.loadTesterUrl ? 'the platform has no load tester (APPSERVING_LOAD_TESTER_URL)' : 'the app has no route of its own on a Gateway (APPSERVING_APP_GATEWAY and APPSERVING_APP_DOMAIN)'}: leave load_rps out or set it to 0`,
    );
  }
  const target = settings.appGatewayAddress || settings.appUrl.replace('{host}', canaryHost).replace(/\/$/, '');
  return {
    url: `${settings.loadTesterUrl.replace(/\/$/, '')}/`,
    cmd: `hey -z ${intervalSeconds}s -q ${rps} -c 1 -host ${canaryHost} ${target}/`,
  };
}

/**
 * Canary traffic needs a route Flagger can weight: an Ingress (nginx) or an HTTPRoute (Gateway API), host name or
 * not. Otherwise an app is exposed only when a domain gives it a host name.
 */
function exposureKind(provider: ChartValues['rollout']['provider'], settings: ExposureSettings, hasGateway: boolean, hasHost: boolean): ChartValues['expose']['kind'] {
  if (provider === 'nginx') return 'ingress';
  if (provider === 'gatewayapi:v1') return 'httproute';
  if (!hasHost) return 'none';
  if (settings.trafficProvider === 'nginx') return 'ingress';
  return hasGateway ? 'httproute' : 'none';
}

function parseGateway(spec: string): { name: string; namespace: string } {
  if (!spec) return { name: '', namespace: '' };
  const slash = spec.indexOf('/');
  return slash < 0 ? { name: spec, namespace: '' } : { name: spec.slice(slash + 1), namespace: spec.slice(0, slash) };
}

/** `<app>-<namespace>.<domain>`: one wildcard DNS record and certificate (`*.<domain>`) serve every app. */
export function hostOf(app: string, namespace: string, domain: string): string {
  if (!domain) return '';
  const first = `${app}-${namespace}`;
  if (first.length > 63) {
    throw new InputError('host_name_too_long', `the host name ${first}.${domain} has a first label of ${first.length} characters; DNS allows 63 (shorten the app or project name)`);
  }
  return `${first}.${domain}`;
}
