import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { createRuntime, createSecretBox, DEV_SECRET_KEY, kubeconfigAad, loadConfig, type Database, type OwnedRuntime } from '@appserving/shared';
import { freePort } from '@appserving/shared/testing';
import type { Kysely } from 'kysely';
import { pino } from 'pino';
import { watcherSettings, type WatcherConfig } from '../config.ts';
import { createWatcher, type Watcher } from '../service.ts';

/**
 * A real watcher in this process for tests and benchmarks: its own runtime (NATS connection, database pool)
 * against the given NATS server and database, with settings given as environment variables would be.
 */
export interface TestWatcher {
  watcher: Watcher;
  runtime: OwnedRuntime;
  config: WatcherConfig;
  /** Warnings and errors the watcher logged (parsed JSON). */
  logs: Record<string, unknown>[];
  stop(): Promise<void>;
}

/** Fast settings for tests: short graces, quick resync and lease retry. */
export const fastWatcherEnv: Record<string, string> = {
  APPSERVING_WATCHER_CRASH_LOOP_RESTARTS: '2',
  APPSERVING_WATCHER_IMAGE_PULL_GRACE_MS: '0',
  APPSERVING_WATCHER_UNSCHEDULABLE_GRACE_MS: '0',
  APPSERVING_WATCHER_READINESS_GRACE_MS: '3000',
  APPSERVING_WATCHER_DEGRADED_GRACE_MS: '1000',
  APPSERVING_WATCHER_RESYNC_MS: '2000',
  APPSERVING_WATCHER_LEASE_RETRY_MS: '500',
};

export async function startTestWatcher(options: { natsUrl: string; databaseUrl: string; env?: Record<string, string>; logLevel?: 'silent' | 'warn' | 'info' | 'debug' }): Promise<TestWatcher> {
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          if (typeof entry.level === 'number' && entry.level >= 40) logs.push(entry);
          if (options.logLevel && options.logLevel !== 'silent' && options.logLevel !== 'warn') process.stderr.write(`${line}\n`);
        } catch {
          // not JSON
        }
      }
      done();
    },
  });
  const log = pino({ level: options.logLevel === 'debug' || options.logLevel === 'info' ? options.logLevel : 'warn' }, sink);
  const config = loadConfig(watcherSettings, {
    APPSERVING_NATS_URL: options.natsUrl,
    APPSERVING_DATABASE_URL: options.databaseUrl,
    APPSERVING_WATCHER_PORT: String(await freePort()),
    APPSERVING_CONSUMER_CONCURRENCY: '4',
    APPSERVING_ACK_WAIT_MS: '5000',
    APPSERVING_SHUTDOWN_GRACE_MS: '2000',
    ...fastWatcherEnv,
    ...options.env,
  });
  const runtime = await createRuntime({ service: 'watcher', config, log });
  const watcher = createWatcher(runtime, config);
  await watcher.start();
  let stopping: Promise<void> | undefined;
  return {
    watcher,
    runtime,
    config,
    logs,
    stop() {
      stopping ??= (async () => {
        runtime.markShuttingDown();
        await watcher.stopConsuming(2_000);
        await runtime.drainNats();
        await watcher.closeServer();
        await runtime.closeDatabase();
      })();
      return stopping;
    },
  };
}

/** Points a registered cluster row at a real cluster: its kubeconfig sealed with the development key, its Prometheus. */
export async function registerTestCluster(db: Kysely<Database>, clusterId: string, cluster: { kubeconfigPath: string; apiServerUrl?: string; prometheusUrl?: string | null }): Promise<void> {
  const box = createSecretBox([DEV_SECRET_KEY]);
  const kubeconfig = readFileSync(cluster.kubeconfigPath, 'utf8');
  await db
    .updateTable('clusters')
    .set({
      kubeconfig_encrypted: box.encrypt(kubeconfig, kubeconfigAad(clusterId)),
      api_server_url: cluster.apiServerUrl ?? /server:\s*(\S+)/.exec(kubeconfig)?.[1] ?? 'https://127.0.0.1',
      prometheus_url: cluster.prometheusUrl ?? null,
    })
    .where('id', '=', clusterId)
    .execute();
}
