import { AnalysisSpecV1, AppType, artifactUrlSchema, AutoscalingSpecV1, fieldRules, HealthThresholdsV1, namedMap, ResourceSpecV1, ruleSchema, specLimits, Strategy, TaskType, VolumeSpecV1 } from '@appserving/shared';
import Type from 'typebox';

/**
 * REST schemas of /apps. They validate requests (unknown fields refused by name) and generate the OpenAPI
 * document; each schema and its type share one name. Field names are the seed's (snake_case).
 */
export const dnsLabelMessage =
  'must be a DNS label: lowercase letters, digits and "-", starting with a letter and ending with a letter or digit, at most 40 characters (helm release names are limited to 53 and the platform adds suffixes)';

export const AppNameParam = Type.String({ pattern: '^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$', errorMessage: dnsLabelMessage, examples: ['my-petclinic'] });

const Port = Type.Union([Type.Integer({ minimum: 1, maximum: 65535 }), Type.String({ pattern: '^[1-9][0-9]{0,4}$' })], {
  errorMessage: 'must be a port number from 1 to 65535 (a number or a numeric string)',
  examples: [8080, '8080'],
});

const VersionLabel = Type.Union([Type.Integer({ minimum: 1, maximum: 2_147_483_647 }), Type.String({ pattern: fieldRules.versionLabel.pattern })], {
  errorMessage: fieldRules.versionLabel.errorMessage,
  examples: ['v1'],
});

/**
 * The fields of a release. Every name and value follows the shared rules of `@appserving/shared`
 * (contracts/field-rules.ts), the ones the commands of any producer are checked with.
 */
const specFields = {
  version: Type.Optional(VersionLabel),
  task_type: Type.Optional(TaskType),
  app_type: Type.Optional(AppType),
  artifact_url: Type.Optional(artifactUrlSchema({ description: 'http(s) URL of a jar, war or zip, or an artifact_url returned by POST /artifacts.' })),
  artifact_sha256: Type.Optional(Type.String({ pattern: '^[a-f0-9]{64}$', errorMessage: 'must be 64 lowercase hex characters' })),
  image_url: Type.Optional(
    ruleSchema('imageReference', {
      minLength: 1,
      description: 'An existing image to deploy (task_type deploy): [registry[:port]/]repository[:tag][@sha256:…]. Its registry must be the platform\'s own, one the cluster allows, or one on a public address; a digest pins it.',
      examples: ['registry.example.com/team/orders:1.4.2@sha256:' + '0'.repeat(64)],
    }),
  ),
  port: Type.Optional(Port),
  resource_spec: Type.Optional(ResourceSpecV1),
  profile: Type.Optional(ruleSchema('profile', { description: 'Spring profile (SPRING_PROFILES_ACTIVE).' })),
  strategy: Type.Optional(Strategy),
  env: Type.Optional(namedMap('envName', Type.String({ maxLength: specLimits.maxEnvValueLength }), { maxProperties: specLimits.maxEntries, description: 'Environment variables of the app.' })),
  config: Type.Optional(namedMap('fileName', Type.String({ maxLength: specLimits.maxPayloadBytes }), { maxProperties: specLimits.maxEntries, description: 'Files mounted from a ConfigMap.' })),
  secrets: Type.Optional(
    namedMap('fileName', Type.String({ maxLength: specLimits.maxPayloadBytes }), {
      maxProperties: specLimits.maxEntries,
      description: 'Files mounted from a Secret. Write-only: never returned, never logged.',
      writeOnly: true,
    }),
  ),
  volumes: Type.Optional(Type.Array(VolumeSpecV1, { maxItems: specLimits.maxVolumes })),
  replicas: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
  health_path: Type.Optional(ruleSchema('healthPath')),
  build_method: Type.Optional(
    Type.Enum(['direct', 'kaniko'], {
      description: 'How the image is built: direct (jar and war: the artifact pushed as a layer on the base image, no Pod) or kaniko (a Kaniko Pod runs a generated Dockerfile). Default: the builder\'s setting for jar and war; Python always uses kaniko.',
    }),
  ),
  analysis: Type.Optional(AnalysisSpecV1),
  autoscaling: Type.Optional(AutoscalingSpecV1),
  health_thresholds: Type.Optional(HealthThresholdsV1),
};

export const CreateAppBody = Type.Object(
  {
    name: AppNameParam,
    target_cluster_id: Type.Optional(
      Type.String({
        pattern: '^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[a-z]([-a-z0-9]{0,61}[a-z0-9])?)$',
        errorMessage: 'must be a cluster id (uuid) or name (a DNS label)',
        description: 'Cluster id or name; the default cluster when left out.',
      }),
    ),
    project: Type.Optional(Type.String({ pattern: '^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$', errorMessage: 'must be a DNS label' })),
    ...specFields,
  },
  { additionalProperties: false },
);
export type CreateAppBody = Type.Static<typeof CreateAppBody>;

