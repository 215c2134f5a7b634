import type { CoreV1Event, V1Container, V1ContainerStatus, V1Pod } from '@kubernetes/client-node';

/** Graces before a symptom on a release's pods counts as the release's failure (watcher settings). */
export interface PodProblemSettings {
  crashLoopRestarts: number;
  imagePullGraceMs: number;
  unschedulableGraceMs: number;
  readinessGraceMs: number;
}

export type ImagePullCause = 'auth' | 'not-found' | 'unknown';

/** A confirmed problem on one pod (the first found, in order of how clearly it explains the failure). */
export type PodProblem =
  | { kind: 'image-pull'; pod: string; container: string; image: string; waitingReason: string; message: string; cause: ImagePullCause; podsAffected: number }
  | {
      kind: 'oom-killed';
      pod: string;
      container: string;
      restarts: number;
      exitCode: number;
      memoryLimit: string | null;
      memoryRequest: string | null;
      podsAffected: number;
    }
  | { kind: 'crash-loop'; pod: string; container: string; restarts: number; exitCode: number | null; exitReason: string | null; message: string | null; podsAffected: number }
  | { kind: 'unschedulable'; pod: string; message: string; cpuRequest: string | null; memoryRequest: string | null; podsAffected: number; sinceMs: number }
  | {
      kind: 'readiness-failing';
      pod: string;
      container: string;
      probe: ProbeDescription | null;
      probeMessage: string | null;
      notReadyForMs: number;
      podsAffected: number;
    };

export interface ProbeDescription {
  type: 'http' | 'tcp' | 'exec' | 'grpc';
  path?: string;
  port?: string | number;
  scheme?: string;
  command?: string[];
}

const IMAGE_PULL_REASONS = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull', 'RegistryUnavailable']);

/**
 * Looks at a release's pods (and the warning events about them) and returns the problem that explains why
 * the release cannot come up, once it has lasted past its grace. Pure: `now` and the settings come in.
 */
export function findPodProblem(pods: readonly V1Pod[], events: readonly CoreV1Event[], settings: PodProblemSettings, now: number): PodProblem | undefined {
  const live = [...pods].filter((p) => !p.metadata?.deletionTimestamp).sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  const finders = [imagePull, oomKilled, crashLoop, unschedulable, readinessFailing];
  for (const find of finders) {
    const found = live.map((pod) => find(pod, events, settings, now)).filter((p): p is PodProblem => p !== undefined);
    if (found.length > 0) return { ...found[0]!, podsAffected: found.length };
  }
  return undefined;
}

type Finder = (pod: V1Pod, events: readonly CoreV1Event[], settings: PodProblemSettings, now: number) => PodProblem | undefined;

const imagePull: Finder = (pod, events, settings, now) => {
  for (const status of containerStatuses(pod)) {
    const waiting = status.state?.waiting;
    if (!waiting?.reason || !IMAGE_PULL_REASONS.has(waiting.reason)) continue;
    const since = timeOf(pod.status?.startTime) ?? timeOf(pod.metadata?.creationTimestamp) ?? now;
    // A malformed name never pulls; anything else may be a registry hiccup the kubelet's retry gets past.
    if (waiting.reason !== 'InvalidImageName' && now - since < settings.imagePullGraceMs) continue;
    const messages = [waiting.message ?? '', ...eventsAbout(events, pod).filter((e) => e.reason === 'Failed' || e.reason === 'ErrImagePull').map((e) => e.message ?? '')];
    return {
      kind: 'image-pull',
      pod: nameOf(pod),
      container: status.name,
      image: status.image || containerSpec(pod, status.name)?.image || '(unknown)',
      waitingReason: waiting.reason,
      message: waiting.message ?? '',
      cause: waiting.reason === 'InvalidImageName' ? 'not-found' : imagePullCause(messages),
      podsAffected: 1,
    };
  }
  return undefined;
};

/** Registries word it differently; "pull access denied … may require authorization" is both, and reads as auth. */
export function imagePullCause(messages: readonly string[]): ImagePullCause {
  const text = messages.join('\n');
  if (/unauthori[sz]ed|authentication required|no basic auth credentials|denied|forbidden|\b401\b|\b403\b|x509|certificate/i.test(text)) return 'auth';
  if (/not found|manifest unknown|name unknown|does not exist|\b404\b|no such host/i.test(text)) return 'not-found';
  return 'unknown';
}

function lastTermination(status: V1ContainerStatus) {
  return status.state?.terminated ?? status.lastState?.terminated;
}

const oomKilled: Finder = (pod, _events, settings) => {
  for (const status of containerStatuses(pod)) {
    const terminated = lastTermination(status);
    if (terminated?.reason !== 'OOMKilled') continue;
    const runToCompletion = (pod.spec?.restartPolicy ?? 'Always') !== 'Always';
    if (!runToCompletion && status.restartCount < settings.crashLoopRestarts) continue;
    const resources = containerSpec(pod, status.name)?.resources;
    return {
      kind: 'oom-killed',
      pod: nameOf(pod),
      container: status.name,
      restarts: status.restartCount,
      exitCode: terminated.exitCode,
      memoryLimit: quantity(resources?.limits?.['memory']),
      memoryRequest: quantity(resources?.requests?.['memory']),
      podsAffected: 1,
    };
  }
  return undefined;
};

