import type { ReleaseStatus } from '@appserving/shared';
import type { PodProblem, ProbeDescription } from './pod-problems.ts';
import type { Diagnosis } from './release-state.ts';

/** What the diagnosis texts need to know about the release (from its spec snapshot). */
export interface ReleaseContext {
  appName: string;
  namespace: string;
  /** `small` | `medium` | `large`, or explicit cpu/memory. */
  resourceSpec: unknown;
  port: number | null;
  healthPath: string | null;
  profile: string | null;
  appType: string | null;
}

const MAX_LOG_LINES = 20;

/** Turns a pod problem into a diagnosis; `logLines` are the crashed container's last lines, when they could be read. */
export function podDiagnosis(problem: PodProblem, release: ReleaseContext, logLines: readonly string[] | null): Diagnosis {
  switch (problem.kind) {
    case 'image-pull':
      return imagePullDiagnosis(problem);
    case 'oom-killed':
      return oomDiagnosis(problem, release, logLines);
    case 'crash-loop':
      return crashLoopDiagnosis(problem, release, logLines);
    case 'unschedulable':
      return unschedulableDiagnosis(problem, release);
    case 'readiness-failing':
      return readinessDiagnosis(problem, release);
  }
}

function imagePullDiagnosis(p: Extract<PodProblem, { kind: 'image-pull' }>): Diagnosis {
  const why = {
    auth: 'the registry refused the cluster\'s credentials (not logged in, or not allowed to read this repository)',
    'not-found': 'the registry has no such image (wrong repository, tag or digest)',
    unknown: 'the registry could not be read',
  }[p.cause];
  const hint = {
    auth: 'Give the cluster pull access to this registry (an imagePullSecret for the project\'s namespace), or use an image in a registry the cluster can read. To check: `docker pull` the image with the same credentials.',
    'not-found':
      'Check image_url for typos in the repository, tag or digest; if the image was built by AppServing, look at the build\'s status: a build that pushed elsewhere or was cleaned up leaves nothing to pull. To check: `docker pull` the image.',
    unknown: 'Check that the registry is reachable from the cluster (its address, TLS certificate, network policies) and look at the evidence message.',
  }[p.cause];
  return {
    code: 'image-pull',
    summary: `The image ${p.image} cannot be pulled: ${why}.`,
    hint,
    evidence: { image: p.image, cause: p.cause, pod: p.pod, container: p.container, state: p.waitingReason, message: p.message, pods_affected: p.podsAffected },
  };
}

function oomDiagnosis(p: Extract<PodProblem, { kind: 'oom-killed' }>, release: ReleaseContext, logLines: readonly string[] | null): Diagnosis {
  const preset = presetName(release.resourceSpec);
  const limit = p.memoryLimit ?? 'its memory limit';
  return {
    code: 'oom-killed',
    summary: `The app was killed for using more memory than its limit of ${limit}${preset ? ` (resource_spec ${preset})` : ''}; it restarted ${p.restarts} times.`,
    hint:
      `${biggerPresetHint(release.resourceSpec)} For a JVM, the heap is only part of the memory a container uses (metaspace, threads, direct buffers): ` +
      'keep -Xmx (or -XX:MaxRAMPercentage) well below the limit, and look for a memory leak if usage keeps growing.',
    evidence: {
      pod: p.pod,
      container: p.container,
      exit_code: p.exitCode,
      restarts: p.restarts,
      memory_limit: p.memoryLimit,
      memory_request: p.memoryRequest,
      resource_spec: release.resourceSpec,
      pods_affected: p.podsAffected,
      ...(logLines ? { last_log_lines: tail(logLines) } : {}),
    },
  };
}

