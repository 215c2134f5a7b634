import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNatsServer, type TestNatsServer } from '../testing/index.ts';
import { createArtifactStore, parseStoredArtifactUrl } from './artifact.store.ts';
import { failure } from '../testing/assertions.ts';

const MiB = 1024 * 1024;
let nats: TestNatsServer;
let nc: NatsConnection;
let jsm: JetStreamManager;
let bucketSeq = 0;

beforeAll(async () => {
  nats = await startTestNatsServer();
  nc = await connect({ servers: nats.url });
  jsm = await jetstreamManager(nc);
});

afterAll(async () => {
  await nc?.drain();
  await nats?.dispose();
});

/** A bucket of its own per test, so counts of objects and bytes belong to that test alone. */
const newBucket = () => `artifacts-test-${++bucketSeq}`;

/**
 * Generates `total` bytes that start like a zip, chunk by chunk, hashing what it produced and counting how much
 * anyone pulled from it: how far a refused upload was read is the measure of whether it was streamed.
 */
function generated(total: number, options: { head?: Buffer; chunk?: number; seed?: Buffer } = {}) {
  const head = options.head ?? Buffer.from('PK\x03\x04', 'latin1');
  const chunkSize = options.chunk ?? 256 * 1024;
  // One random block reused with a counter keeps 40 MB cheap to make yet different in every chunk.
  const block = options.seed ?? randomBytes(chunkSize);
  const state = { produced: 0, hash: createHash('sha256') };
  async function* bytes(): AsyncGenerator<Uint8Array> {
    let index = 0;
    while (state.produced < total) {
      const size = Math.min(chunkSize, total - state.produced);
      const chunk = Buffer.from(block.subarray(0, size));
      chunk.writeUInt32BE(index++, Math.min(8, Math.max(0, size - 4)));
      if (state.produced === 0) head.copy(chunk, 0, 0, Math.min(head.length, size));
      state.produced += size;
      state.hash.update(chunk);
      yield chunk;
    }
  }
  return { bytes, state };
}

async function bucketState(bucket: string) {
  const { state } = await jsm.streams.info(`OBJ_${bucket}`);
  const objects = await (await new Objm(nc).open(bucket)).list();
  return { messages: state.messages, bytes: state.bytes, objects: objects.map((o) => o.name) };
}

