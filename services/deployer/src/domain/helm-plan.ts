import type { HelmRevision } from '../adapters/helm.ts';

const PENDING = new Set(['pending-install', 'pending-upgrade', 'pending-rollback']);

/**
 * What to do before upgrading an app's helm release, decided from its history (oldest first):
 * - `repair`: the latest revision is stuck in pending-* (a helm that died mid-operation; under the app lease no
 *   other helm can be running). With an earlier good revision, roll back to it; without one (a first install
 *   that never finished), uninstall;
 * - `check-latest`: the latest revision may be this release's own (a redelivered command): look at its values;
 * - `install`: no release yet.
 */
export type RepairPlan = { action: 'rollback'; to: number; stuck: HelmRevision } | { action: 'uninstall'; stuck: HelmRevision };

export function pendingRepair(history: readonly HelmRevision[]): RepairPlan | undefined {
  const latest = history.at(-1);
  if (!latest || !PENDING.has(latest.status)) return undefined;
  const good = [...history].reverse().find((r) => r.revision < latest.revision && (r.status === 'deployed' || r.status === 'superseded'));
  return good ? { action: 'rollback', to: good.revision, stuck: latest } : { action: 'uninstall', stuck: latest };
}

/** The release id and version a revision was installed for, from its values (`release.id`, `release.version`). */
export function releaseOfValues(values: Record<string, unknown>): { id: string; version: number } | undefined {
  const release = values.release as { id?: unknown; version?: unknown } | undefined;
  if (typeof release?.id !== 'string' || typeof release.version !== 'number') return undefined;
  return { id: release.id, version: release.version };
}
