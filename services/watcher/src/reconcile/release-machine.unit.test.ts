import { describe, expect, it } from 'vitest';
import { buildFailedDiagnosis, cancelledDiagnosis, helmFailedDiagnosis } from './diagnosis.ts';
import { applyInput, applyInputs, type ReleaseInput } from './release-machine.ts';
import { isAnnounced, sameState, splitImage, statusEventId, type ReleaseFacts, type ReleaseState } from './release-state.ts';

const fresh: ReleaseState = { status: 'pending', reason: null, diagnosis: null, imageRef: null, imageDigest: null, helmRevision: null, canaryWeight: null };
const all: ReleaseFacts = { taskType: 'all', strategy: 'rolling' };
const buildOnly: ReleaseFacts = { taskType: 'build', strategy: 'rolling' };
const deployOnly: ReleaseFacts = { taskType: 'deploy', strategy: 'canary' };
const digest = `sha256:${'a'.repeat(64)}`;
const at = (status: ReleaseState['status'], extra: Partial<ReleaseState> = {}): ReleaseState => ({ ...fresh, status, ...extra });

describe('release status machine', () => {
  it('walks a build-and-deploy release from pending to succeeded', () => {
    const inputs: ReleaseInput[] = [
      { type: 'build-started' },
      { type: 'build-succeeded', image: 'reg/app:v1', digest },
      { type: 'applied', helmRevision: 3 },
      { type: 'rollout-succeeded', reason: 'rollout complete' },
    ];
    const seen: string[] = [];
    inputs.reduce((state, input) => {
      const next = applyInput(state, all, input);
      seen.push(next.status);
      return next;
    }, fresh);
    expect(seen).toEqual(['building', 'deploying', 'progressing', 'succeeded']);
    const end = applyInputs(fresh, all, inputs);
    expect(end).toMatchObject({ imageRef: 'reg/app:v1', imageDigest: digest, helmRevision: 3, diagnosis: null });
  });

  it('ends a build-only release at built, and ignores deploy inputs for it', () => {
    const built = applyInputs(fresh, buildOnly, [{ type: 'build-started' }, { type: 'build-succeeded', image: 'reg/app:v1', digest }]);
    expect(built.status).toBe('built');
    expect(applyInput(built, buildOnly, { type: 'applied' })).toBe(built);
    expect(applyInput(built, buildOnly, { type: 'deploy-requested', image: 'x' })).toBe(built);
  });

  it('moves a deploy-only release to deploying on its command and keeps the image and digest', () => {
    const next = applyInput(fresh, deployOnly, { type: 'deploy-requested', image: `reg/app@${digest}` });
    expect(next).toMatchObject({ status: 'deploying', imageRef: 'reg/app', imageDigest: digest });
  });

  it('only moves forward: late or replayed inputs change nothing', () => {
    const progressing = at('progressing', { helmRevision: 2, imageRef: 'reg/app:v1' });
    for (const input of [{ type: 'build-started' }, { type: 'deploy-requested', image: 'x' }, { type: 'applied', helmRevision: 5 }] as ReleaseInput[]) {
      expect(applyInput(progressing, all, input)).toEqual(progressing);
    }
    const succeeded = at('succeeded');
    expect(applyInput(succeeded, all, { type: 'rollout-failed', diagnosis: helmFailedDiagnosis('x', null) })).toBe(succeeded);
    expect(applyInput(succeeded, all, { type: 'deadline-exceeded', diagnosis: cancelledDiagnosis() })).toBe(succeeded);
  });

  it('records the image of a build that reports success after the deploy already began', () => {
    const deploying = at('deploying');
    expect(applyInput(deploying, all, { type: 'build-succeeded', image: 'reg/app:v2', digest })).toMatchObject({ status: 'deploying', imageRef: 'reg/app:v2', imageDigest: digest });
  });

  it('fails with the diagnosis as reason', () => {
    const diagnosis = buildFailedDiagnosis('COPY failed', ['step 3/5']);
    const failed = applyInput(at('building'), all, { type: 'build-failed', diagnosis });
    expect(failed).toMatchObject({ status: 'failed', reason: diagnosis.summary, diagnosis });
    // A build failure reported after the deploy began belongs to an older attempt.
    expect(applyInput(at('progressing'), all, { type: 'build-failed', diagnosis }).status).toBe('progressing');
  });

  it('follows canary weights, the promotion gate and promotion', () => {
    const w10 = applyInput(at('progressing'), deployOnly, { type: 'canary-weight', weight: 10 });
    expect(w10).toMatchObject({ status: 'progressing', canaryWeight: 10 });
    expect(applyInput(w10, deployOnly, { type: 'canary-weight', weight: 10 })).toBe(w10);
    const waiting = applyInput(w10, deployOnly, { type: 'waiting-promotion' });
    expect(waiting.status).toBe('waiting-promotion');
    expect(applyInput(waiting, deployOnly, { type: 'canary-weight', weight: 20 })).toBe(waiting);
    const promoting = applyInput(waiting, deployOnly, { type: 'promoting' });
    expect(promoting.status).toBe('promoting');
    expect(applyInput(promoting, deployOnly, { type: 'rollout-succeeded', reason: 'promoted' })).toMatchObject({ status: 'succeeded', canaryWeight: null });
  });

  it('aborts only a release that is rolling out', () => {
    expect(applyInput(at('waiting-promotion'), deployOnly, { type: 'aborted', reason: 'abort asked' }).status).toBe('aborted');
    expect(applyInput(at('building'), deployOnly, { type: 'aborted', reason: 'abort asked' }).status).toBe('building');
  });

  it('supersedes a succeeded release, as rolled-back when the newer one is a rollback', () => {
    expect(applyInput(at('succeeded'), all, { type: 'superseded', byRollback: false, by: 'v3' })).toMatchObject({ status: 'superseded', reason: 'replaced by v3' });
    expect(applyInput(at('succeeded'), all, { type: 'superseded', byRollback: true, by: 'v1' }).status).toBe('rolled-back');
    expect(applyInput(at('failed'), all, { type: 'superseded', byRollback: false, by: 'v3' }).status).toBe('failed');
  });

  it('cancels any release that has not ended when its app is deleted', () => {
    expect(applyInput(at('pending'), all, { type: 'cancelled', diagnosis: cancelledDiagnosis() })).toMatchObject({ status: 'failed', reason: 'cancelled: app deleted' });
  });
});

describe('release state helpers', () => {
  it('derives status event ids from the state they announce', () => {
    expect(statusEventId('r1', { status: 'succeeded', canaryWeight: null })).toBe('r1.status.succeeded');
    expect(statusEventId('r1', { status: 'progressing', canaryWeight: 20 })).toBe('r1.status.progressing.w20');
  });

  it('announces status and weight changes, not a helm revision alone', () => {
    expect(isAnnounced(at('progressing'), at('progressing', { helmRevision: 2 }))).toBe(false);
    expect(isAnnounced(at('progressing'), at('progressing', { canaryWeight: 10 }))).toBe(true);
    expect(sameState(at('progressing'), at('progressing', { helmRevision: 2 }))).toBe(false);
  });

  it('splits a digest off an image reference', () => {
    expect(splitImage(`reg:5000/a/b:v1@${digest}`)).toEqual({ ref: 'reg:5000/a/b:v1', digest });
    expect(splitImage('reg/a:v1')).toEqual({ ref: 'reg/a:v1', digest: null });
  });
});
