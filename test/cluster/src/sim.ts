import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig, KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import type { KubernetesObject } from '@kubernetes/client-node';

// How a simulated pod behaves is chosen by its labels and annotations (kwok/pod-stages.yaml implements them).

/** Label selecting a failure behaviour; absent = the pod starts and (if run-to-completion) succeeds. */
export const SIM_BEHAVIOUR_LABEL = 'sim.appserving.dev/behaviour';
/**
 * The same choice through the first container's environment, for pods made by the platform from an app's `env`
 * (the REST API cannot set labels). The label wins when both are set.
 */
export const SIM_BEHAVIOUR_ENV = 'SIM_BEHAVIOUR';
/** `unready`: a long-running pod that runs but never passes its readiness check (no restarts). */
export type SimBehaviour = 'crashloop' | 'fail' | 'oom' | 'imagepull' | 'unready';
/** Exit code of a failing container through the first container's environment (the annotation wins). */
export const SIM_EXIT_CODE_ENV = 'SIM_EXIT_CODE';
/** Annotation: message of the terminated container (e.g. the image digest a Kaniko build reports). */
export const SIM_TERMINATION_MESSAGE_ANNOTATION = 'sim.appserving.dev/termination-message';
/** Annotation: exit code of a failing container (default 1; OOMKilled is always 137). */
export const SIM_EXIT_CODE_ANNOTATION = 'sim.appserving.dev/exit-code';
/** Annotation: how long a run-to-completion pod runs before it ends, as a Go duration such as "3s" (default 1s). */
export const SIM_RUN_DURATION_ANNOTATION = 'sim.appserving.dev/run-duration';

/** Lines in the CRI log format that kwok's log server (the kubelet's reader) expects. */
export function criLog(lines: readonly string[], stream: 'stdout' | 'stderr' = 'stdout', start = new Date()): string {
  return lines.map((line, i) => `${new Date(start.getTime() + i).toISOString()} ${stream} F ${line}\n`).join('');
}

export interface PodLogsOptions {
  readonly namespace: string;
  /** Pod name: a `Logs` object of the same name and namespace serves this pod's logs. */
  readonly pod: string;
  /** Containers the lines are for; default all. */
  readonly containers?: readonly string[];
  readonly lines: readonly string[];
  /** Logs of the previous container instance (`kubectl logs --previous`), e.g. for a crash loop. */
  readonly previousLines?: readonly string[];
}

interface ClusterFiles {
  readonly kubeconfigPath: string;
  readonly podLogDir: string;
}

async function apply(kubeconfigPath: string, obj: KubernetesObject): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const client = KubernetesObjectApi.makeApiClient(kc);
  await client.patch(obj, undefined, undefined, 'appserving-test-cluster', true, PatchStrategy.ServerSideApply);
}

/**
 * Gives a pod the log content `lines`: writes a log file on this machine and a kwok `Logs` object pointing at it,
 * so `GET pods/<pod>/log` (apiserver → kwok's kubelet server on 127.0.0.1) returns exactly these lines.
 * Can be called before the pod exists.
 */
export async function setPodLogs(cluster: ClusterFiles, opts: PodLogsOptions): Promise<void> {
  const dir = join(cluster.podLogDir, opts.namespace);
  mkdirSync(dir, { recursive: true });
  const logsFile = join(dir, `${opts.pod}.log`);
  writeFileSync(logsFile, criLog(opts.lines));
  let previousLogsFile: string | undefined;
  if (opts.previousLines) {
    previousLogsFile = join(dir, `${opts.pod}.previous.log`);
    writeFileSync(previousLogsFile, criLog(opts.previousLines));
  }
  await apply(cluster.kubeconfigPath, {
    apiVersion: 'kwok.x-k8s.io/v1alpha1',
    kind: 'Logs',
    metadata: { name: opts.pod, namespace: opts.namespace },
    spec: { logs: [{ ...(opts.containers ? { containers: opts.containers } : {}), logsFile, ...(previousLogsFile ? { previousLogsFile } : {}), follow: false }] },
  } as KubernetesObject);
}

/** Same for every pod of some namespaces (pods of Deployments have generated names): a kwok `ClusterLogs`. */
export async function setNamespaceLogs(cluster: ClusterFiles, opts: { name: string; namespaces: readonly string[]; lines: readonly string[] }): Promise<void> {
  mkdirSync(cluster.podLogDir, { recursive: true });
  const logsFile = join(cluster.podLogDir, `cluster-${opts.name}.log`);
  writeFileSync(logsFile, criLog(opts.lines));
  await apply(cluster.kubeconfigPath, {
    apiVersion: 'kwok.x-k8s.io/v1alpha1',
    kind: 'ClusterLogs',
    metadata: { name: opts.name },
    spec: { selector: { matchNamespaces: opts.namespaces }, logs: [{ logsFile, follow: false }] },
  } as KubernetesObject);
}
