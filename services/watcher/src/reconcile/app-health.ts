import { healthThresholdDefaults, resolveTrack, type HealthThresholdChecksV1, type HealthThresholdsV1, type Strategy } from '@appserving/shared';

/**
 * The health of an app's live release after its rollout: `degraded` when it has had fewer available pods than asked
 * for longer than the grace time, or when its error ratio or p95 latency crossed a threshold the user set
 * (`health_thresholds`); `running` again when it is whole and within its thresholds. Pure: the watch measures, this
 * decides.
 */

export type ThresholdName = 'max_error_ratio' | 'max_latency_p95_ms';
export type HealthStatus = 'running' | 'degraded';
export type ThresholdsData = HealthThresholdChecksV1;
export type ThresholdCheck = ThresholdsData['checks'][number];

/** The series of contracts/app-metrics.ts each threshold is judged on. */
export const thresholdMetrics = { max_error_ratio: 'error_ratio', max_latency_p95_ms: 'latency_p95_ms' } as const satisfies Record<ThresholdName, string>;

/** The thresholds set, in a fixed order, with the window they are measured over; empty when none is set. */
export function activeThresholds(thresholds: HealthThresholdsV1 | undefined): { window: string; limits: { threshold: ThresholdName; limit: number }[] } {
  const limits: { threshold: ThresholdName; limit: number }[] = [];
  if (thresholds?.max_error_ratio !== undefined) limits.push({ threshold: 'max_error_ratio', limit: thresholds.max_error_ratio });
  if (thresholds?.max_latency_p95_ms !== undefined) limits.push({ threshold: 'max_latency_p95_ms', limit: thresholds.max_latency_p95_ms });
  return { window: thresholds?.window ?? healthThresholdDefaults.window, limits };
}

/** One sample per raw track of an instant query of the contract (label `track`). */
export interface TrackSample {
  readonly track: string | undefined;
  readonly value: number;
}

/**
 * The live release's value from a query's samples: the worst over the tracks that serve it (a rolling app's
 * `stable`; a canary or blue/green app's `primary`, reached through its own Service or `-primary`). A canary under
 * analysis is the new release's, judged by its analysis, not here. Null: no traffic in the window (no sample, or
 * NaN, e.g. 0/0).
 */
export function liveValue(samples: readonly TrackSample[], strategy: Strategy): number | null {
  let worst: number | null = null;
  for (const sample of samples) {
    const track = resolveTrack(sample.track, strategy);
    if ((track === 'stable' || track === 'primary') && Number.isFinite(sample.value)) worst = worst === null ? sample.value : Math.max(worst, sample.value);
  }
  return worst;
}

/** What the thresholds' measurements say: `unknown` when a query could not be answered. */
export type ThresholdVerdict = { kind: 'off' } | { kind: 'measured'; data: ThresholdsData } | { kind: 'unknown'; error: string };

export type Measurement = { kind: 'value'; value: number | null } | { kind: 'failed'; error: string };

export function thresholdVerdict(thresholds: HealthThresholdsV1 | undefined, measured: Partial<Record<ThresholdName, Measurement>>): ThresholdVerdict {
  const { window, limits } = activeThresholds(thresholds);
  if (limits.length === 0) return { kind: 'off' };
  const checks: ThresholdCheck[] = [];
  for (const { threshold, limit } of limits) {
    const m = measured[threshold];
    if (!m) return { kind: 'unknown', error: `${threshold} was not measured` };
    if (m.kind === 'failed') return { kind: 'unknown', error: m.error };
    // No traffic in the window: nothing failed and nothing was slow.
    checks.push({ threshold, limit, value: m.value, crossed: m.value !== null && m.value > limit });
  }
  return { kind: 'measured', data: { window, checks } };
}

export interface HealthInputs {
  appStatus: string;
  versionLabel: string;
  pods: { available: number; desired: number };
  /** Since when the live release has had fewer available pods than desired (undefined: it has them all). */
  podsShortSince: number | undefined;
  now: number;
  degradedGraceMs: number;
  /**
   * The thresholds' verdict. When a measurement fails the caller passes its last measured one, so a query that
   * fails once does not end a degradation; `unknown` (none measured yet) judges by pods alone.
   */
  thresholds: ThresholdVerdict;
}

export interface HealthDecision {
  status: HealthStatus;
  reason: string;
  thresholds?: ThresholdsData;
}

/** The app's new health, or undefined when it stays as it is (or is not `running`/`degraded`: deploying, failed…). */
export function decideAppHealth(input: HealthInputs): HealthDecision | undefined {
  const { pods, versionLabel } = input;
  const whole = pods.desired === 0 || pods.available >= pods.desired;
  const podsDegraded = !whole && input.podsShortSince !== undefined && input.now - input.podsShortSince >= input.degradedGraceMs;
  const measured = input.thresholds.kind === 'measured' ? input.thresholds.data : undefined;
  const crossed = measured?.checks.filter((c) => c.crossed) ?? [];
  const thresholds = measured ? { thresholds: measured } : {};

  if (input.appStatus === 'running' && (podsDegraded || crossed.length > 0)) {
    const reasons = [
      ...(podsDegraded ? [`${pods.available} of ${pods.desired} pods of version ${versionLabel} are available`] : []),
      ...(crossed.length > 0 ? [`${crossed.map(describeCheck).join(' and ')} (version ${versionLabel}, over ${measured?.window})`] : []),
    ];
    return { status: 'degraded', reason: reasons.join('; '), ...thresholds };
  }
  if (input.appStatus === 'degraded' && whole && crossed.length === 0) {
    const pods = `all ${input.pods.desired} pods of version ${versionLabel} are available again`;
    return { status: 'running', reason: measured ? `${pods}; ${measured.checks.map(describeCheck).join(' and ')} (over ${measured.window})` : pods, ...thresholds };
  }
  return undefined;
}

/** `error ratio 0.25 is above max_error_ratio 0.1`, `p95 latency 812 ms is within max_latency_p95_ms 500`. */
export function describeCheck(check: ThresholdCheck): string {
  const what = check.threshold === 'max_error_ratio' ? 'error ratio' : 'p95 latency';
  const unit = check.threshold === 'max_error_ratio' ? '' : ' ms';
  if (check.value === null) return `${what} has no requests to judge (${check.threshold} ${check.limit})`;
  return `${what} ${formatValue(check.value)}${unit} is ${check.crossed ? 'above' : 'within'} ${check.threshold} ${check.limit}`;
}

function formatValue(value: number): string {
  return String(Number(value.toPrecision(3)));
}
