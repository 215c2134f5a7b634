import type { ApiClient } from '../api/api-client.ts';
import { isTerminal, type AppView, type CloudEvent, type ReleaseView } from '../api/views.ts';
import { CliError, ExitCode } from '../errors.ts';
import type { Progress } from '../output/progress.ts';
import { describeEvent, describeStatus } from './describe-event.ts';
import { streamAppEvents } from './event-stream.ts';

/**
 * Follows one release until it is done, showing each step: the live event stream for progress, and a look at
 * the release itself every few seconds, which decides when it is over (an event missed between two connections
 * cannot leave the CLI waiting forever, and the final answer carries the diagnosis as the server stored it).
 */
export interface FollowOptions {
  client: ApiClient;
  appId: string;
  release: Pick<ReleaseView, 'id' | 'version' | 'version_label' | 'task_type' | 'status'>;
  timeoutMs: number;
  progress: Progress;
  /** Ctrl-C: stop following (the release goes on). */
  signal?: AbortSignal;
  /** Stop when the release waits at its promotion gate (a person must promote or abort). */
  stopAtPromotionGate: boolean;
  pollMs?: number;
  /**
   * Leave out events that happened before this (the event stream replays a release from its start: right for a
   * deploy, noise when a promote or abort acts on a release that has been running for a while).
   */
  since?: Date;
}

export type FollowOutcome =
  | { kind: 'done'; release: ReleaseView; app: AppView | undefined }
  | { kind: 'gate'; release: ReleaseView; app: AppView | undefined }
  | { kind: 'timeout'; release: ReleaseView | undefined }
  | { kind: 'interrupted'; release: ReleaseView | undefined };

export async function followRelease(options: FollowOptions): Promise<FollowOutcome> {
  const { client, appId, progress } = options;
  const stop = new AbortController();
  let latest: ReleaseView | undefined;
  let shownStatus = options.release.status;
  let disconnected = false;
  let settle!: (outcome: FollowOutcome | Error) => void;
  const settled = new Promise<FollowOutcome | Error>((resolve) => (settle = resolve));

  const show = (event: CloudEvent) => {
    const release = (event.data as { release?: { release_id?: string } } | undefined)?.release;
    if (release?.release_id !== options.release.id) return;
    if (options.since && event.time && Date.parse(event.time) < options.since.getTime()) return;
    const line = describeEvent(event);
    if (!line) return;
    if (line.status) shownStatus = line.status;
    if (line.kind === 'activity') progress.activity(line.message, line.percent === undefined ? {} : { percent: line.percent });
    else if (line.kind === 'step') progress.step(line.message, { event: event.type });
    else progress.warn(line.message, { event: event.type });
    if (line.status) void look();
  };

  let looking = false;
  const look = async () => {
    if (looking) return;
    looking = true;
    try {
      const release = await client.get<ReleaseView>(`/apps/${encodeURIComponent(appId)}/releases/${options.release.version}`, { timeoutMs: 15_000 });
      latest = release;
      if (disconnected) {
        disconnected = false;
        progress.step('connection to the server is back');
      }
      if (release.status !== shownStatus) {
        shownStatus = release.status;
        progress.activity(describeStatus(release.status), { status: release.status });
      }
      const atGate = options.stopAtPromotionGate && release.status === 'waiting-promotion';
      if (isTerminal(release) || atGate) {
        const app = await client.get<AppView>(`/apps/${encodeURIComponent(appId)}`, { timeoutMs: 15_000 }).catch(() => undefined);
        settle({ kind: atGate ? 'gate' : 'done', release, app });
      }
    } catch (error) {
      if (error instanceof CliError && error.code === 'app_not_found') {
        settle(new CliError(ExitCode.releaseFailed, 'app_deleted', `the app was deleted while release ${options.release.version_label} was running`, { cause: error }));
      } else if (error instanceof CliError && (error.exitCode === ExitCode.auth || error.exitCode === ExitCode.usage)) settle(error);
      else if (!disconnected) {
        disconnected = true;
        progress.warn(`lost the server (${(error as Error).message}); still trying`);
      }
    } finally {
      looking = false;
    }
  };

  progress.activity(describeStatus(options.release.status), { status: options.release.status });
  const poll = setInterval(() => void look(), options.pollMs ?? 3_000);
  const deadline = setTimeout(() => settle({ kind: 'timeout', release: latest }), options.timeoutMs);
  const onInterrupt = () => settle({ kind: 'interrupted', release: latest });
  options.signal?.addEventListener('abort', onInterrupt, { once: true });
  const stream = streamAppEvents(
    client,
    appId,
    {
      onEvent: show,
      onDisconnect: () => {
        if (!disconnected) progress.activity('event stream interrupted; reconnecting');
      },
    },
    stop.signal,
  ).catch((error: unknown) => settle(error instanceof Error ? error : new Error(String(error))));
  void look();

  try {
    const outcome = await settled;
    if (outcome instanceof Error) throw outcome;
    return outcome;
  } finally {
    clearInterval(poll);
    clearTimeout(deadline);
    options.signal?.removeEventListener('abort', onInterrupt);
    stop.abort();
    await stream;
  }
}

/** Waits until a deleted app is gone (GET answers 404 or status `deleted`). */
export async function waitForDeletion(client: ApiClient, appId: string, timeoutMs: number, progress: Progress, signal?: AbortSignal): Promise<'deleted' | 'timeout' | 'interrupted'> {
  const deadline = Date.now() + timeoutMs;
  progress.activity('removing the app from the cluster');
  for (;;) {
    if (signal?.aborted) return 'interrupted';
    try {
      const app = await client.get<AppView>(`/apps/${encodeURIComponent(appId)}`, { timeoutMs: 15_000 });
      if (app.status === 'deleted') return 'deleted';
    } catch (error) {
      if (error instanceof CliError && error.code === 'app_not_found') return 'deleted';
      if (error instanceof CliError && (error.exitCode === ExitCode.auth || error.exitCode === ExitCode.usage)) throw error;
    }
    if (Date.now() >= deadline) return 'timeout';
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}