function crashLoopDiagnosis(p: Extract<PodProblem, { kind: 'crash-loop' }>, release: ReleaseContext, logLines: readonly string[] | null): Diagnosis {
  const exit = p.exitCode === null ? 'exits' : `exits with code ${p.exitCode}${exitCodeMeaning(p.exitCode)}`;
  const fromLogs = logLines ? logHint(logLines, release) : undefined;
  return {
    code: 'crash-loop',
    summary: `The app ${exit} soon after it starts; Kubernetes restarted it ${p.restarts} times.`,
    hint:
      fromLogs ??
      `Read the last log lines in the evidence (GET /apps/{id}/logs?previous=true shows more). A Java app usually stops at start-up because of a missing setting, a database or broker it cannot reach, or the wrong profile${release.profile ? ` (profile: ${release.profile})` : ''}; run the same artifact locally with the same env to reproduce.`,
    evidence: {
      pod: p.pod,
      container: p.container,
      exit_code: p.exitCode,
      exit_reason: p.exitReason,
      restarts: p.restarts,
      pods_affected: p.podsAffected,
      ...(p.message ? { termination_message: p.message } : {}),
      last_log_lines: logLines ? tail(logLines) : null,
    },
  };
}

function unschedulableDiagnosis(p: Extract<PodProblem, { kind: 'unschedulable' }>, release: ReleaseContext): Diagnosis {
  const short = shortage(p.message);
  const asks = [p.cpuRequest ? `${p.cpuRequest} CPU` : undefined, p.memoryRequest ? `${p.memoryRequest} memory` : undefined].filter(Boolean).join(' and ');
  return {
    code: 'unschedulable',
    summary: `No node has room for the app's pods${asks ? `: each asks for ${asks}` : ''}${short ? ` and the cluster is short of ${short}` : ''}.`,
    hint: `${smallerPresetHint(release.resourceSpec)} Or ask the cluster's administrator for capacity (more or bigger nodes).`,
    evidence: { pod: p.pod, scheduler_message: p.message, cpu_request: p.cpuRequest, memory_request: p.memoryRequest, resource_spec: release.resourceSpec, pods_affected: p.podsAffected },
  };
}

function readinessDiagnosis(p: Extract<PodProblem, { kind: 'readiness-failing' }>, release: ReleaseContext): Diagnosis {
  const check = probeText(p.probe);
  const seconds = Math.round(p.notReadyForMs / 1000);
  return {
    code: 'readiness-failing',
    summary: `The app runs but never becomes ready: its readiness check ${check} has been failing for ${seconds} s.`,
    hint:
      p.probe?.type === 'http'
        ? `Make sure the app listens on port ${String(p.probe.port ?? release.port ?? '?')} (the \`port\` you gave) and answers ${p.probe.path ?? '/'} with a 2xx status once started. ` +
          'For Spring Boot, set health_path to /actuator/health and include spring-boot-starter-actuator; if the app just starts slowly, it gets more time with a lighter start-up or more CPU.'
        : `Make sure the app listens on the port you gave (${String(release.port ?? '?')}) once started.`,
    evidence: { pod: p.pod, container: p.container, probe: p.probe, probe_message: p.probeMessage, not_ready_seconds: seconds, pods_affected: p.podsAffected },
  };
}

export function progressDeadlineDiagnosis(facts: { deployment: string; message: string; desired: number; updated: number; available: number; deadlineSeconds: number | null }): Diagnosis {
  return {
    code: 'progress-deadline-exceeded',
    summary: `The rollout stopped making progress${facts.deadlineSeconds ? ` for ${facts.deadlineSeconds} s` : ''}: ${facts.available} of ${facts.desired} new pods became available.`,
    hint: 'The new pods do not become ready in time. Look at the app\'s logs (GET /apps/{id}/logs) and events; a slow start-up needs a longer deadline, a failing one a fix.',
    evidence: { deployment: facts.deployment, message: facts.message, desired_replicas: facts.desired, updated_replicas: facts.updated, available_replicas: facts.available },
  };
}

