import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const webDir = fileURLToPath(new URL('../../', import.meta.url));

/** The console's build, which the gateway serves: made here when a run starts without one (test.sh builds it). */
export async function ensureConsoleBuilt(): Promise<void> {
  if (existsSync(`${webDir}dist/index.html`)) return;
  await promisify(execFile)('pnpm', ['run', 'build'], { cwd: webDir });
}
