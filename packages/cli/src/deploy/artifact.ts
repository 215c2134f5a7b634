import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import ignore from 'ignore';
import { ZipFile } from 'yazl';
import { CliError, ExitCode } from '../errors.ts';

/** What `appserve deploy` uploads: a jar, a war, a zip, or a Python project folder zipped on the fly. */
export interface LocalArtifact {
  /** The file to upload (a temporary zip for a folder). */
  path: string;
  /** Name sent with the upload (ends in .jar, .war or .zip). */
  filename: string;
  appType: 'jar' | 'war' | 'python';
  size: number;
  /** What the user pointed at (shown in progress lines). */
  source: string;
  /** Files zipped, for a folder. */
  fileCount?: number;
  /** Removes a temporary zip. */
  cleanup(): Promise<void>;
}

const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04]);

/** Never shipped from a Python project folder: VCS data, virtualenvs, caches, build output of tools. */
export const ALWAYS_IGNORED = ['.git/', '.hg/', '.svn/', '.venv/', 'venv/', 'env/', '__pycache__/', '*.pyc', '*.pyo', '.mypy_cache/', '.pytest_cache/', '.ruff_cache/', '.tox/', '.nox/', 'node_modules/', '.idea/', '.vscode/', '.DS_Store', '.appserveignore'];

export async function resolveArtifact(path: string): Promise<LocalArtifact> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(ExitCode.usage, 'artifact_not_found', code === 'ENOENT' ? `${path} does not exist` : `cannot read ${path}: ${(error as Error).message}`, {
      hint: 'build it first (e.g. `mvn package`), or give the path of the jar, war or Python project folder',
    });
  }
  if (info.isDirectory()) return zipPythonProject(path);
  const lower = path.toLowerCase();
  const appType = lower.endsWith('.jar') ? 'jar' : lower.endsWith('.war') ? 'war' : lower.endsWith('.zip') ? 'python' : undefined;
  if (!appType) {
    throw new CliError(ExitCode.usage, 'artifact_type', `${path} is not a .jar, .war or .zip file`, { hint: 'deploy a jar or war, or a Python project folder' });
  }
  await assertZip(path, appType);
  return { path, filename: basename(path), appType, size: info.size, source: path, cleanup: async () => {} };
}

async function assertZip(path: string, kind: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    if (bytesRead < 4 || !head.equals(ZIP_MAGIC)) {
      throw new CliError(ExitCode.usage, 'artifact_type', `${path} is not a ${kind} file: ${bytesRead === 0 ? 'it is empty' : 'it does not start like a zip archive'}`, {
        hint: 'jars and wars are zip archives; rebuild it (e.g. `mvn package`)',
      });
    }
  } finally {
    await handle.close();
  }
}

/**
 * Zips a Python project folder with its files at the root of the archive (what the builder's launcher expects),
 * leaving out VCS data, virtualenvs and caches plus whatever `.gitignore` and `.appserveignore` exclude.
 * Deterministic: sorted entries and a fixed time, so the same files give the same bytes (and the same sha256,
 * so the platform stores and builds them once).
 */
export async function zipPythonProject(folder: string): Promise<LocalArtifact> {
  const rules = ignore().add(ALWAYS_IGNORED);
  for (const name of ['.gitignore', '.appserveignore']) {
    try {
      rules.add(await readFile(join(folder, name), 'utf8'));
    } catch {
      // no such file
    }
  }
  const files = await listFiles(folder, folder, rules);
  if (files.length === 0) throw new CliError(ExitCode.usage, 'artifact_empty', `${folder} has no files to deploy (after .gitignore and .appserveignore)`);
  const dir = await mkdtemp(join(tmpdir(), 'appserve-'));
  const name = basename(folder.replace(/[\\/]+$/, '')) || 'app';
  const target = join(dir, `${name.replace(/[^A-Za-z0-9._-]/g, '-')}.zip`);
  const zip = new ZipFile();
  const fixedTime = new Date('2000-01-01T00:00:00Z');
  for (const file of files) {
    const mode = (await stat(join(folder, file))).mode & 0o111 ? 0o100755 : 0o100644;
    zip.addFile(join(folder, file), file.split(sep).join('/'), { mtime: fixedTime, mode, compress: true });
  }
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(target));
  const size = (await stat(target)).size;
  return {
    path: target,
    filename: basename(target),
    appType: 'python',
    size,
    source: folder,
    fileCount: files.length,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

async function listFiles(root: string, dir: string, rules: ReturnType<typeof ignore>): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const out: string[] = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const full = join(dir, entry.name);
    const rel = relative(root, full).split(sep).join('/');
    if (entry.isDirectory()) {
      if (rules.ignores(`${rel}/`)) continue;
      out.push(...(await listFiles(root, full, rules)));
    } else if (entry.isFile()) {
      if (!rules.ignores(rel)) out.push(relative(root, full));
    }
    // symbolic links and other special files are not followed: what is shipped is what is in the folder
  }
  return out;
}

/** Whether a Python project has an entry point the platform's launcher finds by itself. */
export async function pythonEntryPointOf(folder: string): Promise<string | undefined> {
  for (const candidate of ['wsgi.py', 'asgi.py', 'main.py', 'app.py', '__main__.py']) {
    try {
      if ((await stat(join(folder, candidate))).isFile()) return candidate;
    } catch {
      // not there
    }
  }
  return undefined;
}

export function openArtifact(artifact: LocalArtifact) {
  return () => createReadStream(artifact.path, { highWaterMark: 256 * 1024 });
}
