import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { canaryFailedDiagnosis, deadlineDiagnosis, podDiagnosis, type ReleaseContext } from './diagnosis.ts';
import { findPodProblem, imagePullCause, type PodProblemSettings } from './pod-problems.ts';

const now = Date.parse('2026-12-01T10:00:00Z');
const ago = (ms: number) => new Date(now - ms);
const settings: PodProblemSettings = { crashLoopRestarts: 3, imagePullGraceMs: 10_000, unschedulableGraceMs: 60_000, readinessGraceMs: 120_000 };
const release: ReleaseContext = { appName: 'orders', namespace: 'team-a', resourceSpec: 'medium', port: 8080, healthPath: '/actuator/health', profile: 'prod', appType: 'jar' };

function pod(name: string, status: V1Pod['status'], spec: Partial<V1Pod['spec']> = {}): V1Pod {
  return {
    metadata: { name, namespace: 'team-a', uid: `uid-${name}`, creationTimestamp: ago(600_000) },
    spec: {
      containers: [
        {
          name: 'app',
          image: 'reg/orders:v2',
          resources: { limits: { memory: '1Gi' }, requests: { cpu: '500m', memory: '1Gi' } },
          readinessProbe: { httpGet: { path: '/actuator/health', port: 8080 } },
        },
      ],
      ...spec,
    },
    status,
  };
}

function event(podName: string, reason: string, message: string, type = 'Warning'): CoreV1Event {
  return { metadata: { name: `${podName}.${reason}` }, involvedObject: { kind: 'Pod', name: podName, uid: `uid-${podName}` }, reason, message, type, lastTimestamp: ago(1000) };
}

