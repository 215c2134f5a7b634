/**
 * A real gateway in its own process, for benchmarks: as in production, the API does not share its event loop
 * with the load generator. Prints one JSON line (base URL, admin token, cluster id, database and NATS URLs),
 * then serves until SIGTERM. Settings: BENCH_LOG_LEVEL (info | silent).
 */
import { startTestGateway } from '../../services/gateway/src/testing/test-gateway.ts';

const gw = await startTestGateway({ logLevel: (process.env.BENCH_LOG_LEVEL ?? 'info') as 'info' | 'silent' });
process.stdout.write(
  `${JSON.stringify({ base: gw.base, adminToken: gw.adminToken, clusterId: gw.clusterId, databaseUrl: gw.databaseUrl, natsUrl: gw.nats.url, pid: process.pid })}\n`,
);
process.once('SIGTERM', () => {
  void gw.close().finally(() => process.exit(0));
});
