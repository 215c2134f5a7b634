// Shared by this folder's integration tests (not a test file itself).
import { createDatabase } from './database.ts';
import type { DatabaseHandle } from './database.ts';
import { createThrowawayDatabase } from './database-admin.ts';
import type { ThrowawayDatabase } from './database-admin.ts';

export const serverUrl = process.env['APPSERVING_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase extends ThrowawayDatabase {
  handle: DatabaseHandle;
  poolErrors: Error[];
}

/** A throw-away database with a connected handle; `cleanup()` closes the pool and drops the database. */
export async function openTestDatabase(): Promise<TestDatabase & { cleanup(): Promise<void> }> {
  const database = await createThrowawayDatabase(serverUrl);
  const poolErrors: Error[] = [];
  const handle = createDatabase({
    url: database.url,
    poolMax: 4,
    applicationName: 'appserving-test',
    onPoolError: (error) => poolErrors.push(error),
  });
  return {
    ...database,
    handle,
    poolErrors,
    async cleanup() {
      await handle.close();
      await database.drop();
    },
  };
}

export async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
