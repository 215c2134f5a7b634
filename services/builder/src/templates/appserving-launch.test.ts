// The Python launcher written into Python images, run by a real python3: unpack and choose the entry point.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const launcher = new URL('./appserving-launch.py', import.meta.url).pathname;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'appserving-launch-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A zip made by python3's zipfile, from name → content. */
async function zip(file: string, entries: Record<string, string>): Promise<void> {
  const script = 'import sys, json, zipfile\nz = zipfile.ZipFile(sys.argv[1], "w")\nfor n, c in json.loads(sys.argv[2]).items(): z.writestr(n, c)\nz.close()';
  await run('python3', ['-c', script, file, JSON.stringify(entries)]);
}

describe('Python launcher', () => {
  it('unpacks the app (one top-level folder stripped) and runs main.py with PORT set', async () => {
    const archive = join(dir, 'app.zip');
    await zip(archive, { 'myapp/main.py': 'import os\nprint("listening on", os.environ["PORT"])\n', 'myapp/lib/util.py': 'X = 1\n' });
    const target = join(dir, 'app');
    const installed = await run('python3', [launcher, 'install', archive, target]);
    expect(installed.stdout).toContain('no requirements.txt');
    expect(await readFile(join(target, 'lib/util.py'), 'utf8')).toBe('X = 1\n');
    const started = await run('python3', [launcher, 'run', target], { env: { ...process.env, PORT: '8123', APP_MODULE: '' } });
    expect(started.stdout).toContain('listening on 8123');
  });

  it('refuses an archive entry that would land outside the app folder', async () => {
    const archive = join(dir, 'evil.zip');
    await zip(archive, { 'main.py': 'print(1)\n', '../escape.py': 'print(2)\n' });
    await expect(run('python3', [launcher, 'install', archive, join(dir, 'evil')])).rejects.toMatchObject({ stderr: expect.stringContaining('refusing an archive entry outside the app folder') });
  });

  it('says what to do when there is no entry point', async () => {
    const archive = join(dir, 'empty.zip');
    await zip(archive, { 'README.md': 'nothing to run\n' });
    const target = join(dir, 'noentry');
    await run('python3', [launcher, 'install', archive, target]);
    await writeFile(join(target, 'notes.txt'), '');
    await expect(run('python3', [launcher, 'run', target], { env: { ...process.env, APP_MODULE: '' } })).rejects.toMatchObject({ stderr: expect.stringContaining('no entry point: set APP_MODULE') });
  });
});
