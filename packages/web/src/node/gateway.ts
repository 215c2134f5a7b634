import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createThrowawayDatabase, freePort, startTestNatsServer } from '@appserving/shared/testing';
import pg from 'pg';

const gatewayMain = fileURLToPath(new URL('../../../../services/gateway/src/main.ts', import.meta.url));

export interface ConsoleGateway {
  url: string;
  adminToken: string;
  db: pg.Client;
  /** The gateway's NATS server, where a test can play another service (the watcher's RPCs). */
  natsUrl: string;
  stop(): Promise<void>;
}

/**
 * The gateway alone (`node services/gateway/src/main.ts`, as an operator runs it) with its own NATS server and
 * a throw-away database: enough for the console's pages over data written straight into the database (no
 * cluster, no builder, deployer or watcher), for the 2,000-app list and the figures.
 */
export async function startConsoleGateway(): Promise<ConsoleGateway> {
  const nats = await startTestNatsServer();
  const database = await createThrowawayDatabase(process.env.APPSERVING_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  const port = await freePort();
  const adminToken = `aps_${randomBytes(32).toString('base64url')}`;
  const child = spawn(process.execPath, [gatewayMain], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      APPSERVING_NATS_URL: nats.url,
      APPSERVING_DATABASE_URL: database.url,
      APPSERVING_HTTP_HOST: '127.0.0.1',
      APPSERVING_GATEWAY_PORT: String(port),
      APPSERVING_ADMIN_TOKEN: adminToken,
      APPSERVING_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ready = await fetch(`${url}/readyz`).then((r) => r.ok).catch(() => false);
    if (ready) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      await Promise.all([nats.dispose(), database.drop()]);
      throw new Error(`the gateway did not become ready: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const db = new pg.Client({ connectionString: database.url });
  await db.connect();
  return {
    url,
    adminToken,
    db,
    natsUrl: nats.url,
    async stop() {
      await db.end();
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      await database.drop().catch(() => undefined);
      await nats.dispose().catch(() => undefined);
    },
  };
}
