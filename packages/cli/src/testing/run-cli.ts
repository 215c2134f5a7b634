import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The real `appserve` binary (src/main.ts), run as a child process the way a person or a CI job runs it. */
export const CLI_MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd: string;
  /** A fresh config home per test: its own login, never the machine user's. */
  configHome: string;
  env?: Record<string, string | undefined>;
  stdin?: string;
  timeoutMs?: number;
}

export interface RunningCli {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  done: Promise<CliRun>;
}

export function startCli(args: string[], options: CliOptions): RunningCli {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: options.configHome, XDG_CONFIG_HOME: options.configHome, NO_COLOR: '1' };
  for (const [key, value] of Object.entries(options.env ?? {})) if (value !== undefined) env[key] = value;
  const child = spawn(process.execPath, [CLI_MAIN, ...args], { cwd: options.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin?.end(options.stdin ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  const done = new Promise<CliRun>((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, done };
}

export function runCli(args: string[], options: CliOptions): Promise<CliRun> {
  return startCli(args, options).done;
}

/** A throw-away working directory and config home. */
export async function scratch(): Promise<{ dir: string; configHome: string; cleanup(): Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'appserve-test-'));
  return { dir: join(root, 'work'), configHome: join(root, 'config'), cleanup: () => rm(root, { recursive: true, force: true }) };
}

/** A small real jar: a zip with META-INF/MANIFEST.MF and one class-like file, made with the CLI's own zip library. */
export async function makeJar(path: string, options: { mainClass?: string; extra?: Record<string, string> } = {}): Promise<void> {
  const { ZipFile } = await import('yazl');
  const { createWriteStream } = await import('node:fs');
  const { pipeline } = await import('node:stream/promises');
  const zip = new ZipFile();
  const manifest = `Manifest-Version: 1.0\r\nMain-Class: ${options.mainClass ?? 'com.example.App'}\r\nCreated-By: appserve tests\r\n\r\n`;
  zip.addBuffer(Buffer.from(manifest), 'META-INF/MANIFEST.MF');
  zip.addBuffer(Buffer.from(`class file of ${path} ${Math.random()}`), 'com/example/App.class');
  for (const [name, content] of Object.entries(options.extra ?? {})) zip.addBuffer(Buffer.from(content), name);
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(path));
}
