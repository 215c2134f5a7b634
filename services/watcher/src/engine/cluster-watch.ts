import { LABELS, type Database, type Logger } from '@appserving/shared';
import type { ClusterAccess } from '@appserving/shared/kube';
import type { Kysely } from 'kysely';
import { createClusterInformers, createClusterReader, type ClusterChange, type ClusterInformers } from '../adapters/cluster-api.ts';
import { loadRelease, releasesToFollow, type ReleaseRecord } from '../adapters/release.repository.ts';
import { deadlineInput, type DeadlineSettings } from '../reconcile/deadlines.ts';
import { activeThresholds, decideAppHealth, type ThresholdVerdict } from '../reconcile/app-health.ts';
import type { PodProblemSettings } from '../reconcile/pod-problems.ts';
import type { ReleaseInput } from '../reconcile/release-machine.ts';
import { isTerminalStatus } from '../reconcile/release-state.ts';
import { createReleaseObserver, type ReleaseObserver } from './release-observer.ts';
import type { StatusChange, StatusEngine } from './status-engine.ts';
import type { WatcherMetrics } from './watcher-metrics.ts';

export type ClusterWatchSettings = PodProblemSettings &
  DeadlineSettings & { resyncMs: number; prometheusTimeoutMs: number; degradedGraceMs: number; flaggerPickupDeadlineMs: number; healthCheckIntervalMs: number };

/** One cluster this replica holds: its informers, the releases it follows there, and their reconcile loop. */
export interface ClusterWatch {
  readonly clusterId: string;
  /** The kubeconfig it watches with (null: it could not be opened). */
  readonly kubeconfig: string | null;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** A release of this cluster changed elsewhere (an event, another replica): follow it from its new state. */
  follow(releaseId: string, known?: { status: string; canaryWeight: number | null }): void;
  /** A change this process committed. */
  changed(change: StatusChange): void;
  synced(): boolean;
  followed(): number;
}

interface Followed {
  record: ReleaseRecord;
  lastProgressAt: number;
  lastCounters?: string;
  unhealthySince?: number;
  /** The health thresholds' last verdict that was measured, and when they were last measured (or tried). */
  thresholds?: ThresholdVerdict;
  thresholdsAt?: number;
}