describe('pod problems and their diagnosis', () => {
  it('image pull: names the image and tells auth from not found', () => {
    const p = pod('orders-1', {
      phase: 'Pending',
      startTime: ago(30_000),
      containerStatuses: [{ name: 'app', image: 'reg/orders:v2', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "reg/orders:v2"' } } }],
    });
    const problem = findPodProblem([p], [event('orders-1', 'Failed', 'Failed to pull image "reg/orders:v2": rpc error: code = NotFound desc = failed to resolve reference: not found')], settings, now);
    expect(problem).toMatchObject({ kind: 'image-pull', image: 'reg/orders:v2', cause: 'not-found', pod: 'orders-1' });
    const d = podDiagnosis(problem!, release, null);
    expect(d.code).toBe('image-pull');
    expect(d.summary).toContain('reg/orders:v2');
    expect(d.summary).toMatch(/no such image/);
    expect(d.evidence).toMatchObject({ image: 'reg/orders:v2', cause: 'not-found' });
    expect(imagePullCause(['failed to authorize: 401 Unauthorized'])).toBe('auth');
    expect(imagePullCause(['pull access denied, repository does not exist or may require authorization'])).toBe('auth');
  });

  it('image pull: waits for the grace while the first pull fails', () => {
    const p = pod('orders-1', {
      phase: 'Pending',
      startTime: ago(2_000),
      containerStatuses: [{ name: 'app', image: 'reg/orders:v2', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ErrImagePull', message: 'x' } } }],
    });
    expect(findPodProblem([p], [], settings, now)).toBeUndefined();
    expect(findPodProblem([p], [], settings, now + 20_000)).toMatchObject({ kind: 'image-pull' });
  });

  it('crash loop: exit code, restarts and the last log lines, with a hint read from them', () => {
    const crashing = (restarts: number) =>
      pod('orders-2', {
        phase: 'Running',
        containerStatuses: [
          {
            name: 'app',
            image: 'reg/orders:v2',
            imageID: 'x',
            ready: false,
            restartCount: restarts,
            state: { waiting: { reason: 'CrashLoopBackOff' } },
            lastState: { terminated: { exitCode: 1, reason: 'Error' } },
          },
        ],
      });
    expect(findPodProblem([crashing(2)], [], settings, now)).toBeUndefined();
    const problem = findPodProblem([crashing(3), crashing(4)], [], settings, now);
    expect(problem).toMatchObject({ kind: 'crash-loop', exitCode: 1, restarts: 3 });
    const logs = ['Starting OrdersApplication', '***************************', 'APPLICATION FAILED TO START', "Could not resolve placeholder 'orders.db.url' in value \"${orders.db.url}\""];
    const d = podDiagnosis(problem!, release, logs);
    expect(d.summary).toBe('The app exits with code 1 soon after it starts; Kubernetes restarted it 3 times.');
    expect(d.hint).toContain('orders.db.url');
    expect(d.hint).toContain('ORDERS_DB_URL');
    expect(d.evidence.last_log_lines).toEqual(logs);
  });

  it('OOMKilled: the limit and the preset, and a bigger preset to try', () => {
    const p = pod('orders-3', {
      phase: 'Running',
      containerStatuses: [
        { name: 'app', image: 'x', imageID: 'x', ready: false, restartCount: 3, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 137, reason: 'OOMKilled' } } },
      ],
    });
    const problem = findPodProblem([p], [], settings, now);
    expect(problem).toMatchObject({ kind: 'oom-killed', memoryLimit: '1Gi' });
    const d = podDiagnosis(problem!, release, null);
    expect(d.code).toBe('oom-killed');
    expect(d.summary).toContain('1Gi');
    expect(d.summary).toContain('resource_spec medium');
    expect(d.hint).toContain('resource_spec large');
  });

  it('unschedulable: what the pods ask for and what the cluster lacks, after the grace', () => {
    const p = pod('orders-4', { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', lastTransitionTime: ago(90_000) }] }, {
      containers: [{ name: 'app', image: 'x', resources: { requests: { cpu: '500', memory: '2Gi' } } }],
    });
    const events = [event('orders-4', 'FailedScheduling', '0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available')];
    const problem = findPodProblem([p], events, settings, now);
    expect(problem).toMatchObject({ kind: 'unschedulable', cpuRequest: '500', memoryRequest: '2Gi' });
    const d = podDiagnosis(problem!, release, null);
    expect(d.summary).toBe("No node has room for the app's pods: each asks for 500 CPU and 2Gi memory and the cluster is short of cpu.");
    expect(d.evidence.scheduler_message).toContain('Insufficient cpu');
    expect(findPodProblem([p], events, { ...settings, unschedulableGraceMs: 120_000 }, now)).toBeUndefined();
  });

  it('readiness failing: names the probe path and port', () => {
    const p = pod('orders-5', {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: ago(200_000) }],
      containerStatuses: [{ name: 'app', image: 'x', imageID: 'x', ready: false, restartCount: 0, state: { running: { startedAt: ago(200_000) } } }],
    });
    const events = [event('orders-5', 'Unhealthy', 'Readiness probe failed: HTTP probe failed with statuscode: 503')];
    const problem = findPodProblem([p], events, settings, now);
    expect(problem).toMatchObject({ kind: 'readiness-failing', probe: { type: 'http', path: '/actuator/health', port: 8080 } });
    const d = podDiagnosis(problem!, release, null);
    expect(d.summary).toContain('GET /actuator/health on port 8080');
    expect(d.evidence.probe_message).toContain('503');
    expect(findPodProblem([p], events, settings, now - 100_000)).toBeUndefined();
    // Before the app ever answered, the kubelet says it of the startup probe (seen on the local cluster's real node).
    const starting = [event('orders-5', 'Unhealthy', 'Startup probe failed: HTTP probe failed with statuscode: 503')];
    expect(podDiagnosis(findPodProblem([p], starting, settings, now)!, release, null).evidence.probe_message).toBe('Startup probe failed: HTTP probe failed with statuscode: 503');
    const liveness = [event('orders-5', 'Unhealthy', 'Liveness probe failed: HTTP probe failed with statuscode: 500')];
    expect(podDiagnosis(findPodProblem([p], liveness, settings, now)!, release, null).evidence.probe_message).toBeNull();
  });

  it('prefers the clearest problem when pods disagree, and counts the pods affected', () => {
    const pulling = pod('a', {
      phase: 'Pending',
      startTime: ago(60_000),
      containerStatuses: [{ name: 'app', image: 'x', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff', message: 'not found' } } }],
    });
    const unschedulable = pod('b', { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', lastTransitionTime: ago(90_000) }] });
    expect(findPodProblem([unschedulable, pulling, { ...pulling, metadata: { ...pulling.metadata, name: 'c' } }], [], settings, now)).toMatchObject({ kind: 'image-pull', pod: 'a', podsAffected: 2 });
    expect(findPodProblem([pod('ok', { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] })], [], settings, now)).toBeUndefined();
  });

  it('canary analysis failure names the metric and its value against the threshold', () => {
    const d = canaryFailedDiagnosis({ failedChecks: 2, threshold: 2, metric: { name: 'error-rate', value: 12.345, thresholdMax: 1, verdict: 'fail' }, flaggerMessages: ['Halt advancement error-rate 12.35 > 1'] });
    expect(d.summary).toBe('The canary analysis failed: metric error-rate was 12.35, above the maximum of 1, 2 failed checks. Traffic went back to the previous version.');
    expect(d.evidence).toMatchObject({ metric: { name: 'error-rate', value: 12.345, threshold_max: 1 } });
    const noData = canaryFailedDiagnosis({ failedChecks: 2, threshold: 2, metric: { name: 'success-rate', value: null, thresholdMin: 99, verdict: 'no-data' }, flaggerMessages: [] });
    expect(noData.summary).toContain('had no data');
  });

  it('deadline names the state the release was stuck in', () => {
    expect(deadlineDiagnosis('progressing', 20 * 60_000)).toMatchObject({ code: 'deadline-exceeded', summary: 'The release made no progress for 20 min while progressing.' });
  });
});
