import type { CanaryMetricV1 } from '@appserving/shared';
import type { CanaryMetricSpec, FlaggerCanary } from './rollout.ts';

/**
 * The canary analysis record: for each step Flagger takes, the watcher asks Prometheus the same questions
 * Flagger's MetricTemplates ask, and records the values next to their thresholds.
 */

/** Flagger's query template model (pkg/apis/flagger/v1beta1 MetricTemplateModel). */
export interface MetricTemplateModel {
  name: string;
  namespace: string;
  target: string;
  service: string;
  ingress: string;
  route: string;
  interval: string;
  variables: Record<string, string>;
}

export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

export function metricTemplateModel(canary: FlaggerCanary, metric: CanaryMetricSpec): MetricTemplateModel {
  const target = canary.spec?.targetRef?.name ?? canary.metadata?.name ?? '';
  return {
    name: canary.metadata?.name ?? '',
    namespace: canary.metadata?.namespace ?? '',
    target,
    service: canary.spec?.service?.name || target,
    ingress: canary.spec?.ingressRef?.name ?? target,
    route: target,
    interval: metric.interval ?? '1m',
    variables: metric.templateVariables ?? {},
  };
}

const ACTION = /\{\{-?\s*(.*?)\s*-?\}\}/g;

/**
 * Renders a MetricTemplate query the way Flagger does (Go text/template whose functions are the model's
 * fields: `{{ namespace }}`, `{{ target }}`, `{{ interval }}`, `{{ variables.name }}`), failing like Flagger's
 * `missingkey=error` on an unknown name. Other template constructs are refused with a clear error rather
 * than rendered differently from Flagger.
 */
export function renderQuery(template: string, model: MetricTemplateModel): string {
  return template.replace(ACTION, (_whole, expression: string) => {
    const field = /^\.?([A-Za-z]+)(?:\.([A-Za-z0-9_-]+))?$/.exec(expression.trim());
    if (!field) throw new TemplateError(`cannot render {{ ${expression} }}: only model fields such as {{ namespace }} and {{ variables.name }} are supported`);
    const [, name, key] = field as unknown as [string, string, string | undefined];
    if (name === 'variables') {
      if (key === undefined) throw new TemplateError('{{ variables }} needs a key, e.g. {{ variables.threshold }}');
      const value = model.variables[key];
      if (value === undefined) throw new TemplateError(`template variable ${key} is not set in the Canary's templateVariables`);
      return value;
    }
    if (key !== undefined || !(name in model) || name === 'variables') throw new TemplateError(`unknown template field {{ ${expression} }}`);
    return String(model[name as Exclude<keyof MetricTemplateModel, 'variables'>]);
  });
}

/** What one Prometheus query gave: a number, nothing at all, or an error (never confused with each other). */
export type QueryOutcome = { kind: 'value'; value: number } | { kind: 'no-data' } | { kind: 'failed'; error: string };

export function evaluateMetric(metric: CanaryMetricSpec, outcome: QueryOutcome): CanaryMetricV1 {
  const min = metric.thresholdRange?.min;
  const max = metric.thresholdRange?.max ?? (metric.thresholdRange ? undefined : metric.threshold);
  const bounds = { ...(min === undefined ? {} : { threshold_min: min }), ...(max === undefined ? {} : { threshold_max: max }) };
  if (outcome.kind === 'no-data') return { name: metric.name, value: null, ...bounds, verdict: 'no-data' };
  if (outcome.kind === 'failed') return { name: metric.name, value: null, ...bounds, verdict: 'query-failed', error: outcome.error.slice(0, 500) };
  const pass = (min === undefined || outcome.value >= min) && (max === undefined || outcome.value <= max);
  return { name: metric.name, value: outcome.value, ...bounds, verdict: pass ? 'pass' : 'fail' };
}

/** The Canary counters that identify one analysis step; each step Flagger takes changes at least one. */
export interface StepCounters {
  weight: number;
  iterations: number;
  failedChecks: number;
}

export function stepCounters(canary: FlaggerCanary): StepCounters {
  return { weight: canary.status?.canaryWeight ?? 0, iterations: canary.status?.iterations ?? 0, failedChecks: canary.status?.failedChecks ?? 0 };
}

/** Whether the counters show an analysis step (Flagger's first pass only starts the analysis). */
export function isAnalysisStep(counters: StepCounters): boolean {
  return counters.weight > 0 || counters.iterations > 0 || counters.failedChecks > 0;
}

/** Event id of a step: derived from the counters it describes, so observing it again records nothing new. */
export function analysisEventId(releaseId: string, counters: StepCounters): string {
  return `${releaseId}.analysis.w${counters.weight}.i${counters.iterations}.f${counters.failedChecks}`;
}

/**
 * The step's verdict as Flagger reached it: a failed check counts up on failure; the weight or the iteration
 * count moves on success. The metric values the watcher measured are recorded beside it.
 */
export function stepVerdict(previous: StepCounters | null, current: StepCounters): 'pass' | 'fail' | 'inconclusive' {
  const before = previous ?? { weight: 0, iterations: 0, failedChecks: 0 };
  if (current.failedChecks > before.failedChecks) return 'fail';
  if (current.weight > before.weight || current.iterations > before.iterations) return 'pass';
  return 'inconclusive';
}

/** The metric that explains a failed analysis: a failing value first, then missing data, then a failed query. */
export function failingMetric(metrics: readonly CanaryMetricV1[]): CanaryMetricV1 | null {
  return metrics.find((m) => m.verdict === 'fail') ?? metrics.find((m) => m.verdict === 'no-data') ?? metrics.find((m) => m.verdict === 'query-failed') ?? null;
}
