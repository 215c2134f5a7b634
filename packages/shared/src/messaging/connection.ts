import { readFile } from 'node:fs/promises';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../logging/index.ts';

export interface NatsSettings {
  /** Comma-separated server URLs. */
  servers: string;
  /** Connection name shown by the server (service and instance). */
  name: string;
  credsFile?: string;
  /** User and password, for servers that authenticate users by password (never logged). */
  user?: string;
  password?: string;
  /** How long start-up keeps trying to reach NATS before giving up. */
  connectTimeoutMs?: number;
}

/**
 * Connects to NATS, retrying at start-up until `connectTimeoutMs`, and reconnecting forever afterwards.
 * Connection changes are logged so an operator can see an outage and its end.
 */
export async function connectNats(settings: NatsSettings, log: Logger): Promise<NatsConnection> {
  const servers = settings.servers.split(',').map((s) => s.trim()).filter(Boolean);
  const authenticator = settings.credsFile ? credsAuthenticator(await readFile(settings.credsFile)) : undefined;
  const deadline = Date.now() + (settings.connectTimeoutMs ?? 30_000);
  let attempt = 0;
  for (;;) {
    attempt += 1;
    try {
      const nc = await connect({
        servers,
        name: settings.name,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 1_000,
        pingInterval: 10_000,
        // No call-site stack captured for every request (each JetStream publish is one): a measurable share of a
        // busy gateway's CPU. Errors still say what failed; the services log where.
        noAsyncTraces: true,
        ...(authenticator ? { authenticator } : {}),
        ...(settings.user ? { user: settings.user, pass: settings.password ?? '' } : {}),
      });
      log.info({ server: nc.getServer() }, 'connected to NATS');
      void watchStatus(nc, log);
      return nc;
    } catch (error) {
      if (Date.now() >= deadline) {
        throw new Error(`cannot reach NATS at ${servers.join(', ')} after ${attempt} attempts`, { cause: error });
      }
      log.warn({ servers, attempt, err: error }, 'NATS not reachable yet; retrying');
      await new Promise((resolve) => setTimeout(resolve, Math.min(500 * attempt, 3_000)));
    }
  }
}

/**
 * Whether the NATS servers take a client that presents no credentials at all: then any process that reaches them
 * may publish commands (and read every event). One short connection attempt, closed at once; false when it is
 * refused or does not answer in time.
 */
export async function acceptsAnonymousClients(servers: string, timeoutMs = 2_000): Promise<boolean> {
  try {
    const nc = await connect({
      // Without any user:password@ of the URLs: the question is what a client with no credentials gets.
      servers: servers.split(',').map((s) => s.trim().replace(/\/\/[^@/]*@/, '//')).filter(Boolean),
      name: 'appserving-anonymous-probe',
      timeout: timeoutMs,
      reconnect: false,
      noAsyncTraces: true,
    });
    await nc.close();
    return true;
  } catch {
    return false;
  }
}

async function watchStatus(nc: NatsConnection, log: Logger): Promise<void> {
  for await (const status of nc.status()) {
    switch (status.type) {
      case 'disconnect':
        log.warn({ server: status.server }, 'disconnected from NATS; reconnecting');
        break;
      case 'reconnect':
        log.info({ server: status.server }, 'reconnected to NATS');
        break;
      case 'error':
        log.error({ err: status.error }, 'NATS connection error');
        break;
      default:
        break;
    }
  }
}
