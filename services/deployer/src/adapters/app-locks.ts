import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { RetryableError, type Logger } from '@appserving/shared';
import type { JetStreamClient } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';

/**
 * One helm operation per app at a time, across every deployer replica: a lease in a NATS KV bucket whose entries
 * expire (the bucket's max age) unless the holder renews them. Within one process, work on the same app queues
 * in order instead of contending for the lease.
 *
 * A restarted deployer takes over at once the leases a dead process on the same host left behind (same
 * hostname: the same Pod, or the same machine); a lease of another host waits for its expiry.
 *
 * The lease is what makes repairing a release stuck in `pending-*` safe: whoever holds it knows no other
 * deployer is running helm on that app, so a pending revision can only be left over from one that died.
 */
export interface AppLocks {
  /**
   * Runs `work` holding the app's lease. Throws RetryableError (`app_busy`) when another replica holds it. The
   * signal aborts when the lease is lost (renewal failed), so helm stops before another replica can start.
   */
  run<T>(appId: string, log: Logger, work: (signal: AbortSignal) => Promise<T>): Promise<T>;
}

export const LOCK_BUCKET = 'appserving_deployer_locks';

export interface AppLockOptions {
  /** How long a lease lives without renewal (the bucket's max age). */
  leaseMs?: number;
}

export async function openAppLocks(js: JetStreamClient, options: AppLockOptions = {}): Promise<AppLocks> {
  const leaseMs = options.leaseMs ?? 60_000;
  const kv = await new Kvm(js).create(LOCK_BUCKET, { history: 1, ttl: leaseMs, description: 'Per-app leases: one helm operation per app at a time (deployer).' });
  return createAppLocks(kv, leaseMs);
}

/**
 * Whether a lease holder (`host/pid/instance`) was a process on this host that is gone: its pid no longer runs,
 * or it is this process's own pid but none of its instances (a restarted container reuses pid 1).
 */
export function diedOnThisHost(holder: string, self = { host: hostname(), pid: process.pid, instances: liveInstances }, alive = pidAlive): boolean {
  const match = /^(.+)\/(\d+)\/([0-9a-f-]{36})$/.exec(holder);
  if (!match || match[1] !== self.host) return false;
  const pid = Number(match[2]);
  return pid === self.pid ? !self.instances.has(match[3] as string) : !alive(pid);
}

/** The lock instances of this process (more than one only in tests). */
const liveInstances = new Set<string>();

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function createAppLocks(kv: KV, leaseMs: number): AppLocks {
  const instance = randomUUID();
  liveInstances.add(instance);
  const owner = `${hostname()}/${process.pid}/${instance}`;
  const queues = new Map<string, Promise<unknown>>();

  async function withLease<T>(appId: string, log: Logger, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    let revision: number;
    try {
      revision = await kv.create(appId, owner);
    } catch (error) {
      const holder = await kv.get(appId).catch(() => null);
      const held = holder?.string() ?? '';
      // A deployer that died on this host (killed, or the container restarted) left its lease behind: take it
      // over now instead of blocking the app until it expires. Compare-and-set, so only one taker wins.
      const taken = holder && holder.operation === 'PUT' && diedOnThisHost(held) ? await kv.update(appId, owner, holder.revision).catch(() => undefined) : undefined;
      if (taken === undefined) {
        throw new RetryableError('app_busy', `another deployer is working on app ${appId}${held ? ` (${held})` : ''}`, { cause: error, retryAfterMs: 2_000 });
      }
      log.info({ appId, previousHolder: held }, 'took over the app lease of a deployer that died on this host');
      revision = taken;
    }
    const lost = new AbortController();
    const renew = setInterval(() => {
      kv.update(appId, owner, revision).then(
        (next) => (revision = next),
        (error: unknown) => {
          log.error({ err: error, appId }, 'lost the app lease; stopping the work on this app');
          lost.abort(new Error('app lease lost'));
          clearInterval(renew);
        },
      );
    }, Math.max(1_000, Math.floor(leaseMs / 4)));
    try {
      return await work(lost.signal);
    } finally {
      clearInterval(renew);
      if (!lost.signal.aborted) {
        await kv.delete(appId, { previousSeq: revision }).catch((error: unknown) => log.warn({ err: error, appId }, 'could not release the app lease; it expires by itself'));
      }
    }
  }

  return {
    run(appId, log, work) {
      const previous = queues.get(appId) ?? Promise.resolve();
      const mine = previous.catch(() => {}).then(() => withLease(appId, log, work));
      const tail = mine.catch(() => {});
      queues.set(appId, tail);
      void tail.then(() => {
        if (queues.get(appId) === tail) queues.delete(appId);
      });
      return mine;
    },
  };
}
