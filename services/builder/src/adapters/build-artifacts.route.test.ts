// The route build Pods download their artifact from: real NATS object store, real HTTP (fastify inject).
import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { createSecretBox, DEV_SECRET_KEY } from '@appserving/shared';
import { createArtifactStore, type ArtifactStore } from '@appserving/shared/artifacts';
import { startTestNatsServer, type TestNatsServer } from '@appserving/shared/testing';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeJar } from '../testing/registry-fixtures.ts';
import { buildArtifactPath, buildArtifactToken, registerBuildArtifactsRoute } from './build-artifacts.route.ts';

let nats: TestNatsServer;
let nc: NatsConnection;
let store: ArtifactStore;
let app: FastifyInstance;
const box = createSecretBox([DEV_SECRET_KEY]);
const otherBox = createSecretBox([{ id: 'other', key: randomBytes(32) }]);
let now = Date.now();

beforeAll(async () => {
  nats = await startTestNatsServer();
  nc = await connect({ servers: nats.url });
  store = await createArtifactStore({ connection: nc, bucket: 'build-artifacts-test' });
  app = Fastify();
  registerBuildArtifactsRoute(app, { box, store: () => store, now: () => now });
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await nc?.drain();
  await nats?.dispose();
});

describe('build artifact downloads', () => {
  it('serves the artifact to the holder of the build\'s token, and to no one else', async () => {
    const jar = fakeJar(700_000);
    const { sha256 } = await store.put(Readable.from([jar]), { filename: 'app.jar' });
    const releaseId = randomUUID();
    const token = buildArtifactToken(box, releaseId, sha256, now + 60_000);
    const get = (path: string, authorization?: string) => app.inject({ method: 'GET', url: path, headers: authorization ? { authorization } : {} });

    const ok = await get(buildArtifactPath(releaseId, sha256), `Bearer ${token}`);
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['content-length']).toBe(String(jar.length));
    expect(ok.rawPayload.equals(jar)).toBe(true);

    expect((await get(buildArtifactPath(releaseId, sha256))).statusCode).toBe(401);
    // Another release's path, another artifact, a token sealed with other keys, a tampered token.
    expect((await get(buildArtifactPath(randomUUID(), sha256), `Bearer ${token}`)).statusCode).toBe(403);
    const other = await store.put(Readable.from([fakeJar(1000)]), { filename: 'other.jar' });
    expect((await get(buildArtifactPath(releaseId, other.sha256), `Bearer ${token}`)).statusCode).toBe(403);
    expect((await get(buildArtifactPath(releaseId, sha256), `Bearer ${buildArtifactToken(otherBox, releaseId, sha256, now + 60_000)}`)).statusCode).toBe(403);
    expect((await get(buildArtifactPath(releaseId, sha256), `Bearer ${token.slice(0, -4)}AAAA`)).statusCode).toBe(403);

    now += 120_000;
    const expired = await get(buildArtifactPath(releaseId, sha256), `Bearer ${token}`);
    expect(expired.statusCode).toBe(403);
    expect(expired.json()).toEqual({ error: 'the build token has expired' });
  });
});
