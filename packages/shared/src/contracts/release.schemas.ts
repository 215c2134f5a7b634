import Type from 'typebox';
import { namedMap, ruleSchema, specLimits } from './field-rules.ts';

/** Closed sets shared by REST, messages and the database. */
export const appTypes = ['jar', 'war', 'python'] as const;
export const taskTypes = ['build', 'deploy', 'all'] as const;
export const strategies = ['rolling', 'canary', 'blue-green'] as const;
export const resourcePresets = ['small', 'medium', 'large'] as const;

export const AppType = Type.Enum(appTypes);
export type AppType = Type.Static<typeof AppType>;
export const TaskType = Type.Enum(taskTypes);
export type TaskType = Type.Static<typeof TaskType>;
export const Strategy = Type.Enum(strategies);
export type Strategy = Type.Static<typeof Strategy>;

/** An app name is a DNS label short enough to prefix every object helm creates for it. */
export const AppName = Type.String({ pattern: '^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$', minLength: 1, maxLength: 40 });

export const ResourceSpecV1 = Type.Union([
  Type.Enum(resourcePresets),
  Type.Object(
    {
      cpu: ruleSchema('cpu', { description: 'Kubernetes CPU quantity (request and limit), e.g. 500m or 2' }),
      memory: ruleSchema('memory', { description: 'Kubernetes memory quantity (request and limit), e.g. 512Mi' }),
    },
    { additionalProperties: false },
  ),
]);

/**
 * Canary and blue/green analysis of one app; every field is optional and falls back to `analysisDefaults`
 * (contracts/analysis.ts).
 */
export const AnalysisSpecV1 = Type.Object(
  {
    interval_seconds: Type.Optional(Type.Integer({ minimum: 10, maximum: 3600, description: 'Seconds between analysis steps (at least 10).' })),
    threshold: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'Failed checks before the release is rolled back.' })),
    step_weight: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'Canary: percent of traffic added per step.' })),
    max_weight: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'Canary: most traffic (percent) the new version gets before promotion.' })),
    iterations: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'Blue/green: analysis steps before promotion.' })),
    success_rate_min: Type.Optional(Type.Number({ minimum: 0, maximum: 100, description: 'Lowest acceptable percent of non-5xx responses.' })),
    latency_p99_max_ms: Type.Optional(Type.Integer({ minimum: 1, maximum: 600_000, description: 'Highest acceptable p99 request duration, ms.' })),
    metric_window_seconds: Type.Optional(Type.Integer({ minimum: 10, maximum: 3600, description: 'Range of the rate() in the analysis queries.' })),
    manual_promotion: Type.Optional(Type.Boolean({ description: 'Wait for a promote before promoting (default: true for blue-green, false for canary).' })),
    load_rps: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 1000,
        description: "Requests per second the load tester sends to the new version during each analysis step, so the analysis has traffic to judge without users (0: none; default: the platform's APPSERVING_ANALYSIS_LOAD_RPS).",
      }),
    ),
  },
  { additionalProperties: false },
);
export type AnalysisSpecV1 = Type.Static<typeof AnalysisSpecV1>;

/**
 * When the live app counts as `degraded` from its traffic (besides missing pods): the error ratio or the p95 latency at
 * the traffic gateway over `window`, read by the watcher with the queries of contracts/app-metrics.ts. Every threshold
 * is off unless set; `{}` turns them all off.
 */
export const HealthThresholdsV1 = Type.Object(
  {
    max_error_ratio: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'Highest acceptable share of 5xx answers (0 to 1, e.g. 0.05 for 5 %).' })),
    max_latency_p95_ms: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 600_000, description: 'Highest acceptable p95 request duration, ms.' })),
    window: Type.Optional(
      Type.String({
        pattern: '^([1-9][0-9]{0,3}s|[1-9][0-9]?m|1h)$',
        description: 'How far back the error ratio and latency are measured, from 30s to 1h (default 5m): at least four scrape intervals of the cluster\'s Prometheus.',
        examples: ['5m'],
      }),
    ),
  },
  { additionalProperties: false },
);
export type HealthThresholdsV1 = Type.Static<typeof HealthThresholdsV1>;
export const healthThresholdDefaults = { window: '5m', minWindowSeconds: 30, maxWindowSeconds: 3_600 } as const;

