import type { CloudEvent, Diagnosis } from '../api/views.ts';
import { formatBytes } from '../output/format.ts';

/**
 * What a person reads for each event of a release (docs/release-lifecycle.md). Pure: event in, line out.
 * `kind` says whether the line is a finished step or the current activity; `status` is set by status events.
 */
export interface EventLine {
  kind: 'step' | 'activity' | 'failure';
  message: string;
  percent?: number;
  status?: string;
  canaryWeight?: number;
}

const methods: Record<string, string> = { direct: 'direct layer push', kaniko: 'Kaniko build Pod' };

const statusWords: Record<string, string> = {
  pending: 'waiting for a builder or deployer',
  building: 'building the image',
  built: 'image built',
  deploying: 'deploying (helm)',
  progressing: 'rolling out',
  'waiting-promotion': 'waiting for promotion',
  promoting: 'promoting',
  succeeded: 'succeeded',
  failed: 'failed',
  aborted: 'aborted',
  'rolled-back': 'rolled back',
  superseded: 'superseded by a newer release',
};

export function describeStatus(status: string): string {
  return statusWords[status] ?? status;
}

/** The short type of an event: `dev.appserving.build.started.v1` → `build.started`. */
export function shortType(type: string): string {
  return type.replace(/^dev\.appserving\.(event\.)?/, '').replace(/\.v[0-9]+$/, '');
}

