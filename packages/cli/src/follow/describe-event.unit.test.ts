import { releaseStatuses, terminalStatuses as sharedTerminal } from '@appserving/shared';
import { describe, expect, it } from 'vitest';
import { isSuccess, isTerminal, terminalStatuses } from '../api/views.ts';
import { describeEvent, diagnosisLines } from './describe-event.ts';

const release = { app_id: 'a', app_name: 'orders', release_id: 'r', version: 2, cluster_id: 'c' };
const event = (type: string, data: Record<string, unknown>) => ({ id: 'e', type: `dev.appserving.${type}.v1`, data: { release, ...data } });

describe('describeEvent: one line a person can follow per event', () => {
  it.each([
    [event('build.started', { method: 'direct' }), 'activity', 'building the image (direct layer push)'],
    [event('build.progress', { phase: 'pushing', message: 'pushing the image to reg/ns/orders', done_bytes: 5 * 1024 * 1024, total_bytes: 20 * 1024 * 1024 }), 'activity', 'pushing the image to reg/ns/orders 25% (5.0 MiB of 20.0 MiB)'],
    [event('build.progress', { phase: 'scheduling', message: '' }), 'activity', 'scheduling the build'],
    [event('build.succeeded', { image: 'reg/ns/orders:v2', digest: `sha256:${'f'.repeat(64)}`, reused: false }), 'step', 'image built: reg/ns/orders:v2@sha256:ffffffffffff…'],
    [event('build.failed', { reason: 'mvn not found', log_tail: [] }), 'failure', 'build failed: mvn not found'],
    [event('deploy.step', { step: 'applied', helm_revision: 4 }), 'step', 'applied to the cluster (helm revision 4)'],
    [event('deploy.step', { step: 'failed', reason: 'UPGRADE FAILED: timed out' }), 'failure', 'deploy failed: UPGRADE FAILED: timed out'],
    [event('release.status', { status: 'progressing', canary_weight: 30 }), 'activity', 'rolling out: 30% of traffic on the new version'],
    [event('release.status', { status: 'deploying', reason: 'image built; deploying' }), 'activity', 'deploying (helm)'],
    [event('release.status', { status: 'succeeded' }), 'step', 'succeeded'],
    [event('release.status', { status: 'failed', diagnosis: { code: 'oom-killed', summary: 'Out of memory (limit 512Mi)', hint: 'h', evidence: {} } }), 'failure', 'failed: Out of memory (limit 512Mi)'],
    [
      event('canary.analysis', { step: 3, weight: 30, phase: 'Progressing', verdict: 'pass', failed_checks: 0, metrics: [{ name: 'success-rate', value: 99.5, threshold_min: 99, verdict: 'pass' }, { name: 'latency-p99', value: null, threshold_max: 500, verdict: 'no-data' }] }),
      'step',
      'analysis step 3: 30% of traffic, pass (success-rate 99.50 ≥ 99 ok; latency-p99 no data ≤ 500 no-data)',
    ],
    [event('app.health', { status: 'degraded', previous_status: 'running', available_pods: 1, desired_pods: 2, reason: '1 of 2 pods of version v2 are available' }), 'failure', 'app degraded: 1 of 2 pods of version v2 are available'],
    [event('app.health', { status: 'running', previous_status: 'degraded', available_pods: 2, desired_pods: 2, reason: 'all 2 pods of version v2 are available again' }), 'step', 'app running again: all 2 pods of version v2 are available again'],
    [{ id: 'c', type: 'dev.appserving.command.rollback.v1', source: '/appserving/gateway', data: { release } }, 'step', 'rollback requested by gateway'],
  ])('%j', (input, kind, message) => {
    expect(describeEvent(input)).toMatchObject({ kind, message });
  });

  it('ignores what it does not know', () => {
    expect(describeEvent({ id: 'x', type: 'dev.other.thing.v1' })).toBeUndefined();
  });
});

describe('diagnosisLines', () => {
  it('summary with its code, hint, evidence (log lines indented), and a reason the summary does not say', () => {
    const lines = diagnosisLines({
      status: 'failed',
      status_reason: 'deadline-exceeded in progressing',
      diagnosis: { code: 'crash-loop', summary: 'Keeps crashing', hint: 'Check DB_URL', evidence: { exit_code: 1, log_tail: ['boom', 'at x'], empty: [] } },
    });
    expect(lines).toEqual(['Keeps crashing [crash-loop]', 'hint: Check DB_URL', 'exit code: 1', 'log tail:', '  boom', '  at x', 'reason: deadline-exceeded in progressing']);
  });

  it('only the reason when there is no diagnosis', () => {
    expect(diagnosisLines({ status: 'failed', status_reason: 'cancelled: app deleted', diagnosis: null })).toEqual(['cancelled: app deleted']);
  });
});

describe('terminal statuses', () => {
  it('are the platform\'s (contracts/events.ts)', () => {
    expect([...terminalStatuses].sort()).toEqual([...sharedTerminal].sort());
    // A release that deploys ends at these; `built` is a step on its way (it ends only a build-only release).
    const ending = releaseStatuses.filter((status) => isTerminal({ status, task_type: 'all' }));
    expect(ending).toEqual(['succeeded', 'failed', 'aborted', 'rolled-back', 'superseded']);
    expect(releaseStatuses.filter((status) => isTerminal({ status, task_type: 'build' }))).toEqual(['built', ...ending]);
  });

  it('built ends a build-only release and is a step of the others', () => {
    expect(isTerminal({ status: 'built', task_type: 'build' })).toBe(true);
    expect(isTerminal({ status: 'built', task_type: 'all' })).toBe(false);
    expect(isSuccess({ status: 'built', task_type: 'build' })).toBe(true);
    expect(isSuccess({ status: 'superseded', task_type: 'all' })).toBe(false);
  });
});
