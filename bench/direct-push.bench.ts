/**
 * The builder's direct path: a 50 MB jar pushed as one layer on a base image to the real local registry, cold
 * (a new repository: the base layers are mounted into it) and warm (a repository that already has them: a new
 * version of the app), next to the floor measured in the same run: hashing the same jar and uploading it as one
 * raw blob (POST + PUT with the digest), which is the least any push of those bytes costs.
 *
 * Run: `pnpm bench:direct-push`. Joins the local cluster's registry (`pnpm cluster:up`, or starts the cluster).
 * Only 127.0.0.1. Settings: BENCH_JAR_MB (50), BENCH_ROUNDS (5).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { startCluster } from '../test/cluster/src/index.ts';
import { resolveBaseImage } from '../services/builder/src/adapters/registry/base-image.ts';
import { pushDirectImage } from '../services/builder/src/adapters/registry/direct-push.ts';
import { parseImageRef } from '../services/builder/src/adapters/registry/image-ref.ts';
import { RegistryClient } from '../services/builder/src/adapters/registry/registry-client.ts';
import { fakeJar, seedBaseImage } from '../services/builder/src/testing/registry-fixtures.ts';

const JAR_MB = Number(process.env.BENCH_JAR_MB ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const cpuModel = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';

const cluster = await startCluster({ log: (line) => process.stderr.write(`[cluster] ${line}\n`) });
const host = cluster.registryHost;
const client = new RegistryClient({ plainHttpHosts: [host] });
const run = randomBytes(3).toString('hex');
const dir = await mkdtemp(join(tmpdir(), 'appserving-bench-'));

try {
  const base = await seedBaseImage(client, { host, repository: `bench-${run}/jre` }, { tag: '21' });
  const resolved = await resolveBaseImage(client, parseImageRef(base.reference), { os: 'linux', architecture: 'amd64' });
  const size = JAR_MB * 1024 * 1024;

  /** A new jar on disk for every measurement, so no blob is ever already in the registry. */
  async function newJar(i: string): Promise<string> {
    const file = join(dir, `app-${i}.jar`);
    await writeFile(file, fakeJar(size));
    return file;
  }

  async function floor(i: number): Promise<number> {
    const file = await newJar(`floor-${i}`);
    const started = performance.now();
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024 })) hash.update(chunk as Buffer);
    await client.pushBlob({ host, repository: `bench-${run}/floor-${i}` }, `sha256:${hash.digest('hex')}`, createReadStream(file, { highWaterMark: 256 * 1024 }), size);
    return performance.now() - started;
  }

  async function direct(repository: string, i: string): Promise<{ ms: number; mounted: number; present: number }> {
    const file = await newJar(i);
    const started = performance.now();
    const result = await pushDirectImage(client, {
      base: resolved,
      target: { host, repository },
      tags: [`v${i}`],
      file: { path: 'app/app.jar', size, open: () => createReadStream(file, { highWaterMark: 256 * 1024 }) },
      directories: ['app'],
      image: { entrypoint: ['java', '-jar', '/app/app.jar'], workingDir: '/app', env: { SERVER_PORT: '8080' }, port: 8080, labels: {} },
      mirrorRepository: `bench-${run}/mirror`,
      createdBy: 'bench',
    });
    return { ms: performance.now() - started, mounted: result.baseLayers.mounted, present: result.baseLayers.present };
  }

  // One warm-up of each, not counted: connections, JIT, the registry's first writes.
  await floor(-1);
  await direct(`bench-${run}/warmup`, 'w0');

  const floors: number[] = [];
  const colds: number[] = [];
  const warms: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    floors.push(await floor(i));
    const cold = await direct(`bench-${run}/cold-${i}`, `c${i}`);
    if (cold.mounted !== resolved.manifest.layers.length) throw new Error(`cold push mounted ${cold.mounted} base layers`);
    colds.push(cold.ms);
    const warm = await direct(`bench-${run}/cold-${i}`, `w${i}`);
    if (warm.present !== resolved.manifest.layers.length) throw new Error(`warm push found ${warm.present} base layers present`);
    warms.push(warm.ms);
  }

  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
  const mbps = (ms: number) => (JAR_MB / (ms / 1000)).toFixed(0);
  const f = median(floors);
  const row = (name: string, values: number[]) => {
    const m = median(values);
    return `| ${name} | ${m.toFixed(0)} | ${Math.min(...values).toFixed(0)} | ${Math.max(...values).toFixed(0)} | ${mbps(m)} | ${(m / f).toFixed(2)}x |`;
  };
  console.log(`\nDirect push of a ${JAR_MB} MB jar to ${host} (Debian docker-registry), ${ROUNDS} rounds, medians; ${cpuModel}, Node ${process.version}\n`);
  console.log('| what | median ms | min ms | max ms | MB/s | vs floor |');
  console.log('|---|---|---|---|---|---|');
  console.log(row('floor: hash + upload the jar as one raw blob', floors));
  console.log(row('direct push, cold registry (new repository, base layers mounted)', colds));
  console.log(row('direct push, warm registry (base layers present)', warms));
  console.log(`\ntarget: within 1.5x of the floor -> cold ${(median(colds) / f).toFixed(2)}x, warm ${(median(warms) / f).toFixed(2)}x`);
} finally {
  await client.close();
  await rm(dir, { recursive: true, force: true });
  await cluster.stop();
}