export const UpdateAppBody = Type.Object(specFields, { additionalProperties: false });
export type UpdateAppBody = Type.Static<typeof UpdateAppBody>;

export const RollbackBody = Type.Object(
  {
    to_version: Type.Optional(VersionLabel),
    skip_analysis: Type.Optional(Type.Boolean({ description: 'Restore fast, without canary analysis.' })),
  },
  { additionalProperties: false },
);
export type RollbackBody = Type.Static<typeof RollbackBody>;

export const AppIdParams = Type.Object({ id: Type.String({ format: 'uuid', errorMessage: 'must be an app id (uuid)' }) });
export type AppIdParams = Type.Static<typeof AppIdParams>;

export const ReleaseParams = Type.Object({ id: AppIdParams.properties.id, version: Type.String({ pattern: fieldRules.versionLabel.pattern, errorMessage: 'must be a release version number or label' }) });
export type ReleaseParams = Type.Static<typeof ReleaseParams>;

export const ReleaseView = Type.Object({
  id: Type.String(),
  version: Type.Integer(),
  version_label: Type.String(),
  task_type: TaskType,
  strategy: Strategy,
  status: Type.String(),
  status_reason: Type.Union([Type.String(), Type.Null()]),
  diagnosis: Type.Union([Type.Unknown(), Type.Null()]),
  image: Type.Union([Type.String(), Type.Null()]),
  endpoint: Type.Union([Type.String(), Type.Null()], { description: "The URL people reach this release at (its route on the cluster's traffic gateway), once applied; null when it is reachable inside its cluster only." }),
  spec: Type.Record(Type.String(), Type.Unknown(), { description: 'The desired spec; secret values are never included, only their names.' }),
  created_at: Type.String(),
  finished_at: Type.Union([Type.String(), Type.Null()]),
});
export type ReleaseView = Type.Static<typeof ReleaseView>;

export const OperationView = Type.Object({ id: Type.String(), kind: Type.String(), status: Type.String(), command_id: Type.String() });

export const DeleteAppQuery = Type.Object(
  {
    force: Type.Optional(
      Type.Enum(['true', 'false'], {
        errorMessage: 'must be true or false',
        description:
          'true: forget the app on the platform at once, whether or not its cluster answers (one bounded attempt cleans it up); the answer says what may be left on the cluster and how to remove it.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type DeleteAppQuery = Type.Static<typeof DeleteAppQuery>;

export const ListAppsQuery = Type.Object(
  {
    name: Type.Optional(AppNameParam),
    project: Type.Optional(Type.String({ pattern: '^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$', errorMessage: 'must be a project name (a DNS label)' })),
    limit: Type.Optional(Type.String({ pattern: '^([1-9][0-9]{0,2}|1000)$', errorMessage: 'must be a number from 1 to 1000' })),
    after: Type.Optional(Type.String({ format: 'uuid', errorMessage: 'must be the `next` of a previous page (an app id)', description: 'The `next` of the previous page: the apps after it.' })),
  },
  { additionalProperties: false },
);
export type ListAppsQuery = Type.Static<typeof ListAppsQuery>;

export const AppView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  cluster: Type.Object({ id: Type.String(), name: Type.String() }),
  project: Type.Union([Type.Object({ id: Type.String(), name: Type.String() }), Type.Null()], { description: "The app's project; null for an app of no project (admins only)." }),
  app_type: AppType,
  strategy: Strategy,
  status: Type.String(),
  health_reason: Type.Union([Type.String(), Type.Null()], {
    description:
      'Why the app is `degraded`: its live release lost pods, or its error ratio or p95 latency crossed a threshold of `health_thresholds` (each named with the value measured); null otherwise.',
  }),
  current_release: Type.Union([ReleaseView, Type.Null()]),
  operation: Type.Union([OperationView, Type.Null()]),
  endpoint: Type.Union([Type.String(), Type.Null()], {
    description: "Where the app answers once deployed: its public URL when exposed (endpoints.public), else its in-cluster URL (endpoints.cluster).",
  }),
  endpoints: Type.Object({
    public: Type.Union([Type.String(), Type.Null()], {
      description: "The URL people open (the app's route on the cluster's traffic gateway, e.g. http://shop-team.localhost:26411/ on the local cluster); null when the app is not exposed.",
    }),
    cluster: Type.Union([Type.String(), Type.Null()], { description: 'The URL other apps of the cluster reach it at; null until deployed.' }),
  }),
  created_at: Type.String(),
});
export type AppView = Type.Static<typeof AppView>;

export const AppList = Type.Object({
  items: Type.Array(AppView),
  next: Type.Union([Type.String(), Type.Null()], { description: 'More apps follow: pass this as `after` for the next page; null on the last page.' }),
});

export const ErrorBody = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  }),
});
