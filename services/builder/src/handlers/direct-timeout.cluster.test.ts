// A direct build bounded by the build timeout: an artifact server that trickles bytes never finishes, and the
// build fails at the deadline, saying in which step, instead of holding a consumer slot forever.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../adapters/registry/registry-client.ts';
import { testCluster } from '../testing/cluster.ts';
import { seedBaseImage } from '../testing/registry-fixtures.ts';
import { baseSpec, startBuilderWorld, type BuilderWorld } from '../testing/test-builder.ts';

const cluster = testCluster();
const run = randomBytes(3).toString('hex');
let world: BuilderWorld;
let client: RegistryClient;
let server: Server;
let closed = false;

beforeAll(async () => {
  client = new RegistryClient({ plainHttpHosts: [cluster.registryHost] });
  world = await startBuilderWorld({ kubeconfigPath: cluster.kubeconfigPath, registryHost: `${cluster.registryHost}/dt-${run}` });
  server = createServer((_request, response) => {
    response.writeHead(200, { 'content-length': String(50 * 1024 * 1024) });
    response.write(Buffer.from([0x50, 0x4b, 0x03, 0x04]));
    const timer = setInterval(() => response.write(randomBytes(1024)), 200);
    response.on('close', () => {
      closed = true;
      clearInterval(timer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
}, 120_000);

afterAll(async () => {
  await world?.close();
  await client?.close();
  server?.closeAllConnections();
  server?.close();
});

describe('direct build timeout', () => {
  it('fails at the deadline with the step it was in, and lets go of the artifact server', { timeout: 60_000 }, async () => {
    const base = await seedBaseImage(client, { host: cluster.registryHost, repository: `appserving-test/jre-dt-${run}` }, { tag: '21' });
    const port = (server.address() as AddressInfo).port;
    const builder = await world.startBuilder(
      { APPSERVING_BASE_IMAGE_JAR: base.reference, APPSERVING_ARTIFACT_HOST_ALLOWLIST: `slow.test:${port}`, APPSERVING_BUILD_TIMEOUT_MS: '10000' },
      { resolve: async () => ['127.0.0.1'] },
    );
    try {
      const { appId } = await world.createApp('slowpoke');
      const ref = world.ref({ appId }, 'slowpoke');
      await world.build(ref, baseSpec({ app_type: 'jar', artifact_url: `http://slow.test:${port}/app.jar` }));
      const result = await world.waitForResult(ref.release_id, 40_000);
      expect(result.type).toBe('dev.appserving.build.failed.v1');
      expect(result.data.reason).toBe('the build took longer than 10 s while fetching the artifact');
      expect(closed).toBe(true);
    } finally {
      await builder.stop();
    }
  });
});
