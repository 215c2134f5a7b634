import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { FETCH_CONTAINER, KANIKO_CONTAINER } from '../domain/kaniko-pod.ts';

/** What a build Pod's status says about the build: observed state in, one outcome out. Pure. */
export type BuildPodState =
  | { readonly kind: 'running'; readonly phase: 'scheduling' | 'fetching-artifact' | 'building'; readonly message: string }
  | { readonly kind: 'succeeded'; readonly digest: string }
  | { readonly kind: 'failed'; readonly reason: string; readonly container: string | undefined }
  | { readonly kind: 'timed-out'; readonly phase: string };

const digestPattern = /sha256:[a-f0-9]{64}/;
const pullFailures = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'CreateContainerConfigError', 'CreateContainerError']);

/**
 * @param deadline epoch ms after which a build that has not ended is over (its Pod's creation + the build timeout)
 */
export function buildPodState(pod: V1Pod, now: number, deadline: number): BuildPodState {
  const phase = pod.status?.phase;
  const kaniko = pod.status?.containerStatuses?.find((c) => c.name === KANIKO_CONTAINER) ?? pod.status?.containerStatuses?.[0];
  const fetch = pod.status?.initContainerStatuses?.find((c) => c.name === FETCH_CONTAINER);

  if (phase === 'Succeeded') {
    const message = kaniko?.state?.terminated?.message ?? '';
    const digest = digestPattern.exec(message)?.[0];
    if (!digest) return { kind: 'failed', reason: 'Kaniko ended without reporting the pushed image digest in its termination message', container: KANIKO_CONTAINER };
    return { kind: 'succeeded', digest };
  }
  if (phase === 'Failed') {
    if (pod.status?.reason === 'DeadlineExceeded') return { kind: 'timed-out', phase: 'building' };
    const failedInit = fetch?.state?.terminated && fetch.state.terminated.exitCode !== 0 ? fetch : undefined;
    if (failedInit) return { kind: 'failed', reason: `downloading the artifact into the build Pod failed: ${terminatedText(failedInit)}`, container: FETCH_CONTAINER };
    if (kaniko?.state?.terminated) return { kind: 'failed', reason: `Kaniko ${terminatedText(kaniko)}`, container: KANIKO_CONTAINER };
    return { kind: 'failed', reason: `the build Pod failed${pod.status?.message ? `: ${pod.status.message}` : ''}`, container: KANIKO_CONTAINER };
  }
  for (const status of [fetch, kaniko]) {
    const waiting = status?.state?.waiting;
    if (status && waiting?.reason && pullFailures.has(waiting.reason)) {
      return { kind: 'failed', reason: `the build Pod cannot start container ${status.name} (${waiting.reason}): ${waiting.message ?? status.image}`, container: undefined };
    }
  }
  const current = currentPhase(pod, fetch, kaniko);
  if (now >= deadline) return { kind: 'timed-out', phase: current.phase };
  return { kind: 'running', ...current };
}

function currentPhase(pod: V1Pod, fetch: V1ContainerStatus | undefined, kaniko: V1ContainerStatus | undefined): { phase: 'scheduling' | 'fetching-artifact' | 'building'; message: string } {
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (!pod.spec?.nodeName || scheduled?.status === 'False') {
    return { phase: 'scheduling', message: scheduled?.message ? `waiting for a node: ${scheduled.message}` : 'waiting for a node to run the build' };
  }
  if (fetch?.state?.running || (pod.status?.phase === 'Pending' && !kaniko?.state?.running)) return { phase: 'fetching-artifact', message: 'the build Pod is downloading the artifact' };
  return { phase: 'building', message: 'Kaniko is building and pushing the image' };
}

function terminatedText(status: V1ContainerStatus): string {
  const t = status.state?.terminated;
  if (!t) return 'ended';
  const firstLines = (t.message ?? '').trim().split('\n').slice(-3).join(' / ').slice(0, 500);
  return `exited with code ${t.exitCode}${t.reason ? ` (${t.reason})` : ''}${firstLines ? `: ${firstLines}` : ''}`;
}
