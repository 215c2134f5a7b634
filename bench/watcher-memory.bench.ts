/**
 * Watcher memory with many managed apps (BENCH_APPS, default 2000): each app a rolling release of one pod that
 * the watcher followed to `succeeded` and keeps following as the app's live release. Reports the watcher
 * process's RSS and V8 heap (from its /metrics) idle and with every app, next to two baselines measured in the
 * same run: the same watcher before any app existed, and a bare process holding @kubernetes/client-node informers
 * over the same objects (bench/support/bare-informers.ts).
 *
 * Needs the local cluster (`pnpm cluster:up`, reused when running), NATS and Postgres on 127.0.0.1. The pods run on a
 * private kwok node of this run; everything is removed at the end. Settings: BENCH_APPS (2000), BENCH_CONCURRENCY (16).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { startCluster } from '../test/cluster/src/index.ts';
import { chartDeployment, createDeployRelease, startWatcherClusterEnv } from '../services/watcher/src/testing/cluster-fixture.ts';
import { startSimNode } from '../services/watcher/src/testing/sim-node.ts';
import { startWatcherProcess, type WatcherProcess } from '../services/watcher/src/testing/watcher-process.ts';

const APPS = Number(process.env.BENCH_APPS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
const cpuModel = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';

const cluster = await startCluster({ log: (line) => log(`[cluster] ${line}`) });
// Room for every pod: each asks for 100m CPU and 256Mi like the chart's small preset.
const node = await startSimNode(cluster, { pods: APPS + 50, cpu: String(Math.ceil(APPS / 5)), memory: `${Math.ceil(APPS / 2)}Gi`, cidr: '100.66.0.0/16' });
const env = await startWatcherClusterEnv(cluster, { prefix: 'bench-memory', startWatcher: false });
const watcher = await startWatcherProcess({
  natsUrl: env.gw.nats.url,
  databaseUrl: env.gw.databaseUrl,
  // Production graces (the test defaults fail a pod that waits a moment for a node at once).
  env: {
    APPSERVING_LOG_LEVEL: 'warn',
    APPSERVING_WATCHER_RESYNC_MS: '10000',
    APPSERVING_CONSUMER_CONCURRENCY: '32',
    APPSERVING_WATCHER_UNSCHEDULABLE_GRACE_MS: '120000',
    APPSERVING_WATCHER_IMAGE_PULL_GRACE_MS: '20000',
    APPSERVING_WATCHER_READINESS_GRACE_MS: '300000',
    APPSERVING_WATCHER_CRASH_LOOP_RESTARTS: '3',
  },
});
let cleaning: Promise<void> | undefined;
const cleanup = () =>
  (cleaning ??= (async () => {
    await watcher.kill('SIGTERM');
    await env.close();
    await node.stop();
    await cluster.stop();
  })());
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void cleanup().finally(() => process.exit(130)));
await watcher.ready();

/** RSS of the process (from /proc) and V8's used heap (from the watcher's /metrics), the lowest of a few samples. */
async function watcherMemory(w: WatcherProcess): Promise<{ rss: number; heap: number }> {
  let rss = Infinity;
  let heap = Infinity;
  for (let i = 0; i < 10; i++) {
    const status = readFileSync(`/proc/${w.pid}/status`, 'utf8');
    rss = Math.min(rss, Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) * 1024);
    const metrics = await (await fetch(`http://127.0.0.1:${w.port}/metrics`)).text();
    heap = Math.min(heap, Number(/^nodejs_heap_size_used_bytes\{[^}]*\} (\S+)$/m.exec(metrics)?.[1] ?? NaN));
    await new Promise((r) => setTimeout(r, 1_000));
  }
  return { rss, heap };
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 1_800_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = Date.now();
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    if (Date.now() - last > 30_000) {
      log(`still waiting for ${what}`);
      last = Date.now();
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

async function inParallel(count: number, one: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < count; i = next++) {
        await one(i);
        if (++done % 250 === 0) log(`${done}/${count}`);
      }
    }),
  );
}

try {
  await new Promise((r) => setTimeout(r, 10_000));
  const idle = await watcherMemory(watcher);
  log(`idle watcher: rss ${mib(idle.rss)} MiB, heap ${mib(idle.heap)} MiB`);

  log(`creating ${APPS} apps and their Deployments`);
  await inParallel(APPS, async (i) => {
    const ref = await createDeployRelease(env, { name: `mem-${i}`, replicas: 1 });
    await env.kube.apply(chartDeployment(env.namespace, ref, { replicas: 1, placement: node.placement }));
  });
  await until(`${APPS} releases succeeded`, async () => {
    const row = await env.gw.database.db.selectFrom('releases').select((eb) => eb.fn.countAll<string>().as('n')).where('status', '=', 'succeeded').executeTakeFirstOrThrow();
    return Number(row.n) >= APPS;
  });
  log('all succeeded; letting the watcher settle');
  await new Promise((r) => setTimeout(r, 30_000));
  const loaded = await watcherMemory(watcher);
  const bare = JSON.parse(
    execFileSync(process.execPath, ['--expose-gc', new URL('./support/bare-informers.ts', import.meta.url).pathname, cluster.kubeconfigPath], { encoding: 'utf8', maxBuffer: 1 << 20 }).trim(),
  ) as { rssBytes: number; heapUsedBytes: number; objects: number };

  console.log(`\nWatcher memory with ${APPS} managed apps — ${new Date().toISOString().slice(0, 10)}, ${cpuModel}, Node ${process.version}\n`);
  console.log('| process | apps | RSS MiB | heap used MiB |');
  console.log('|---|---|---|---|');
  console.log(`| watcher, idle (baseline) | 0 | ${mib(idle.rss)} | ${mib(idle.heap)} |`);
  console.log(`| bare informers over the same objects (baseline; ${bare.objects} objects) | ${APPS} | ${mib(bare.rssBytes)} | ${mib(bare.heapUsedBytes)} |`);
  console.log(`| **watcher, following every app** | ${APPS} | ${mib(loaded.rss)} | ${mib(loaded.heap)} |`);
  console.log(`\nPer app (watcher, loaded − idle): ${((loaded.rss - idle.rss) / APPS / 1024).toFixed(1)} KiB RSS, ${((loaded.heap - idle.heap) / APPS / 1024).toFixed(1)} KiB heap.`);
} finally {
  await cleanup();
}
process.exit(0);

