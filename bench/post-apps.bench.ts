/**
 * POST /apps throughput and latency against a real gateway, next to the floor measured in the same run: one
 * Postgres transaction inserting comparable rows plus one JetStream publish (with msgID), from a bare script.
 * The gateway runs in its own process (bench/support/gateway-process.ts), as in production; this process is the
 * load generator and the floor script. Run: `pnpm bench:post-apps` (private nats-server and a throw-away
 * database; only 127.0.0.1).
 * Settings: BENCH_REQUESTS (2000), BENCH_CONCURRENCY (32), BENCH_WARMUP (300), BENCH_LOG_LEVEL (info).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createInterface } from 'node:readline';
import { createDatabase } from '../packages/shared/src/database/index.ts';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { httpPool } from '../services/gateway/src/testing/test-gateway.ts';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 300);
const LOG_LEVEL = (process.env.BENCH_LOG_LEVEL ?? 'info') as 'info' | 'silent';

interface Result {
  count: number;
  seconds: number;
  latencies: number[];
}

async function run(count: number, concurrency: number, one: (i: number) => Promise<void>): Promise<Result> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < count; i = next++) {
        const t = performance.now();
        await one(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { count, seconds: (performance.now() - started) / 1000, latencies: latencies.sort((a, b) => a - b) };
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const cpuModel = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';

interface GatewayProcess {
  base: string;
  adminToken: string;
  clusterId: string;
  databaseUrl: string;
  natsUrl: string;
  pid: number;
}

// BENCH_GATEWAY_NODE_ARGS: extra node flags for the gateway process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
const nodeArgs = (process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean);
const child = spawn(process.execPath, [...nodeArgs, new URL('./support/gateway-process.ts', import.meta.url).pathname], {
  env: { ...process.env, BENCH_LOG_LEVEL: LOG_LEVEL },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const firstLine = await new Promise<string>((resolve, reject) => {
  const lines = createInterface({ input: child.stdout });
  lines.once('line', resolve);
  child.once('exit', (code) => reject(new Error(`the gateway process exited (${code}) before it was ready`)));
});
// The gateway logs to its own stdout after the first line; drain it so it never blocks.
child.stdout.resume();
const gw = JSON.parse(firstLine) as GatewayProcess;
const nc = await connect({ servers: gw.natsUrl });
const database = createDatabase({ url: gw.databaseUrl, onPoolError: () => {} });

/** CPU time (user + system) a process has used so far, in ms (from /proc; clock ticks of 10 ms); 0 once gone. */
function cpuMsOf(pid: number | string): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}
const gatewayCpuMs = () => cpuMsOf(gw.pid);

/** CPU used so far by every process of a command name (all Postgres backends, every nats-server). */
function cpuMsOfCommand(comm: string): number {
  let total = 0;
  for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === comm) total += cpuMsOf(pid);
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/** Where the CPU of a run went, in ms per request: the gateway, Postgres, NATS and this load generator. */
function cpuShares(): () => Record<string, number> {
  const before = { gateway: gatewayCpuMs(), postgres: cpuMsOfCommand('postgres'), nats: cpuMsOfCommand('nats-server'), client: process.cpuUsage() };
  return () => {
    const client = process.cpuUsage(before.client);
    return {
      gateway: (gatewayCpuMs() - before.gateway) / REQUESTS,
      postgres: (cpuMsOfCommand('postgres') - before.postgres) / REQUESTS,
      nats: (cpuMsOfCommand('nats-server') - before.nats) / REQUESTS,
      'load generator and floor script': (client.user + client.system) / 1000 / REQUESTS,
    };
  };
}
const formatShares = (shares: Record<string, number>) =>
  Object.entries(shares)
    .map(([name, ms]) => `${name} ${ms.toFixed(2)}`)
    .join(', ');

const pool = httpPool(gw.base, CONCURRENCY);
const runId = randomUUID().slice(0, 6);
let failures = 0;

