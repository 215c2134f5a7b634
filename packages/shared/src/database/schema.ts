// The read model as kysely sees it: one interface per table, combined into `Database`.
// The closed sets of the domain (app types, strategies, release statuses) are the contracts' own; the ones
// below are the database's. Both are the application's copy; migrations keep their own frozen copies, and
// `schema.test.ts` checks that the CHECK constraints in a migrated database accept exactly these values.
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';
import type { AppType, PodPlacement, ReleaseStatus, Strategy, TaskType } from '../contracts/index.ts';

/**
 * `pending`: no release live yet; `deploying`: a release is rolling out; `running`: the live release is
 * healthy; `degraded`: the live release is unhealthy; `failed`: nothing live and the last attempt failed;
 * `deleting` / `deleted`: uninstall in progress / done (the row and its history stay).
 */
export const APP_STATUSES = ['pending', 'deploying', 'running', 'degraded', 'failed', 'deleting', 'deleted'] as const;
export type AppStatus = (typeof APP_STATUSES)[number];

export const OPERATION_KINDS = ['create', 'update', 'rollback', 'promote', 'abort', 'delete'] as const;
export type OperationKind = (typeof OPERATION_KINDS)[number];

export const OPERATION_STATUSES = ['pending', 'running', 'succeeded', 'failed'] as const;
export type OperationStatus = (typeof OPERATION_STATUSES)[number];

/** At most one operation per app may be in one of these statuses (enforced by a partial unique index). */
export const ACTIVE_OPERATION_STATUSES = ['pending', 'running'] as const satisfies readonly OperationStatus[];

/** Constraint names callers match on, e.g. to map a unique violation to a 409. */
export const CONSTRAINTS = {
  oneActiveOperationPerApp: 'operations_one_active_per_app',
  operationCommandId: 'operations_command_id_unique',
  operationIdempotencyKey: 'operations_idempotency_key_unique',
  appNamePerCluster: 'apps_cluster_name_unique',
  clusterName: 'clusters_name_unique',
  oneDefaultCluster: 'clusters_one_default',
  releaseVersionPerApp: 'releases_app_version_unique',
  timelineEventId: 'timeline_event_id_unique',
  projectName: 'projects_name_unique',
  projectNamespacePerCluster: 'projects_cluster_namespace_unique',
  apiTokenHash: 'api_tokens_token_hash_unique',
  apiTokenProject: 'api_token_projects_pkey',
  idempotencyRecord: 'idempotency_records_pkey',
  appNamePerProject: 'apps_project_name_unique',
} as const;

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/**
 * A jsonb column: read back parsed, written as a JSON string (`JSON.stringify(value)`), because `pg`
 * would send a JS array as a Postgres array literal rather than as JSON.
 */
export type Json<T extends JsonValue = JsonValue> = ColumnType<T, string, string>;

/** timestamptz with a `now()` default; `pg` returns a Date. */
export type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
export type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string | undefined>;
export type Timestamp = ColumnType<Date, Date | string, Date | string>;
export type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

export interface ClustersTable {
  id: Generated<string>;
  name: string;
  api_server_url: string;
  /** Ciphertext only; encryption and decryption happen outside the database layer. */
  kubeconfig_encrypted: Buffer;
  is_default: Generated<boolean>;
  /** Prometheus that canary analysis on this cluster asks; null: canary and blue/green cannot be analysed there. */
  prometheus_url: ColumnType<string | null, string | null | undefined, string | null>;
  /** Where the pods of apps and builds on this cluster run (PodPlacement); null: anywhere. */
  placement: ColumnType<PodPlacement | null, string | null | undefined, string | null>;
  /** Registries (`host[:port]`) its apps may pull from besides the platform's own; null: any public registry. */
  image_registries: ColumnType<string[] | null, string | null | undefined, string | null>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  deleted_at: NullableTimestamp;
}

export interface AppsTable {
  id: Generated<string>;
  /** RFC 1035 label, unique per cluster among apps that are not deleted. */
  name: string;
  cluster_id: string;
  /** The project (a namespace on `cluster_id`) the app belongs to; null for apps made before projects existed. */
  project_id: ColumnType<string | null, string | null | undefined, string | null>;
  app_type: AppType;
  strategy: Strategy;
  current_release_id: string | null;
  /** Written by the watcher only (it is the one writer of status). */
  status: ColumnType<AppStatus, AppStatus | undefined, AppStatus>;
  /** Why the app is `degraded` (pods missing, a health threshold crossed with its measured value); null otherwise. Written by the watcher with the status. */
  health_reason: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  deleted_at: NullableTimestamp;
}

export interface ReleasesTable {
  id: Generated<string>;
  app_id: string;
  version: number;
  task_type: TaskType;
  /** Full snapshot of the desired spec, secret values left out (only their names). */
  spec: Json<JsonObject>;
  image_ref: string | null;
  image_digest: string | null;
  helm_revision: number | null;
  /** The URL people reach the release at (its route on the traffic gateway); null: inside the cluster only. */
  endpoint: ColumnType<string | null, string | null | undefined, string | null>;
  strategy: Strategy;
  /** Written by the watcher only. */
  status: ColumnType<ReleaseStatus, ReleaseStatus | undefined, ReleaseStatus>;
  status_reason: string | null;
  diagnosis: ColumnType<JsonValue | null, string | null | undefined, string | null>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  finished_at: NullableTimestamp;
  /** The version a person gave ("v1"); unique per app. Defaults to `v<version>`. */
  version_label: string;
  /** App secret values, encrypted by the secret box; never in `spec`. */
  secrets_encrypted: Buffer | null;
  /** Traffic weight on this release while a canary moves it; written by the watcher. */
  canary_weight: ColumnType<number | null, number | null | undefined, number | null>;
}

