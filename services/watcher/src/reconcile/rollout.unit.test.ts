import { LABELS } from '@appserving/shared';
import type { V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { analysisEventId, evaluateMetric, isAnalysisStep, metricTemplateModel, renderQuery, stepVerdict, TemplateError } from './analysis.ts';
import { deadlineInput, type DeadlineSettings } from './deadlines.ts';
import { goDurationMs, rolloutVerdict, type FlaggerCanary, type RolloutObservation } from './rollout.ts';

function deployment(releaseId: string, status: V1Deployment['status'], replicas = 2, generation = 2): V1Deployment {
  return {
    metadata: { name: 'orders', namespace: 'team-a', generation },
    spec: { replicas, selector: {}, progressDeadlineSeconds: 600, template: { metadata: { labels: { [LABELS.releaseId]: releaseId } } } },
    status,
  };
}

const base: RolloutObservation = { releaseId: 'r2', strategy: 'rolling', deployment: undefined, primaryReplicaSets: [], canary: undefined, pickedUp: false, appliedAt: 1_000, abortRequested: false, now: 2_000, flaggerPickupMs: 180_000 };

describe('rolling rollout verdict', () => {
  it('is not applied until the Deployment carries the release', () => {
    expect(rolloutVerdict({ ...base, deployment: deployment('r1', {}) }).kind).toBe('not-applied');
    expect(rolloutVerdict(base).kind).toBe('not-applied');
  });

  it('succeeds when every replica is new and available and the controller saw the spec', () => {
    const done = deployment('r2', { observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2 });
    expect(rolloutVerdict({ ...base, deployment: done })).toMatchObject({ kind: 'succeeded', reason: 'rollout complete: 2/2 pods available' });
    const stale = deployment('r2', { observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2 });
    expect(rolloutVerdict({ ...base, deployment: stale }).kind).toBe('progressing');
    const oldLeft = deployment('r2', { observedGeneration: 2, replicas: 3, updatedReplicas: 2, availableReplicas: 3 });
    expect(rolloutVerdict({ ...base, deployment: oldLeft })).toMatchObject({ kind: 'progressing', ready: 3, desired: 2 });
  });

  it('reports the progress deadline Kubernetes gave up on', () => {
    const stuck = deployment('r2', {
      observedGeneration: 2,
      replicas: 3,
      updatedReplicas: 1,
      availableReplicas: 2,
      conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "orders-7f" has timed out progressing.' }],
    });
    expect(rolloutVerdict({ ...base, deployment: stuck })).toMatchObject({ kind: 'progress-deadline', deadlineSeconds: 600, updated: 1 });
  });
});

describe('canary and blue/green verdict (Flagger)', () => {
  const target = deployment('r2', {});
  const canary = (phase: string, status: Partial<NonNullable<FlaggerCanary['status']>> = {}): FlaggerCanary => ({ metadata: { name: 'orders', namespace: 'team-a' }, status: { phase, ...status } });
  const primaryRs = (releaseId: string, available: number): V1ReplicaSet => ({ metadata: { name: `orders-primary-${releaseId}`, labels: { [LABELS.releaseId]: releaseId } }, spec: { replicas: 2, selector: {} }, status: { replicas: 2, availableReplicas: available } });
  const obs = (c: FlaggerCanary, extra: Partial<RolloutObservation> = {}): RolloutObservation => ({ ...base, strategy: 'canary', deployment: target, canary: c, ...extra });

  it('follows the weight while Flagger analyses; blue/green reports 0', () => {
    expect(rolloutVerdict(obs(canary('Progressing', { canaryWeight: 30 })))).toMatchObject({ kind: 'progressing', canaryWeight: 30 });
    expect(rolloutVerdict(obs(canary('Progressing', { iterations: 2 }), { strategy: 'blue-green' }))).toMatchObject({ kind: 'progressing', canaryWeight: 0 });
    expect(rolloutVerdict(obs(canary('WaitingPromotion'))).kind).toBe('waiting-promotion');
    expect(rolloutVerdict(obs(canary('Finalising'))).kind).toBe('promoting');
  });

  it('does not take the previous release\'s Succeeded for this one', () => {
    expect(rolloutVerdict(obs(canary('Succeeded'), { primaryReplicaSets: [primaryRs('r1', 2)] })).kind).toBe('progressing');
    expect(rolloutVerdict(obs(canary('Succeeded'), { primaryReplicaSets: [primaryRs('r1', 0), primaryRs('r2', 2)] })).kind).toBe('succeeded');
  });

  it('takes Failed only once Flagger was seen on this release, or changed after it was applied', () => {
    expect(rolloutVerdict(obs(canary('Failed', { lastTransitionTime: new Date(500).toISOString() }))).kind).toBe('progressing');
    expect(rolloutVerdict(obs(canary('Failed', { lastTransitionTime: new Date(500).toISOString() }), { pickedUp: true })).kind).toBe('canary-failed');
    expect(rolloutVerdict(obs(canary('Failed', { lastTransitionTime: new Date(5_000).toISOString() }))).kind).toBe('canary-failed');
    expect(rolloutVerdict(obs(canary('Failed'), { pickedUp: true, abortRequested: true })).kind).toBe('aborted');
  });

  it('the first release succeeds when Flagger initialized a ready primary from it', () => {
    expect(rolloutVerdict(obs(canary('Initialized'), { primaryReplicaSets: [primaryRs('r2', 1)] })).kind).toBe('progressing');
    expect(rolloutVerdict(obs(canary('Initialized'), { primaryReplicaSets: [primaryRs('r2', 2)] })).kind).toBe('succeeded');
  });

  describe('Flagger not acting on an applied release', () => {
    const applied = 1_000_000;
    const later = (ms: number, extra: Partial<RolloutObservation> = {}) => ({ appliedAt: applied, now: applied + ms, ...extra });
    const before = new Date(applied - 60_000).toISOString();

    it('is told after the pickup deadline when the Canary has no status, still rests in an earlier phase, or is missing', () => {
      const fresh: FlaggerCanary = { metadata: { name: 'orders', namespace: 'team-a' } };
      expect(rolloutVerdict(obs(fresh, later(179_000))).kind).toBe('progressing');
      expect(rolloutVerdict(obs(fresh, later(180_000)))).toEqual({ kind: 'flagger-idle', canary: 'orders', suspended: false, phase: null, waitedMs: 180_000 });
      expect(rolloutVerdict(obs(canary(''), later(180_000)))).toMatchObject({ kind: 'flagger-idle', phase: null });
      expect(rolloutVerdict(obs(canary('Succeeded', { lastTransitionTime: before }), later(200_000, { primaryReplicaSets: [primaryRs('r1', 2)] })))).toMatchObject({ kind: 'flagger-idle', phase: 'Succeeded' });
      expect(rolloutVerdict(obs(canary('Failed', { lastTransitionTime: before }), later(200_000)))).toMatchObject({ kind: 'flagger-idle', phase: 'Failed' });
      expect(rolloutVerdict({ ...obs(fresh, later(200_000)), canary: undefined })).toMatchObject({ kind: 'flagger-idle', canary: '', phase: null });
      expect(rolloutVerdict(obs({ ...fresh, spec: { suspend: true } }, later(200_000)))).toMatchObject({ kind: 'flagger-idle', suspended: true });
      // Flagger gives a new Canary `Initializing` even when it is suspended, and then skips it.
      const suspended = { ...canary('Initializing', { lastTransitionTime: new Date(applied + 1_000).toISOString() }), spec: { suspend: true } };
      expect(rolloutVerdict(obs(suspended, later(200_000)))).toMatchObject({ kind: 'flagger-idle', suspended: true, phase: 'Initializing' });
    });

    it('is not told once Flagger acted on the release: a phase of its own, a transition since the apply, a weight seen, the primary running it', () => {
      expect(rolloutVerdict(obs(canary('Initializing'), later(600_000))).kind).toBe('progressing');
      expect(rolloutVerdict(obs(canary('Progressing', { canaryWeight: 10 }), later(600_000))).kind).toBe('progressing');
      expect(rolloutVerdict(obs(canary('Initialized', { lastTransitionTime: new Date(applied + 2_000).toISOString() }), later(600_000))).kind).toBe('progressing');
      // Whole seconds and another clock: a change just before the apply counts as Flagger's answer to it.
      expect(rolloutVerdict(obs(canary('Initialized', { lastTransitionTime: new Date(applied - 1_000).toISOString() }), later(600_000))).kind).toBe('progressing');
      expect(rolloutVerdict(obs(canary('Succeeded', { lastTransitionTime: before }), later(600_000, { pickedUp: true, primaryReplicaSets: [primaryRs('r1', 2)] }))).kind).toBe('succeeded');
      expect(rolloutVerdict(obs(canary('Initialized', { lastTransitionTime: before }), later(600_000, { primaryReplicaSets: [primaryRs('r2', 1)] }))).kind).toBe('progressing');
      expect(rolloutVerdict(obs(canary(''), later(600_000, { appliedAt: null }))).kind).toBe('progressing');
    });

    it('gives Flagger three of the Canary\'s analysis intervals when they are longer than the deadline', () => {
      const slow: FlaggerCanary = { metadata: { name: 'orders' }, spec: { analysis: { interval: '2m' } } };
      expect(rolloutVerdict(obs(slow, later(300_000))).kind).toBe('progressing');
      expect(rolloutVerdict(obs(slow, later(360_000))).kind).toBe('flagger-idle');
      expect([goDurationMs('1m30s'), goDurationMs('500ms'), goDurationMs('1h'), goDurationMs(undefined), goDurationMs('soon')]).toEqual([90_000, 500, 3_600_000, 0, 0]);
    });
  });
});

describe('canary analysis record', () => {
  const canary: FlaggerCanary = {
    metadata: { name: 'orders', namespace: 'team-a' },
    spec: { targetRef: { name: 'orders' }, service: { name: 'orders-svc' }, analysis: { metrics: [] } },
  };
  const metric = { name: 'error-rate', interval: '2m', thresholdRange: { max: 1 }, templateVariables: { route: 'api' } };

  it('renders Flagger template variables', () => {
    const model = metricTemplateModel(canary, metric);
    expect(renderQuery('sum(rate(http_errors{namespace="{{ namespace }}",app="{{target}}",svc="{{ service }}",r="{{ variables.route }}"}[{{ interval }}]))', model)).toBe(
      'sum(rate(http_errors{namespace="team-a",app="orders",svc="orders-svc",r="api"}[2m]))',
    );
    expect(() => renderQuery('{{ variables.missing }}', model)).toThrow(TemplateError);
    expect(() => renderQuery('{{ if true }}x{{ end }}', model)).toThrow(/cannot render/);
    expect(() => renderQuery('{{ pod }}', model)).toThrow(/unknown template field/);
  });

  it('tells a failing value, no data and a failed query apart', () => {
    expect(evaluateMetric(metric, { kind: 'value', value: 0.5 })).toEqual({ name: 'error-rate', value: 0.5, threshold_max: 1, verdict: 'pass' });
    expect(evaluateMetric(metric, { kind: 'value', value: 3 })).toMatchObject({ verdict: 'fail', value: 3 });
    expect(evaluateMetric(metric, { kind: 'no-data' })).toEqual({ name: 'error-rate', value: null, threshold_max: 1, verdict: 'no-data' });
    expect(evaluateMetric(metric, { kind: 'failed', error: 'bad_data: parse error' })).toMatchObject({ verdict: 'query-failed', error: 'bad_data: parse error' });
    expect(evaluateMetric({ name: 'latency', threshold: 500 }, { kind: 'value', value: 600 })).toMatchObject({ verdict: 'fail', threshold_max: 500 });
  });

  it('identifies steps by Flagger\'s counters and reads the verdict from them', () => {
    expect(isAnalysisStep({ weight: 0, iterations: 0, failedChecks: 0 })).toBe(false);
    expect(analysisEventId('r2', { weight: 20, iterations: 0, failedChecks: 1 })).toBe('r2.analysis.w20.i0.f1');
    expect(stepVerdict({ weight: 10, iterations: 0, failedChecks: 0 }, { weight: 20, iterations: 0, failedChecks: 0 })).toBe('pass');
    expect(stepVerdict({ weight: 10, iterations: 0, failedChecks: 0 }, { weight: 10, iterations: 0, failedChecks: 1 })).toBe('fail');
    expect(stepVerdict(null, { weight: 0, iterations: 1, failedChecks: 0 })).toBe('pass');
  });
});

describe('deadlines', () => {
  const settings: DeadlineSettings = { pendingDeadlineMs: 100, buildingDeadlineMs: 200, deployingDeadlineMs: 300, progressingDeadlineMs: 400, waitingPromotionDeadlineMs: 500, promotingDeadlineMs: 600 };
  it('fails a release stuck past its status\'s deadline, naming the status', () => {
    expect(deadlineInput('progressing', 0, 399, settings)).toBeUndefined();
    expect(deadlineInput('progressing', 0, 400, settings)).toMatchObject({ type: 'deadline-exceeded', diagnosis: { code: 'deadline-exceeded', evidence: { stuck_in: 'progressing' } } });
    expect(deadlineInput('succeeded', 0, 10_000, settings)).toBeUndefined();
  });
});
