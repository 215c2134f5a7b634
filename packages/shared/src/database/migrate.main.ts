// `node packages/shared/src/database/migrate.main.ts` (or `pnpm migrate`): creates the database named by
// APPSERVING_DATABASE_URL if it does not exist, then applies every pending migration.
import { createDatabase } from './database.ts';
import { databaseNameOf, ensureDatabaseExists } from './database-admin.ts';
import { migrateToLatest } from './migrate.ts';

const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/appserving';

async function main(): Promise<void> {
  const url = process.env['APPSERVING_DATABASE_URL'] ?? DEFAULT_URL;
  const name = databaseNameOf(url);
  if (await ensureDatabaseExists(url)) console.log(`created database ${name}`);

  const database = createDatabase({
    url,
    poolMax: 1,
    applicationName: 'appserving-migrate',
    onPoolError: (error) => console.error(`database connection error: ${error.message}`),
  });
  try {
    const applied = await migrateToLatest(database.db);
    console.log(
      applied.length === 0
        ? `database ${name} is up to date`
        : `applied to ${name}: ${applied.join(', ')}`,
    );
  } finally {
    await database.close();
  }
}

try {
  await main();
} catch (error) {
  console.error(error instanceof Error ? `migration failed: ${error.message}` : error);
  process.exitCode = 1;
}