export interface OperationsTable {
  id: Generated<string>;
  app_id: string;
  release_id: string | null;
  kind: OperationKind;
  /** `finished_at` must be set exactly when the status is `succeeded` or `failed` (CHECK constraint). */
  status: ColumnType<OperationStatus, OperationStatus | undefined, OperationStatus>;
  /** The command's CloudEvent id, also its `Nats-Msg-Id`. */
  command_id: string;
  idempotency_key: string | null;
  request_hash: string | null;
  response: ColumnType<JsonValue | null, string | null | undefined, string | null>;
  created_at: CreatedAt;
  finished_at: NullableTimestamp;
}

export interface TimelineTable {
  /** bigserial; `pg` returns int8 as a string so no precision is lost. */
  id: ColumnType<string, never, never>;
  /** The CloudEvent id: inserting with `onConflict((oc) => oc.column('event_id').doNothing())` makes replays no-ops. */
  event_id: string;
  app_id: string;
  release_id: string | null;
  type: string;
  source: string;
  subject: string | null;
  occurred_at: Timestamp;
  recorded_at: CreatedAt;
  data: ColumnType<JsonValue, string | undefined, string>;
}

/** A namespace on a cluster; API tokens are scoped to projects. Name and (cluster, namespace) unique among live rows. */
export interface ProjectsTable {
  id: Generated<string>;
  /** RFC 1035 label. */
  name: string;
  cluster_id: string;
  /** RFC 1123 label: the Kubernetes namespace the project's apps run in. */
  namespace: string;
  created_at: CreatedAt;
  deleted_at: NullableTimestamp;
}

/**
 * A bearer token. Only `token_hash` (sha256 hex of the whole token) is stored; the plaintext is shown once,
 * when the token is created.
 */
export interface ApiTokensTable {
  id: Generated<string>;
  name: string;
  token_hash: string;
  /** The first 8 characters of the token's random part, to recognise a token in lists. */
  token_prefix: string;
  is_admin: Generated<boolean>;
  created_at: CreatedAt;
  last_used_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
}

export interface ApiTokenProjectsTable {
  token_id: string;
  project_id: string;
}

/** One answered request with an `Idempotency-Key`, per principal (the token id), replayed on a retry. */
export interface IdempotencyRecordsTable {
  principal: string;
  key: string;
  method: string;
  path: string;
  request_hash: string;
  status_code: number;
  response: ColumnType<JsonValue, string, string>;
  created_at: CreatedAt;
}

/** Commands written with the state they belong to, published after commit (see gateway adapters/outbox.ts). */
export interface OutboxTable {
  /** The CloudEvent id, also the Nats-Msg-Id. */
  id: string;
  subject: string;
  type: string;
  event: ColumnType<JsonValue, string, string>;
  created_at: CreatedAt;
  published_at: NullableTimestamp;
  attempts: Generated<number>;
  last_error: string | null;
}

/** One canary analysis step as the watcher observed it (the analysis record), once by event id. */
export interface CanaryAnalysisTable {
  id: ColumnType<string, never, never>;
  event_id: string;
  app_id: string;
  release_id: string;
  step: number;
  weight: number;
  phase: string;
  verdict: 'pass' | 'fail' | 'inconclusive';
  failed_checks: ColumnType<number, number | undefined, number>;
  /** CanaryMetricV1[] */
  metrics: ColumnType<JsonValue, string, string>;
  observed_at: Timestamp;
  recorded_at: CreatedAt;
}

export interface Database {
  canary_analysis: CanaryAnalysisTable;
  outbox: OutboxTable;
  clusters: ClustersTable;
  apps: AppsTable;
  releases: ReleasesTable;
  operations: OperationsTable;
  timeline: TimelineTable;
  projects: ProjectsTable;
  api_tokens: ApiTokensTable;
  api_token_projects: ApiTokenProjectsTable;
  idempotency_records: IdempotencyRecordsTable;
}

export type Cluster = Selectable<ClustersTable>;
export type NewCluster = Insertable<ClustersTable>;
export type ClusterUpdate = Updateable<ClustersTable>;

export type App = Selectable<AppsTable>;
export type NewApp = Insertable<AppsTable>;
export type AppUpdate = Updateable<AppsTable>;

export type Release = Selectable<ReleasesTable>;
export type NewRelease = Insertable<ReleasesTable>;
export type ReleaseUpdate = Updateable<ReleasesTable>;

export type Operation = Selectable<OperationsTable>;
export type NewOperation = Insertable<OperationsTable>;
export type OperationUpdate = Updateable<OperationsTable>;

export type TimelineEntry = Selectable<TimelineTable>;
export type NewTimelineEntry = Insertable<TimelineTable>;

export type Project = Selectable<ProjectsTable>;
export type NewProject = Insertable<ProjectsTable>;

export type ApiToken = Selectable<ApiTokensTable>;
export type NewApiToken = Insertable<ApiTokensTable>;

export type CanaryAnalysisRow = Selectable<CanaryAnalysisTable>;

export type IdempotencyRecord = Selectable<IdempotencyRecordsTable>;
export type NewIdempotencyRecord = Insertable<IdempotencyRecordsTable>;
