import { terminalStatuses, type ReleaseStatus, type Strategy, type TaskType } from '@appserving/shared';

/** Failure classes the watcher can name (DiagnosisV1.code). */
export const diagnosisCodes = [
  'image-pull',
  'crash-loop',
  'oom-killed',
  'unschedulable',
  'readiness-failing',
  'progress-deadline-exceeded',
  'canary-analysis-failed',
  'flagger-not-acting',
  'build-failed',
  'helm-failed',
  'deadline-exceeded',
  'cancelled',
] as const;
export type DiagnosisCode = (typeof diagnosisCodes)[number];

/** Why a release failed, in words a Java developer can act on (DiagnosisV1 on the wire). */
export interface Diagnosis {
  code: DiagnosisCode;
  summary: string;
  hint: string;
  evidence: Record<string, unknown>;
}

/** The status part of a release row: what the watcher decides and writes. */
export interface ReleaseState {
  status: ReleaseStatus;
  reason: string | null;
  diagnosis: Diagnosis | null;
  imageRef: string | null;
  imageDigest: string | null;
  helmRevision: number | null;
  canaryWeight: number | null;
}

/** What does not change during a release's life and shapes its path through the machine. */
export interface ReleaseFacts {
  taskType: TaskType;
  strategy: Strategy;
}

/**
 * Order of the running statuses: the watcher only moves a release forward, so a late or replayed event
 * (build.started after the rollout began) changes nothing.
 */
const rank: Record<ReleaseStatus, number> = {
  pending: 0,
  building: 1,
  built: 2,
  deploying: 3,
  progressing: 4,
  'waiting-promotion': 5,
  promoting: 6,
  succeeded: 10,
  failed: 10,
  aborted: 10,
  'rolled-back': 11,
  superseded: 11,
};

export function statusRank(status: ReleaseStatus): number {
  return rank[status];
}

export function isTerminalStatus(status: ReleaseStatus): boolean {
  return terminalStatuses.has(status);
}

/** Statuses in which the release has been handed to the cluster (helm) and is watched there. */
export const rolloutStatuses: ReadonlySet<ReleaseStatus> = new Set(['deploying', 'progressing', 'waiting-promotion', 'promoting']);

export function sameState(a: ReleaseState, b: ReleaseState): boolean {
  return (
    a.status === b.status &&
    a.reason === b.reason &&
    a.imageRef === b.imageRef &&
    a.imageDigest === b.imageDigest &&
    a.helmRevision === b.helmRevision &&
    a.canaryWeight === b.canaryWeight &&
    JSON.stringify(a.diagnosis) === JSON.stringify(b.diagnosis)
  );
}

/** Whether a change is one subscribers hear about (a status event): status, traffic weight or diagnosis. */
export function isAnnounced(before: ReleaseState, after: ReleaseState): boolean {
  return before.status !== after.status || before.canaryWeight !== after.canaryWeight;
}

/**
 * The status event's id: derived from the release and the state it announces, so a replay or a second
 * replica announcing the same change publishes (and records) it once.
 */
export function statusEventId(releaseId: string, state: Pick<ReleaseState, 'status' | 'canaryWeight'>): string {
  const weight = state.status === 'progressing' && state.canaryWeight !== null ? `.w${state.canaryWeight}` : '';
  return `${releaseId}.status.${state.status}${weight}`;
}

/** Splits `registry/repo:tag@sha256:…` into the reference and the digest, when it carries one. */
export function splitImage(image: string): { ref: string; digest: string | null } {
  const at = image.lastIndexOf('@');
  if (at > 0 && /^sha256:[a-f0-9]{64}$/.test(image.slice(at + 1))) return { ref: image.slice(0, at), digest: image.slice(at + 1) };
  return { ref: image, digest: null };
}
