import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';

/** The Go toolchain: `go` on PATH, else the machine's /usr/local/go. */
export function goBinary(env: NodeJS.ProcessEnv = process.env): string {
  if (env.GO) return env.GO;
  for (const dir of (env.PATH ?? '').split(':')) {
    if (dir && existsSync(`${dir}/go`)) return `${dir}/go`;
  }
  return '/usr/local/go/bin/go';
}

/**
 * Directory of `module@version` in the Go module cache, downloading it through the module proxy if needed.
 * Upstream YAML (kwok's stages, Flagger's CRDs) is read from there at setup time, never copied into the repo.
 */
export function goModuleDir(module: string, version: string): string {
  const out = execFileSync(goBinary(), ['mod', 'download', '-json', `${module}@${version}`], {
    cwd: tmpdir(),
    env: { ...process.env, GOWORK: 'off', GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod' },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const info = JSON.parse(out) as { Dir?: string; Error?: string };
  if (!info.Dir) throw new Error(`go mod download ${module}@${version}: ${info.Error ?? 'no directory reported'}`);
  return info.Dir;
}
