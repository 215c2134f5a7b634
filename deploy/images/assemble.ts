import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/**
 * Copies what one service needs at run time out of a workspace where `pnpm install --prod --filter
 * @appserving/<service>...` ran, into `<out>` (the image's /app): the root manifest and node_modules (the pnpm
 * store of that filtered install), and the directory of the service and of each workspace package it depends on
 * (manifest, sources, files such as the deployer's app chart, node_modules links). Tests, test helpers and
 * tool configuration are left out.
 *
 * The layout keeps the workspace's shape on purpose: Node runs the TypeScript sources directly (type stripping),
 * and it refuses to do that for files under node_modules, so workspace packages must stay real directories
 * (packages/shared), reached through the symlinks pnpm made, never copies inside node_modules (`pnpm deploy`).
 *
 * Usage: node deploy/images/assemble.ts <service> <out>   (run from the workspace root)
 */
const [service, out] = process.argv.slice(2);
if (!service || !out) {
  process.stderr.write('usage: node deploy/images/assemble.ts <service> <out>\n');
  process.exit(2);
}
const root = process.cwd();

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
}

function readManifest(dir: string): Manifest {
  return JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as Manifest;
}

/** Directory of each workspace package, by name. */
function workspacePackages(): Map<string, string> {
  const found = new Map<string, string>();
  for (const parent of ['packages', 'services']) {
    for (const entry of existsSync(join(root, parent)) ? readdirSync(join(root, parent)) : []) {
      const dir = `${parent}/${entry}`;
      if (existsSync(join(root, dir, 'package.json'))) found.set(readManifest(dir).name, dir);
    }
  }
  return found;
}

const packages = workspacePackages();
const serviceDir = `services/${service}`;
if (!existsSync(join(root, serviceDir, 'package.json'))) {
  process.stderr.write(`assemble: ${serviceDir}/package.json not found: is "${service}" a service?\n`);
  process.exit(2);
}

// The service and, transitively, every workspace package it depends on at run time.
const needed = new Set<string>();
const queue = [serviceDir];
while (queue.length > 0) {
  const dir = queue.pop() as string;
  if (needed.has(dir)) continue;
  needed.add(dir);
  for (const [name, range] of Object.entries(readManifest(dir).dependencies ?? {})) {
    if (!range.startsWith('workspace:')) continue;
    const dep = packages.get(name);
    if (!dep) throw new Error(`${dir} depends on ${name}, which is not in the workspace`);
    queue.push(dep);
  }
}

const leftOut = (path: string) =>
  /\.test\.ts$/.test(path) || /\.fixtures\.ts$/.test(path) || path.split(sep).includes('testing') || /(^|\/)(tsconfig\.json|vitest\.config\.ts)$/.test(path);

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
cpSync(join(root, 'package.json'), join(out, 'package.json'));
// verbatimSymlinks: pnpm's links are relative and must stay exactly as they are.
cpSync(join(root, 'node_modules'), join(out, 'node_modules'), { recursive: true, verbatimSymlinks: true });
for (const dir of [...needed].sort()) {
  cpSync(join(root, dir), join(out, dir), { recursive: true, verbatimSymlinks: true, filter: (path) => !leftOut(relative(root, path)) });
}
process.stdout.write(`assembled ${service} with ${[...needed].sort().join(', ')} into ${out}\n`);
