// Each simulated pod behaviour (kwok/pod-stages.yaml), observed the way the platform will observe it: pod status
// fields, events and logs through the Kubernetes API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CoreV1Event, KubernetesObject, V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import {
  setNamespaceLogs,
  setPodLogs,
  SIM_BEHAVIOUR_LABEL,
  SIM_EXIT_CODE_ANNOTATION,
  SIM_RUN_DURATION_ANNOTATION,
  SIM_TERMINATION_MESSAGE_ANNOTATION,
} from '../src/index.ts';
import { createNamespace, deleteNamespace, deployment, eventually, kube, pod } from './helpers.ts';

const k = kube();
let ns: string;

beforeAll(async () => {
  ns = await createNamespace(k, 'pods');
});
afterAll(async () => {
  await deleteNamespace(k, ns);
});

const create = (body: V1Pod) => k.core.createNamespacedPod({ namespace: ns, body });
const read = (name: string) => () => k.core.readNamespacedPod({ name, namespace: ns });
const container = (p: V1Pod): V1ContainerStatus | undefined => p.status?.containerStatuses?.[0];
const events = async (name: string): Promise<CoreV1Event[]> =>
  (await k.core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${name}` })).items;

describe('simulated pods', () => {
  it('a long-running app pod becomes Ready', async () => {
    await create(pod('app'));
    const p = await eventually('pod Ready', read('app'), (p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false);
    expect(p.status?.phase).toBe('Running');
    expect(container(p)?.ready).toBe(true);
    expect(container(p)?.state?.running?.startedAt).toBeDefined();
    expect(p.status?.hostIP).toBe('127.0.0.1');
  });

  it('a run-to-completion pod (Kaniko build) ends Succeeded with its termination message', async () => {
    const digest = 'sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0';
    await create(pod('build-ok', { restartPolicy: 'Never', annotations: { [SIM_TERMINATION_MESSAGE_ANNOTATION]: digest, [SIM_RUN_DURATION_ANNOTATION]: '2s' } }));
    const running = await eventually('build running', read('build-ok'), (p) => p.status?.phase === 'Running');
    expect(container(running)?.state?.running).toBeDefined();
    const p = await eventually('build Succeeded', read('build-ok'), (p) => p.status?.phase === 'Succeeded');
    expect(container(p)?.state?.terminated).toMatchObject({ exitCode: 0, reason: 'Completed', message: digest });
  });

  it('a run-to-completion pod marked to fail ends Failed with exit code and message', async () => {
    await create(
      pod('build-fail', {
        restartPolicy: 'Never',
        labels: { [SIM_BEHAVIOUR_LABEL]: 'fail' },
        annotations: { [SIM_EXIT_CODE_ANNOTATION]: '2', [SIM_TERMINATION_MESSAGE_ANNOTATION]: 'error building image: COPY failed: no such file' },
      }),
    );
    const p = await eventually('build Failed', read('build-fail'), (p) => p.status?.phase === 'Failed');
    expect(container(p)?.state?.terminated).toMatchObject({ exitCode: 2, reason: 'Error', message: 'error building image: COPY failed: no such file' });
  });

  it('a Job (the Kaniko builder may use one) completes through the real Job controller', async () => {
    await k.apply({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'build-job', namespace: ns },
      spec: {
        backoffLimit: 0,
        template: {
          metadata: { annotations: { [SIM_TERMINATION_MESSAGE_ANNOTATION]: 'sha256:feed' } },
          spec: { restartPolicy: 'Never', containers: [{ name: 'kaniko', image: 'registry.invalid/kaniko:1' }] },
        },
      },
    });
    const job = await eventually(
      'Job Complete',
      () => k.objects.read<KubernetesObject & { status?: { succeeded?: number; conditions?: { type: string; status: string }[] } }>({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'build-job', namespace: ns } }),
      (j) => j.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True') ?? false,
    );
    expect(job.status?.succeeded).toBe(1);
    const pods = await k.core.listNamespacedPod({ namespace: ns, labelSelector: 'job-name=build-job' });
    expect(container(pods.items[0]!)?.state?.terminated).toMatchObject({ exitCode: 0, message: 'sha256:feed' });
  });

  it('an image that cannot be pulled shows ErrImagePull, then ImagePullBackOff', async () => {
    await create(pod('no-image', { labels: { [SIM_BEHAVIOUR_LABEL]: 'imagepull' }, image: 'registry.invalid/missing:404' }));
    const p = await eventually('ImagePullBackOff', read('no-image'), (p) => container(p)?.state?.waiting?.reason === 'ImagePullBackOff');
    expect(p.status?.phase).toBe('Pending');
    expect(container(p)?.state?.waiting?.message).toContain('registry.invalid/missing:404');
    expect(container(p)?.ready).toBe(false);
    const reasons = (await events('no-image')).map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(['Failed', 'BackOff']));
  });

  it('a crashing app pod is in CrashLoopBackOff with restarts and a last termination state', async () => {
    await create(pod('crasher', { labels: { [SIM_BEHAVIOUR_LABEL]: 'crashloop' }, annotations: { [SIM_EXIT_CODE_ANNOTATION]: '3' } }));
    const p = await eventually('restartCount >= 2', read('crasher'), (p) => (container(p)?.restartCount ?? 0) >= 2);
    expect(p.status?.phase).toBe('Running');
    expect(p.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
    expect(container(p)?.state?.waiting?.reason).toBe('CrashLoopBackOff');
    expect(container(p)?.lastState?.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
    expect((await events('crasher')).map((e) => e.reason)).toContain('BackOff');
  });

  it('OOMKilled: an app pod crash-loops with OOMKilled (137), a build pod fails with it', async () => {
    await create(pod('oom-app', { labels: { [SIM_BEHAVIOUR_LABEL]: 'oom' } }));
    await create(pod('oom-build', { restartPolicy: 'Never', labels: { [SIM_BEHAVIOUR_LABEL]: 'oom' } }));
    const app = await eventually('oom-app crash loop', read('oom-app'), (p) => container(p)?.state?.waiting?.reason === 'CrashLoopBackOff');
    expect(container(app)?.lastState?.terminated).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
    const build = await eventually('oom-build Failed', read('oom-build'), (p) => p.status?.phase === 'Failed');
    expect(container(build)?.state?.terminated).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
  });

  it('a pod whose resources do not fit any node stays Pending: Unschedulable, FailedScheduling', async () => {
    await create(pod('too-big', { cpu: '500' }));
    const p = await eventually('PodScheduled=False', read('too-big'), (p) => p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False') ?? false);
    expect(p.status?.phase).toBe('Pending');
    expect(p.spec?.nodeName).toBeUndefined();
    expect(p.status?.conditions?.find((c) => c.type === 'PodScheduled')?.reason).toBe('Unschedulable');
    const failed = await eventually('FailedScheduling event', () => events('too-big'), (es) => es.some((e) => e.reason === 'FailedScheduling'));
    expect(failed.find((e) => e.reason === 'FailedScheduling')?.message).toMatch(/Insufficient cpu/);
  });

  it('serves given pod logs, current and previous, through pods/log', async () => {
    await setPodLogs(k.cluster, {
      namespace: ns,
      pod: 'logger',
      lines: ['INFO  Kaniko: building image', 'INFO  pushed 127.0.0.1/app@sha256:abc'],
      previousLines: ['FATAL previous instance crashed'],
    });
    await create(pod('logger', { restartPolicy: 'Never', annotations: { [SIM_RUN_DURATION_ANNOTATION]: '30s' } }));
    await eventually('logger running', read('logger'), (p) => p.status?.phase === 'Running');
    const log = await eventually('log content', () => k.core.readNamespacedPodLog({ name: 'logger', namespace: ns }), (l) => l.length > 0);
    expect(log).toBe('INFO  Kaniko: building image\nINFO  pushed 127.0.0.1/app@sha256:abc\n');
    const previous = await k.core.readNamespacedPodLog({ name: 'logger', namespace: ns, previous: true });
    expect(previous).toBe('FATAL previous instance crashed\n');
  });

  it('serves logs for pods with generated names (a Deployment) via ClusterLogs', async () => {
    await setNamespaceLogs(k.cluster, { name: `logs-${ns}`, namespaces: [ns], lines: ['Started Application in 2.1 seconds'] });
    await k.apps.createNamespacedDeployment({ namespace: ns, body: deployment('logged', 'registry.invalid/logged:1', { replicas: 1 }) });
    const pods = await eventually(
      'deployment pod running',
      () => k.core.listNamespacedPod({ namespace: ns, labelSelector: 'app=logged' }),
      (l) => l.items.some((p) => p.status?.phase === 'Running'),
    );
    const name = pods.items[0]!.metadata!.name!;
    const log = await eventually('log content', () => k.core.readNamespacedPodLog({ name, namespace: ns }), (l) => l.length > 0);
    expect(log).toBe('Started Application in 2.1 seconds\n');
    await k.objects.delete({ apiVersion: 'kwok.x-k8s.io/v1alpha1', kind: 'ClusterLogs', metadata: { name: `logs-${ns}` } });
  });
});
