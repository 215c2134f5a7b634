import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliError, ExitCode } from '../errors.ts';

/**
 * Where `appserve login` keeps the server URL and token: `$XDG_CONFIG_HOME/appserving/credentials.json`
 * (default `~/.config/appserving/`), the directory 0700 and the file 0600, written atomically. The token is
 * never printed; a file others can read is refused until its mode is fixed.
 */
export interface Credentials {
  server: string;
  token: string;
  saved_at: string;
}

export function configDir(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(env.HOME || homedir(), '.config');
  return join(base, 'appserving');
}

export function credentialsPath(env: NodeJS.ProcessEnv): string {
  return join(configDir(env), 'credentials.json');
}

export async function loadCredentials(path: string): Promise<Credentials | undefined> {
  let text: string;
  try {
    const info = await stat(path);
    if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
      throw new CliError(ExitCode.auth, 'credentials_unsafe', `${path} can be read by other users (mode ${(info.mode & 0o777).toString(8)})`, {
        hint: `run \`chmod 600 ${path}\` or log in again`,
      });
    }
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as Partial<Credentials>;
    if (typeof parsed.server === 'string' && typeof parsed.token === 'string') return { server: parsed.server, token: parsed.token, saved_at: String(parsed.saved_at ?? '') };
  } catch {
    // reported below
  }
  throw new CliError(ExitCode.auth, 'credentials_invalid', `${path} is not a credentials file written by appserve`, { hint: 'log in again with `appserve login`' });
}

export async function saveCredentials(path: string, credentials: Omit<Credentials, 'saved_at'>): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const temporary = `${path}.${process.pid}.tmp`;
  const content = `${JSON.stringify({ ...credentials, saved_at: new Date().toISOString() }, null, 2)}\n`;
  // Created 0600 from the start (never briefly readable), then renamed over the old file.
  await writeFile(temporary, content, { mode: 0o600, flag: 'w' });
  await chmod(temporary, 0o600);
  await rename(temporary, path);
}

export async function removeCredentials(path: string): Promise<boolean> {
  try {
    await rm(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
