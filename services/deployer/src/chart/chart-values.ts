import {
  analysisMetrics,
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
    gate: { manualPromotion: boolean; webhookBase: string; webhookTimeout: string };
  };
}

export type ExposureSettings = Pick<
  ConfigOf<typeof deployerSettings>,
  'trafficProvider' | 'appGateway' | 'ingressClass' | 'appDomain' | 'otelAgent' | 'otelAgentImage' | 'volumeStorageClass'
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
  const provider = spec.strategy === 'canary' ? (settings.trafficProvider === 'nginx' ? 'nginx' : 'gatewayapi:v1') : 'kubernetes';
  const gateway = parseGateway(settings.appGateway);
  const host = hostOf(release.app_name, input.namespace, settings.appDomain);

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
      enabled: (appType === 'jar' || appType === 'war') && (settings.otelAgent === 'always' || (settings.otelAgent === 'analysed' && progressive)),
      image: settings.otelAgentImage,
      metricsPort: 9464,
    },
    expose: {
      kind: exposureKind(provider, settings, gateway.name !== '', host !== ''),
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
      queries: { requestSuccessRate: analysisMetrics.requestSuccessRate.query, requestDuration: analysisMetrics.requestDuration.query },
      gate: { manualPromotion: analysis.manual_promotion, webhookBase: input.gateWebhookBase, webhookTimeout: '5s' },
    },
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
