import { resolve } from 'node:path';
import { ApiClient, normalizeServerUrl } from './api/api-client.ts';
import { credentialsPath, loadCredentials } from './config/credentials.ts';
import type { ProjectFile } from './config/project-file.ts';
import { CliError, ExitCode, type ErrorReport } from './errors.ts';
import { painter, type Painter } from './output/format.ts';
import type { Progress, ProgressMode } from './output/progress.ts';

/** The process around a command: streams, environment, working directory. Tests run the real binary instead. */
export interface CliIo {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  stdin: NodeJS.ReadStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  version: string;
}

export interface GlobalOptions {
  server?: string;
  json?: boolean;
  color?: boolean;
  file?: string;
  quiet?: boolean;
}

/**
 * What every command shares: where results go (human text or one JSON document on stdout), how progress is
 * shown (stderr), and how to reach the server. The token comes from APPSERVE_TOKEN or the credentials file,
 * and is only ever sent to the server it was saved for.
 */
export class Context {
  readonly io: CliIo;
  readonly options: GlobalOptions;
  readonly json: boolean;
  readonly paint: Painter;
  readonly errPaint: Painter;
  #projectFile: Promise<ProjectFile | undefined> | undefined;

  constructor(io: CliIo, options: GlobalOptions) {
    this.io = io;
    this.options = options;
    this.json = options.json === true;
    const colour = options.color !== false && !io.env.NO_COLOR && !this.json;
    this.paint = painter(io.stdout, colour && io.stdout.isTTY === true);
    this.errPaint = painter(io.stderr, colour && io.stderr.isTTY === true);
  }

  get interactive(): boolean {
    return this.io.stdin.isTTY === true && this.io.stderr.isTTY === true;
  }

  /** Loaded on first use: `appserve --version` or `status` need no terminal drawing code. */
  async progress(): Promise<Progress> {
    const { createProgress } = await import('./output/progress.ts');
    // A terminal that reports no size (some CI pseudo-terminals, editors' shells) cannot redraw a line: plain lines.
    const sized = (this.io.stderr.columns ?? 80) > 0 && (this.io.stderr.rows ?? 24) > 0;
    const mode: ProgressMode = this.json ? 'json' : this.options.quiet ? 'quiet' : this.io.stderr.isTTY && this.io.env.TERM !== 'dumb' && sized ? 'tty' : 'plain';
    return createProgress(mode, this.io.stderr, this.errPaint);
  }

  /** Prints a command's result: `human` for people, `data` as one JSON document with --json. */
  result(human: string | undefined, data: unknown): void {
    if (this.json) this.io.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
    else if (human !== undefined && human !== '') this.io.stdout.write(human.endsWith('\n') ? human : `${human}\n`);
  }

  /** A line for people only (stderr), never in --json output. */
  note(text: string): void {
    if (!this.json && !this.options.quiet) this.io.stderr.write(`${text}\n`);
  }

  reportError(error: ErrorReport, exitCode: number): void {
    if (this.json) {
      this.io.stdout.write(`${JSON.stringify({ error, exit_code: exitCode }, null, 2)}\n`);
      return;
    }
    const p = this.errPaint;
    const lines = [`${p.bad('error:')} ${error.message}`];
    const problems = (error.details?.problems as { path?: string; message?: string }[] | undefined) ?? [];
    for (const problem of problems) lines.push(`  - ${(problem.path ?? '').replace(/^\//, '') || '(body)'}: ${problem.message ?? ''}`);
    if (error.hint) lines.push(`${p.dim('hint:')} ${error.hint}`);
    this.io.stderr.write(`${lines.join('\n')}\n`);
  }

  projectFilePath(): string {
    return resolve(this.io.cwd, this.options.file ?? 'appserve.yaml');
  }

  async projectFile(): Promise<ProjectFile | undefined> {
    this.#projectFile ??= import('./config/project-file.ts').then(async ({ loadProjectFile }) => {
      const file = await loadProjectFile(this.projectFilePath());
      if (file === undefined && this.options.file !== undefined) {
        throw new CliError(ExitCode.usage, 'project_file', `project file ${this.projectFilePath()} does not exist`);
      }
      return file;
    });
    return this.#projectFile;
  }

  /** The server to talk to: --server, APPSERVE_SERVER, the project file's `server`, then the login. */
  async client(options: { progress?: Progress } = {}): Promise<ApiClient> {
    const file = await this.projectFile().catch(() => undefined);
    const named = this.options.server ?? this.io.env.APPSERVE_SERVER ?? file?.server;
    const envToken = this.io.env.APPSERVE_TOKEN?.trim();
    // With both a server and a token from the environment (CI), the login file is not read at all.
    const saved = named && envToken ? undefined : await loadCredentials(credentialsPath(this.io.env));
    const chosen = named ?? saved?.server;
    if (!chosen) {
      throw new CliError(ExitCode.auth, 'not_logged_in', 'no AppServing server given and not logged in', {
        hint: 'run `appserve login <server URL>` (or set APPSERVE_SERVER and APPSERVE_TOKEN)',
      });
    }
    const server = normalizeServerUrl(chosen);
    const token = envToken || (saved && normalizeServerUrl(saved.server) === server ? saved.token : undefined);
    if (!token) {
      throw new CliError(ExitCode.auth, 'not_logged_in', `no API token for ${server}`, {
        hint: `run \`appserve login ${server}\` (or set APPSERVE_TOKEN)`,
      });
    }
    return new ApiClient({
      server,
      token,
      userAgent: `appserve/${this.io.version} node/${process.versions.node}`,
      onRetry: (what, attempt, error) => options.progress?.warn(`${what}: ${error.message}; retrying (${attempt})`),
    });
  }
}
