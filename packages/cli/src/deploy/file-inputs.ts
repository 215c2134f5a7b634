import { readFile } from 'node:fs/promises';
import { parseEnv } from 'node:util';
import { CliError, ExitCode, usageError } from '../errors.ts';

/**
 * Reads what a deploy mounts: config files, secret values (from files, stdin or a hidden prompt) and env files.
 * Secret values are held in memory only long enough to send them; they are never printed, logged or saved,
 * and errors about them name the secret and the file, never the value.
 */
const MAX_FILE_BYTES = 1024 * 1024;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export async function readTextFile(path: string, what: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw usageError(`${what}: ${code === 'ENOENT' ? `no file ${path}` : code === 'EISDIR' ? `${path} is a folder, not a file` : `cannot read ${path} (${code ?? 'error'})`}`);
  }
  if (bytes.length > MAX_FILE_BYTES) throw usageError(`${what}: ${path} is larger than 1 MiB (${bytes.length} bytes); mount large files from a volume instead`);
  try {
    return utf8.decode(bytes);
  } catch {
    throw usageError(`${what}: ${path} is not UTF-8 text`);
  }
}

export async function readConfigFiles(config: Record<string, string> | undefined): Promise<Record<string, string> | undefined> {
  if (!config) return undefined;
  const out: Record<string, string> = {};
  for (const [name, path] of Object.entries(config)) out[name] = await readTextFile(path, `config file ${name}`);
  return out;
}

export interface SecretSources {
  /** Reads all of stdin once (for `NAME=-`, or a bare `NAME` when stdin is not a terminal). */
  readStdin(): Promise<string>;
  /** Asks for a value without echoing it; undefined when there is no terminal to ask on. */
  prompt?(name: string): Promise<string>;
}

export async function readSecrets(secrets: Record<string, string> | undefined, sources: SecretSources): Promise<Record<string, string> | undefined> {
  if (!secrets) return undefined;
  const fromStdin = Object.entries(secrets).filter(([, source]) => source === '-' || (source === '?' && !sources.prompt));
  if (fromStdin.length > 1) {
    throw usageError(`only one secret can be read from stdin, and ${fromStdin.map(([n]) => n).join(', ')} would be`, 'name a file for the others (--secret NAME=PATH)');
  }
  const out: Record<string, string> = {};
  for (const [name, source] of Object.entries(secrets)) {
    if (source === '-' || (source === '?' && !sources.prompt)) out[name] = withoutFinalNewline(await sources.readStdin());
    else if (source === '?' && sources.prompt) out[name] = await sources.prompt(name);
    else out[name] = await readTextFile(source, `secret ${name}`);
    if (out[name] === '') throw usageError(`secret ${name} is empty`);
  }
  return out;
}

/** `echo value | appserve deploy --secret NAME=-` sends `value`, not `value\n`. */
function withoutFinalNewline(text: string): string {
  return text.replace(/\r?\n$/, '');
}

export async function readEnvFile(path: string): Promise<Record<string, string>> {
  const text = await readTextFile(path, '--env-file');
  try {
    return parseEnv(text) as Record<string, string>;
  } catch (error) {
    throw new CliError(ExitCode.usage, 'usage', `--env-file ${path}: ${(error as Error).message}`);
  }
}

export async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer | string>) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  try {
    return utf8.decode(Buffer.concat(chunks));
  } catch {
    throw usageError('stdin is not UTF-8 text');
  }
}
