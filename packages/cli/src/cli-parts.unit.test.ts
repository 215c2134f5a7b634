import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yauzl from 'yauzl';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { normalizeServerUrl } from './api/api-client.ts';
import type { ReleaseView } from './api/views.ts';
import { reportOutcome } from './commands/common.ts';
import { Context, type CliIo } from './context.ts';
import { newLines } from './commands/events.commands.ts';
import { parseProjectFile, writeProjectFile } from './config/project-file.ts';
import { zipPythonProject } from './deploy/artifact.ts';
import { ExitCode, exitCodeOfStatus } from './errors.ts';
import { formatBytes, formatDuration, table } from './output/format.ts';

describe('exit codes of server answers', () => {
  it.each([
    [400, 'invalid_request', ExitCode.usage],
    [404, 'app_not_found', ExitCode.usage],
    [401, 'unauthorized', ExitCode.auth],
    [403, 'forbidden', ExitCode.auth],
    [409, 'operation_in_flight', ExitCode.conflict],
    [500, 'internal', ExitCode.internal],
    [502, 'http_502', ExitCode.unreachable],
    [503, 'not_ready', ExitCode.unreachable],
    [504, 'wait_timeout', ExitCode.timeout],
  ])('%i %s → %i', (status, code, exit) => expect(exitCodeOfStatus(status, code)).toBe(exit));
});

describe('normalizeServerUrl', () => {
  it('adds http:// and drops a trailing slash', () => {
    expect(normalizeServerUrl('localhost:9112')).toBe('http://localhost:9112');
    expect(normalizeServerUrl('https://apps.example.com/api/')).toBe('https://apps.example.com/api');
  });
  it.each(['ftp://x', 'http://user:pw@x', 'http://x/?a=1', 'http://exa mple'])('refuses %s', (url) => expect(() => normalizeServerUrl(url)).toThrow());
});

describe('project file', () => {
  it('names the line and the setting of a problem', () => {
    expect(() => parseProjectFile('name: orders\nport: high\n', '/p/appserve.yaml')).toThrow('/p/appserve.yaml:2: port must be a whole number from 1 to 65535');
    expect(() => parseProjectFile('name: [a\n', '/p/appserve.yaml')).toThrow('/p/appserve.yaml:');
    expect(() => parseProjectFile('- a\n- b\n', '/p/appserve.yaml')).toThrow('must be a map of settings');
    expect(() => parseProjectFile('strategy: fast\n', '/p/appserve.yaml')).toThrow('strategy must be one of rolling, canary, blue-green');
  });

  it('an empty file is fine', () => {
    expect(parseProjectFile('# nothing yet\n', '/p/appserve.yaml')).toEqual({ path: '/p/appserve.yaml' });
  });

  describe('written after a first deploy', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'appserve-unit-'));
    });
    afterEach(() => rm(dir, { recursive: true, force: true }));

    it('round-trips with relative paths, and never overwrites', async () => {
      const path = join(dir, 'appserve.yaml');
      await writeProjectFile(path, { name: 'orders', artifact: join(dir, 'target/orders.jar'), port: 8081, env: { A: '1' }, secrets: { db: join(dir, 'secrets/db') }, resources: { cpu: '1', memory: '1Gi' } });
      const text = await readFile(path, 'utf8');
      expect(text).toContain('artifact: ./target/orders.jar');
      expect(parseProjectFile(text, path)).toMatchObject({ name: 'orders', artifact: join(dir, 'target/orders.jar'), port: 8081, env: { A: '1' }, secrets: { db: join(dir, 'secrets/db') }, resources: { cpu: '1', memory: '1Gi' } });
      await expect(writeProjectFile(path, { name: 'other' })).rejects.toThrow(/EEXIST/);
    });
  });
});

