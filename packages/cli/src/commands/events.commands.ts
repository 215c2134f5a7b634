import type { ApiClient } from '../api/api-client.ts';
import type { AppView, CloudEvent, PodLogs, TimelineEntry } from '../api/views.ts';
import type { Context } from '../context.ts';
import { CliError, ExitCode, usageError } from '../errors.ts';
import { describeEvent, shortType } from '../follow/describe-event.ts';
import { sleep, streamAppEvents } from '../follow/event-stream.ts';
import { parseInteger } from '../deploy/deploy-settings.ts';
import { formatTime } from '../output/format.ts';
import { interruptSignal, requireApp } from './common.ts';

/**
 * `appserve events [APP] [--follow]`: everything recorded about the app (the timeline), oldest first; with
 * --follow, then every new event as it happens, until Ctrl-C. With --json: one JSON object per line.
 */
export async function eventsCommand(ctx: Context, ref: string | undefined, flags: { cluster?: string; follow?: boolean; limit?: string }): Promise<number> {
  const client = await ctx.client();
  const app = await requireApp(ctx, client, ref, flags.cluster);
  const limit = flags.limit === undefined ? undefined : parseInteger(flags.limit, '--limit', 1, 100_000);
  const versions = await releaseVersions(client, app);
  const seen = new Set<string>();
  const print = (event: { id: string; type: string; time: string; release_id: string | null; data: unknown; source?: string }) => {
    if (seen.has(event.id)) return;
    seen.add(event.id);
    if (ctx.json) {
      ctx.io.stdout.write(`${JSON.stringify(event)}\n`);
      return;
    }
    const line = describeEvent({ id: event.id, type: event.type, data: event.data as Record<string, unknown>, ...(event.source ? { source: event.source } : {}) });
    const version = event.release_id ? (versions.get(event.release_id) ?? '') : '';
    const text = line?.message ?? shortType(event.type);
    const painted = line?.kind === 'failure' ? ctx.paint.bad(text) : text;
    ctx.io.stdout.write(`${ctx.paint.dim(formatTime(event.time))}  ${version.padEnd(5)} ${painted}\n`);
  };

  // Live events first (buffered), then the record, so nothing that happens in between is lost; ids dedupe.
  const interrupt = flags.follow ? interruptSignal() : undefined;
  const buffered: CloudEvent[] = [];
  let live = false;
  const stream = flags.follow
    ? streamAppEvents(
        client,
        app.id,
        {
          onEvent: (event) => {
            const releaseId = (event.data as { release?: { release_id?: string } } | undefined)?.release?.release_id ?? null;
            if (releaseId && !versions.has(releaseId)) void releaseVersions(client, app).then((more) => more.forEach((v, k) => versions.set(k, v)));
            if (!live) buffered.push(event);
            else print(fromCloudEvent(event, releaseId));
          },
        },
        interrupt?.signal ?? new AbortController().signal,
      )
    : undefined;

  const entries = await timeline(client, app.id, limit);
  for (const entry of entries) print({ id: entry.event_id, type: entry.type, time: entry.occurred_at, release_id: entry.release_id, data: entry.data, source: entry.source });
  if (!flags.follow) {
    if (entries.length === 0 && !ctx.json) ctx.note('No events recorded yet.');
    return ExitCode.ok;
  }
  live = true;
  for (const event of buffered.splice(0)) print(fromCloudEvent(event, (event.data as { release?: { release_id?: string } } | undefined)?.release?.release_id ?? null));
  if (!ctx.json) ctx.note('following new events (Ctrl-C to stop)');
  try {
    await stream;
  } finally {
    interrupt?.dispose();
  }
  return ExitCode.ok;
}

function fromCloudEvent(event: CloudEvent, releaseId: string | null) {
  return { id: event.id, type: event.type, time: event.time ?? new Date().toISOString(), release_id: releaseId, data: event.data, ...(event.source ? { source: event.source } : {}) };
}

