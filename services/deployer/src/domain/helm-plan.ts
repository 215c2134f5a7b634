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

/**
 * The description a release's revision is recorded with, and its reading back: `helm history` then tells which
 * release a deployed revision carries without another helm call. (Revisions helm wrote itself — a rollback, a
 * failure — say something else; then the values tell.)
 */
export function revisionDescription(release: { release_id: string; version: number }): string {
  return `appserving release ${release.release_id} version ${release.version}`;
}

export function releaseOfDescription(description: string): { id: string; version: number } | undefined {
  const match = /^appserving release ([0-9a-f-]{36}) version (\d+)$/.exec(description);
  return match ? { id: match[1] as string, version: Number(match[2]) } : undefined;
}
