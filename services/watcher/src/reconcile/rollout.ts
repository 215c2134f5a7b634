import { LABELS, type Strategy } from '@appserving/shared';
import type { KubernetesObject, V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import { timeOf } from './pod-problems.ts';

/** The parts of a Flagger Canary (flagger.app/v1beta1) the watcher reads. */
export interface FlaggerCanary extends KubernetesObject {
  spec?: {
    provider?: string;
    targetRef?: { name?: string };
    ingressRef?: { name?: string };
    service?: { name?: string };
    skipAnalysis?: boolean;
    suspend?: boolean;
    analysis?: {
      interval?: string;
      threshold?: number;
      iterations?: number;
      stepWeight?: number;
      maxWeight?: number;
      metrics?: CanaryMetricSpec[];
    };
  };
  status?: {
    phase?: string;
    failedChecks?: number;
    canaryWeight?: number;
    iterations?: number;
    lastTransitionTime?: string;
  };
}

export interface CanaryMetricSpec {
  name: string;
  interval?: string;
  threshold?: number;
  thresholdRange?: { min?: number; max?: number };
  templateRef?: { name: string; namespace?: string };
  templateVariables?: Record<string, string>;
}

/** What the cluster shows about one release's rollout, taken from the informer caches. */
export interface RolloutObservation {
  releaseId: string;
  strategy: Strategy;
  /** The app's Deployment (`<app>`): the rolling workload, or Flagger's target. */
  deployment: V1Deployment | undefined;
  /** ReplicaSets of Flagger's `<app>-primary` Deployment (they carry the promoted release's labels). */
  primaryReplicaSets: readonly V1ReplicaSet[];
  canary: FlaggerCanary | undefined;
  /** The watcher has seen Flagger analyse this release (persisted as a canary weight or a later status). */
  pickedUp: boolean;
  /** When the release was applied (entered `progressing`): older Flagger outcomes belong to earlier releases. */
  appliedAt: number | null;
  /** An abort was asked for this release (abort command or deploy step `aborted`). */
  abortRequested: boolean;
  /** The time of the observation. */
  now: number;
  /**
   * How long Flagger may leave an applied release alone before the watcher says it is not acting: at least this,
   * and three of the Canary's analysis intervals.
   */
  flaggerPickupMs: number;
}

export type RolloutVerdict =
  | { kind: 'not-applied' }
  | { kind: 'progressing'; canaryWeight: number | null; ready: number | null; desired: number | null }
  | { kind: 'waiting-promotion' }
  | { kind: 'promoting' }
  | { kind: 'succeeded'; reason: string }
  | { kind: 'progress-deadline'; deployment: string; message: string; desired: number; updated: number; available: number; deadlineSeconds: number | null }
  | { kind: 'canary-failed' }
  | { kind: 'aborted' }
  | { kind: 'flagger-idle'; canary: string; suspended: boolean; phase: string | null; waitedMs: number };

export function templateReleaseId(deployment: { spec?: { template?: { metadata?: { labels?: Record<string, string> } } } } | undefined): string | undefined {
  return deployment?.spec?.template?.metadata?.labels?.[LABELS.releaseId];
}

/** Where the rollout of a release stands, from what the cluster shows. Pure. */
export function rolloutVerdict(o: RolloutObservation): RolloutVerdict {
  if (o.strategy === 'rolling') return rollingVerdict(o);
  const verdict = flaggerVerdict(o);
  return verdict.kind === 'progressing' ? (flaggerIdle(o) ?? verdict) : verdict;
}

/** Phases Flagger rests in between releases: still showing one of them long after the apply, it has not acted. */
const RESTING_PHASES = new Set(['', 'Initialized', 'Succeeded', 'Failed']);
const CLOCK_SLACK_MS = 5_000;

/**
 * A progressive release Flagger has not touched since it was applied: no Canary, a Canary Flagger never gave a
 * status, or one still resting in the phase it reached before the apply. Flagger is then not running on the
 * cluster, does not watch the namespace, or the Canary is suspended; without this the release would wait for
 * its progressing deadline (20 min) to fail.
 */
function flaggerIdle(o: RolloutObservation): RolloutVerdict | undefined {
  if (o.pickedUp || o.appliedAt === null) return undefined;
  const canary = o.canary;
  const waitedMs = o.now - o.appliedAt;
  if (waitedMs < Math.max(o.flaggerPickupMs, 3 * goDurationMs(canary?.spec?.analysis?.interval))) return undefined;
  const phase = canary?.status?.phase ?? '';
  // A suspended Canary is skipped by Flagger whatever it shows (a new one still gets `Initializing`).
  const suspended = canary?.spec?.suspend === true;
  if (!suspended) {
    if (!RESTING_PHASES.has(phase)) return undefined;
    // Flagger's times have whole seconds and its clock is not ours: a change up to a few seconds before the
    // apply may be Flagger acting on this release.
    const changedAt = timeOf(canary?.status?.lastTransitionTime);
    if (changedAt !== undefined && changedAt > o.appliedAt - CLOCK_SLACK_MS) return undefined;
  }
  if (primaryOf(o.primaryReplicaSets, o.releaseId).promoted) return undefined;
  return { kind: 'flagger-idle', canary: canary?.metadata?.name ?? '', suspended, phase: canary ? phase || null : null, waitedMs };
}

/** A Go duration as Flagger's fields hold them (`30s`, `1m`, `1m30s`, `500ms`) in ms; 0 when absent or unreadable. */
export function goDurationMs(text: string | undefined): number {
  if (!text || !/^(?:[0-9]+(?:\.[0-9]+)?(?:ms|s|m|h))+$/.test(text)) return 0;
  const factor: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
  let total = 0;
  for (const [, value, unit] of text.matchAll(/([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g)) total += Number(value) * factor[unit!]!;
  return total;
}

function rollingVerdict(o: RolloutObservation): RolloutVerdict {
  const d = o.deployment;
  if (!d || templateReleaseId(d) !== o.releaseId) return { kind: 'not-applied' };
  const desired = d.spec?.replicas ?? 1;
  const status = d.status ?? {};
  const progressing = status.conditions?.find((c) => c.type === 'Progressing');
  const observed = (status.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0);
  const updated = status.updatedReplicas ?? 0;
  const available = status.availableReplicas ?? 0;
  if (observed && progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded') {
    return {
      kind: 'progress-deadline',
      deployment: d.metadata?.name ?? '',
      message: progressing.message ?? '',
      desired,
      updated,
      available,
      deadlineSeconds: d.spec?.progressDeadlineSeconds ?? null,
    };
  }
  // Complete as `kubectl rollout status` sees it: the controller saw this spec, every replica is new and
  // available, and no old replica is left.
  if (observed && updated >= desired && available >= desired && (status.replicas ?? 0) <= updated) {
    return { kind: 'succeeded', reason: `rollout complete: ${available}/${desired} pods available` };
  }
  return { kind: 'progressing', canaryWeight: null, ready: available, desired };
}

/**
 * Canary and blue/green, through Flagger's Canary. Flagger's phase belongs to whatever revision it last
 * handled, so a Succeeded or Failed left from the previous release must not decide this one: Succeeded
 * counts once the primary runs this release's pod template, Failed once Flagger was seen analysing it.
 */
function flaggerVerdict(o: RolloutObservation): RolloutVerdict {
  const d = o.deployment;
  if (!d || templateReleaseId(d) !== o.releaseId) return { kind: 'not-applied' };
  const canary = o.canary;
  const phase = canary?.status?.phase ?? '';
  const weight = canary?.status?.canaryWeight ?? 0;
  const primary = primaryOf(o.primaryReplicaSets, o.releaseId);
  switch (phase) {
    case '':
    case 'Initializing':
      return { kind: 'progressing', canaryWeight: null, ready: null, desired: null };
    case 'Initialized':
      // First release of the app: Flagger copied it to the primary and analyses nothing.
      return primary.promoted && primary.ready ? { kind: 'succeeded', reason: `initialized: ${primary.available} pods of the primary available` } : { kind: 'progressing', canaryWeight: null, ready: primary.available, desired: primary.desired };
    case 'Waiting':
    case 'Progressing':
      return { kind: 'progressing', canaryWeight: o.strategy === 'blue-green' ? 0 : weight, ready: null, desired: null };
    case 'WaitingPromotion':
      return { kind: 'waiting-promotion' };
    case 'Promoting':
    case 'Finalising':
      return { kind: 'promoting' };
    case 'Succeeded':
      if (primary.promoted || o.pickedUp) return { kind: 'succeeded', reason: 'promoted: the new version serves all traffic' };
      return { kind: 'progressing', canaryWeight: null, ready: null, desired: null };
    case 'Failed': {
      const changedAt = timeOf(canary?.status?.lastTransitionTime);
      const ours = o.pickedUp || (o.appliedAt !== null && changedAt !== undefined && changedAt > o.appliedAt);
      if (!ours) return { kind: 'progressing', canaryWeight: null, ready: null, desired: null };
      return o.abortRequested ? { kind: 'aborted' } : { kind: 'canary-failed' };
    }
    default:
      return { kind: 'progressing', canaryWeight: null, ready: null, desired: null };
  }
}

function primaryOf(replicaSets: readonly V1ReplicaSet[], releaseId: string): { promoted: boolean; ready: boolean; available: number; desired: number } {
  const ours = replicaSets.filter((rs) => rs.metadata?.labels?.[LABELS.releaseId] === releaseId);
  const current = ours.find((rs) => (rs.spec?.replicas ?? 0) > 0) ?? ours[0];
  if (!current) return { promoted: false, ready: false, available: 0, desired: 0 };
  const desired = current.spec?.replicas ?? 0;
  const available = current.status?.availableReplicas ?? 0;
  return { promoted: true, ready: available >= desired, available, desired };
}