export function flaggerIdleDiagnosis(facts: { canary: string; namespace: string; cluster: string; suspended: boolean; phase: string | null; waitedMs: number }): Diagnosis {
  const minutes = Math.max(1, Math.round(facts.waitedMs / 60_000));
  const ref = `${facts.namespace}/${facts.canary}`;
  const summary = facts.suspended
    ? `Flagger does not analyse the release: its Canary ${ref} is suspended.`
    : facts.phase === null
      ? `Flagger has nothing to analyse: the app's Canary ${ref} is not on the cluster ${facts.cluster}.`
      : `Flagger did not pick up the release within ${minutes} min: the Canary ${ref} ${facts.phase ? `still shows the earlier release's phase ${facts.phase}` : 'has no status at all'}.`;
  const hint = facts.suspended
    ? `Resume the Canary (kubectl -n ${facts.namespace} patch canary ${facts.canary} --type merge -p '{"spec":{"suspend":false}}') and deploy again, or deploy with strategy rolling.`
    : `Canary and blue-green releases need Flagger on the target cluster, watching namespace ${facts.namespace} (see docs/operations.md): check that its Deployment runs and look at its log for ${facts.canary}. Until then, deploy with strategy rolling.`;
  return {
    code: 'flagger-not-acting',
    summary,
    hint,
    evidence: { canary: facts.canary, namespace: facts.namespace, cluster: facts.cluster, suspended: facts.suspended, canary_phase: facts.phase, waited_seconds: Math.round(facts.waitedMs / 1000) },
  };
}

export interface FailedMetric {
  name: string;
  value: number | null;
  thresholdMin?: number | undefined;
  thresholdMax?: number | undefined;
  verdict: string;
  error?: string | undefined;
}

export function canaryFailedDiagnosis(facts: { failedChecks: number; threshold: number | null; metric: FailedMetric | null; flaggerMessages: readonly string[] }): Diagnosis {
  const m = facts.metric;
  let what = 'the analysis did not pass';
  if (m && m.verdict === 'fail' && m.value !== null) {
    const bound = m.thresholdMin !== undefined && m.value < m.thresholdMin ? `below the minimum of ${m.thresholdMin}` : `above the maximum of ${m.thresholdMax ?? '?'}`;
    what = `metric ${m.name} was ${round(m.value)}, ${bound}`;
  } else if (m && m.verdict === 'no-data') {
    what = `metric ${m.name} had no data (the new version may receive no traffic, or the query matches nothing)`;
  } else if (m && m.verdict === 'query-failed') {
    what = `metric ${m.name} could not be queried (${m.error ?? 'Prometheus error'})`;
  } else {
    // The watcher's own measurements passed (or there were none): Flagger's last word says why it stopped.
    const halt = [...facts.flaggerMessages].reverse().find((message) => /^Halt |advancement|not ready|progress deadline/i.test(message));
    if (halt) what = `Flagger reported "${halt}"`;
  }
  return {
    code: 'canary-analysis-failed',
    summary: `The canary analysis failed: ${what}${facts.failedChecks ? `, ${facts.failedChecks} failed checks` : ''}. Traffic went back to the previous version.`,
    hint:
      m?.verdict === 'no-data' || m?.verdict === 'query-failed'
        ? 'Check that Prometheus collects this metric for the new version (labels of the query) and that the new version receives traffic during the analysis.'
        : 'The new version did worse than required. Compare its logs and metrics with the previous version\'s, fix, and deploy again; the previous version keeps serving meanwhile.',
    evidence: {
      failed_checks: facts.failedChecks,
      threshold: facts.threshold,
      metric: m ? { name: m.name, value: m.value, threshold_min: m.thresholdMin ?? null, threshold_max: m.thresholdMax ?? null, verdict: m.verdict } : null,
      flagger_events: facts.flaggerMessages.slice(-5),
    },
  };
}

export function buildFailedDiagnosis(reason: string, logTail: readonly string[]): Diagnosis {
  return {
    code: 'build-failed',
    summary: `The image build failed: ${reason}`,
    hint: buildHint(reason, logTail),
    evidence: { reason, log_tail: tail(logTail) },
  };
}

