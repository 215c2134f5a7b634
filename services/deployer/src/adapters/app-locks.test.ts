// The per-app lease on a real NATS KV bucket: one holder across replicas, queueing within one, expiry of a holder
// that died, and losing the lease aborts the work.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { RetryableError } from '@appserving/shared';
import { startTestNatsServer, type TestNatsServer } from '@appserving/shared/testing';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diedOnThisHost, LOCK_BUCKET, openAppLocks, type AppLocks } from './app-locks.ts';

const log = pino({ level: 'silent' });
let nats: TestNatsServer;
let nc: NatsConnection;
let replicaA: AppLocks;
let replicaB: AppLocks;
const leaseMs = 2_000;

beforeAll(async () => {
  nats = await startTestNatsServer();
  nc = await connect({ servers: nats.url });
  replicaA = await openAppLocks(jetstream(nc), { leaseMs });
  replicaB = await openAppLocks(jetstream(nc), { leaseMs });
});
afterAll(async () => {
  await nc?.close();
  await nats?.dispose();
});

describe('app locks', () => {
  it('one replica at a time per app; the other is told the app is busy, and gets it once released', async () => {
    const app = randomUUID();
    let release!: () => void;
    const holding = replicaA.run(app, log, () => new Promise<void>((resolve) => (release = resolve)));
    await sleep(100);
    const refused = await replicaB.run(app, log, async () => 'ran').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RetryableError);
    expect((refused as RetryableError).code).toBe('app_busy');
    // Other apps are not blocked.
    expect(await replicaB.run(randomUUID(), log, async () => 'other app')).toBe('other app');
    release();
    await holding;
    expect(await replicaB.run(app, log, async () => 'ran')).toBe('ran');
  });

  it('work on one app within one replica runs in order, one at a time', async () => {
    const app = randomUUID();
    const order: string[] = [];
    let running = 0;
    await Promise.all(
      ['first', 'second', 'third'].map((name) =>
        replicaA.run(app, log, async () => {
          running += 1;
          expect(running).toBe(1);
          order.push(name);
          await sleep(50);
          running -= 1;
        }),
      ),
    );
    expect(order).toEqual(['first', 'second', 'third']);
  });

  it('holds the lease while work runs longer than the lease (renewed)', async () => {
    const app = randomUUID();
    const long = replicaA.run(app, log, async (signal) => {
      await sleep(leaseMs * 2);
      return signal.aborted;
    });
    await sleep(leaseMs * 1.5);
    await expect(replicaB.run(app, log, async () => 'stolen')).rejects.toThrow(/another deployer is working on app/);
    expect(await long).toBe(false);
  });

  it('a holder that died stops blocking the app once its lease runs out', async () => {
    const app = randomUUID();
    const kv = await new Kvm(jetstream(nc)).open(LOCK_BUCKET);
    await kv.create(app, 'a deployer that was killed');
    await expect(replicaA.run(app, log, async () => 'x')).rejects.toThrow(/a deployer that was killed/);
    const started = Date.now();
    for (;;) {
      const result = await replicaA.run(app, log, async () => 'got it').catch(() => undefined);
      if (result) break;
      if (Date.now() - started > leaseMs * 4) throw new Error('the dead lease never expired');
      await sleep(250);
    }
    expect(Date.now() - started).toBeGreaterThanOrEqual(leaseMs / 2);
  });

  it('a lease left by a process that died on this host is taken over at once; a live one is not', async () => {
    const kv = await new Kvm(jetstream(nc)).open(LOCK_BUCKET);
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(dead.stdout);
    expect(deadPid).toBeGreaterThan(0);
    const app = randomUUID();
    await kv.create(app, `${hostname()}/${deadPid}/${randomUUID()}`);
    const started = Date.now();
    expect(await replicaA.run(app, log, async () => 'got it')).toBe('got it');
    expect(Date.now() - started).toBeLessThan(leaseMs / 2);
    // The parent of this test process runs: its lease stands until it expires.
    const busy = randomUUID();
    await kv.create(busy, `${hostname()}/${process.ppid}/${randomUUID()}`);
    await expect(replicaA.run(busy, log, async () => 'x')).rejects.toThrow(/another deployer is working on app/);
  });

  it('tells a holder that died on this host from a live one or one on another host', () => {
    const id = randomUUID();
    const self = { host: 'node-1', pid: 1, instances: new Set([id]) };
    const alive = (pid: number) => pid === 40;
    expect(diedOnThisHost(`node-1/41/${id}`, self, alive)).toBe(true);
    expect(diedOnThisHost(`node-1/40/${id}`, self, alive)).toBe(false);
    // A restarted container: pid 1 again, another instance; this process's own instances are alive.
    expect(diedOnThisHost(`node-1/1/${randomUUID()}`, self, alive)).toBe(true);
    expect(diedOnThisHost(`node-1/1/${id}`, self, alive)).toBe(false);
    expect(diedOnThisHost(`node-2/41/${id}`, self, alive)).toBe(false);
    expect(diedOnThisHost('a deployer that was killed', self, alive)).toBe(false);
  });

  it('losing the lease aborts the work', async () => {
    const app = randomUUID();
    const kv = await new Kvm(jetstream(nc)).open(LOCK_BUCKET);
    const aborted = await replicaA.run(app, log, async (signal) => {
      // Someone removes the lease (an operator, or the bucket's expiry after a long pause): renewal fails.
      await kv.purge(app);
      await kv.create(app, 'someone else');
      const deadline = Date.now() + leaseMs * 2;
      while (!signal.aborted && Date.now() < deadline) await sleep(50);
      return signal.aborted;
    });
    expect(aborted).toBe(true);
    expect((await kv.get(app))?.string()).toBe('someone else');
  });
});
