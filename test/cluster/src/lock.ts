import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

function holderAlive(lockDir: string): boolean {
  try {
    const pid = Number(readFileSync(join(lockDir, 'pid'), 'utf8'));
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // No pid file yet: the holder is between mkdir and write; treat as alive.
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? true : (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs `fn` holding a lock directory (mkdir is atomic), shared by every process on the machine that uses this
 * cluster. A lock left by a dead process is taken over. Starting may include a cold build, hence the long wait.
 */
export async function withLock<T>(lockDir: string, fn: () => Promise<T>, timeoutMs = 60 * 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let staleChecks = 0;
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(join(lockDir, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (!holderAlive(lockDir)) {
        // Confirm twice before taking over, in case the holder was just writing its pid.
        if (++staleChecks >= 2) {
          rmSync(lockDir, { recursive: true, force: true });
          staleChecks = 0;
        }
      } else {
        staleChecks = 0;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for the cluster lock ${lockDir}`, { cause: err });
      await sleep(200);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}
