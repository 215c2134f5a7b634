import type { ReleaseRefV1, ReleaseSpecV1, TaskType } from '@appserving/shared';

/** The command a release's task starts with: a build (then maybe a deploy), or a deploy of a ready image. */
export function firstCommandOf(taskType: TaskType): 'build' | 'deploy' {
  return taskType === 'deploy' ? 'deploy' : 'build';
}

export function releaseRef(app: { id: string; name: string; clusterId: string }, release: { id: string; version: number }): ReleaseRefV1 {
  return { app_id: app.id, app_name: app.name, release_id: release.id, version: release.version, cluster_id: app.clusterId };
}

export function buildCommandData(ref: ReleaseRefV1, spec: ReleaseSpecV1, taskType: TaskType) {
  return { release: ref, spec, then_deploy: taskType === 'all' };
}

export function deployCommandData(ref: ReleaseRefV1, spec: ReleaseSpecV1, image: string, skipAnalysis: boolean) {
  return { release: ref, spec, image, skip_analysis: skipAnalysis };
}
