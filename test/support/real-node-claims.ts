import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The real node is this machine: its kubelet offers the machine's CPUs (two on CI), and every pod asks for its CPU
 * request. Test files that run real pods at the same time would otherwise overbook it, and the scheduler rightly
 * answers "Insufficient cpu": a release `unschedulable` for a reason the test is not about. So each such file
 * claims the CPU its pods request at most at once, before it starts its platform, and waits while the claims of
 * the files already running leave no room. A claim is a file named after the worker's pid: one left by a worker
 * that died is ignored.
 */
const claimsDir = join(tmpdir(), 'appserving-real-node-claims');
const mutexDir = join(claimsDir, '.mutex');

/**
 * Millicores the real node has for test pods: the machine's CPUs less a quarter of one (pods of a file that has
 * just stopped terminate for some seconds more), or APPSERVING_TEST_REAL_NODE_MILLICPU.
 */
export function realNodeMillicpu(): number {
  const set = Number(process.env.APPSERVING_TEST_REAL_NODE_MILLICPU);
  return Number.isFinite(set) && set > 0 ? set : availableParallelism() * 1000 - 250;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

async function withMutex<T>(work: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      await mkdir(mutexDir);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // A holder that died between mkdir and rm leaves it behind: the critical section takes milliseconds.
      const since = await stat(mutexDir).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (since > 10_000) await rm(mutexDir, { recursive: true, force: true });
      await sleep(50);
    }
  }
  try {
    return await work();
  } finally {
    await rm(mutexDir, { recursive: true, force: true });
  }
}

/** The live claims, in millicores (claims of dead workers are removed). */
async function claimed(): Promise<number> {
  let total = 0;
  for (const name of await readdir(claimsDir)) {
    const match = /^(\d+)-(\d+)-/.exec(name);
    if (!match) continue;
    if (!alive(Number(match[1]))) {
      await rm(join(claimsDir, name), { force: true });
      continue;
    }
    total += Number(match[2]);
  }
  return total;
}

/**
 * Claims `millicpu` of the real node, waiting (with a line every minute) until the running files' claims leave
 * room; a claim larger than the node is cut to the node. Resolves with the release.
 */
export async function claimRealNode(millicpu: number, log: (line: string) => void = (line) => console.log(line)): Promise<() => Promise<void>> {
  await mkdir(claimsDir, { recursive: true });
  const capacity = realNodeMillicpu();
  const want = Math.min(millicpu, capacity);
  const file = join(claimsDir, `${process.pid}-${want}-${randomUUID()}`);
  const started = Date.now();
  let told = started;
  for (;;) {
    const got = await withMutex(async () => {
      if ((await claimed()) + want > capacity) return false;
      await writeFile(file, '');
      return true;
    });
    if (got) break;
    if (Date.now() - told >= 60_000) {
      told = Date.now();
      log(`waiting for room on the real node: ${want}m CPU wanted of ${capacity}m, ${Math.round((told - started) / 1000)} s so far`);
    }
    await sleep(500);
  }
  return () => rm(file, { force: true });
}