const crashLoop: Finder = (pod, _events, settings) => {
  for (const status of containerStatuses(pod)) {
    const terminated = lastTermination(status);
    const looping = status.state?.waiting?.reason === 'CrashLoopBackOff' || (terminated !== undefined && terminated.exitCode !== 0);
    if (!looping) continue;
    const runToCompletion = (pod.spec?.restartPolicy ?? 'Always') !== 'Always';
    if (!(runToCompletion && pod.status?.phase === 'Failed') && status.restartCount < settings.crashLoopRestarts) continue;
    return {
      kind: 'crash-loop',
      pod: nameOf(pod),
      container: status.name,
      restarts: status.restartCount,
      exitCode: terminated?.exitCode ?? null,
      exitReason: terminated?.reason ?? null,
      message: terminated?.message ?? null,
      podsAffected: 1,
    };
  }
  return undefined;
};

const unschedulable: Finder = (pod, events, settings, now) => {
  const condition = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (condition?.status !== 'False' || condition.reason !== 'Unschedulable') return undefined;
  const since = timeOf(condition.lastTransitionTime) ?? timeOf(pod.metadata?.creationTimestamp) ?? now;
  if (now - since < settings.unschedulableGraceMs) return undefined;
  const event = eventsAbout(events, pod).filter((e) => e.reason === 'FailedScheduling').at(-1);
  const requests = totalRequests(pod);
  return {
    kind: 'unschedulable',
    pod: nameOf(pod),
    message: event?.message ?? condition.message ?? 'no node can run the pod',
    cpuRequest: requests.cpu,
    memoryRequest: requests.memory,
    podsAffected: 1,
    sinceMs: now - since,
  };
};

const readinessFailing: Finder = (pod, events, settings, now) => {
  if (pod.status?.phase !== 'Running') return undefined;
  const ready = pod.status.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status !== 'False') return undefined;
  for (const status of containerStatuses(pod)) {
    if (status.ready || !status.state?.running || status.restartCount >= settings.crashLoopRestarts) continue;
    const since = Math.max(timeOf(ready.lastTransitionTime) ?? 0, timeOf(status.state.running.startedAt) ?? 0) || now;
    if (now - since < settings.readinessGraceMs) continue;
    // A real kubelet reports the startup probe until it first passes (the app chart's startup probe checks the same
    // path), then the readiness probe: either says why the pod is not ready.
    const unhealthy = eventsAbout(events, pod).filter((e) => e.reason === 'Unhealthy' && /^(readiness|startup) probe/i.test(e.message ?? '')).at(-1);
    return {
      kind: 'readiness-failing',
      pod: nameOf(pod),
      container: status.name,
      probe: describeProbe(containerSpec(pod, status.name)),
      probeMessage: unhealthy?.message ?? null,
      notReadyForMs: now - since,
      podsAffected: 1,
    };
  }
  return undefined;
};

export function describeProbe(container: V1Container | undefined): ProbeDescription | null {
  const probe = container?.readinessProbe;
  if (!probe) return null;
  if (probe.httpGet) return { type: 'http', path: probe.httpGet.path ?? '/', port: portNumber(container, probe.httpGet.port), scheme: probe.httpGet.scheme ?? 'HTTP' };
  if (probe.tcpSocket) return { type: 'tcp', port: portNumber(container, probe.tcpSocket.port) };
  if (probe.grpc) return { type: 'grpc', port: probe.grpc.port };
  if (probe.exec) return { type: 'exec', command: probe.exec.command ?? [] };
  return null;
}

/** A probe may name its port (`http`); a person wants the number. */
function portNumber(container: V1Container | undefined, port: unknown): string | number {
  if (typeof port === 'number') return port;
  const named = container?.ports?.find((p) => p.name === port);
  return named ? named.containerPort : String(port);
}

function totalRequests(pod: V1Pod): { cpu: string | null; memory: string | null } {
  const containers = pod.spec?.containers ?? [];
  const cpu = containers.map((c) => quantity(c.resources?.requests?.['cpu'])).filter((q): q is string => q !== null);
  const memory = containers.map((c) => quantity(c.resources?.requests?.['memory'])).filter((q): q is string => q !== null);
  return { cpu: cpu.length > 0 ? cpu.join(' + ') : null, memory: memory.length > 0 ? memory.join(' + ') : null };
}

/** Quantities arrive as strings, or (from some clients) as objects with a string form. */
function quantity(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  return JSON.stringify(value);
}

function containerStatuses(pod: V1Pod): V1ContainerStatus[] {
  return [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
}

function containerSpec(pod: V1Pod, name: string): V1Container | undefined {
  return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find((c) => c.name === name);
}

export function eventsAbout(events: readonly CoreV1Event[], pod: V1Pod): CoreV1Event[] {
  const name = nameOf(pod);
  const uid = pod.metadata?.uid;
  return events
    .filter((e) => e.involvedObject.kind === 'Pod' && e.involvedObject.name === name && (uid === undefined || e.involvedObject.uid === undefined || e.involvedObject.uid === uid))
    .sort((a, b) => eventTime(a) - eventTime(b));
}

export function eventTime(event: CoreV1Event): number {
  return timeOf(event.lastTimestamp) ?? timeOf(event.eventTime) ?? timeOf(event.metadata.creationTimestamp) ?? 0;
}

function nameOf(pod: V1Pod): string {
  return pod.metadata?.name ?? '(unnamed)';
}

export function timeOf(value: Date | string | undefined | null): number | undefined {
  if (value === undefined || value === null) return undefined;
  const time = value instanceof Date ? value.getTime() : Date.parse(value);
  return Number.isNaN(time) ? undefined : time;
}
