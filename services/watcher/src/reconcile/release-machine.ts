import type { ReleaseStatus } from '@appserving/shared';
import { isTerminalStatus, rolloutStatuses, splitImage, statusRank, type Diagnosis, type ReleaseFacts, type ReleaseState } from './release-state.ts';

/**
 * Everything that can move a release: events from the builder and deployer, commands, and verdicts the
 * watcher reached from what it observed on the cluster (rollout, diagnosis, deadline).
 */
export type ReleaseInput =
  | { type: 'build-started' }
  | { type: 'build-succeeded'; image: string; digest: string }
  | { type: 'build-failed'; diagnosis: Diagnosis }
  | { type: 'deploy-requested'; image: string }
  | { type: 'applied'; helmRevision?: number | undefined }
  | { type: 'deploy-failed'; diagnosis: Diagnosis }
  | { type: 'canary-weight'; weight: number }
  | { type: 'waiting-promotion' }
  | { type: 'promoting' }
  | { type: 'rollout-succeeded'; reason: string }
  | { type: 'rollout-failed'; diagnosis: Diagnosis }
  | { type: 'aborted'; reason: string }
  | { type: 'deadline-exceeded'; diagnosis: Diagnosis }
  | { type: 'cancelled'; diagnosis: Diagnosis }
  | { type: 'superseded'; byRollback: boolean; by: string };

const running = (state: ReleaseState) => !isTerminalStatus(state.status);
const before = (state: ReleaseState, status: ReleaseStatus) => statusRank(state.status) < statusRank(status);

function withImage(state: ReleaseState, image: string, digest?: string): ReleaseState {
  if (state.imageDigest !== null) return state;
  // A built image comes with its digest; a deployed one may carry it in its reference (`repo@sha256:…`).
  const split = splitImage(digest === undefined ? (state.imageRef ?? image) : image);
  const next = { ...state, imageRef: split.ref, imageDigest: digest ?? split.digest };
  return next.imageRef === state.imageRef && next.imageDigest === state.imageDigest ? state : next;
}

function fail(state: ReleaseState, diagnosis: Diagnosis): ReleaseState {
  return { ...state, status: 'failed', reason: diagnosis.summary, diagnosis };
}

/**
 * The release status machine (docs/release-lifecycle.md): the next state of a release after one input,
 * computed from a copy; the input is ignored when it would move the release backwards or out of a
 * terminal state. Pure: the caller compares the result with the current state and writes only a change.
 */
export function applyInput(state: ReleaseState, facts: ReleaseFacts, input: ReleaseInput): ReleaseState {
  switch (input.type) {
    case 'build-started':
      return state.status === 'pending' ? { ...state, status: 'building', reason: 'build started' } : state;

    case 'build-succeeded': {
      if (!running(state)) return state;
      const next = withImage(state, input.image, input.digest);
      if (!before(state, 'built')) return next;
      return facts.taskType === 'build'
        ? { ...next, status: 'built', reason: `image ${input.image} pushed` }
        : { ...next, status: 'deploying', reason: `image ${input.image} built; deploying` };
    }

    case 'build-failed':
      return state.status === 'pending' || state.status === 'building' ? fail(state, input.diagnosis) : state;

    case 'deploy-requested': {
      if (!running(state) || facts.taskType === 'build') return state;
      const next = withImage(state, input.image);
      return before(state, 'deploying') ? { ...next, status: 'deploying', reason: `deploying ${input.image}` } : next;
    }

    case 'applied': {
      if (!running(state)) return state;
      const next = input.helmRevision !== undefined && state.helmRevision === null ? { ...state, helmRevision: input.helmRevision } : state;
      return before(state, 'progressing') && facts.taskType !== 'build' ? { ...next, status: 'progressing', reason: 'applied to the cluster; rolling out' } : next;
    }

    case 'deploy-failed':
      return running(state) && state.status !== 'built' ? fail(state, input.diagnosis) : state;

    case 'canary-weight': {
      if (!(rolloutStatuses.has(state.status) && statusRank(state.status) <= statusRank('progressing'))) return state;
      if (state.status === 'progressing' && state.canaryWeight === input.weight) return state;
      return { ...state, status: 'progressing', canaryWeight: input.weight, reason: `analysis running; ${input.weight}% of traffic on the new version` };
    }

    case 'waiting-promotion':
      return rolloutStatuses.has(state.status) && before(state, 'waiting-promotion')
        ? { ...state, status: 'waiting-promotion', reason: 'analysis passed; waiting for promotion (POST /apps/{id}/promote or /abort)' }
        : state;

    case 'promoting':
      return rolloutStatuses.has(state.status) && before(state, 'promoting') ? { ...state, status: 'promoting', reason: 'promoting the new version' } : state;

    case 'rollout-succeeded':
      return rolloutStatuses.has(state.status) ? { ...state, status: 'succeeded', reason: input.reason, diagnosis: null, canaryWeight: null } : state;

    case 'rollout-failed':
      return running(state) && state.status !== 'pending' && state.status !== 'built' ? fail(state, input.diagnosis) : state;

    case 'aborted':
      return rolloutStatuses.has(state.status) ? { ...state, status: 'aborted', reason: input.reason, canaryWeight: null } : state;

    case 'deadline-exceeded':
    case 'cancelled':
      return running(state) ? fail(state, input.diagnosis) : state;

    case 'superseded':
      return state.status === 'succeeded'
        ? { ...state, status: input.byRollback ? 'rolled-back' : 'superseded', reason: `${input.byRollback ? 'rolled back to' : 'replaced by'} ${input.by}` }
        : state;
  }
}

/** Applies inputs in order (e.g. `applied` then what the cluster already shows). */
export function applyInputs(state: ReleaseState, facts: ReleaseFacts, inputs: readonly ReleaseInput[]): ReleaseState {
  return inputs.reduce((current, input) => applyInput(current, facts, input), state);
}