describe('artifact store', () => {
  it('round-trips a 40 MB upload byte for byte', async () => {
    const store = await createArtifactStore({ connection: nc, bucket: newBucket() });
    const upload = generated(40 * 1000 * 1000);
    const stored = await store.put(upload.bytes(), { filename: 'orders-1.4.2.jar', contentType: 'application/java-archive' });
    const sent = upload.state.hash.digest('hex');

    expect(stored).toMatchObject({ sha256: sent, size: 40 * 1000 * 1000, filename: 'orders-1.4.2.jar', deduplicated: false });
    expect(stored.artifactUrl).toBe(`appserving-artifact://sha256/${sent}`);
    expect(parseStoredArtifactUrl(stored.artifactUrl)).toBe(sent);

    const back = createHash('sha256');
    let size = 0;
    for await (const chunk of await store.get(sent)) {
      back.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    expect(back.digest('hex')).toBe(sent);
    expect(size).toBe(40 * 1000 * 1000);
    expect(await store.info(sent)).toEqual({
      sha256: sent,
      size: 40 * 1000 * 1000,
      filename: 'orders-1.4.2.jar',
      contentType: 'application/java-archive',
      artifactUrl: stored.artifactUrl,
    });
  });

  it('refuses an upload past maxBytes while streaming, keeps nothing and does not buffer it', async () => {
    const bucket = newBucket();
    const store = await createArtifactStore({ connection: nc, bucket, maxBytes: MiB });
    const upload = generated(50 * MiB);
    global.gc?.();
    const before = process.memoryUsage();

    const error = await failure(store.put(upload.bytes(), { filename: 'huge.war' }));

    const after = process.memoryUsage();
    expect(error.code).toBe('artifact_too_large');
    expect(error.kind).toBe('input');
    expect(error.message).toBe('the upload huge.war is larger than the artifact size limit of 1 MiB');
    // Reading stopped at the limit: the other 49 MiB were never even produced.
    expect(upload.state.produced).toBeLessThanOrEqual(MiB + 256 * 1024);
    expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(10 * MiB);
    expect(after.rss - before.rss).toBeLessThan(25 * MiB);
    expect(await bucketState(bucket)).toEqual({ messages: 0, bytes: 0, objects: [] });
  });

  it('refuses a file that is not a zip, saying what it is, and keeps nothing', async () => {
    const bucket = newBucket();
    const store = await createArtifactStore({ connection: nc, bucket });

    const text = await failure(store.put(Readable.from([Buffer.from('<html><body>404 Not Found</body></html>')]), { filename: 'app.jar' }));
    expect(text.code).toBe('artifact_type');
    expect(text.message).toBe('the upload app.jar is not a jar, war or zip: it starts like HTML or XML text, not with the zip header PK\\x03\\x04');

    const gzip = generated(3 * MiB, { head: Buffer.from([0x1f, 0x8b, 0x08, 0x00]) });
    const gzipError = await failure(store.put(gzip.bytes(), { filename: 'app.zip' }));
    expect(gzipError.code).toBe('artifact_type');
    expect(gzipError.message).toContain('a gzip file');
    expect(gzip.state.produced).toBe(256 * 1024); // refused on the first chunk

    const tiny = await failure(store.put(Readable.from([Buffer.from('PK')]), { filename: 'app.jar' }));
    expect(tiny.message).toContain('it starts like text');

    expect(await bucketState(bucket)).toEqual({ messages: 0, bytes: 0, objects: [] });
  });

  it('refuses a file name that is not .jar, .war or .zip before reading anything', async () => {
    const store = await createArtifactStore({ connection: nc, bucket: newBucket() });
    const upload = generated(MiB);
    const error = await failure(store.put(upload.bytes(), { filename: 'app.tar.gz' }));
    expect(error.code).toBe('artifact_type');
    expect(error.message).toBe('the upload app.tar.gz must be a .jar, .war or .zip file');
    expect(upload.state.produced).toBe(0);
    expect((await failure(store.put(upload.bytes(), { filename: '../../etc/app.jar' }))).code).toBe('artifact_filename');
  });

  it('stores the same bytes once', async () => {
    const bucket = newBucket();
    const store = await createArtifactStore({ connection: nc, bucket });
    const seed = randomBytes(256 * 1024);
    const first = await store.put(generated(5 * MiB, { seed }).bytes(), { filename: 'app.jar' });
    const second = await store.put(generated(5 * MiB, { seed }).bytes(), { filename: 'app-copy.jar' });

    expect(second.sha256).toBe(first.sha256);
    expect(second.artifactUrl).toBe(first.artifactUrl);
    expect([first.deduplicated, second.deduplicated]).toEqual([false, true]);
    const state = await bucketState(bucket);
    expect(state.objects).toEqual([`sha256/${first.sha256}`]);
    // One copy of the chunks (plus one metadata message), no leftovers of the second upload.
    expect(state.bytes).toBeLessThan(5.2 * MiB);
    expect((await store.info(first.sha256))?.filename).toBe('app.jar');
  });

  it('stores two identical uploads racing each other once', async () => {
    const bucket = newBucket();
    const store = await createArtifactStore({ connection: nc, bucket });
    const seed = randomBytes(256 * 1024);
    const results = await Promise.all([1, 2, 3].map(() => store.put(generated(2 * MiB, { seed }).bytes(), { filename: 'app.jar' })));
    expect(new Set(results.map((r) => r.sha256)).size).toBe(1);
    const state = await bucketState(bucket);
    expect(state.objects).toEqual([`sha256/${results[0]!.sha256}`]);
    expect(state.bytes).toBeLessThan(2.2 * MiB);
  });

  it('answers not found for an unknown artifact and refuses a malformed sha256', async () => {
    const store = await createArtifactStore({ connection: nc, bucket: newBucket() });
    const unknown = 'a'.repeat(64);
    expect(await store.info(unknown)).toBeUndefined();
    const missing = await failure(store.get(unknown));
    expect(missing.kind).toBe('not-found');
    expect(missing.code).toBe('artifact_not_found');
    expect((await failure(store.get('../etc'))).code).toBe('artifact_sha256');
  });

  it('removeUnused: removes old artifacts not in use and leftovers of dead uploads, leaving nothing of them in the stream', async () => {
    const bucket = newBucket();
    const store = await createArtifactStore({ connection: nc, bucket });
    const jar = () => Readable.from([Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), randomBytes(3_000)])]);
    const used = await store.put(jar(), { filename: 'used.jar' });
    const unused = await store.put(jar(), { filename: 'unused.jar' });
    // What a process that died mid-upload leaves: an object under a temporary name.
    await (await new Objm(nc).open(bucket)).put({ name: 'uploads/left-behind' }, Readable.toWeb(jar()) as ReadableStream<Uint8Array>);
    const asked: string[][] = [];

    const inFuture = new Date(Date.now() + 60_000);
    const removed = await store.removeUnused({
      before: inFuture,
      leftoversBefore: inFuture,
      inUse: async (sha256s) => {
        asked.push([...sha256s].sort());
        return new Set([used.sha256]);
      },
    });
    expect(removed).toEqual({ artifacts: [unused.sha256], bytes: unused.size, leftovers: 1 });
    expect(asked).toEqual([[used.sha256, unused.sha256].sort()]);
    // One chunk and one name of the object kept; no tombstone of the others.
    expect(await bucketState(bucket)).toMatchObject({ messages: 2, objects: [`sha256/${used.sha256}`] });

    // Not old enough: not even asked about.
    const past = new Date(Date.now() - 60_000);
    expect(await store.removeUnused({ before: past, leftoversBefore: past, inUse: async () => { throw new Error('not to be asked'); } })).toEqual({ artifacts: [], bytes: 0, leftovers: 0 });
  });
});
