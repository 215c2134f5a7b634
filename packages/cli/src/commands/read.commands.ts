import { spawn } from 'node:child_process';
import type { AppView, ClusterView, ReleaseView } from '../api/views.ts';
import type { Context } from '../context.ts';
import { CliError, ExitCode } from '../errors.ts';
import { describeStatus, diagnosisLines } from '../follow/describe-event.ts';
import { formatTime, table } from '../output/format.ts';
import { requireApp } from './common.ts';

/** `appserve list`: the apps the token sees. */
export async function listCommand(ctx: Context, flags: { cluster?: string }): Promise<number> {
  const client = await ctx.client();
  const { items } = await client.get<{ items: AppView[] }>('/apps');
  const apps = flags.cluster ? items.filter((a) => a.cluster.name === flags.cluster || a.cluster.id === flags.cluster) : items;
  const p = ctx.paint;
  const human =
    apps.length === 0
      ? 'No apps yet. Deploy one with `appserve deploy path/to/app.jar`.'
      : table(
          ['NAME', 'STATUS', 'RELEASE', 'RELEASE STATUS', 'STRATEGY', 'CLUSTER', 'CREATED'],
          apps.map((a) => [
            a.name,
            p.status(a.status),
            a.current_release?.version_label ?? '-',
            a.current_release ? p.status(a.current_release.status) : '-',
            a.strategy,
            a.cluster.name,
            formatTime(a.created_at),
          ]),
        );
  ctx.result(human, { items: apps });
  return ExitCode.ok;
}

/** `appserve status [APP]`: the app, its current release, and why it failed if it did. */
export async function statusCommand(ctx: Context, ref: string | undefined, flags: { cluster?: string }): Promise<number> {
  const client = await ctx.client();
  const app = await requireApp(ctx, client, ref, flags.cluster);
  ctx.result(describeApp(ctx, app), app);
  return ExitCode.ok;
}

export function describeApp(ctx: Context, app: AppView): string {
  const p = ctx.paint;
  const release = app.current_release;
  const rows: [string, string][] = [
    ['app', `${p.bold(app.name)} (${app.id})`],
    ['status', p.status(app.status)],
    ['cluster', app.cluster.name],
    ['type', `${app.app_type}, ${app.strategy}`],
    ['endpoint', app.endpoint ?? '-'],
  ];
  if (release) {
    rows.push(['release', `${release.version_label} (#${release.version}) ${p.status(release.status)}${release.status !== describeStatus(release.status) ? ` - ${describeStatus(release.status)}` : ''}`]);
    if (release.image) rows.push(['image', release.image]);
    rows.push(['started', formatTime(release.created_at)]);
    if (release.finished_at) rows.push(['finished', formatTime(release.finished_at)]);
  }
  if (app.operation && (app.operation.status === 'pending' || app.operation.status === 'running')) rows.push(['operation', `${app.operation.kind} (${app.operation.status})`]);
  if (release?.status === 'waiting-promotion') rows.push(['next', `appserve promote ${app.name}  or  appserve abort ${app.name}`]);
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
  const failed = release !== null && (release.status === 'failed' || release.status === 'aborted' || release.status === 'rolled-back');
  if (release && (release.diagnosis || (failed && release.status_reason))) {
    lines.push('', failed ? p.bad('why:') : p.warn('note:'));
    for (const line of diagnosisLines(release)) lines.push(`  ${line}`);
  } else if (release?.status_reason) {
    lines.splice(rows.findIndex(([k]) => k === 'release') + 1, 0, `${'reason'.padEnd(width)}  ${release.status_reason}`);
  }
  return lines.join('\n');
}

/**
 * `appserve open [APP]`: the app's public URL (its route on the cluster's traffic gateway), printed, and opened in
 * the browser when there is a desktop to open it on (`--print` never opens).
 */
export async function openCommand(ctx: Context, ref: string | undefined, flags: { cluster?: string; print?: boolean }): Promise<number> {
  const client = await ctx.client();
  const app = await requireApp(ctx, client, ref, flags.cluster);
  const url = app.endpoints?.public ?? null;
  if (!url) {
    const why = app.endpoints?.cluster
      ? `it answers inside its cluster only (${app.endpoints.cluster}): the platform exposes apps when APPSERVING_APP_DOMAIN and a Gateway (APPSERVING_APP_GATEWAY) or an ingress are set`
      : 'it is not deployed yet';
    throw new CliError(ExitCode.usage, 'no_public_endpoint', `${app.name} has no URL to open: ${why}`, { hint: `appserve status ${app.name}` });
  }
  const opened = !flags.print && openInBrowser(url);
  ctx.result(opened ? `${url}  (opened in your browser)` : url, { app: app.name, url, opened });
  return ExitCode.ok;
}

/** Starts the desktop's browser on `url`, when there is a desktop; false when there is none or it failed. */
function openInBrowser(url: string): boolean {
  const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? undefined : process.env.DISPLAY || process.env.WAYLAND_DISPLAY ? 'xdg-open' : undefined;
  if (!opener) return false;
  try {
    spawn(opener, [url], { stdio: 'ignore', detached: true }).unref();
    return true;
  } catch {
    return false;
  }
}

/** `appserve history [APP]`: every release, newest first. */
export async function historyCommand(ctx: Context, ref: string | undefined, flags: { cluster?: string }): Promise<number> {
  const client = await ctx.client();
  const app = await requireApp(ctx, client, ref, flags.cluster);
  const { items } = await client.get<{ items: ReleaseView[] }>(`/apps/${app.id}/releases`);
  const p = ctx.paint;
  const human = table(
    ['VERSION', 'LABEL', 'STATUS', 'TASK', 'STRATEGY', 'CREATED', 'FINISHED', 'REASON'],
    items.map((r) => [
      String(r.version),
      r.version_label,
      p.status(r.status),
      r.task_type,
      r.strategy,
      formatTime(r.created_at),
      formatTime(r.finished_at),
      r.diagnosis?.summary ?? r.status_reason ?? '',
    ]),
  );
  ctx.result(human, { app: { id: app.id, name: app.name }, items });
  return ExitCode.ok;
}

/** `appserve clusters`: where apps can go. */
export async function clustersCommand(ctx: Context): Promise<number> {
  const client = await ctx.client();
  const { clusters } = await client.get<{ clusters: ClusterView[] }>('/clusters');
  const human =
    clusters.length === 0
      ? 'No clusters registered (an admin registers them with POST /clusters).'
      : table(
          ['NAME', 'DEFAULT', 'API SERVER', 'HEALTH', 'PROMETHEUS', 'ID'],
          clusters.map((c) => [c.name, c.is_default ? 'yes' : '', c.api_server_url, c.health?.status ?? '-', c.prometheus_url ?? '-', c.id]),
        );
  ctx.result(human, { clusters });
  return ExitCode.ok;
}