async function timeline(client: ApiClient, appId: string, limit: number | undefined): Promise<TimelineEntry[]> {
  const out: TimelineEntry[] = [];
  let after: string | undefined;
  for (;;) {
    const { items } = await client.get<{ items: TimelineEntry[] }>(`/apps/${appId}/timeline`, { query: { after, limit: 1000 } });
    out.push(...items);
    if (items.length < 1000) break;
    after = items[items.length - 1]?.id;
  }
  return limit === undefined ? out : out.slice(-limit);
}

async function releaseVersions(client: ApiClient, app: AppView): Promise<Map<string, string>> {
  const { items } = await client.get<{ items: { id: string; version_label: string }[] }>(`/apps/${app.id}/releases`);
  return new Map(items.map((r) => [r.id, r.version_label]));
}

/**
 * `appserve logs [APP] [--follow]`: the last lines of the app's pods (the watcher reads them from the cluster).
 * --follow asks again every two seconds and prints only the lines not shown yet.
 */
export async function logsCommand(
  ctx: Context,
  ref: string | undefined,
  flags: { cluster?: string; follow?: boolean; tail?: string; previous?: boolean; release?: string },
): Promise<number> {
  const client = await ctx.client();
  const app = await requireApp(ctx, client, ref, flags.cluster);
  const tail = parseInteger(flags.tail ?? '100', '--tail', 1, 5000);
  if (flags.follow && flags.previous) throw usageError('--previous shows a crashed container\'s last run; it cannot be followed');
  const shown = new Map<string, string[]>();
  const interrupt = flags.follow ? interruptSignal() : undefined;
  try {
    for (let first = true; ; first = false) {
      const pods = await fetchLogs(client, app.id, { tail, previous: flags.previous === true, ...(flags.release ? { release: flags.release } : {}) });
      if (first && pods.length === 0 && !flags.follow) ctx.note(`${app.name} has no pods on the cluster right now.`);
      const several = pods.length > 1;
      for (const pod of pods) {
        const key = `${pod.name}/${pod.container}`;
        const fresh = newLines(shown.get(key) ?? [], pod.lines);
        shown.set(key, pod.lines);
        if (pod.error && first) ctx.io.stderr.write(`${ctx.errPaint.warn(`${pod.name}:`)} ${pod.error}\n`);
        for (const line of fresh) {
          if (ctx.json) ctx.io.stdout.write(`${JSON.stringify({ pod: pod.name, container: pod.container, release_id: pod.release_id, line })}\n`);
          else ctx.io.stdout.write(several ? `${ctx.paint.dim(`[${pod.name}]`)} ${line}\n` : `${line}\n`);
        }
      }
      if (!flags.follow) return ExitCode.ok;
      await sleep(2_000, interrupt?.signal);
      if (interrupt?.signal.aborted) return ExitCode.ok;
    }
  } finally {
    interrupt?.dispose();
  }
}

async function fetchLogs(client: ApiClient, appId: string, query: { tail: number; previous: boolean; release?: string }): Promise<PodLogs[]> {
  try {
    const answer = await client.get<{ pods: PodLogs[] }>(`/apps/${appId}/logs`, { query: { tail: query.tail, previous: query.previous ? 'true' : undefined, release: query.release } });
    return answer.pods ?? [];
  } catch (error) {
    if (error instanceof CliError && (error.code === 'route_not_found' || error.code === 'http_404')) {
      throw new CliError(ExitCode.usage, 'logs_unavailable', 'this server does not serve app logs yet (GET /apps/{id}/logs)', { hint: 'upgrade the platform, or read the pods with kubectl logs' });
    }
    throw error;
  }
}

/** The lines of `now` after the longest overlap of the end of `before` with the start of `now`. */
export function newLines(before: string[], now: string[]): string[] {
  if (before.length === 0) return now;
  for (let overlap = Math.min(before.length, now.length); overlap > 0; overlap -= 1) {
    let match = true;
    for (let i = 0; i < overlap; i += 1) {
      if (before[before.length - overlap + i] !== now[i]) {
        match = false;
        break;
      }
    }
    if (match) return now.slice(overlap);
  }
  return now;
}