/** A HorizontalPodAutoscaler on CPU for the app's Deployment; `replicas` is then only the starting count. */
export const AutoscalingSpecV1 = Type.Object(
  {
    min_replicas: Type.Integer({ minimum: 1, maximum: 100 }),
    max_replicas: Type.Integer({ minimum: 1, maximum: 100 }),
    cpu_percent: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'Target average CPU utilisation (default 80).' })),
  },
  { additionalProperties: false },
);
export type AutoscalingSpecV1 = Type.Static<typeof AutoscalingSpecV1>;

/** Identifies the release a command or event is about. */
export const ReleaseRefV1 = Type.Object(
  {
    app_id: Type.String({ format: 'uuid' }),
    app_name: AppName,
    release_id: Type.String({ format: 'uuid' }),
    version: Type.Integer({ minimum: 1 }),
    cluster_id: Type.String({ format: 'uuid' }),
  },
  { additionalProperties: false },
);
export type ReleaseRefV1 = Type.Static<typeof ReleaseRefV1>;

/** An artifact URL: absolute, RFC 3986 (no spaces, no backslashes, no control characters). */
export const artifactUrlSchema = (options: { description?: string } = {}) =>
  Type.String({
    format: 'uri',
    minLength: 1,
    maxLength: 2048,
    errorMessage: 'must be an absolute http(s) URL (RFC 3986: no spaces, backslashes or control characters) or an artifact_url returned by POST /artifacts',
    ...options,
  });
export const ArtifactUrl = artifactUrlSchema();

/** A persistent volume of the app: a PVC `<app>-<name>` mounted at `mount_path`. */
export const VolumeSpecV1 = Type.Object(
  {
    name: ruleSchema('volumeName'),
    mount_path: ruleSchema('mountPath'),
    size: ruleSchema('volumeSize'),
  },
  { additionalProperties: false },
);

/**
 * The desired spec of a release, as it travels in commands. Secret values never travel on NATS: a spec
 * names its secrets (`secret_names`); their values are stored encrypted by the platform.
 */
export const ReleaseSpecV1 = Type.Object(
  {
    app_type: Type.Optional(AppType),
    artifact_url: Type.Optional(ArtifactUrl),
    artifact_sha256: Type.Optional(Type.String({ pattern: '^[a-f0-9]{64}$' })),
    image_url: Type.Optional(ruleSchema('imageReference', { minLength: 1 })),
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
    resource_spec: ResourceSpecV1,
    profile: Type.Optional(ruleSchema('profile')),
    strategy: Strategy,
    env: namedMap('envName', Type.String({ maxLength: specLimits.maxEnvValueLength }), { maxProperties: specLimits.maxEntries }),
    config: namedMap('fileName', Type.String(), { maxProperties: specLimits.maxEntries }),
    secret_names: Type.Array(ruleSchema('fileName'), { maxItems: specLimits.maxEntries, uniqueItems: true }),
    volumes: Type.Array(VolumeSpecV1, { maxItems: specLimits.maxVolumes }),
    replicas: Type.Integer({ minimum: 0, maximum: 100 }),
    health_path: Type.Optional(ruleSchema('healthPath')),
    /**
     * How the builder makes the image: `direct` (jar and war only: the artifact becomes a layer on the base image,
     * pushed over the registry API, no Pod) or `kaniko` (a Kaniko Pod runs a generated Dockerfile). Absent: the
     * builder's default for the app type (docs/builder.md).
     */
    build_method: Type.Optional(Type.Enum(['kaniko', 'direct'])),
    /** Canary and blue/green analysis settings of the app (defaults in contracts/analysis.ts). */
    analysis: Type.Optional(AnalysisSpecV1),
    /** A HorizontalPodAutoscaler instead of a fixed replica count. */
    autoscaling: Type.Optional(AutoscalingSpecV1),
    /** When the live app shows `degraded` from its error ratio or latency (off unless set). */
    health_thresholds: Type.Optional(HealthThresholdsV1),
  },
  { additionalProperties: false },
);
export type ReleaseSpecV1 = Type.Static<typeof ReleaseSpecV1>;
