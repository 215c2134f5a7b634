/**
 * The parts of the gateway's answers the CLI reads (docs/api.md, /openapi.json). Types only: the CLI carries
 * no code of the services, so it installs on its own; the integration tests run it against the real gateway.
 */
export interface Diagnosis {
  code: string;
  summary: string;
  hint: string;
  evidence: Record<string, unknown>;
}

export interface ReleaseView {
  id: string;
  version: number;
  version_label: string;
  task_type: 'build' | 'deploy' | 'all';
  strategy: string;
  status: string;
  status_reason: string | null;
  diagnosis: Diagnosis | null;
  image: string | null;
  spec: Record<string, unknown>;
  created_at: string;
  finished_at: string | null;
}

export interface OperationView {
  id: string;
  kind: string;
  status: string;
  command_id: string;
}

export interface AppView {
  id: string;
  name: string;
  cluster: { id: string; name: string };
  app_type: string;
  strategy: string;
  status: string;
  current_release: ReleaseView | null;
  operation: OperationView | null;
  endpoint: string | null;
  /** `public`: the URL people open (null when the app is not exposed); `cluster`: its in-cluster URL. */
  endpoints?: { public: string | null; cluster: string | null };
  created_at: string;
}

export interface Accepted {
  app: AppView;
  release: ReleaseView;
  operation: OperationView;
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

export interface TimelineEntry {
  id: string;
  event_id: string;
  type: string;
  source: string;
  release_id: string | null;
  occurred_at: string;
  recorded_at: string;
  data: unknown;
}

/** A CloudEvent as the SSE stream and the timeline carry it. */
export interface CloudEvent {
  id: string;
  type: string;
  source?: string;
  subject?: string;
  time?: string;
  data?: Record<string, unknown>;
}

export interface PodLogs {
  name: string;
  release_id: string | null;
  phase: string;
  container: string;
  lines: string[];
  error?: string;
}

/** Release statuses after which nothing more happens to a release (contracts/events.ts `terminalStatuses`). */
export const terminalStatuses: ReadonlySet<string> = new Set(['built', 'succeeded', 'failed', 'aborted', 'rolled-back', 'superseded']);

/** Whether a release is done: `built` ends a build-only release and is only a step of the others. */
export function isTerminal(release: Pick<ReleaseView, 'status' | 'task_type'>): boolean {
  if (release.status === 'built') return release.task_type === 'build';
  return terminalStatuses.has(release.status);
}

/** A release that ended the way it was meant to. */
export function isSuccess(release: Pick<ReleaseView, 'status' | 'task_type'>): boolean {
  return release.status === 'succeeded' || (release.status === 'built' && release.task_type === 'build');
}
