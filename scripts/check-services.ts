// Checks that NATS has JetStream and that Postgres accepts connections, naming the component that does not.
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';

const natsUrl = process.env.APPSERVING_NATS_URL ?? 'nats://127.0.0.1:4222';
const databaseUrl = process.env.APPSERVING_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/appserving';
const adminUrl = new URL(databaseUrl);
adminUrl.pathname = '/postgres';

const problems: string[] = [];
try {
  const nc = await connect({ servers: natsUrl.split(','), timeout: 5_000 });
  try {
    await (await jetstreamManager(nc)).getAccountInfo();
  } catch (error) {
    problems.push(`NATS at ${natsUrl} answers but JetStream is not enabled (start nats-server with -js): ${String(error)}`);
  } finally {
    await nc.close();
  }
} catch (error) {
  problems.push(`NATS is not reachable at ${natsUrl}: ${String(error)}`);
}
const client = new pg.Client({ connectionString: adminUrl.toString(), connectionTimeoutMillis: 5_000 });
try {
  await client.connect();
  await client.query('select 1');
} catch (error) {
  problems.push(`Postgres is not usable at ${adminUrl.host} (as in APPSERVING_DATABASE_URL): ${String(error)}`);
} finally {
  await client.end().catch(() => {});
}
if (problems.length > 0) {
  for (const p of problems) process.stderr.write(`services: ${p}\n`);
  process.exit(1);
}
process.stderr.write(`services: NATS with JetStream and Postgres are ready\n`);