export function helmFailedDiagnosis(message: string, helmRevision: number | null): Diagnosis {
  return {
    code: 'helm-failed',
    summary: `Applying the app to the cluster failed: ${message}`,
    hint: /quota|forbidden/i.test(message)
      ? 'The namespace\'s quota or permissions refused the objects: ask the cluster\'s administrator, or ask for fewer resources.'
      : /timed out|timeout|context deadline/i.test(message)
        ? 'The cluster did not answer in time; deploy again, and if it repeats, check the cluster\'s health.'
        : 'Read the message: it names the object Kubernetes refused and why. A values problem needs a fixed release; a transient cluster problem needs a retry.',
    evidence: { message, helm_revision: helmRevision },
  };
}

const stuckHints: Partial<Record<ReleaseStatus, string>> = {
  pending: 'No builder or deployer picked up the command: check that they run (GET /readyz of each service) and are connected to NATS.',
  building: 'The build stopped reporting progress: check the builder\'s logs and the build Pod on the cluster.',
  deploying: 'The deployer did not finish applying the release: check the deployer\'s logs and that the cluster answers.',
  progressing: 'The rollout stopped advancing: look at the app\'s logs (GET /apps/{id}/logs) and the timeline.',
  'waiting-promotion': 'Nobody promoted or aborted the release in time: POST /apps/{id}/promote to go on, /abort to go back.',
  promoting: 'Promotion did not finish: check Flagger\'s logs and the primary Deployment.',
};

export function deadlineDiagnosis(status: ReleaseStatus, stuckForMs: number): Diagnosis {
  const minutes = Math.max(1, Math.round(stuckForMs / 60_000));
  return {
    code: 'deadline-exceeded',
    summary: `The release made no progress for ${minutes} min while ${status}.`,
    hint: stuckHints[status] ?? 'Look at the timeline to see the last step that happened.',
    evidence: { stuck_in: status, stuck_for_seconds: Math.round(stuckForMs / 1000) },
  };
}

export function cancelledDiagnosis(): Diagnosis {
  return { code: 'cancelled', summary: 'cancelled: app deleted', hint: 'The app was deleted while this release was in progress; nothing to do.', evidence: {} };
}

/** Hints from what a crashed JVM or Python process printed last, most specific first. */
const logPatterns: readonly [RegExp, (m: RegExpMatchArray, r: ReleaseContext) => string][] = [
  [/UnsupportedClassVersionError.*class file version (\d+)/, (m) => `The jar was compiled for a newer Java (class file version ${m[1]}) than the image runs: build it for the image's Java version, or use a base image with a newer Java.`],
  [/no main manifest attribute|Unable to access jarfile|Invalid or corrupt jarfile/i, () => 'The jar is not an executable jar: build it with the spring-boot-maven-plugin (repackage) or the Gradle bootJar task, or deploy it as a war.'],
  [/Could not resolve placeholder '([^']+)'/, (m) => `The app needs the setting \`${m[1]}\`: give it in env (e.g. ${toEnvName(m[1] ?? '')}) or in config.`],
  [/Failed to configure a DataSource/, () => 'Spring Boot found no database settings: set SPRING_DATASOURCE_URL (and user/password as secrets) in env, or exclude DataSourceAutoConfiguration if the app needs no database.'],
  [/Port (\d+) was already in use|Address already in use/, () => 'Two processes in the container want the same port: check server.port and anything else the app starts.'],
  [/Communications link failure|Connection refused|UnknownHostException|ConnectException|could not connect to server/i, () => 'The app could not reach a service it needs at start-up (database, broker, another API): check its address in env/config and that it is reachable from the cluster.'],
  [/ClassNotFoundException|NoClassDefFoundError/, () => 'A class is missing at run time: the jar may lack a dependency (scope `provided`, or a thin jar); build a self-contained jar.'],
  [/OutOfMemoryError/, (_m, r) => `The JVM ran out of heap. ${biggerPresetHint(r.resourceSpec)}`],
  [/ModuleNotFoundError|ImportError: No module named/, () => 'A Python module is missing: add it to requirements.txt.'],
  [/APPLICATION FAILED TO START/, () => 'Spring Boot printed why it did not start right under "APPLICATION FAILED TO START" in the log lines; fix that setting or dependency.'],
];

