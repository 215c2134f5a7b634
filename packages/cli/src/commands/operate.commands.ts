import type { Accepted, ReleaseView } from '../api/views.ts';
import type { Context } from '../context.ts';
import { CliError, ExitCode, usageError } from '../errors.ts';
import { waitForDeletion } from '../follow/release-follower.ts';
import { parseDurationMs } from '../deploy/deploy-settings.ts';
import { followAndReport, interruptSignal, reportAccepted, requireApp } from './common.ts';

export interface OperateFlags {
  cluster?: string;
  wait?: boolean;
  timeout?: string;
}

async function waitChoice(ctx: Context, flags: OperateFlags): Promise<{ wait: boolean; timeoutMs: number }> {
  const file = await ctx.projectFile();
  return { wait: flags.wait ?? file?.wait ?? true, timeoutMs: parseDurationMs(flags.timeout ?? file?.timeout ?? '30m', '--timeout') };
}

/** `appserve promote|abort [APP]`: open or close the gate of the canary or blue-green release in flight. */
export async function gateCommand(ctx: Context, verb: 'promote' | 'abort', ref: string | undefined, flags: OperateFlags): Promise<number> {
  const startedAt = Date.now();
  const { wait, timeoutMs } = await waitChoice(ctx, flags);
  const client = await ctx.client();
  const app = await requireApp(ctx, client, ref, flags.cluster);
  const release = app.current_release;
  if (!release) throw new CliError(ExitCode.conflict, `nothing_to_${verb}`, `${app.name} has no release to ${verb}`);
  const answer = await client.send<{ operation: unknown }>('POST', `/apps/${app.id}/${verb}`);
  const text = `${verb === 'promote' ? 'promotion' : 'abort'} of ${app.name} ${release.version_label} requested`;
  if (!wait) return reportAccepted(ctx, text, { app: { id: app.id, name: app.name }, release, operation: answer.operation });
  const progress = await ctx.progress();
  progress.step(text);
  return followAndReport(ctx, client, app, release, {
    timeoutMs,
    startedAt,
    progress,
    stopAtPromotionGate: false,
    // A little before now: the events carry the server's clock, which may be behind this machine's.
    eventsSince: new Date(startedAt - 10_000),
    extra: { operation: answer.operation },
    ...(verb === 'abort' ? { alsoSuccessful: ['aborted', 'failed'] } : {}),
  });
}

/** `appserve rollback [APP] [--to VERSION]`: redeploy an earlier release exactly, as a new release. */
export async function rollbackCommand(ctx: Context, ref: string | undefined, flags: OperateFlags & { to?: string; skipAnalysis?: boolean }): Promise<number> {
  const startedAt = Date.now();
  const { wait, timeoutMs } = await waitChoice(ctx, flags);
  const client = await ctx.client();
  const app = await requireApp(ctx, client, ref, flags.cluster);
  const to = flags.to === undefined ? undefined : /^[0-9]+$/.test(flags.to) ? Number(flags.to) : flags.to.replace(/^#/, '');
  const accepted = await client.send<Accepted>('POST', `/apps/${app.id}/rollback`, {
    body: { ...(to !== undefined ? { to_version: to } : {}), ...(flags.skipAnalysis ? { skip_analysis: true } : {}) },
  });
  const target = await rollbackTarget(ctx, accepted.release);
  const text = `rollback of ${app.name} accepted: ${accepted.release.version_label} redeploys ${target}`;
  if (!wait) return reportAccepted(ctx, text, { app: accepted.app, release: accepted.release });
  const progress = await ctx.progress();
  progress.step(text, { release_id: accepted.release.id, version: accepted.release.version });
  return followAndReport(ctx, client, app, accepted.release, { timeoutMs, startedAt, progress, extra: {} });
}

async function rollbackTarget(_ctx: Context, release: ReleaseView): Promise<string> {
  return release.image ?? 'the earlier release';
}

/** `appserve delete [APP]`: uninstall the app (its history is kept). Asks first unless --yes. */
export async function deleteCommand(ctx: Context, ref: string | undefined, flags: OperateFlags & { yes?: boolean }): Promise<number> {
  const { wait, timeoutMs } = await waitChoice(ctx, flags);
  const client = await ctx.client();
  const app = await requireApp(ctx, client, ref, flags.cluster);
  if (!flags.yes) {
    if (!ctx.interactive || ctx.json) throw usageError(`deleting ${app.name} needs --yes when there is no terminal to confirm on`);
    const { default: confirm } = await import('@inquirer/confirm');
    const sure = await confirm({ message: `Delete ${app.name} from cluster ${app.cluster.name}? Its pods and services go; its release history stays.`, default: false }, { input: ctx.io.stdin, output: ctx.io.stderr });
    if (!sure) {
      ctx.result('Not deleted.', { deleted: false });
      return ExitCode.ok;
    }
  }
  const answer = await client.send<{ operation: unknown }>('DELETE', `/apps/${app.id}`);
  if (!wait) return reportAccepted(ctx, `deletion of ${app.name} accepted`, { app: { id: app.id, name: app.name }, operation: answer.operation });
  const progress = await ctx.progress();
  const interrupt = interruptSignal();
  let outcome: Awaited<ReturnType<typeof waitForDeletion>>;
  try {
    outcome = await waitForDeletion(client, app.id, timeoutMs, progress, interrupt.signal);
  } finally {
    interrupt.dispose();
    progress.stop();
  }
  if (outcome === 'deleted') {
    ctx.result(`${ctx.paint.ok('✓')} ${app.name} deleted from cluster ${app.cluster.name} (the platform keeps its release history)`, { app: { id: app.id, name: app.name }, outcome: 'deleted', exit_code: 0 });
    return ExitCode.ok;
  }
  const exitCode = outcome === 'timeout' ? ExitCode.timeout : ExitCode.interrupted;
  const message = outcome === 'timeout' ? `${app.name} is not gone yet after ${Math.round(timeoutMs / 1000)}s; the deletion goes on` : 'stopped waiting; the deletion goes on';
  if (ctx.json) ctx.result(undefined, { app: { id: app.id, name: app.name }, outcome, error: { code: outcome, message }, exit_code: exitCode });
  else ctx.io.stderr.write(`${ctx.errPaint.warn(`${outcome}:`)} ${message}\n`);
  return exitCode;
}
