// The platform as another system sees it on NATS: a deploy command published straight to JetStream (no REST
// call) deploys like one from the gateway, and a plain subscriber receives the release's status CloudEvents.
import { randomUUID } from 'node:crypto';
import { startPlatform, type Platform } from '@appserving/test-support/platform';
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, waitForApp } from './e2e-support.ts';

let platform: Platform;
let nc: NatsConnection;
const appId = randomUUID();

beforeAll(async () => {
  platform = await startPlatform();
  nc = await connect({ servers: platform.natsUrl });
}, 300_000);

afterAll(async () => {
  await platform?.api('DELETE', `/apps/${appId}`).catch(() => undefined);
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  await nc?.close();
  await platform?.stop();
});

interface StatusEvent {
  specversion: string;
  id: string;
  type: string;
  source: string;
  data: { release: { app_id: string; release_id: string }; status: string };
}

describe('the platform on NATS', () => {
  it('deploys from a command another system publishes, and a subscriber follows its status CloudEvents', async () => {
    const clusters = await platform.api<{ clusters: { id: string; name: string }[] }>('GET', '/clusters');
    const cluster = clusters.body.clusters.find((c) => c.name === 'local');
    expect(cluster).toBeDefined();

    // A subscriber of another team: plain core NATS on the documented subject, no JetStream consumer needed.
    // It keeps each event once by its CloudEvent id, as docs/messaging.md asks of core NATS subscribers.
    const received: StatusEvent[] = [];
    const subscription = nc.subscribe(`appserving.evt.release.status.${appId}`, {
      callback: (error, msg) => {
        const event = error ? undefined : msg.json<StatusEvent>();
        if (event && !received.some((e) => e.id === event.id)) received.push(event);
      },
    });

    const releaseId = randomUUID();
    const commandId = randomUUID();
    const command = {
      specversion: '1.0',
      id: commandId,
      source: '/ci/release-train',
      type: 'dev.appserving.command.deploy.v1',
      subject: appId,
      time: new Date().toISOString(),
      datacontenttype: 'application/json',
      data: {
        release: { app_id: appId, app_name: 'from-nats', release_id: releaseId, version: 1, cluster_id: cluster?.id },
        spec: { app_type: 'jar', port: 8080, resource_spec: 'small', strategy: 'rolling', env: {}, config: {}, secret_names: [], volumes: [], replicas: 1 },
        image: platform.baseImages.jar,
        skip_analysis: false,
      },
    };
    const js = jetstream(nc);
    const ack = await js.publish(`appserving.cmd.deploy.${appId}`, JSON.stringify(command), { msgID: commandId });
    expect(ack.duplicate).toBe(false);

    // The watcher registers the app when it records the command: until then GET answers 404.
    await eventually('the app registered', async () => ((await platform.api('GET', `/apps/${appId}`)).status === 200 ? true : undefined), 60_000);
    const app = await waitForApp(platform, appId, { timeoutMs: 120_000 }).catch(async (error: unknown) => {
      throw new Error(`${String(error)}; status events seen: ${JSON.stringify(received.map((e) => e.data.status))}`);
    });
    expect(app.current_release, `platform log: ${platform.logFile}`).toMatchObject({ id: releaseId, status: 'succeeded', image: platform.baseImages.jar });
    expect((app).name).toBe('from-nats');

    await eventually('the succeeded status event', () => (received.some((e) => e.data.status === 'succeeded') ? true : undefined), 10_000);
    expect(received.every((e) => e.specversion === '1.0' && e.type === 'dev.appserving.release.status.v1' && e.data.release.release_id === releaseId)).toBe(true);
    expect(received.map((e) => e.data.status)).toEqual(['deploying', 'progressing', 'succeeded']);

    // The same command again (a retried publish): dropped by the stream, nothing happens twice.
    const again = await js.publish(`appserving.cmd.deploy.${appId}`, JSON.stringify(command), { msgID: commandId });
    expect(again.duplicate).toBe(true);
    const releases = await platform.api<{ items: unknown[] }>('GET', `/apps/${appId}/releases`);
    expect(releases.body.items).toHaveLength(1);
    subscription.unsubscribe();
  }, 300_000);
});
