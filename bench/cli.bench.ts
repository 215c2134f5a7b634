/**
 * The `appserve` CLI's own cost, next to floors measured in the same run:
 * - start-up: `appserve --version` from the TypeScript sources (Node strips the types) and from the built
 *   JavaScript (`pnpm pack`'s dist/), next to `node -e 0`;
 * - a deploy without waiting (`appserve deploy app.jar --no-wait`: look-up, streamed upload, create) of a
 *   BENCH_JAR_MB jar, next to curl doing the same two requests (POST /artifacts with the file, POST /apps).
 *
 * Run: `pnpm bench:cli`. A real gateway in this process (its own nats-server, a throw-away Postgres database);
 * the CLI and curl run as child processes; 127.0.0.1 only. Settings: BENCH_JAR_MB (100), BENCH_ROUNDS (5).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startTestGateway } from '../services/gateway/src/testing/test-gateway.ts';

const JAR_MB = Number(process.env.BENCH_JAR_MB ?? 100);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const run = promisify(execFile);
const cliDir = fileURLToPath(new URL('../packages/cli/', import.meta.url));
const cpuModel = /model name\s*:\s*(.*)/.exec(await readFile('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';

const gateway = await startTestGateway({ logLevel: 'silent', artifactMaxBytes: (JAR_MB + 16) * 1024 * 1024 });
const dir = await mkdtemp(join(tmpdir(), 'appserve-bench-'));
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

try {
  // The built package, as `pnpm pack` ships it.
  const built = join(dir, 'package');
  await mkdir(built);
  await run(process.execPath, [createRequire(import.meta.url).resolve('typescript/bin/tsc'), '-p', join(cliDir, 'tsconfig.build.json'), '--outDir', join(built, 'dist')], { cwd: cliDir });
  await copyFile(join(cliDir, 'package.json'), join(built, 'package.json'));
  await symlink(join(cliDir, 'node_modules'), join(built, 'node_modules'));

  async function timed(file: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<number> {
    const started = performance.now();
    await run(file, args, { maxBuffer: 64 * 1024 * 1024, ...options });
    return performance.now() - started;
  }

  const startup: Record<string, number[]> = { 'node -e 0 (floor)': [], 'appserve --version (sources)': [], 'appserve --version (built)': [] };
  for (let i = 0; i < ROUNDS * 2; i += 1) {
    startup['node -e 0 (floor)']?.push(await timed(process.execPath, ['-e', '0']));
    startup['appserve --version (sources)']?.push(await timed(process.execPath, [join(cliDir, 'src', 'main.ts'), '--version']));
    startup['appserve --version (built)']?.push(await timed(process.execPath, [join(built, 'dist', 'main.js'), '--version']));
  }

  const env = { PATH: process.env.PATH ?? '', HOME: dir, XDG_CONFIG_HOME: dir, APPSERVE_SERVER: gateway.base, APPSERVE_TOKEN: gateway.adminToken };
  const size = JAR_MB * 1024 * 1024;
  async function newJar(name: string): Promise<string> {
    const bytes = randomBytes(size);
    bytes.set([0x50, 0x4b, 0x03, 0x04], 0);
    const file = join(dir, `${name}.jar`);
    await writeFile(file, bytes);
    return file;
  }
  const deploys: Record<string, number[]> = { 'curl: upload + create (floor)': [], 'appserve deploy --no-wait': [] };
  for (let i = 0; i < ROUNDS; i += 1) {
    const floorJar = await newJar(`floor${i}`);
    deploys['curl: upload + create (floor)']?.push(
      await (async () => {
        const started = performance.now();
        const { stdout } = await run('curl', ['-sf', '-X', 'POST', '-H', `authorization: Bearer ${gateway.adminToken}`, '--data-binary', `@${floorJar}`, `${gateway.base}/artifacts?filename=floor${i}.jar`], { maxBuffer: 1 << 20 });
        const url = (JSON.parse(stdout) as { artifact_url: string }).artifact_url;
        await run('curl', ['-sf', '-X', 'POST', '-H', `authorization: Bearer ${gateway.adminToken}`, '-H', 'content-type: application/json', '-d', JSON.stringify({ name: `floor${i}`, artifact_url: url, app_type: 'jar' }), `${gateway.base}/apps`]);
        return performance.now() - started;
      })(),
    );
    const cliJar = await newJar(`cli${i}`);
    deploys['appserve deploy --no-wait']?.push(await timed(process.execPath, [join(built, 'dist', 'main.js'), 'deploy', cliJar, '--no-wait', '--no-save', '-q', '--name', `cli${i}`], { cwd: dir, env }));
    await rm(floorJar);
    await rm(cliJar);
  }

  console.log(`appserve CLI benchmark: ${ROUNDS} rounds (start-up ${ROUNDS * 2}), jar ${JAR_MB} MiB, node ${process.versions.node}, ${cpuModel}, ${new Date().toISOString()}`);
  console.log('what                                 median ms   vs floor');
  const floorStart = median(startup['node -e 0 (floor)'] ?? []);
  for (const [what, values] of Object.entries(startup)) console.log(`${what.padEnd(36)} ${median(values).toFixed(0).padStart(9)}   ${(median(values) / floorStart).toFixed(2)}x`);
  const floorDeploy = median(deploys['curl: upload + create (floor)'] ?? []);
  for (const [what, values] of Object.entries(deploys)) {
    const ms = median(values);
    console.log(`${what.padEnd(36)} ${ms.toFixed(0).padStart(9)}   ${(ms / floorDeploy).toFixed(2)}x   (${(JAR_MB / (ms / 1000)).toFixed(0)} MiB/s)`);
  }
} finally {
  await gateway.close();
  await rm(dir, { recursive: true, force: true });
}
