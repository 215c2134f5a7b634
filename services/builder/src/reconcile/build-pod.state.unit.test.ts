import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { buildPodState } from './build-pod.state.ts';

const digest = `sha256:${'ab'.repeat(32)}`;
const far = Number.MAX_SAFE_INTEGER;

function pod(status: V1Pod['status'], nodeName: string | undefined = 'node-0'): V1Pod {
  return { metadata: { name: 'build-x' }, spec: { containers: [{ name: 'kaniko' }], ...(nodeName ? { nodeName } : {}) }, status };
}

describe('build Pod state', () => {
  it('succeeded: the digest from the termination message, whatever surrounds it', () => {
    const p = pod({ phase: 'Succeeded', containerStatuses: [{ name: 'kaniko', image: 'k', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, message: `${digest}\n` } } }] });
    expect(buildPodState(p, 0, far)).toEqual({ kind: 'succeeded', digest });
  });

  it('succeeded without a digest is a failure that says so', () => {
    const p = pod({ phase: 'Succeeded', containerStatuses: [{ name: 'kaniko', image: 'k', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 0 } } }] });
    expect(buildPodState(p, 0, far)).toMatchObject({ kind: 'failed', reason: expect.stringMatching(/without reporting the pushed image digest/) });
  });

  it('failed: Kaniko\'s exit code, reason and message; a failed download names the artifact', () => {
    const kaniko = pod({ phase: 'Failed', containerStatuses: [{ name: 'kaniko', image: 'k', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 1, reason: 'Error', message: 'error building image' } } }] });
    expect(buildPodState(kaniko, 0, far)).toEqual({ kind: 'failed', reason: 'Kaniko exited with code 1 (Error): error building image', container: 'kaniko' });
    const fetch = pod({
      phase: 'Failed',
      initContainerStatuses: [{ name: 'fetch-artifact', image: 'curl', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 22, reason: 'Error', message: 'curl: (22) The requested URL returned error: 403' } } }],
    });
    expect(buildPodState(fetch, 0, far)).toMatchObject({ kind: 'failed', container: 'fetch-artifact', reason: expect.stringMatching(/^downloading the artifact into the build Pod failed: exited with code 22/) });
  });

  it('an image that cannot be pulled fails at once instead of waiting for the timeout', () => {
    const p = pod({ phase: 'Pending', containerStatuses: [{ name: 'kaniko', image: 'ghcr.io/x/kaniko:v9', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image' } } }] });
    expect(buildPodState(p, 0, far)).toMatchObject({ kind: 'failed', reason: expect.stringMatching(/cannot start container kaniko \(ImagePullBackOff\)/) });
  });

  it('running: scheduling, downloading, building; past the deadline it has timed out, in the phase it was in', () => {
    const unscheduled = pod({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', message: '0/3 nodes: Insufficient cpu' }] }, undefined);
    expect(buildPodState(unscheduled, 0, far)).toEqual({ kind: 'running', phase: 'scheduling', message: 'waiting for a node: 0/3 nodes: Insufficient cpu' });
    const fetching = pod({ phase: 'Pending', initContainerStatuses: [{ name: 'fetch-artifact', image: 'curl', imageID: '', ready: false, restartCount: 0, state: { running: {} } }] });
    expect(buildPodState(fetching, 0, far)).toMatchObject({ kind: 'running', phase: 'fetching-artifact' });
    const building = pod({ phase: 'Running', containerStatuses: [{ name: 'kaniko', image: 'k', imageID: '', ready: true, restartCount: 0, state: { running: {} } }] });
    expect(buildPodState(building, 0, far)).toMatchObject({ kind: 'running', phase: 'building' });
    expect(buildPodState(building, 1000, 1000)).toEqual({ kind: 'timed-out', phase: 'building' });
    expect(buildPodState(pod({ phase: 'Failed', reason: 'DeadlineExceeded' }), 0, far)).toEqual({ kind: 'timed-out', phase: 'building' });
  });
});
