import { hostname } from 'node:os';
import { ConfigError, loadConfig, type ConfigOf, type Settings } from '../config/index.ts';
import type { commonSettings } from '../config/index.ts';
import { createLogger, type Logger } from '../logging/index.ts';
import { startTelemetry } from '../telemetry/index.ts';
import { createShutdown, type ServiceUnit } from './process.ts';
import { createRuntime, type Runtime } from './runtime.ts';

/** Exit code for a configuration error (sysexits EX_CONFIG), so supervisors can tell it from a crash. */
export const EXIT_CONFIG = 78;

export interface ServiceProcess {
  log: Logger;
  shutdown(reason: string): Promise<void>;
}

/**
 * Starts one service process: validates its whole configuration first (a bad value throws ConfigError
 * naming it, before anything connects), then logging, tracing, NATS, Postgres and the service's units.
 */
export async function startServiceProcess<S extends Settings & typeof commonSettings>(spec: {
  service: string;
  settings: S;
  env: Readonly<Record<string, string | undefined>>;
  units: (runtime: Runtime, config: ConfigOf<S>) => ServiceUnit[];
}): Promise<ServiceProcess> {
  const config = loadConfig(spec.settings, spec.env);
  const common = config as unknown as ConfigOf<typeof commonSettings>;
  const log = createLogger({ service: spec.service, level: common.logLevel, base: { host: hostname() } });
  const telemetry = startTelemetry({ serviceName: `appserving-${spec.service}`, otlpEndpoint: common.otlpEndpoint });
  const runtime = await createRuntime({ service: spec.service, config: common, log });
  const units = spec.units(runtime, config);
  const shutdown = createShutdown({ units, runtimes: [runtime], telemetry, log, graceMs: common.shutdownGraceMs });
  try {
    for (const unit of units) await unit.start();
  } catch (error) {
    await shutdown('start-up failed');
    throw error;
  }
  return { log, shutdown };
}

/** For main files: print why start-up failed, in words, and exit. */
export function exitOnStartupError(service: string, error: unknown): never {
  if (error instanceof ConfigError) {
    process.stderr.write(`appserving-${service}: ${error.message}\n`);
    process.exit(EXIT_CONFIG);
  }
  const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : '';
  process.stderr.write(`appserving-${service}: start-up failed: ${error instanceof Error ? error.message : String(error)}${cause}\n`);
  process.exit(1);
}

/**
 * For main files: on SIGTERM or SIGINT, shut down in order and exit 0 (1 if shutdown itself failed). A second
 * signal while shutting down is ignored; the grace period bounds the wait.
 */
export function exitOnSignals(running: ServiceProcess): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      running.shutdown(signal).then(
        () => process.exit(0),
        (error: unknown) => {
          running.log.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
}
