/**
 * `appserve deploy` of a 50 MB jar until the app answers HTTP at its URL, on the local cluster's real node: a first
 * version and a next one, each stage timed (upload, build, helm, pod start, ready, answering), next to the floor
 * measured in the same run: the same image pulled and started directly by the node's containerd (`ctr`, host
 * network, the JVM bound to 127.0.0.1) until it answers. Target: the platform adds at most 1.5x the floor plus the
 * upload.
 *
 * Run: `pnpm bench:real-deploy`. Joins the local cluster (`pnpm cluster:up`, or starts it); 127.0.0.1 only.
 * Settings: BENCH_JAR_MB (50).
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { runCli, scratch } from '../packages/cli/src/testing/run-cli.ts';
import { binaryPaths } from '../test/cluster/src/index.ts';
import { getFromEndpoint, helloJar } from '../test/support/real-apps.ts';
import { cpuModel, log, startRealNodeBench } from './support/real-node-bench.ts';

const JAR_MB = Number(process.env.BENCH_JAR_MB ?? 50);
const run = promisify(execFile);

const { cluster, platform } = await startRealNodeBench();
const kc = new KubeConfig();
kc.loadFromFile(cluster.kubeconfigPath);
const core = kc.makeApiClient(CoreV1Api);
const space = await scratch();
await mkdir(join(space.dir, 'target'), { recursive: true });
await mkdir(space.configHome, { recursive: true });
const cli = (args: string[], stdin?: string) => runCli(args, { cwd: space.dir, configHome: space.configHome, timeoutMs: 600_000, ...(stdin ? { stdin } : {}) });

interface Stages {
  total: number;
  upload: number;
  build: number;
  helm: number;
  podStart: number;
  ready: number;
  answering: number;
}

/** Polls `url` every 50 ms from now until it answers 200 with `hello <version>`; the time it did. */
async function firstAnswer(url: string, version: string, deadline: number): Promise<number> {
  for (;;) {
    const answer = await getFromEndpoint(url).catch(() => undefined);
    if (answer?.status === 200 && answer.body.startsWith(`hello ${version} `)) return Date.now();
    if (Date.now() > deadline) throw new Error(`${url} did not answer hello ${version}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function deployVersion(version: string, project: { name: string; namespace: string }): Promise<{ stages: Stages; image: string }> {
  await writeFile(join(space.dir, 'target', 'hello.jar'), await helloJar(version, { padBytes: JAR_MB * 1024 * 1024 }));
  const started = Date.now();
  const url = (platform.env.APPSERVING_APP_URL ?? '').replace('{host}', `hello-${project.namespace}.localhost`);
  const answered = firstAnswer(url, version, started + 600_000);
  const deploy = await cli(['deploy', 'target/hello.jar', ...(version === 'v1' ? ['--project', project.name] : []), '-r', 'cpu=500m,memory=384Mi', '--health-path', '/health', '--timeout', '8m']);
  if (deploy.code !== 0) throw new Error(`appserve deploy ${version} failed:\n${deploy.stdout}\n${deploy.stderr}`);
  const answeredAt = await answered;
  const apps = await platform.api<{ items: { id: string; current_release: { id: string; created_at: string; image: string } }[] }>('GET', '/apps?name=hello');
  const app = apps.body.items[0];
  if (!app) throw new Error('no app hello');
  const timeline = await platform.api<{ items: { type: string; occurred_at: string; release_id: string | null; data: { step?: string; status?: string } }[] }>('GET', `/apps/${app.id}/timeline`);
  const mine = timeline.body.items.filter((e) => e.release_id === app.current_release.id);
  const at = (pred: (e: (typeof mine)[number]) => boolean) => {
    const event = mine.find(pred);
    if (!event) throw new Error(`no such event in the timeline: ${JSON.stringify(mine.map((e) => [e.type, e.data.step ?? e.data.status]))}`);
    return Date.parse(event.occurred_at);
  };
  const accepted = Date.parse(app.current_release.created_at);
  const built = at((e) => e.type === 'dev.appserving.build.succeeded.v1');
  const applied = at((e) => e.type === 'dev.appserving.deploy.step.v1' && e.data.step === 'applied');
  const namespace = project.namespace;
  const pods = await core.listNamespacedPod({ namespace, labelSelector: `appserving.dev/release-id=${app.current_release.id}` });
  const pod = pods.items[0];
  const running = Date.parse(String(pod?.status?.containerStatuses?.[0]?.state?.running?.startedAt ?? NaN));
  const ready = Date.parse(String(pod?.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime ?? NaN));
  return {
    image: app.current_release.image,
    stages: {
      total: answeredAt - started,
      upload: accepted - started,
      build: built - accepted,
      helm: applied - built,
      podStart: running - applied,
      ready: ready - running,
      answering: answeredAt - ready,
    },
  };
}

/** The floor: the same image pulled by the node's containerd and started as a plain container until it answers. */
async function floor(image: string, version: string, round: string): Promise<{ pull: number; start: number; total: number }> {
  const node = cluster.realNode;
  if (!node) throw new Error('no real node');
  const ctrBinary = binaryPaths(cluster.versions).ctr;
  const base = ['--address', node.containerdSocket, '--namespace', `bench-${round}`];
  const ctr = (...args: string[]) => run(ctrBinary, [...base, ...args]);
  const port = 20000 + Math.floor(Math.random() * 10000);
  const t0 = Date.now();
  await ctr('images', 'pull', '--plain-http', image);
  const pulled = Date.now();
  const name = `floor-${round}-${version}`;
  // ctr runs the shim's default `runc` from PATH: name the node's runc (the kubelet's pods get it from containerd's config).
  const container = execFile(ctrBinary, [...base, 'run', '--rm', '--runc-binary', binaryPaths(cluster.versions).runc, '--net-host', '--env', `PORT=${port}`, '--env', 'HELLO_BIND=127.0.0.1', image, name]);
  const exited = new Promise((resolve) => container.once('exit', resolve));
  try {
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.status === 200, () => false);
      if (ok) break;
      if (Date.now() - t0 > 120_000) throw new Error('the floor container did not answer');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const answered = Date.now();
    return { pull: pulled - t0, start: answered - pulled, total: answered - t0 };
  } finally {
    await ctr('tasks', 'kill', '--signal', 'SIGKILL', name).catch(() => {});
    await exited;
    await ctr('containers', 'delete', name).catch(() => {});
    await ctr('images', 'remove', image).catch(() => {});
  }
}

try {
  const login = await cli(['login', platform.url, '--token-stdin'], platform.adminToken);
  if (login.code !== 0) throw new Error(`login failed: ${login.stderr}`);
  const project = await platform.createProject('bench');
  log(`deploying hello v1 (${JAR_MB} MB jar) to project ${project.name}`);
  const first = await deployVersion('v1', project);
  const floorFirst = await floor(first.image, 'v1', 'first');
  log(`deploying hello v2`);
  const next = await deployVersion('v2', project);
  const floorNext = await floor(next.image, 'v2', 'first');

  const s = (ms: number) => (ms / 1000).toFixed(2);
  const line = (what: string, p: Stages, f: { pull: number; start: number; total: number }) => {
    const added = p.total - p.upload;
    return `| ${what} | ${s(p.total)} | ${s(p.upload)} | ${s(p.build)} | ${s(p.helm)} | ${s(p.podStart)} | ${s(p.ready)} | ${s(p.answering)} | ${s(f.total)} (pull ${s(f.pull)}, start ${s(f.start)}) | ${(added / f.total).toFixed(2)}x |`;
  };
  process.stdout.write(
    [
      '',
      `appserve deploy of a ${JAR_MB} MB jar on the real node until it answers, vs. containerd alone (same image) — ${new Date().toISOString()}, ${cpuModel}`,
      '',
      '| version | total s | upload s | build s | helm s | pod start s | ready s | answering s | floor s | (total − upload) / floor |',
      '|---|---|---|---|---|---|---|---|---|---|',
      line('first', first.stages, floorFirst),
      line('next', next.stages, floorNext),
      '',
      'Stages: upload = CLI start to the release accepted; build = accepted to build.succeeded; helm = to deploy.step applied; pod start = to the container running; ready = to the pod Ready; answering = to the first 200 at the app URL (through the traffic gateway). Pod times have 1 s resolution.',
      'Target: (total − upload) ≤ 1.5 × floor.',
      '',
    ].join('\n'),
  );
} finally {
  await space.cleanup();
  await platform.stop();
  await cluster.stop();
}
