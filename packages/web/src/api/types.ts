/** What the REST API answers (docs/api.md), the parts the console reads. */
export interface Diagnosis {
  code: string;
  summary: string;
  hint: string;
  evidence?: Record<string, unknown>;
}

export interface ReleaseView {
  id: string;
  version: number;
  version_label: string;
  task_type: 'build' | 'deploy' | 'all';
  strategy: Strategy;
  status: string;
  status_reason: string | null;
  diagnosis: Diagnosis | null;
  image: string | null;
  spec: ReleaseSpec;
  created_at: string;
  finished_at: string | null;
}

export type Strategy = 'rolling' | 'canary' | 'blue-green';

export interface ReleaseSpec {
  app_type?: string;
  artifact_url?: string;
  image_url?: string;
  port?: number;
  resource_spec?: string | { cpu: string; memory: string };
  profile?: string;
  strategy?: Strategy;
  env?: Record<string, string>;
  config?: Record<string, string>;
  secret_names?: string[];
  replicas?: number;
  health_path?: string;
  analysis?: Record<string, unknown>;
}

export interface AppView {
  id: string;
  name: string;
  cluster: { id: string; name: string };
  app_type: string;
  strategy: Strategy;
  status: string;
  current_release: ReleaseView | null;
  operation: { id: string; kind: string; status: string } | null;
  endpoint: string | null;
  created_at: string;
  project: { id: string; name: string } | null;
}

export interface TimelineEntry {
  id: string;
  event_id: string;
  type: string;
  source: string;
  release_id: string | null;
  occurred_at: string;
  data: Record<string, unknown>;
}

export interface ClusterView {
  id: string;
  name: string;
  api_server_url: string;
  is_default: boolean;
  prometheus_url: string | null;
  /** The gateway's last test call to the cluster (docs/auth.md, "Clusters"). */
  health?: { status: 'ok' | 'unreachable' | 'unauthorized' | 'forbidden' | 'error' | 'unknown'; message: string; version: string | null; checked_at: string | null };
  created_at: string;
}

export interface ProjectView {
  id: string;
  name: string;
  cluster_id: string;
  namespace: string;
  created_at: string;
}

export interface TokenView {
  id: string;
  name: string;
  token_prefix: string;
  is_admin: boolean;
  project_ids: string[];
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface SessionView {
  csrf_token: string;
  token_prefix: string;
  is_admin: boolean;
  project_ids: string[];
  expires_at: string;
}

/** A CloudEvent from GET /apps/{id}/events. */
export interface StatusEvent {
  id: string;
  type: string;
  time?: string;
  data: Record<string, unknown> & { release?: { release_id: string; version: number } };
}

export interface CanaryMetric {
  name: string;
  value: number | null;
  threshold_min?: number;
  threshold_max?: number;
  verdict: string;
}

export interface CanaryAnalysis {
  step: number;
  weight: number;
  phase: string;
  verdict: string;
  failed_checks: number;
  metrics: CanaryMetric[];
}

/** GET /apps/{id}/metrics (AppMetricsV1 in packages/shared/src/contracts/app-metrics.ts). */
export type MetricTrack = 'stable' | 'primary' | 'canary';
export type MetricName =
  | 'requests_per_second'
  | 'error_ratio'
  | 'latency_p50_ms'
  | 'latency_p95_ms'
  | 'latency_p99_ms'
  | 'cpu_cores'
  | 'cpu_limit_cores'
  | 'memory_bytes'
  | 'memory_limit_bytes'
  | 'restarts'
  | 'ready_pods'
  | 'jvm_heap_used_bytes'
  | 'jvm_heap_max_bytes'
  | 'jvm_gc_seconds_per_second';
export interface MetricRelease {
  id: string;
  version: string;
}
export interface AppMetrics {
  app_id: string;
  start: string;
  end: string;
  step_seconds: number;
  tracks: { track: MetricTrack; release: MetricRelease | null }[];
  series: { metric: MetricName; track: MetricTrack; unit: string; points: [number, number][] }[];
  pods: { name: string; track: MetricTrack; release: MetricRelease | null; phase: string; ready: boolean; restarts: number }[];
  markers: { release: MetricRelease; at: string; kind: 'deployed' | 'failed' | 'rolled-back' }[];
  missing: { metric: MetricName; reason: string }[];
}

/** What GET /apps/{id}/logs?follow=true streams (Server-Sent Events). */
export interface LogLineEvent {
  pod: string;
  container: string;
  release_id: string | null;
  release_version: string | null;
  ts: string;
  line: string;
}
export interface LogPodEvent {
  pod: string;
  release_id: string | null;
  release_version: string | null;
  state: 'added' | 'removed' | 'restarted';
}
export interface LogDroppedEvent {
  count: number;
  reason: string;
}
