import type { Context } from '../context.ts';
import { CliError, ExitCode, usageError } from '../errors.ts';
import { renderMetrics, type AppMetricsView } from '../output/metrics-view.ts';
import { requireApp } from './common.ts';

const DURATION = /^[1-9][0-9]{0,5}[smhd]$/;

/**
 * `appserve metrics [APP] [--range 1h] [--step 30s]`: the app's metrics per track (the watcher reads them from the
 * cluster's Prometheus): each series' value now, its min and max and a sparkline, the pods now, release markers
 * and the series without data with why. With --json: the server's answer as is.
 */
export async function metricsCommand(ctx: Context, ref: string | undefined, flags: { cluster?: string; range?: string; step?: string }): Promise<number> {
  for (const [flag, value] of [['--range', flags.range], ['--step', flags.step]] as const) {
    if (value !== undefined && !DURATION.test(value)) throw usageError(`${flag} must be a duration like 30s, 15m, 1h or 7d, not ${value}`);
  }
  const client = await ctx.client();
  const app = await requireApp(ctx, client, ref, flags.cluster);
  let view: AppMetricsView;
  try {
    view = await client.get<AppMetricsView>(`/apps/${app.id}/metrics`, { query: { range: flags.range, step: flags.step } });
  } catch (error) {
    if (error instanceof CliError && (error.code === 'route_not_found' || error.code === 'http_404')) {
      throw new CliError(ExitCode.usage, 'metrics_unavailable', 'this server does not serve app metrics yet (GET /apps/{id}/metrics)', { hint: 'upgrade the platform' });
    }
    throw error;
  }
  const width = Math.min(60, Math.max(10, (ctx.io.stdout.columns ?? 100) - 60));
  ctx.result(renderMetrics(view, { appName: app.name, paint: ctx.paint, width }), view);
  return ExitCode.ok;
}