describe('zipPythonProject', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'appserve-unit-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('files at the root, ignore rules applied, the same bytes every time', async () => {
    const project = join(dir, 'svc');
    await mkdir(join(project, 'pkg', '__pycache__'), { recursive: true });
    await mkdir(join(project, '.venv', 'lib'), { recursive: true });
    await mkdir(join(project, 'data'), { recursive: true });
    await writeFile(join(project, 'app.py'), 'app = 1\n');
    await writeFile(join(project, 'pkg', '__init__.py'), '');
    await writeFile(join(project, 'pkg', '__pycache__', 'x.pyc'), 'x');
    await writeFile(join(project, '.venv', 'lib', 'site.py'), 'x');
    await writeFile(join(project, 'data', 'big.csv'), 'x');
    await writeFile(join(project, '.appserveignore'), 'data/\n');
    const first = await zipPythonProject(project);
    const second = await zipPythonProject(project);
    try {
      expect(first.fileCount).toBe(2);
      expect(await entries(first.path)).toEqual(['app.py', 'pkg/__init__.py']);
      expect(await readFile(first.path)).toEqual(await readFile(second.path));
      expect(first.filename).toBe('svc.zip');
    } finally {
      await first.cleanup();
      await second.cleanup();
    }
  });

  it('an empty folder is refused', async () => {
    await expect(zipPythonProject(dir)).rejects.toThrow('has no files to deploy');
  });
});

describe('following logs', () => {
  it('prints only the lines after the overlap with what was shown', () => {
    expect(newLines([], ['a', 'b'])).toEqual(['a', 'b']);
    expect(newLines(['a', 'b', 'c'], ['b', 'c', 'd', 'e'])).toEqual(['d', 'e']);
    expect(newLines(['a', 'b'], ['a', 'b'])).toEqual([]);
    expect(newLines(['x'], ['y', 'z'])).toEqual(['y', 'z']);
  });
});

describe('format', () => {
  it('bytes, durations, tables', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(300 * 1024 * 1024)).toBe('300 MiB');
    expect(formatDuration(59_400)).toBe('59s');
    expect(formatDuration(61_000)).toBe('1m01s');
    expect(formatDuration(3_723_000)).toBe('1h02m');
    expect(table(['A', 'BB'], [['xxx', 'y'], ['z', 'w']])).toBe('A    BB\nxxx  y\nz    w');
  });
});

function entries(path: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true }, (error, zip) => {
      if (error || !zip) return reject(error ?? new Error('no zip'));
      const names: string[] = [];
      zip.on('entry', (entry: yauzl.Entry) => {
        names.push(entry.fileName);
        zip.readEntry();
      });
      zip.on('end', () => resolve(names));
      zip.readEntry();
    });
  });
}

describe('a follow that ends before the server was first asked', () => {
  const accepted: ReleaseView = { id: 'r1', version: 1, version_label: 'v1', task_type: 'all', strategy: 'rolling', status: 'pending', status_reason: null, diagnosis: null, image: null, spec: {}, created_at: '2026-12-03T10:00:00Z', finished_at: null };
  function run(json: boolean, kind: 'interrupted' | 'timeout') {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const io = { stdout, stderr, stdin: new PassThrough(), env: { NO_COLOR: '1' }, cwd: '/', version: 'test' } as unknown as CliIo;
    const code = reportOutcome(new Context(io, { json }), { id: 'a1', name: 'patient' }, accepted, { kind, release: undefined }, { timeoutMs: 60_000, startedAt: Date.now() });
    return { code, out, err };
  }

  it('names the release as it was accepted (Ctrl-C right after the create)', () => {
    const human = run(false, 'interrupted');
    expect(human.code).toBe(ExitCode.interrupted);
    expect(human.err).toContain('interrupted: stopped following patient v1 (still waiting for a builder or deployer)');
    const json = run(true, 'timeout');
    expect(json.code).toBe(ExitCode.timeout);
    expect(JSON.parse(json.out)).toMatchObject({ outcome: 'timeout', release: { id: 'r1', version_label: 'v1' }, exit_code: ExitCode.timeout });
  });
});

