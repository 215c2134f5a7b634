import { appMetricQueries, LABELS, type CanaryMetricV1, type Database, type Logger } from '@appserving/shared';
import type { CoreV1Event, V1Pod, V1ReplicaSet } from '@kubernetes/client-node';
import type { Kysely } from 'kysely';
import type { ClusterInformers, ClusterReader } from '../adapters/cluster-api.ts';
import { queryPrometheus, queryPrometheusVector } from '../adapters/prometheus.ts';
import { abortRequested, type ReleaseRecord } from '../adapters/release.repository.ts';
import { activeThresholds, liveValue, thresholdMetrics, thresholdVerdict, type Measurement, type ThresholdName, type ThresholdVerdict } from '../reconcile/app-health.ts';
import { evaluateMetric, failingMetric, isAnalysisStep, metricTemplateModel, renderQuery, stepCounters, type StepCounters } from '../reconcile/analysis.ts';
import { canaryFailedDiagnosis, flaggerIdleDiagnosis, podDiagnosis, progressDeadlineDiagnosis, type ReleaseContext } from '../reconcile/diagnosis.ts';
import { eventTime, findPodProblem, type PodProblem, type PodProblemSettings } from '../reconcile/pod-problems.ts';
import type { ReleaseInput } from '../reconcile/release-machine.ts';
import { rolloutStatuses } from '../reconcile/release-state.ts';
import { rolloutVerdict, templateReleaseId, type CanaryMetricSpec, type FlaggerCanary, type RolloutVerdict } from '../reconcile/rollout.ts';

/**
 * Reads what one cluster shows about a release (informer caches; pod logs, MetricTemplates and Prometheus on
 * demand) and turns it into status machine inputs. The decisions themselves are the pure functions in
 * reconcile/; this is where observed objects are gathered for them.
 */
export interface ReleaseObserver {
  /** Inputs from the release's rollout (or build Pod) as observed now; `progress` is called on visible progress. */
  observe(record: ReleaseRecord, now: number, progress: () => void): Promise<ReleaseInput[]>;
  /** The analysis step the Canary shows for this release, if it is a new one, with the metrics measured now. */
  analysisStep(record: ReleaseRecord, lastCounters: string | undefined): Promise<{ key: string; counters: StepCounters; phase: string; metrics: CanaryMetricV1[] } | undefined>;
  /** Available and desired pods of the release while it is the app's live one. */
  liveAvailability(record: ReleaseRecord): { available: number; desired: number } | undefined;
  /** The live release's error ratio and p95 latency against its health thresholds, measured now on the cluster's Prometheus. */
  measureThresholds(record: ReleaseRecord): Promise<ThresholdVerdict>;
}

const ANALYSING_PHASES = new Set(['Progressing', 'WaitingPromotion', 'Promoting', 'Finalising']);

