import type { ApiClient } from '../api/api-client.ts';
import { isSuccess, type AppView, type ReleaseView } from '../api/views.ts';
import type { Context } from '../context.ts';
import { CliError, ExitCode, usageError } from '../errors.ts';
import { diagnosisLines, describeStatus } from '../follow/describe-event.ts';
import { followRelease, type FollowOutcome } from '../follow/release-follower.ts';
import { formatDuration } from '../output/format.ts';
import type { Progress } from '../output/progress.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The app a command is about: its id, or its name (looked up among the apps the token sees). */
export async function findApp(client: ApiClient, ref: string, cluster?: string): Promise<AppView | undefined> {
  if (UUID.test(ref)) {
    try {
      return await client.get<AppView>(`/apps/${ref}`);
    } catch (error) {
      if (error instanceof CliError && error.code === 'app_not_found') return undefined;
      throw error;
    }
  }
  // Not an app name at all: no app can have it (the server would refuse the filter).
  if (!/^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$/.test(ref)) return undefined;
  const { items } = await client.get<{ items: AppView[] }>(`/apps?name=${ref}`);
  const named = items.filter((app) => app.name === ref && (cluster === undefined || app.cluster.name === cluster || app.cluster.id === cluster));
  if (named.length > 1) {
    throw usageError(`there are ${named.length} apps named ${ref} (on clusters ${named.map((a) => a.cluster.name).join(', ')})`, 'choose one with --cluster or give the app id');
  }
  return named[0];
}

export async function requireApp(ctx: Context, client: ApiClient, ref: string | undefined, cluster?: string): Promise<AppView> {
  const name = ref ?? (await ctx.projectFile())?.name;
  if (!name) throw usageError('which app? give its name (or id)', `e.g. \`appserve status orders\`, or run it in a folder whose ${'appserve.yaml'} names the app`);
  const app = await findApp(client, name, cluster ?? (ref ? undefined : (await ctx.projectFile())?.cluster));
  if (!app) throw new CliError(ExitCode.usage, 'app_not_found', `no app ${name}${cluster ? ` on cluster ${cluster}` : ''}`, { hint: 'see your apps with `appserve list`' });
  return app;
}

export function interruptSignal(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  return { signal: controller.signal, dispose: () => process.removeListener('SIGINT', onSigint) };
}

/**
 * Follows a release that was just accepted and turns how it ended into output and an exit code: 0 when it
 * succeeded (or waits at its promotion gate), 1 when it failed, was aborted or rolled back, 5 on timeout.
 */
export async function followAndReport(
  ctx: Context,
  client: ApiClient,
  app: Pick<AppView, 'id' | 'name'>,
  release: ReleaseView,
  options: FollowReportOptions & { progress: Progress },
): Promise<number> {
  const interrupt = interruptSignal();
  let outcome: FollowOutcome;
  try {
    outcome = await followRelease({
      client,
      appId: app.id,
      release,
      timeoutMs: options.timeoutMs,
      progress: options.progress,
      signal: interrupt.signal,
      stopAtPromotionGate: options.stopAtPromotionGate ?? true,
      ...(options.eventsSince ? { since: options.eventsSince } : {}),
    });
  } finally {
    interrupt.dispose();
    options.progress.stop();
  }
  return reportOutcome(ctx, app, release, outcome, options);
}

export interface FollowReportOptions {
  timeoutMs: number;
  startedAt: number;
  /** Merged into the --json result. */
  extra?: Record<string, unknown>;
  /** Default true: a release waiting at its gate ends the wait (exit 0) with how to promote or abort it. */
  stopAtPromotionGate?: boolean;
  /** Statuses that count as success besides `succeeded` (e.g. `aborted` for `appserve abort`). */
  alsoSuccessful?: string[];
  /** Show only events from this time on. */
  eventsSince?: Date;
}

export function reportOutcome(ctx: Context, app: Pick<AppView, 'id' | 'name'>, accepted: ReleaseView, outcome: FollowOutcome, options: FollowReportOptions): number {
  const p = ctx.paint;
  const took = formatDuration(Date.now() - options.startedAt);
  if (outcome.kind === 'timeout' || outcome.kind === 'interrupted') {
    // Interrupted before the server was first asked: the release as it was accepted.
    const known = outcome.release ?? accepted;
    const status = known.status;
    const label = known.version_label;
    const exitCode = outcome.kind === 'timeout' ? ExitCode.timeout : ExitCode.interrupted;
    const message =
      outcome.kind === 'timeout'
        ? `${app.name} ${label} is still ${describeStatus(status)} after ${formatDuration(options.timeoutMs)}`
        : `stopped following ${app.name} ${label} (still ${describeStatus(status)})`;
    const hint = `it goes on without the CLI: \`appserve status ${app.name}\`, \`appserve events ${app.name} --follow\``;
    if (ctx.json) ctx.result(undefined, { ...options.extra, outcome: outcome.kind, release: known, error: { code: outcome.kind === 'timeout' ? 'timeout' : 'interrupted', message, hint }, exit_code: exitCode });
    else ctx.io.stderr.write(`${p.warn(outcome.kind === 'timeout' ? 'timeout:' : 'interrupted:')} ${message}\n${p.dim('hint:')} ${hint}\n`);
    return exitCode;
  }
  const { release, app: view } = outcome;
  const ok = outcome.kind === 'gate' || isSuccess(release) || (options.alsoSuccessful ?? []).includes(release.status);
  const exitCode = ok ? ExitCode.ok : ExitCode.releaseFailed;
  if (ctx.json) {
    ctx.result(undefined, { ...options.extra, outcome: outcome.kind === 'gate' ? 'waiting-promotion' : release.status, app: view ?? null, release, endpoint: view?.endpoint ?? null, exit_code: exitCode });
    return exitCode;
  }
  const lines: string[] = [];
  if (outcome.kind === 'gate') {
    lines.push(`${p.warn('▲')} ${app.name} ${release.version_label} is waiting for promotion (${took})`);
    lines.push(`  promote it: appserve promote ${app.name}    abort it: appserve abort ${app.name}`);
  } else if (ok) {
    lines.push(`${p.ok('✓')} ${app.name} ${release.version_label} ${describeStatus(release.status)} in ${took}`);
    if (view?.endpoint) lines.push(`  endpoint: ${view.endpoint}`);
    if (release.image) lines.push(`  image:    ${release.image}`);
  } else {
    lines.push(`${p.bad('✗')} ${app.name} ${release.version_label} ${describeStatus(release.status)} after ${took}`);
    for (const line of diagnosisLines(release)) lines.push(`  ${line}`);
    lines.push(`  history: appserve history ${app.name}    events: appserve events ${app.name}`);
  }
  ctx.result(lines.join('\n'), undefined);
  return exitCode;
}

/** An accepted operation when the user chose --no-wait. */
export function reportAccepted(ctx: Context, text: string, data: Record<string, unknown>): number {
  ctx.result(text, { ...data, outcome: 'accepted', exit_code: 0 });
  return ExitCode.ok;
}
