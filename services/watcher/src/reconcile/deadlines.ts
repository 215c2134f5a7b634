import type { ReleaseStatus } from '@appserving/shared';
import { deadlineDiagnosis } from './diagnosis.ts';
import type { ReleaseInput } from './release-machine.ts';

/** How long a release may stay in each running status without progress (watcher settings). */
export interface DeadlineSettings {
  pendingDeadlineMs: number;
  buildingDeadlineMs: number;
  deployingDeadlineMs: number;
  progressingDeadlineMs: number;
  waitingPromotionDeadlineMs: number;
  promotingDeadlineMs: number;
}

export function deadlineOf(status: ReleaseStatus, settings: DeadlineSettings): number | null {
  switch (status) {
    case 'pending':
      return settings.pendingDeadlineMs;
    case 'building':
      return settings.buildingDeadlineMs;
    case 'deploying':
      return settings.deployingDeadlineMs;
    case 'progressing':
      return settings.progressingDeadlineMs;
    case 'waiting-promotion':
      return settings.waitingPromotionDeadlineMs;
    case 'promoting':
      return settings.promotingDeadlineMs;
    default:
      return null;
  }
}

/**
 * The deadline input for a release that made no progress since `lastProgressAt` (its last status change,
 * traffic step, build progress line or newly ready pod), or undefined while it still has time.
 */
export function deadlineInput(status: ReleaseStatus, lastProgressAt: number, now: number, settings: DeadlineSettings): ReleaseInput | undefined {
  const deadline = deadlineOf(status, settings);
  if (deadline === null || now - lastProgressAt < deadline) return undefined;
  return { type: 'deadline-exceeded', diagnosis: deadlineDiagnosis(status, now - lastProgressAt) };
}