export function describeEvent(event: CloudEvent): EventLine | undefined {
  const data = (event.data ?? {});
  switch (shortType(event.type)) {
    case 'build.started':
      return { kind: 'activity', message: `building the image (${methods[String(data.method)] ?? String(data.method)})` };
    case 'build.progress':
      return buildProgress(data);
    case 'build.succeeded':
      return { kind: 'step', message: `image ${data.reused ? 'reused' : 'built'}: ${shortImage(String(data.image), String(data.digest))}` };
    case 'build.failed':
      return { kind: 'failure', message: `build failed: ${String(data.reason)}` };
    case 'deploy.step':
      return deployStep(data);
    case 'release.status':
      return releaseStatus(data);
    case 'canary.analysis':
      return analysisStep(data);
    case 'app.health':
      return data.status === 'degraded'
        ? { kind: 'failure', message: `app degraded: ${String(data.reason)}` }
        : { kind: 'step', message: `app running again: ${String(data.reason)}` };
    default: {
      const command = /^command\.([a-z-]+)$/.exec(shortType(event.type))?.[1];
      return command ? { kind: 'step', message: `${command} requested${event.source ? ` by ${event.source.replace(/^\/appserving\//, '')}` : ''}` } : undefined;
    }
  }
}

function buildProgress(data: Record<string, unknown>): EventLine {
  const phase = String(data.phase);
  const message = typeof data.message === 'string' ? data.message : phase;
  const done = typeof data.done_bytes === 'number' ? data.done_bytes : undefined;
  const total = typeof data.total_bytes === 'number' && data.total_bytes > 0 ? data.total_bytes : undefined;
  // The builder's message is already a sentence ("pushing the image to …"); the phase is the fallback.
  const text = typeof data.message === 'string' && data.message ? message : (phaseWords[phase] ?? phase);
  if (done !== undefined && total !== undefined) {
    const percent = Math.min(100, Math.floor((done / total) * 100));
    return { kind: 'activity', message: `${text} ${percent}% (${formatBytes(done)} of ${formatBytes(total)})`, percent };
  }
  if (done !== undefined) return { kind: 'activity', message: `${text} (${formatBytes(done)})` };
  return { kind: 'activity', message: text };
}

const phaseWords: Record<string, string> = { 'fetching-artifact': 'fetching the artifact', scheduling: 'scheduling the build', building: 'building', pushing: 'pushing the image' };

function deployStep(data: Record<string, unknown>): EventLine {
  const step = String(data.step);
  const reason = typeof data.reason === 'string' && data.reason ? `: ${data.reason}` : '';
  switch (step) {
    case 'applied':
      return { kind: 'step', message: `applied to the cluster${typeof data.helm_revision === 'number' ? ` (helm revision ${data.helm_revision})` : ''}` };
    case 'waiting-promotion':
      return { kind: 'step', message: 'waiting at the promotion gate' };
    case 'promoted':
      return { kind: 'step', message: 'promotion gate opened' };
    case 'aborted':
      return { kind: 'step', message: `aborted${reason}` };
    case 'rolled-back':
      return { kind: 'step', message: `rolled back${reason}` };
    case 'deleted':
      return { kind: 'step', message: 'removed from the cluster' };
    case 'failed':
      return { kind: 'failure', message: `deploy failed${reason}` };
    default:
      return { kind: 'activity', message: `deploy: ${step}${reason}` };
  }
}

function releaseStatus(data: Record<string, unknown>): EventLine {
  const status = String(data.status);
  const weight = typeof data.canary_weight === 'number' ? data.canary_weight : undefined;
  const base = { status, ...(weight !== undefined ? { canaryWeight: weight } : {}) };
  if (status === 'failed' || status === 'aborted' || status === 'rolled-back') {
    const diagnosis = data.diagnosis as Diagnosis | undefined;
    return { ...base, kind: 'failure', message: `${describeStatus(status)}: ${diagnosis?.summary ?? (typeof data.reason === 'string' ? data.reason : 'no reason given')}` };
  }
  if (status === 'succeeded' || status === 'built') return { ...base, kind: 'step', message: describeStatus(status) };
  // A running status's reason retells the step just shown ("applied to the cluster; rolling out"): left out.
  if (status === 'progressing' && weight !== undefined) return { ...base, kind: 'activity', message: `rolling out: ${weight}% of traffic on the new version` };
  return { ...base, kind: 'activity', message: describeStatus(status) };
}

function analysisStep(data: Record<string, unknown>): EventLine {
  const metrics = Array.isArray(data.metrics) ? (data.metrics as Record<string, unknown>[]) : [];
  const shown = metrics.map((m) => {
    const value = typeof m.value === 'number' ? round(m.value) : m.verdict === 'no-data' ? 'no data' : 'query failed';
    const bound = typeof m.threshold_min === 'number' ? ` ≥ ${m.threshold_min}` : typeof m.threshold_max === 'number' ? ` ≤ ${m.threshold_max}` : '';
    return `${String(m.name)} ${value}${bound} ${m.verdict === 'pass' ? 'ok' : String(m.verdict)}`;
  });
  const checks = typeof data.failed_checks === 'number' && data.failed_checks > 0 ? `, ${data.failed_checks} failed check${data.failed_checks === 1 ? '' : 's'}` : '';
  return {
    kind: 'step',
    message: `analysis step ${String(data.step)}: ${String(data.weight)}% of traffic, ${String(data.verdict)}${checks}${shown.length ? ` (${shown.join('; ')})` : ''}`,
    canaryWeight: typeof data.weight === 'number' ? data.weight : undefined,
  };
}

function round(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}

function shortImage(image: string, digest: string): string {
  const bare = image.split('@')[0] ?? image;
  return digest && digest !== 'undefined' ? `${bare}@${digest.slice(0, 19)}…` : bare;
}

/** A failed release explained: summary, hint, the evidence that matters, the log tail. */
export function diagnosisLines(release: { status: string; status_reason: string | null; diagnosis: Diagnosis | null }): string[] {
  const lines: string[] = [];
  const diagnosis = release.diagnosis;
  if (diagnosis) {
    lines.push(`${diagnosis.summary} [${diagnosis.code}]`);
    if (diagnosis.hint) lines.push(`hint: ${diagnosis.hint}`);
    for (const [key, value] of Object.entries(diagnosis.evidence ?? {})) {
      if (Array.isArray(value)) {
        if (value.length === 0) continue;
        lines.push(`${key.replace(/_/g, ' ')}:`);
        for (const item of value.slice(-20)) lines.push(`  ${typeof item === 'string' ? item : JSON.stringify(item)}`);
      } else if (value !== null && value !== undefined && value !== '') {
        lines.push(`${key.replace(/_/g, ' ')}: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
      }
    }
  } else if (release.status_reason) {
    lines.push(release.status_reason);
  }
  if (diagnosis && release.status_reason && !diagnosis.summary.includes(release.status_reason)) lines.push(`reason: ${release.status_reason}`);
  return lines;
}
