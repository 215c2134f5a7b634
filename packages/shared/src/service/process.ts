import type { Logger } from '../logging/index.ts';
import type { Telemetry } from '../telemetry/index.ts';
import type { OwnedRuntime } from './runtime.ts';

/** The domain part of a service (its consumers and its HTTP server), started and stopped by the process. */
export interface ServiceUnit {
  readonly name: string;
  start(): Promise<void>;
  /** Stop pulling; let in-flight messages finish within `graceMs`, then return the rest. */
  stopConsuming(graceMs: number): Promise<void>;
  closeServer(): Promise<void>;
}

/**
 * Shutdown in a fixed order: readiness goes 503, consumers stop and finish or return in-flight messages,
 * NATS drains (pending acks and publishes flushed), HTTP servers close, the database pool closes, telemetry
 * flushes. Safe to call more than once; later calls wait for the first.
 */
export function createShutdown(deps: {
  units: readonly ServiceUnit[];
  runtimes: readonly OwnedRuntime[];
  telemetry?: Telemetry;
  log: Logger;
  graceMs: number;
}): (reason: string) => Promise<void> {
  let shutdown: Promise<void> | undefined;
  return (reason) => {
    shutdown ??= (async () => {
      const { log } = deps;
      const started = Date.now();
      log.info({ reason, graceMs: deps.graceMs }, 'shutting down');
      for (const runtime of deps.runtimes) runtime.markShuttingDown();
      await Promise.all(deps.units.map((u) => u.stopConsuming(deps.graceMs)));
      for (const runtime of deps.runtimes) await runtime.drainNats();
      await Promise.all(deps.units.map((u) => u.closeServer().catch((error: unknown) => log.warn({ err: error, unit: u.name }, 'closing server failed'))));
      for (const runtime of deps.runtimes) await runtime.closeDatabase();
      await deps.telemetry?.shutdown().catch((error: unknown) => log.warn({ err: error }, 'telemetry flush failed'));
      log.info({ tookMs: Date.now() - started }, 'shut down cleanly');
    })();
    return shutdown;
  };
}