async function createApp(prefix: string, i: number): Promise<void> {
  const r = await pool.request({
    method: 'POST',
    path: '/apps',
    headers: { authorization: `Bearer ${gw.adminToken}`, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
    body: JSON.stringify({
      name: `${prefix}-${runId}-${i}`,
      version: 'v1',
      task_type: 'all',
      artifact_url: 'http://nexus.example/repository/releases/petclinic-1.0.jar',
      port: '8080',
      resource_spec: 'medium',
      profile: 'default',
    }),
  });
  const text = await r.body.text();
  if (r.statusCode !== 202) {
    failures += 1;
    if (failures <= 3) console.error(`POST /apps answered ${r.statusCode}: ${text.slice(0, 300)}`);
  }
}

const js = jetstream(nc);
const db = database.db;
async function floorOnce(i: number): Promise<void> {
  const appId = await db.transaction().execute(async (trx) => {
    const app = await trx
      .insertInto('apps')
      .values({ name: `floor-${runId}-${i}`, cluster_id: gw.clusterId, project_id: null, app_type: 'jar', strategy: 'rolling' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const spec = { artifact_url: 'http://nexus.example/repository/releases/petclinic-1.0.jar', port: 8080, resource_spec: 'medium', profile: 'default', strategy: 'rolling' };
    const release = await trx
      .insertInto('releases')
      .values({ app_id: app.id, version: 1, version_label: 'v1', task_type: 'all', spec: JSON.stringify(spec), strategy: 'rolling', image_ref: null, secrets_encrypted: null })
      .returning('id')
      .executeTakeFirstOrThrow();
    const commandId = randomUUID();
    await trx.insertInto('operations').values({ app_id: app.id, release_id: release.id, kind: 'create', command_id: commandId }).execute();
    // Marked published as it is written (this script publishes it itself): the gateway's outbox sweep must not
    // republish the floor's entries while the API is measured.
    await trx
      .insertInto('outbox')
      .values({ id: commandId, subject: `appserving.cmd.build.${app.id}`, type: 'dev.appserving.command.build.v1', event: JSON.stringify({ id: commandId, spec }), published_at: new Date() })
      .execute();
    return { id: app.id, commandId };
  });
  await js.publish(`appserving.cmd.build.${appId.id}`, JSON.stringify({ id: appId.commandId }), { msgID: appId.commandId });
}

try {
  // Warm-up: JIT, connection pools (HTTP, Postgres), prepared paths; not measured.
  await run(WARMUP, CONCURRENCY, (i) => createApp('warm', i));
  await run(WARMUP, CONCURRENCY, (i) => floorOnce(i + 1_000_000));
  failures = 0;
  const floorCpu = cpuShares();
  const floor = await run(REQUESTS, CONCURRENCY, floorOnce);
  const floorCpuShares = floorCpu();
  const apiCpu = cpuShares();
  const api = await run(REQUESTS, CONCURRENCY, (i) => createApp('bench', i));
  const apiCpuShares = apiCpu();
  const apiRate = (api.count - failures) / api.seconds;
  const floorRate = floor.count / floor.seconds;
  const ratio = pct(api.latencies, 50) / pct(floor.latencies, 50);
  const row = (name: string, r: Result, rate: number) =>
    `| ${name} | ${r.count} | ${rate.toFixed(0)} | ${pct(r.latencies, 50).toFixed(2)} | ${pct(r.latencies, 99).toFixed(2)} |`;
  console.log(`\nPOST /apps benchmark, ${new Date().toISOString()}`);
  console.log(`machine: nproc ${availableParallelism()}, CPU ${cpuModel}, Node ${process.version}; gateway log level ${LOG_LEVEL}; concurrency ${CONCURRENCY}; warm-up ${WARMUP}`);
  console.log('\n| what | requests | per second | p50 ms | p99 ms |\n|---|---|---|---|---|');
  console.log(row('POST /apps (accepted, 202)', api, apiRate));
  console.log(row('floor: 1 pg transaction + 1 JetStream publish', floor, floorRate));
  console.log(`\nfailed POST /apps: ${failures}; gateway process CPU per accepted request: ${(apiCpuShares.gateway ?? NaN).toFixed(2)} ms`);
  console.log(`CPU ms per request, POST /apps: ${formatShares(apiCpuShares)}`);
  console.log(`CPU ms per request, floor: ${formatShares(floorCpuShares)}`);
  console.log(`p50 / floor p50: ${ratio.toFixed(2)}x (target <= 2x): ${ratio <= 2 ? 'MET' : 'NOT MET'}`);
  console.log(`accepted commands/s: ${apiRate.toFixed(0)} (target >= 1000): ${apiRate >= 1_000 ? 'MET' : 'NOT MET'}`);
} finally {
  await pool.close();
  await database.close();
  await nc.close();
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
}