export function createReleaseObserver(deps: {
  db: Kysely<Database>;
  informers: ClusterInformers;
  reader: ClusterReader;
  prometheusUrl: string | null;
  clusterName: string;
  settings: PodProblemSettings & { prometheusTimeoutMs: number; flaggerPickupDeadlineMs: number };
  log: Logger;
}): ReleaseObserver {
  const { informers, reader } = deps;
  const lastReady = new Map<string, number>();

  const podsOf = (record: ReleaseRecord, component: 'app' | 'build'): V1Pod[] => {
    const all = component === 'build' ? informers.pods.cache.list() : informers.pods.cache.list(record.namespace);
    return all.filter((p) => p.metadata?.labels?.[LABELS.releaseId] === record.id && (p.metadata.labels[LABELS.component] === 'build') === (component === 'build'));
  };
  const warnings = (namespace: string | undefined): CoreV1Event[] => [...informers.events.cache.list(namespace)];
  const primaryReplicaSets = (record: ReleaseRecord): V1ReplicaSet[] =>
    informers.replicaSets.cache
      .list(record.namespace)
      .filter((rs) => rs.metadata?.labels?.[LABELS.appId] === record.appId && rs.metadata.ownerReferences?.some((o) => o.kind === 'Deployment' && o.name === `${record.appName}-primary`));

  function context(record: ReleaseRecord): ReleaseContext {
    const spec = record.spec;
    return {
      appName: record.appName,
      namespace: record.namespace,
      resourceSpec: spec.resource_spec,
      port: spec.port ?? null,
      healthPath: spec.health_path ?? null,
      profile: spec.profile ?? null,
      appType: spec.app_type ?? null,
    };
  }

  /** The crashed container's last lines: of the previous instance (the one that crashed), else the current one. */
  async function crashLogs(record: ReleaseRecord, problem: PodProblem, namespace: string): Promise<string[] | null> {
    if (problem.kind !== 'crash-loop' && problem.kind !== 'oom-killed') return null;
    for (const previous of [true, false]) {
      try {
        const lines = await reader.podLogs(namespace, problem.pod, { container: problem.container, previous, tailLines: 50 });
        if (lines.length > 0) return lines;
      } catch (error) {
        deps.log.debug({ err: error, pod: problem.pod, previous, releaseId: record.id }, 'could not read the crashed container\'s log');
      }
    }
    return null;
  }

  async function canaryFailure(record: ReleaseRecord): Promise<ReleaseInput> {
    if (await abortRequested(deps.db, record.id)) return { type: 'aborted', reason: 'aborted: traffic went back to the previous version' };
    const steps = await deps.db.selectFrom('canary_analysis').select(['metrics', 'failed_checks']).where('release_id', '=', record.id).orderBy('step', 'desc').limit(10).execute();
    const metric = steps.map((s) => failingMetric(s.metrics as unknown as CanaryMetricV1[])).find((m) => m !== null) ?? null;
    const canary = informers.canaries.cache.get(record.appName, record.namespace);
    const messages = warnings(record.namespace)
      .filter((e) => e.involvedObject.kind === 'Canary' && e.involvedObject.name === record.appName)
      .sort((a, b) => eventTime(a) - eventTime(b))
      .map((e) => e.message ?? '');
    // Flagger resets its counters when it rolls back; the record kept them.
    const failedChecks = Math.max(canary?.status?.failedChecks ?? 0, ...steps.map((s) => s.failed_checks));
    return {
      type: 'rollout-failed',
      diagnosis: canaryFailedDiagnosis({
        failedChecks,
        threshold: canary?.spec?.analysis?.threshold ?? null,
        metric: metric ? { name: metric.name, value: metric.value, thresholdMin: metric.threshold_min, thresholdMax: metric.threshold_max, verdict: metric.verdict, error: metric.error } : null,
        flaggerMessages: messages,
      }),
    };
  }

  function verdictInputs(verdict: RolloutVerdict, record: ReleaseRecord, progress: () => void): ReleaseInput[] {
    switch (verdict.kind) {
      case 'not-applied':
        return [];
      case 'progressing': {
        if (verdict.ready !== null) {
          const before = lastReady.get(record.id) ?? 0;
          if (verdict.ready > before) progress();
          lastReady.set(record.id, verdict.ready);
        }
        const inputs: ReleaseInput[] = [{ type: 'applied' }];
        if (verdict.canaryWeight !== null) inputs.push({ type: 'canary-weight', weight: verdict.canaryWeight });
        return inputs;
      }
      case 'waiting-promotion':
        return [{ type: 'applied' }, { type: 'waiting-promotion' }];
      case 'promoting':
        return [{ type: 'applied' }, { type: 'promoting' }];
      case 'succeeded':
        return [{ type: 'applied' }, { type: 'rollout-succeeded', reason: verdict.reason }];
      case 'progress-deadline':
        return [{ type: 'rollout-failed', diagnosis: progressDeadlineDiagnosis(verdict) }];
      case 'aborted':
        return [{ type: 'aborted', reason: 'aborted: traffic went back to the previous version' }];
      case 'canary-failed':
        return [];
      case 'flagger-idle':
        return [{ type: 'rollout-failed', diagnosis: flaggerIdleDiagnosis({ ...verdict, namespace: record.namespace, cluster: deps.clusterName }) }];
    }
  }

  return {
    async observe(record, now, progress) {
      const status = record.state.status;
      if (status === 'building') {
        // A build Pod that cannot run never reports back: the watcher sees why.
        const problem = findPodProblem(podsOf(record, 'build'), warnings(undefined), deps.settings, now);
        if (!problem || (problem.kind !== 'unschedulable' && problem.kind !== 'image-pull')) return [];
        const diagnosis = podDiagnosis(problem, context(record), null);
        return [{ type: 'rollout-failed', diagnosis: { ...diagnosis, summary: `The build Pod cannot run: ${diagnosis.summary}` } }];
      }
      if (!rolloutStatuses.has(status)) return [];
      const deployment = informers.deployments.cache.get(record.appName, record.namespace);
      const verdict = rolloutVerdict({
        releaseId: record.id,
        strategy: record.strategy,
        deployment,
        primaryReplicaSets: primaryReplicaSets(record),
        canary: informers.canaries.cache.get(record.appName, record.namespace),
        pickedUp: record.state.canaryWeight !== null || status === 'waiting-promotion' || status === 'promoting',
        appliedAt: status === 'progressing' ? record.updatedAt.getTime() : null,
        abortRequested: false,
        now,
        flaggerPickupMs: deps.settings.flaggerPickupDeadlineMs,
      });
      if (verdict.kind === 'succeeded') return verdictInputs(verdict, record, progress);
      const problem = findPodProblem(podsOf(record, 'app'), warnings(record.namespace), deps.settings, now);
      if (problem) {
        const logs = await crashLogs(record, problem, record.namespace);
        return [{ type: 'rollout-failed', diagnosis: podDiagnosis(problem, context(record), logs) }];
      }
      if (verdict.kind === 'canary-failed') return [await canaryFailure(record)];
      return verdictInputs(verdict, record, progress);
    },

    async analysisStep(record, lastCounters) {
      if (record.strategy === 'rolling') return undefined;
      const canary = informers.canaries.cache.get(record.appName, record.namespace);
      const deployment = informers.deployments.cache.get(record.appName, record.namespace);
      const phase = canary?.status?.phase ?? '';
      if (!canary || templateReleaseId(deployment) !== record.id || !ANALYSING_PHASES.has(phase)) return undefined;
      const counters = stepCounters(canary);
      const key = `w${counters.weight}.i${counters.iterations}.f${counters.failedChecks}`;
      if (!isAnalysisStep(counters) || key === lastCounters) return undefined;
      const metrics = await Promise.all((canary.spec?.analysis?.metrics ?? []).map((m) => measure(canary, m)));
      return { key, counters, phase, metrics };
    },

    liveAvailability(record) {
      if (record.strategy === 'rolling') {
        const d = informers.deployments.cache.get(record.appName, record.namespace);
        if (!d || templateReleaseId(d) !== record.id) return undefined;
        return { available: d.status?.availableReplicas ?? 0, desired: d.spec?.replicas ?? 1 };
      }
      const current = primaryReplicaSets(record).filter((rs) => rs.metadata?.labels?.[LABELS.releaseId] === record.id && (rs.spec?.replicas ?? 0) > 0);
      if (current.length === 0) return undefined;
      return { available: current.reduce((n, rs) => n + (rs.status?.availableReplicas ?? 0), 0), desired: current.reduce((n, rs) => n + (rs.spec?.replicas ?? 0), 0) };
    },

    async measureThresholds(record) {
      const thresholds = record.spec.health_thresholds;
      const { window, limits } = activeThresholds(thresholds);
      if (limits.length === 0) return { kind: 'off' };
      const prometheusUrl = deps.prometheusUrl;
      if (!prometheusUrl) return { kind: 'unknown', error: 'no Prometheus is registered for this cluster (prometheus_url)' };
      // The queries of GET /apps/{id}/metrics and the Grafana dashboard, one instant value per track.
      const queries = appMetricQueries({ namespace: record.namespace, app: record.appName, window });
      const measured = await Promise.all(
        limits.map(async ({ threshold }): Promise<[ThresholdName, Measurement]> => {
          const outcome = await queryPrometheusVector(prometheusUrl, queries[thresholdMetrics[threshold]], deps.settings.prometheusTimeoutMs);
          if (outcome.kind === 'failed') return [threshold, outcome];
          return [threshold, { kind: 'value', value: liveValue(outcome.samples.map((x) => ({ track: x.labels.track, value: x.value })), record.strategy) }];
        }),
      );
      return thresholdVerdict(thresholds, Object.fromEntries(measured));
    },
  };

  async function measure(canary: FlaggerCanary, metric: CanaryMetricSpec): Promise<CanaryMetricV1> {
    if (!metric.templateRef) return evaluateMetric(metric, { kind: 'failed', error: 'Flagger built-in metric (no MetricTemplate): not measured by the watcher' });
    if (!deps.prometheusUrl) return evaluateMetric(metric, { kind: 'failed', error: 'no Prometheus is registered for this cluster (prometheus_url)' });
    try {
      const template = await reader.metricTemplate(metric.templateRef.namespace || canary.metadata?.namespace || 'default', metric.templateRef.name);
      const query = renderQuery(template.spec?.query ?? '', metricTemplateModel(canary, metric));
      return evaluateMetric(metric, await queryPrometheus(deps.prometheusUrl, query, deps.settings.prometheusTimeoutMs));
    } catch (error) {
      return evaluateMetric(metric, { kind: 'failed', error: error instanceof Error ? error.message : String(error) });
    }
  }
}
