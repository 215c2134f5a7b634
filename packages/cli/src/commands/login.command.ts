import { ApiClient, normalizeServerUrl } from '../api/api-client.ts';
import type { ClusterView } from '../api/views.ts';
import { credentialsPath, loadCredentials, removeCredentials, saveCredentials } from '../config/credentials.ts';
import type { Context } from '../context.ts';
import { CliError, ExitCode, usageError } from '../errors.ts';
import { readAll, readTextFile } from '../deploy/file-inputs.ts';

export interface LoginFlags {
  tokenStdin?: boolean;
  tokenFile?: string;
}

/**
 * `appserve login [SERVER]`: checks the token against the server, then saves both (file mode 0600). The
 * token comes from a hidden prompt, `--token-stdin`, `--token-file` or APPSERVE_TOKEN; never from a flag's
 * value (it would stay in the shell history and show in `ps`), and it is never printed.
 */
export async function loginCommand(ctx: Context, serverArgument: string | undefined, flags: LoginFlags): Promise<number> {
  const path = credentialsPath(ctx.io.env);
  const saved = await loadCredentials(path).catch(() => undefined);
  const chosen = serverArgument ?? ctx.options.server ?? ctx.io.env.APPSERVE_SERVER ?? (await ctx.projectFile())?.server ?? saved?.server;
  if (!chosen) throw usageError('which server? e.g. `appserve login http://localhost:9112`');
  const server = normalizeServerUrl(chosen);
  const token = (await readToken(ctx, flags)).trim();
  if (!token) throw usageError('the token is empty');
  if (/\s/.test(token)) throw usageError('a token has no spaces or line breaks; check what was pasted');

  const client = new ApiClient({ server, token, userAgent: `appserve/${ctx.io.version}` });
  // Any authenticated read proves the token; /clusters also tells what the token reaches.
  const { clusters } = await client.get<{ clusters: ClusterView[] }>('/clusters');
  await saveCredentials(path, { server, token });
  const reach = clusters.length === 0 ? 'no clusters yet' : `clusters: ${clusters.map((c) => (c.is_default ? `${c.name} (default)` : c.name)).join(', ')}`;
  // The same 8 characters GET /tokens shows as token_prefix, so the token can be recognised, never more.
  const shown = token.startsWith('aps_') ? token.slice(0, 12) : token.slice(0, 4);
  ctx.result(`Logged in to ${server} (token ${shown}…; ${reach}).\nCredentials saved in ${path} (readable by you only).`, {
    server,
    credentials_file: path,
    clusters: clusters.map((c) => ({ id: c.id, name: c.name, is_default: c.is_default })),
  });
  return ExitCode.ok;
}

async function readToken(ctx: Context, flags: LoginFlags): Promise<string> {
  if (flags.tokenStdin && flags.tokenFile) throw usageError('give --token-stdin or --token-file, not both');
  if (flags.tokenStdin) return readAll(ctx.io.stdin);
  if (flags.tokenFile) return readTextFile(flags.tokenFile, '--token-file');
  if (ctx.io.env.APPSERVE_TOKEN) return ctx.io.env.APPSERVE_TOKEN;
  if (!ctx.interactive) {
    throw new CliError(ExitCode.usage, 'usage', 'no terminal to ask for the token on', { hint: 'pipe it in with --token-stdin, or use --token-file or APPSERVE_TOKEN' });
  }
  const { default: password } = await import('@inquirer/password');
  return password({ message: 'API token (not shown)', mask: false }, { input: ctx.io.stdin, output: ctx.io.stderr });
}

export async function logoutCommand(ctx: Context): Promise<number> {
  const path = credentialsPath(ctx.io.env);
  const removed = await removeCredentials(path);
  ctx.result(removed ? `Logged out: removed ${path}.` : 'Not logged in.', { logged_out: removed, credentials_file: path });
  return ExitCode.ok;
}
