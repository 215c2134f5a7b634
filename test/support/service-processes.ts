import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The four services as four processes (the production shape), for tests that kill and restart them one by one:
 * each is `node services/<name>/src/main.ts` with the same environment, its own port, and its output appended to
 * `<logDir>/<name>.log` across restarts.
 */
export const SERVICE_NAMES = ['gateway', 'builder', 'deployer', 'watcher'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export interface ServiceProcesses {
  ports: Record<ServiceName, number>;
  /** Starts a service that is not running and waits until it answers /readyz. */
  start(name: ServiceName, readyTimeoutMs?: number): Promise<void>;
  /** SIGKILL: no shutdown, no grace, as a crash or an OOM kill. */
  kill(name: ServiceName): Promise<void>;
  /** SIGTERM and the clean shutdown. */
  stop(name: ServiceName): Promise<void>;
  running(name: ServiceName): boolean;
  /** How often each service was started. */
  starts: Record<ServiceName, number>;
  stopAll(): Promise<void>;
}

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const portVariable: Record<ServiceName, string> = {
  gateway: 'APPSERVING_GATEWAY_PORT',
  builder: 'APPSERVING_BUILDER_PORT',
  deployer: 'APPSERVING_DEPLOYER_PORT',
  watcher: 'APPSERVING_WATCHER_PORT',
};

export function serviceProcesses(options: { env: Record<string, string>; ports: Record<ServiceName, number>; logDir: string }): ServiceProcesses {
  const children = new Map<ServiceName, { child: ChildProcess; exited: Promise<void> }>();
  const logs = new Map<ServiceName, WriteStream>();
  const starts = { gateway: 0, builder: 0, deployer: 0, watcher: 0 };

  const logOf = (name: ServiceName) => {
    let log = logs.get(name);
    if (!log) {
      log = createWriteStream(join(options.logDir, `${name}.log`), { flags: 'a' });
      logs.set(name, log);
    }
    return log;
  };

  async function waitReady(name: ServiceName, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const entry = children.get(name);
    while (Date.now() < deadline) {
      if (!entry || entry.child.exitCode !== null || entry.child.signalCode !== null) {
        // Forgotten, so that the next start() starts it again instead of finding the dead process "started".
        if (children.get(name) === entry) children.delete(name);
        throw new Error(`${name} exited while starting (code ${entry?.child.exitCode ?? entry?.child.signalCode ?? 'unknown'}; see ${join(options.logDir, `${name}.log`)})`);
      }
      const ready = await fetch(`http://127.0.0.1:${options.ports[name]}/readyz`, { signal: AbortSignal.timeout(2_000) })
        .then((r) => r.status === 200)
        .catch(() => false);
      if (ready) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`${name} was not ready within ${timeoutMs} ms (see ${join(options.logDir, `${name}.log`)})`);
  }

  async function halt(name: ServiceName, signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
    const entry = children.get(name);
    if (!entry) return;
    if (entry.child.exitCode === null && entry.child.signalCode === null) entry.child.kill(signal);
    const killer = setTimeout(() => entry.child.kill('SIGKILL'), 30_000);
    await entry.exited;
    clearTimeout(killer);
    if (children.get(name) === entry) children.delete(name);
  }

  return {
    ports: options.ports,
    starts,
    async start(name, readyTimeoutMs = 120_000) {
      // Started already (perhaps by a concurrent restart): ready when that process is.
      if (children.has(name)) return waitReady(name, readyTimeoutMs);
      const log = logOf(name);
      log.write(`\n=== start ${starts[name] + 1} at ${new Date().toISOString()}\n`);
      const child = spawn(process.execPath, [join(repoRoot, 'services', name, 'src', 'main.ts')], {
        cwd: repoRoot,
        env: { ...options.env, [portVariable[name]]: String(options.ports[name]) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout?.pipe(log, { end: false });
      child.stderr?.pipe(log, { end: false });
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      children.set(name, { child, exited });
      starts[name] += 1;
      await waitReady(name, readyTimeoutMs);
    },
    kill: (name) => halt(name, 'SIGKILL'),
    stop: (name) => halt(name, 'SIGTERM'),
    running: (name) => children.has(name),
    async stopAll() {
      await Promise.all(SERVICE_NAMES.map((name) => halt(name, 'SIGTERM')));
      for (const log of logs.values()) await new Promise<void>((resolve) => log.end(resolve));
    },
  };
}
