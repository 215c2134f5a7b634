import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '@appserving/shared/testing';
import { fastWatcherEnv } from './test-watcher.ts';

/** The watcher as its own process (`node services/watcher/src/main.ts`), so a test can kill it like a crash does. */
export interface WatcherProcess {
  readonly port: number;
  readonly pid: number;
  readonly output: string[];
  /** Resolves once /readyz answers 200. */
  ready(timeoutMs?: number): Promise<void>;
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

export async function startWatcherProcess(options: { natsUrl: string; databaseUrl: string; env?: Record<string, string> }): Promise<WatcherProcess> {
  const port = await freePort();
  const output: string[] = [];
  const child: ChildProcess = spawn(process.execPath, [new URL('../main.ts', import.meta.url).pathname], {
    env: {
      ...process.env,
      APPSERVING_NATS_URL: options.natsUrl,
      APPSERVING_DATABASE_URL: options.databaseUrl,
      APPSERVING_WATCHER_PORT: String(port),
      APPSERVING_LOG_LEVEL: 'info',
      APPSERVING_ACK_WAIT_MS: '5000',
      ...fastWatcherEnv,
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (chunk: Buffer) => {
    output.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (output.length > 2_000) output.splice(0, output.length - 2_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    port,
    pid: child.pid ?? NaN,
    output,
    async ready(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (child.exitCode !== null) throw new Error(`the watcher exited with ${child.exitCode}: ${output.slice(-20).join('\n')}`);
        const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false);
        if (ok) return;
        if (Date.now() > deadline) throw new Error(`the watcher was not ready within ${timeoutMs} ms: ${output.slice(-20).join('\n')}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    async kill(signal) {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}