export function createClusterWatch(deps: {
  cluster: { id: string; name: string };
  /** Null when the cluster's kubeconfig cannot be opened: the watch then only enforces deadlines. */
  access: ClusterAccess | null;
  db: Kysely<Database>;
  engine: StatusEngine;
  settings: ClusterWatchSettings;
  log: Logger;
  metrics?: WatcherMetrics;
  now?: () => number;
  concurrency?: number;
}): ClusterWatch {
  const { access, db, engine, settings } = deps;
  const cluster = deps.cluster;
  const log = deps.log.child({ cluster: cluster.name, clusterId: cluster.id });
  const now = deps.now ?? Date.now;
  const followed = new Map<string, Followed>();
  const byApp = new Map<string, Set<string>>();
  const dirty = new Set<string>();
  const loading = new Set<string>();
  /** Releases found ended (old ReplicaSets keep their labels): not looked up again on each of their events. */
  const ended = new Set<string>();
  let workers = 0;
  let stopped = true;
  let wasSynced = false;
  let resyncTimer: NodeJS.Timeout | undefined;
  let healthTimer: NodeJS.Timeout | undefined;
  let resyncing: Promise<void> | undefined;
  const startedAt = now();

  const informers: ClusterInformers | null = access
    ? createClusterInformers({
        kc: access.kubeConfig,
        log,
        onChange: (change) => onClusterChange(change),
        onList: (kind) => deps.metrics?.relists.inc({ cluster: cluster.name, kind }),
        onError: (kind) => deps.metrics?.watchErrors.inc({ cluster: cluster.name, kind }),
      })
    : null;
  const observer: ReleaseObserver | null =
    access && informers ? createReleaseObserver({ db, informers, reader: createClusterReader(access.kubeConfig), prometheusUrl: access.prometheusUrl, clusterName: cluster.name, settings, log }) : null;

  const synced = () => informers !== null && [informers.deployments, informers.replicaSets, informers.pods, informers.canaries].every((i) => i.synced());

  function track(record: ReleaseRecord): void {
    const existing = followed.get(record.id);
    if (existing) {
      if (record.updatedAt.getTime() > existing.record.updatedAt.getTime()) existing.lastProgressAt = Math.max(existing.lastProgressAt, record.updatedAt.getTime());
      existing.record = record;
    } else {
      // After a restart the clock starts again: a release is never failed for time this replica did not watch.
      followed.set(record.id, { record, lastProgressAt: Math.max(record.updatedAt.getTime(), startedAt) });
      let set = byApp.get(record.appId);
      if (!set) byApp.set(record.appId, (set = new Set()));
      set.add(record.id);
    }
    deps.metrics?.releasesFollowed.set(followed.size);
  }

  function untrack(releaseId: string): void {
    const f = followed.get(releaseId);
    if (!f) return;
    followed.delete(releaseId);
    byApp.get(f.record.appId)?.delete(releaseId);
    if (byApp.get(f.record.appId)?.size === 0) byApp.delete(f.record.appId);
    deps.metrics?.releasesFollowed.set(followed.size);
  }

  const isLive = (r: ReleaseRecord) => r.state.status === 'succeeded' && r.app.currentReleaseId === r.id;

  function enqueue(releaseId: string): void {
    if (stopped) return;
    dirty.add(releaseId);
    const limit = deps.concurrency ?? 8;
    while (workers < limit && dirty.size > workers) {
      workers += 1;
      void work().finally(() => (workers -= 1));
    }
  }

  async function work(): Promise<void> {
    for (;;) {
      const next = dirty.values().next();
      if (next.done || stopped) return;
      dirty.delete(next.value);
      try {
        await reconcile(next.value);
      } catch (error) {
        log.warn({ err: error, releaseId: next.value }, 'reconcile failed; will try again at the next change or resync');
      }
    }
  }

  async function reconcile(releaseId: string): Promise<void> {
    const f = followed.get(releaseId);
    if (!f) return;
    if (isTerminalStatus(f.record.state.status) && !isLive(f.record)) return untrack(releaseId);
    const ready = synced();
    if (isLive(f.record)) {
      if (ready && observer) await checkHealth(observer, f);
      return;
    }
    if (ready && observer) {
      const step = await observer.analysisStep(f.record, f.lastCounters);
      if (step) {
        await engine.recordAnalysisStep(f.record, { counters: step.counters, phase: step.phase, metrics: step.metrics, observedAt: new Date() });
        f.lastCounters = step.key;
        f.lastProgressAt = now();
      }
    }
    await engine.advance(releaseId, (record) => decide(f, record, ready), f.record);
  }

  async function decide(f: Followed, record: ReleaseRecord, ready: boolean): Promise<ReleaseInput[]> {
    const at = now();
    const inputs = ready && observer ? await observer.observe(record, at, () => (f.lastProgressAt = at)) : [];
    if (inputs.some((i) => i.type === 'rollout-failed' || i.type === 'rollout-succeeded' || i.type === 'aborted')) return inputs;
    const lastProgress = Math.max(f.lastProgressAt, record.updatedAt.getTime());
    if (deadlineInput(record.state.status, lastProgress, at, settings)) {
      // Progress may have been reported to another replica (build progress lines): the timeline has it.
      const latest = await db
        .selectFrom('timeline')
        .select((eb) => eb.fn.max('recorded_at').as('at'))
        .where('app_id', '=', record.appId)
        .where('release_id', '=', record.id)
        .executeTakeFirst();
      const confirmed = deadlineInput(record.state.status, Math.max(lastProgress, latest?.at ? new Date(latest.at).getTime() : 0), at, settings);
      if (confirmed) inputs.push(confirmed);
    }
    return inputs;
  }

  const hasThresholds = (record: ReleaseRecord) => activeThresholds(record.spec.health_thresholds).limits.length > 0;

  async function checkHealth(observer: ReleaseObserver, f: Followed): Promise<void> {
    const availability = observer.liveAvailability(f.record);
    if (!availability) return;
    const at = now();
    if (!hasThresholds(f.record)) {
      f.thresholds = undefined;
    } else if (at - (f.thresholdsAt ?? 0) >= settings.healthCheckIntervalMs) {
      // Measured at most once an interval (a reconcile runs on every change of the app's objects).
      f.thresholdsAt = at;
      const verdict = await observer.measureThresholds(f.record);
      if (verdict.kind === 'unknown') log.warn({ appId: f.record.appId, releaseId: f.record.id, error: verdict.error }, 'could not measure the app\'s health thresholds; their last verdict stands');
      else f.thresholds = verdict;
    }
    const whole = availability.desired === 0 || availability.available >= availability.desired;
    if (whole) f.unhealthySince = undefined;
    else f.unhealthySince ??= at;
    const decision = decideAppHealth({
      appStatus: f.record.app.status,
      versionLabel: f.record.versionLabel,
      pods: availability,
      podsShortSince: f.unhealthySince,
      now: at,
      degradedGraceMs: settings.degradedGraceMs,
      thresholds: f.thresholds ?? { kind: 'unknown', error: 'not measured yet' },
    });
    if (!decision || !(await engine.appHealth(f.record, decision, availability))) return;
    f.record.app.status = decision.status;
    if (decision.status === 'degraded') log.warn({ appId: f.record.appId, releaseId: f.record.id, ...availability, reason: decision.reason }, 'app degraded');
    else log.info({ appId: f.record.appId, releaseId: f.record.id, reason: decision.reason }, 'app healthy again');
  }

  function onClusterChange(change: ClusterChange): void {
    if (stopped) return;
    if (!wasSynced && synced()) {
      wasSynced = true;
      log.info({ followed: followed.size }, 'cluster informers synced');
      for (const id of followed.keys()) enqueue(id);
    }
    let labels: Record<string, string> | undefined;
    let namespace: string | undefined;
    let name: string | undefined;
    if (!informers) return;
    if (change.kind === 'Event') {
      const involved = change.obj.involvedObject;
      namespace = involved.namespace;
      name = involved.name;
      if (involved.kind === 'Pod' && name && namespace) labels = informers.pods.cache.get(name, namespace)?.metadata?.labels;
      else if (name && namespace) labels = informers.deployments.cache.get(name, namespace)?.metadata?.labels ?? informers.canaries.cache.get(name, namespace)?.metadata?.labels;
    } else {
      labels = change.obj.metadata?.labels;
    }
    if (!labels) return;
    const releaseId = labels[LABELS.releaseId];
    const appId = labels[LABELS.appId];
    if (releaseId && !followed.has(releaseId) && !ended.has(releaseId) && labels[LABELS.appId]) follow(releaseId);
    if (releaseId && followed.has(releaseId)) enqueue(releaseId);
    if (appId) for (const id of byApp.get(appId) ?? []) enqueue(id);
  }

  function follow(releaseId: string, known?: { status: string; canaryWeight: number | null }): void {
    const f = followed.get(releaseId);
    if (f && known && f.record.state.status === known.status && f.record.state.canaryWeight === known.canaryWeight) return enqueue(releaseId);
    if (loading.has(releaseId) || stopped) return;
    loading.add(releaseId);
    void loadRelease(db, releaseId)
      .then((record) => {
        if (!record || record.clusterId !== cluster.id) return;
        if (isTerminalStatus(record.state.status) && !isLive(record)) {
          if (followed.has(releaseId)) followed.get(releaseId)!.record = record;
          else remember(releaseId);
          return enqueue(releaseId);
        }
        track(record);
        enqueue(releaseId);
      })
      .catch((error: unknown) => log.warn({ err: error, releaseId }, 'could not load a release to follow'))
      .finally(() => loading.delete(releaseId));
  }

  function remember(releaseId: string): void {
    if (ended.size >= 10_000) ended.clear();
    ended.add(releaseId);
  }

  async function resync(): Promise<void> {
    const records = await releasesToFollow(db, cluster.id);
    const ids = new Set(records.map((r) => r.id));
    for (const record of records) track(record);
    for (const id of [...followed.keys()]) if (!ids.has(id) && !dirty.has(id)) untrack(id);
    for (const id of followed.keys()) enqueue(id);
  }

  /** Live apps with health thresholds are measured every interval, whether or not their objects change. */
  function scheduleHealthChecks(): void {
    if (stopped) return;
    healthTimer = setTimeout(() => {
      for (const [id, f] of followed) if (isLive(f.record) && hasThresholds(f.record)) enqueue(id);
      scheduleHealthChecks();
    }, settings.healthCheckIntervalMs);
  }

  function scheduleResync(): void {
    if (stopped) return;
    resyncTimer = setTimeout(() => {
      resyncing = resync()
        .catch((error: unknown) => log.warn({ err: error }, 'resync failed'))
        .finally(scheduleResync);
    }, settings.resyncMs);
  }

  return {
    clusterId: cluster.id,
    kubeconfig: access?.kubeconfig ?? null,
    async start() {
      stopped = false;
      for (const informer of informers?.all() ?? []) informer.start();
      await resync().catch((error: unknown) => log.warn({ err: error }, 'first load of the releases to follow failed; the resync will retry'));
      scheduleResync();
      scheduleHealthChecks();
      log.info({ followed: followed.size, observing: informers !== null }, informers ? 'watching cluster' : 'cluster kubeconfig unusable: enforcing deadlines only');
    },
    async stop() {
      stopped = true;
      clearTimeout(resyncTimer);
      clearTimeout(healthTimer);
      await resyncing;
      await Promise.all((informers?.all() ?? []).map((i) => i.stop()));
      dirty.clear();
      // A reconcile in flight finishes its transaction; one stuck on the cluster is not waited for long.
      const deadline = Date.now() + 5_000;
      while (workers > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      if (workers > 0) log.warn({ workers }, 'stopped with reconciles still running');
      log.info('stopped watching cluster');
    },
    follow,
    changed(change) {
      const f = followed.get(change.record.id);
      const record = { ...change.record, state: change.next, updatedAt: new Date() };
      if (f) {
        f.record = record;
        if (change.previous.status !== change.next.status || change.previous.canaryWeight !== change.next.canaryWeight) f.lastProgressAt = now();
      } else if (!isTerminalStatus(change.next.status)) {
        track(record);
      }
      if (change.next.status === 'succeeded') {
        // The app's live release moved: re-read the releases of the app (the predecessor became superseded).
        for (const id of byApp.get(change.record.appId) ?? []) if (id !== change.record.id) follow(id);
        const updated = followed.get(change.record.id);
        if (updated) updated.record.app = { ...updated.record.app, currentReleaseId: change.record.id, status: 'running' };
      }
      enqueue(change.record.id);
    },
    synced,
    followed: () => followed.size,
  };
}
