import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A real NATS server with JetStream, of its own, for one test file: its own port and store, so tests can
 * restart or wipe it without touching the machine's server or each other.
 */
export interface TestNatsServer {
  url: string;
  port: number;
  /** Stops the server (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port; `wipe` starts from an empty store (streams and consumers gone). */
  start(options?: { wipe?: boolean }): Promise<void>;
  /** Stops it and removes its store. */
  dispose(): Promise<void>;
}

export function natsServerBinary(): string {
  const candidates = [process.env.APPSERVING_NATS_SERVER_BIN, '/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'];
  const found = candidates.find((c): c is string => Boolean(c) && existsSync(c as string));
  if (!found) {
    throw new Error('nats-server is not installed: install the Debian package nats-server (or set APPSERVING_NATS_SERVER_BIN)');
  }
  return found;
}

/** `args`: more nats-server flags, e.g. `['--user', 'u', '--pass', 'p']` for a server that refuses anonymous clients. */
export async function startTestNatsServer(options: { args?: readonly string[] } = {}): Promise<TestNatsServer> {
  const binary = natsServerBinary();
  const port = await freePort();
  const storeParent = await mkdtemp(join(tmpdir(), 'appserving-nats-'));
  let storeDir = join(storeParent, 'store-0');
  let generation = 0;
  let child: ChildProcess | undefined;

  const start = async (startOptions?: { wipe?: boolean }) => {
    if (startOptions?.wipe) {
      generation += 1;
      storeDir = join(storeParent, `store-${generation}`);
    }
    child = spawn(binary, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir, ...(options.args ?? [])], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4_000)));
    const exited = new Promise<never>((_, reject) =>
      child?.once('exit', (code) => reject(new Error(`nats-server exited with ${code} at start: ${stderr}`))),
    );
    await Promise.race([waitForPort(port, 10_000), exited]);
    exited.catch(() => {});
  };

  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill('SIGTERM');
    const timer = setTimeout(() => running.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };

  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    stop,
    start,
    async dispose() {
      await stop();
      await rm(storeParent, { recursive: true, force: true });
    },
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = tcpConnect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nats-server did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