function logHint(lines: readonly string[], release: ReleaseContext): string | undefined {
  const text = lines.join('\n');
  for (const [pattern, hint] of logPatterns) {
    const match = pattern.exec(text);
    if (match) return hint(match, release);
  }
  return undefined;
}

function buildHint(reason: string, logTail: readonly string[]): string {
  const text = `${reason}\n${logTail.join('\n')}`;
  if (/checksum|sha256 mismatch/i.test(text)) return 'The artifact downloaded does not match its checksum: upload it again or fix artifact_sha256.';
  if (/404|not found/i.test(text) && /artifact|download|fetch/i.test(text)) return 'The artifact could not be downloaded: check artifact_url (it must be reachable from the platform), or upload the file with POST /artifacts.';
  if (/unauthori[sz]ed|denied|401|403/i.test(text)) return 'The registry refused the push: check the registry credentials the platform uses for this cluster.';
  if (/OOMKilled|out of memory/i.test(text)) return 'The build ran out of memory: large images need a build Pod with more memory (ask the platform\'s administrator).';
  return 'Read the log tail in the evidence: it shows the step that failed. Deploy again after fixing the artifact, or report it if the build itself is at fault.';
}

function presetName(spec: unknown): string | null {
  return typeof spec === 'string' ? spec : null;
}

function biggerPresetHint(spec: unknown): string {
  if (spec === 'small') return 'Give it more memory: resource_spec medium (or large).';
  if (spec === 'medium') return 'Give it more memory: resource_spec large, or explicit memory.';
  return 'Give it more memory (resource_spec with a larger memory value).';
}

function smallerPresetHint(spec: unknown): string {
  if (spec === 'large') return 'Ask for less: resource_spec medium (or fewer replicas).';
  if (spec === 'medium') return 'Ask for less: resource_spec small (or fewer replicas).';
  if (typeof spec === 'object' && spec !== null) return 'Ask for less CPU or memory in resource_spec, or for fewer replicas.';
  return 'Ask for fewer replicas or smaller resources.';
}

function shortage(message: string): string | null {
  const found = [...message.matchAll(/Insufficient ([a-z][a-z0-9./-]*[a-z0-9])/gi)].map((m) => m[1]);
  return found.length > 0 ? [...new Set(found)].join(' and ') : null;
}

function probeText(probe: ProbeDescription | null): string {
  if (!probe) return '(no probe found)';
  if (probe.type === 'http') return `${probe.scheme === 'HTTPS' ? 'HTTPS ' : ''}GET ${probe.path ?? '/'} on port ${String(probe.port)}`;
  if (probe.type === 'tcp') return `TCP connect to port ${String(probe.port)}`;
  if (probe.type === 'grpc') return `gRPC health on port ${String(probe.port)}`;
  return `command ${(probe.command ?? []).join(' ')}`;
}

function exitCodeMeaning(code: number): string {
  if (code === 137) return ' (killed: out of memory or SIGKILL)';
  if (code === 143) return ' (stopped with SIGTERM)';
  if (code === 127) return ' (command not found)';
  if (code === 126) return ' (command not executable)';
  return '';
}

function toEnvName(property: string): string {
  return property.replace(/[.-]/g, '_').replace(/\[|\]/g, '').toUpperCase();
}

function tail(lines: readonly string[]): string[] {
  return lines.slice(-MAX_LOG_LINES).map((l) => (l.length > 500 ? `${l.slice(0, 500)}…` : l));
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
