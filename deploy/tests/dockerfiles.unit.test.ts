import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDockerfile, stagesOf } from './dockerfile.ts';

// No container engine runs on the project's machines, so the images are not built here. These checks read each
// Dockerfile for the rules an image must keep; image-layout.test.ts runs the build stage's commands and starts
// each service from the tree they produce.
const root = join(import.meta.dirname, '..', '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const services = { gateway: 9112, builder: 9113, deployer: 9114, watcher: 9115 } as const;
const pinned = (file: string, name: string) => new RegExp(`^${name}=(\\S+)$`, 'm').exec(read(file))?.[1];

describe.each(Object.entries(services))('services/%s/Dockerfile', (service, port) => {
  const instructions = parseDockerfile(read(`services/${service}/Dockerfile`));
  const stages = stagesOf(instructions);
  const runtime = stages.at(-1);
  const args = new Map(instructions.filter((i) => i.keyword === 'ARG').map((i) => i.args.split('=') as [string, string]));

  it('is multi-stage: a build stage and a runtime stage that copies only the assembled tree (and helm)', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(stages[0]?.name).toBe('build');
    const copies = runtime?.instructions.filter((i) => i.keyword === 'COPY') ?? [];
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) expect(copy.args, 'the runtime stage copies from other stages only').toMatch(/^--from=(build|helm)\b/);
    expect(runtime?.instructions.some((i) => i.keyword === 'RUN'), 'nothing is installed into the runtime stage').toBe(false);
  });

  it('pins every base image to an exact version, the project\'s own', () => {
    for (const stage of stages) expect(stage.from).toMatch(/^(node:\$\{NODE_VERSION\}-\$\{DEBIAN\}-slim|golang:\$\{GO_VERSION\}-\$\{DEBIAN\})$/);
    expect(args.get('NODE_VERSION')).toBe(pinned('scripts/toolchain.sh', 'NODE_VERSION'));
    expect(args.get('NODE_VERSION')).toMatch(/^24\.\d+\.\d+$/);
    expect(args.get('DEBIAN')).toMatch(/^[a-z]+$/);
    const pnpm = instructions.find((i) => i.keyword === 'ARG' && i.args.startsWith('PNPM_VERSION='))?.args.split('=')[1];
    expect(pnpm).toBe(pinned('scripts/toolchain.sh', 'PNPM_VERSION'));
    expect((JSON.parse(read('package.json')) as { packageManager: string }).packageManager).toBe(`pnpm@${pnpm}`);
    if (service === 'deployer') {
      expect(instructions.find((i) => i.args.startsWith('HELM_VERSION='))?.args).toBe(`HELM_VERSION=${pinned('test/cluster/versions.env', 'HELM_VERSION')}`);
      expect(args.get('GO_VERSION')).toBe(pinned('test/cluster/versions.env', 'GO_MIN_VERSION'));
    }
  });

  it('runs as a numeric non-root user', () => {
    const user = runtime?.instructions.filter((i) => i.keyword === 'USER').at(-1)?.args;
    expect(user).toMatch(/^[1-9][0-9]*:[1-9][0-9]*$/);
  });

  it('has a HEALTHCHECK on the service\'s own /healthz and port, and starts the service', () => {
    const health = runtime?.instructions.find((i) => i.keyword === 'HEALTHCHECK');
    expect(health?.args).toContain(`APPSERVING_${service.toUpperCase()}_PORT || ${port}`);
    expect(health?.args).toContain('/healthz');
    expect(runtime?.instructions.find((i) => i.keyword === 'EXPOSE')?.args).toBe(String(port));
    expect(JSON.parse(runtime?.instructions.find((i) => i.keyword === 'CMD')?.args ?? '[]')).toEqual(['node', `services/${service}/src/main.ts`]);
    const env = runtime?.instructions.filter((i) => i.keyword === 'ENV').map((i) => i.args).join(' ');
    expect(env).toContain('APPSERVING_HTTP_HOST=0.0.0.0');
  });

  it('installs the production dependencies of this service only, from the lockfile', () => {
    const run = stages[0]?.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args).join('\n') ?? '';
    expect(run).toContain(`--frozen-lockfile --prod`);
    expect(run).toContain(`--filter "@appserving/${service}..."`);
    expect(run).toContain(`node deploy/images/assemble.ts ${service} /out`);
  });

  it('puts no secret into a layer', () => {
    for (const i of instructions.filter((i) => i.keyword === 'ARG' || i.keyword === 'ENV')) {
      expect(i.args, `${i.keyword} ${i.args}`).not.toMatch(/(PASSWORD|TOKEN|SECRET|CREDENTIAL|_KEY)\b/i);
    }
    for (const i of instructions.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD')) {
      expect(i.args).not.toMatch(/\.(pem|key|creds)\b|kubeconfig|\.env\b/);
    }
    expect(instructions.some((i) => i.keyword === 'ADD'), 'COPY, never ADD (no remote URLs, no archives unpacked)').toBe(false);
  });
});

describe('build context', () => {
  it('.dockerignore keeps modules, history and secret-looking files out', () => {
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    for (const pattern of ['**/node_modules', '.git', '**/*.pem', '**/*.key', '**/*.creds', '**/.env', '**/kubeconfig', '**/kubeconfig.yaml']) expect(ignored).toContain(pattern);
  });

  it('.npmrc, copied into the build stage, holds no registry credentials', () => {
    expect(read('.npmrc')).not.toMatch(/_auth|_password|token/i);
  });
});
