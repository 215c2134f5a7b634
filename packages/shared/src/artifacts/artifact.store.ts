import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { Base64UrlPaddedCodec, Objm, type ObjectInfo, type ObjectStore } from '@nats-io/obj';
import { InputError, isAppServingError, NotFoundError, RetryableError } from '../errors/index.ts';
import { ArtifactMeter, DEFAULT_ARTIFACT_MAX_BYTES } from './artifact-meter.ts';

/**
 * Artifacts uploaded from a developer's machine (`POST /artifacts`), kept in a NATS JetStream Object Store.
 *
 * An upload streams straight into the store: it is hashed, counted and type-checked chunk by chunk and never held
 * whole in memory, so a 500 MB war costs the gateway a few chunks of RAM, and an oversized or wrong file is cut
 * off as soon as it shows itself. Objects are content-addressed (`sha256/<hex>`): the same bytes uploaded twice
 * are stored once, and the artifact URL names exactly the bytes the build will get.
 */

export const DEFAULT_ARTIFACT_BUCKET = 'appserving-artifacts';
export const STORED_ARTIFACT_URL_PREFIX = 'appserving-artifact://sha256/';
const allowedExtensions = ['.jar', '.war', '.zip'];
const sha256Pattern = /^[0-9a-f]{64}$/;
/** NATS' default max_payload is 1 MiB; 512 KiB chunks leave room for headers and mean few round trips. */
const chunkBytes = 512 * 1024;

export interface ArtifactStoreOptions {
  /** A NATS connection or a JetStream client (use the latter to set JetStream options such as timeouts). */
  connection: NatsConnection | JetStreamClient;
  bucket?: string;
  /** Largest upload accepted, in bytes (default 512 MiB). */
  maxBytes?: number;
}

export interface UploadMeta {
  /** The file's name on the uploader's machine; its extension must be .jar, .war or .zip. */
  filename: string;
  contentType?: string;
}

export interface StoredArtifact {
  sha256: string;
  size: number;
  filename: string;
  contentType: string | undefined;
  /** What a release's `artifact_url` carries to have the builder use this upload. */
  artifactUrl: string;
}

export interface PutResult extends StoredArtifact {
  /** True when these bytes were already stored: nothing new was kept. */
  deduplicated: boolean;
}

export interface ArtifactStore {
  readonly bucket: string;
  readonly maxBytes: number;
  put(source: Readable | AsyncIterable<Uint8Array>, meta: UploadMeta): Promise<PutResult>;
  /** The artifact's bytes; throws `artifact_not_found` when there is no such artifact. */
  get(sha256: string): Promise<Readable>;
  info(sha256: string): Promise<StoredArtifact | undefined>;
  /**
   * Removes what is no longer needed: artifacts last uploaded before `before` that `inUse` does not claim (it is
   * asked about those candidates only), and temporary `uploads/…` objects older than `leftoversBefore` (left by
   * a process that died mid-upload). Nothing of a removed object stays in the stream, so the same bytes can be
   * uploaded again.
   */
  removeUnused(options: RemoveUnusedOptions): Promise<RemovedArtifacts>;
}

export interface RemoveUnusedOptions {
  before: Date;
  leftoversBefore: Date;
  /** Of these sha256s, the ones something still needs (a recent or unfinished release). */
  inUse(sha256s: readonly string[]): Promise<ReadonlySet<string>>;
}

export interface RemovedArtifacts {
  /** sha256s of the artifacts removed. */
  artifacts: string[];
  bytes: number;
  /** Temporary upload objects removed. */
  leftovers: number;
}

export function storedArtifactUrl(sha256: string): string {
  return `${STORED_ARTIFACT_URL_PREFIX}${sha256}`;
}

/** The sha256 an `appserving-artifact://` URL names, or undefined for any other URL. */
export function parseStoredArtifactUrl(url: string): string | undefined {
  if (!url.startsWith('appserving-artifact:')) return undefined;
  const sha256 = url.startsWith(STORED_ARTIFACT_URL_PREFIX) ? url.slice(STORED_ARTIFACT_URL_PREFIX.length) : '';
  if (!sha256Pattern.test(sha256)) {
    throw new InputError('artifact_url_invalid', `artifact_url ${url} is not of the form ${STORED_ARTIFACT_URL_PREFIX}<64 lowercase hex digits>`);
  }
  return sha256;
}

export async function createArtifactStore(options: ArtifactStoreOptions): Promise<ArtifactStore> {
  const bucket = options.bucket ?? DEFAULT_ARTIFACT_BUCKET;
  const maxBytes = options.maxBytes ?? DEFAULT_ARTIFACT_MAX_BYTES;
  const objm = new Objm(options.connection);
  const os = await objm.create(bucket, { description: 'AppServing uploaded artifacts (jar, war, zip), named sha256/<hex>' });
  const jsm = await objm.js.jetstreamManager();

  const put = async (source: Readable | AsyncIterable<Uint8Array>, meta: UploadMeta): Promise<PutResult> => {
    const filename = checkFilename(meta.filename);
    const meter = new ArtifactMeter(maxBytes, `the upload ${filename}`);
    const chunks = checkedChunks(source, meter, filename);
    // The name is only known at the end, so bytes land under a unique temporary name first and are renamed.
    const uploadName = `uploads/${randomUUID()}`;
    let stored: ObjectInfo;
    try {
      stored = await os.put(
        { name: uploadName, options: { max_chunk_size: chunkBytes }, metadata: { filename, content_type: meta.contentType ?? '' } },
        pullStream(chunks),
      );
    } catch (error) {
      // The object store has already purged the chunks it wrote; stop reading the upload too (not awaited: a
      // stalled client must not hold this error back).
      chunks.return(undefined).catch(() => {});
      throw isAppServingError(error) ? error : unavailable(bucket, error);
    }
    const sha256 = meter.sha256();
    try {
      return { ...(await keepOnce(os, jsm, bucket, stored, sha256)), filename, contentType: meta.contentType };
    } catch (error) {
      await discard(jsm, bucket, stored).catch(() => {});
      throw unavailable(bucket, error);
    }
  };

  return {
    bucket,
    maxBytes,
    put,
    async get(sha256) {
      const result = await os.get(objectName(sha256)).catch((error: unknown) => {
        throw unavailable(bucket, error);
      });
      if (!result) throw notFound(sha256);
      // The store also reports a digest mismatch through `error`; the stream itself errors then, so this is only
      // here to keep the rejection from going unhandled.
      result.error.catch(() => {});
      return Readable.fromWeb(result.data);
    },
    async info(sha256) {
      const info = await os.info(objectName(sha256)).catch((error: unknown) => {
        throw unavailable(bucket, error);
      });
      return info && !info.deleted ? describe(info, sha256) : undefined;
    },
    async removeUnused(options) {
      const removed: RemovedArtifacts = { artifacts: [], bytes: 0, leftovers: 0 };
      const infos = (await os.list()).filter((info) => !info.deleted);
      for (const info of infos) {
        if (info.name.startsWith('uploads/') && lastUploaded(info) < options.leftoversBefore.getTime()) {
          await discard(jsm, bucket, info);
          removed.leftovers++;
        }
      }
      const candidates = infos.flatMap((info) => {
        const sha256 = sha256Of(info.name);
        return sha256 && lastUploaded(info) < options.before.getTime() ? [{ sha256, info }] : [];
      });
      if (candidates.length === 0) return removed;
      const inUse = await options.inUse(candidates.map((c) => c.sha256));
      for (const { sha256, info: candidate } of candidates) {
        if (inUse.has(sha256)) continue;
        // Uploaded again since the listing (a deduplicated upload touches it): kept.
        const current = await os.info(candidate.name);
        if (!current || current.deleted || current.nuid !== candidate.nuid || lastUploaded(current) >= options.before.getTime()) continue;
        await discard(jsm, bucket, current);
        removed.artifacts.push(sha256);
        removed.bytes += current.size;
      }
      return removed;
    },
  };
}

/**
 * Keeps the uploaded object under `sha256/<hex>` unless those bytes are stored already. Two identical uploads may
 * race: both may rename, and the later rename wins the name. Each checks afterwards which object the name points
 * to and drops its own if it lost, so no chunks are left without a name.
 */
async function keepOnce(os: ObjectStore, jsm: JetStreamManager, bucket: string, stored: ObjectInfo, sha256: string) {
  const name = `sha256/${sha256}`;
  const existing = await os.info(name);
  // The same bytes again: the stored object is marked as uploaded now (the retention clock of removeUnused
  // starts again) and this upload's copy dropped. Removed meanwhile: this copy takes its place.
  if (existing && !existing.deleted && (await touch(os, existing))) {
    await discard(jsm, bucket, stored);
    return { sha256, size: existing.size, artifactUrl: storedArtifactUrl(sha256), deduplicated: true };
  }
  try {
    await os.update(stored.name, { name, description: stored.description, options: stored.options, metadata: stored.metadata });
  } catch (error) {
    if (!/already exists/.test((error as Error).message)) throw error;
  }
  const winner = await os.info(name);
  if (winner?.nuid !== stored.nuid) await discard(jsm, bucket, stored);
  return { sha256, size: stored.size, artifactUrl: storedArtifactUrl(sha256), deduplicated: winner?.nuid !== stored.nuid };
}

/** Removes an object's chunks and its name without leaving a tombstone (subjects as in NATS ADR-20). */
async function discard(jsm: JetStreamManager, bucket: string, info: ObjectInfo): Promise<void> {
  const stream = `OBJ_${bucket}`;
  await jsm.streams.purge(stream, { filter: `$O.${bucket}.C.${info.nuid}` });
  await jsm.streams.purge(stream, { filter: `$O.${bucket}.M.${Base64UrlPaddedCodec.encode(info.name)}` });
}

const UPLOADED_AT = 'uploaded_at';

/** When the object's bytes were last uploaded: its own time, or a later deduplicated upload's mark. */
function lastUploaded(info: ObjectInfo): number {
  const marked = Date.parse(info.metadata?.[UPLOADED_AT] ?? '');
  const created = Date.parse(info.mtime);
  return Math.max(Number.isNaN(marked) ? 0 : marked, Number.isNaN(created) ? 0 : created);
}

/** Marks a stored artifact as uploaded now; false when it is gone. */
async function touch(os: ObjectStore, info: ObjectInfo): Promise<boolean> {
  try {
    await os.update(info.name, { name: info.name, description: info.description, options: info.options, metadata: { ...info.metadata, [UPLOADED_AT]: new Date().toISOString() } });
    return true;
  } catch (error) {
    if (/not found|deleted object/.test((error as Error).message)) return false;
    throw error;
  }
}

/** The sha256 a stored artifact's object name carries (`sha256/<hex>`), or undefined for any other object. */
function sha256Of(name: string): string | undefined {
  const sha256 = name.startsWith('sha256/') ? name.slice('sha256/'.length) : '';
  return sha256Pattern.test(sha256) ? sha256 : undefined;
}

/** Meters and type-checks the upload as the object store pulls it; throwing here aborts the store's put. */
async function* checkedChunks(source: Readable | AsyncIterable<Uint8Array>, meter: ArtifactMeter, filename: string): AsyncGenerator<Uint8Array> {
  let head: Uint8Array | undefined = new Uint8Array(0);
  for await (const chunk of source as AsyncIterable<Uint8Array>) {
    if (typeof chunk === 'string') throw new TypeError('artifact uploads must be byte streams, not strings');
    meter.update(chunk);
    if (head) {
      head = concat(head, chunk);
      if (head.length < 8) continue; // nothing is passed on until the type is known
      assertZip(head, filename);
      const whole = head;
      head = undefined;
      yield whole;
      continue;
    }
    yield chunk;
  }
  if (head) {
    assertZip(head, filename);
    if (head.length > 0) yield head;
  }
}

/** A ReadableStream that asks the generator for the next chunk only when the object store reads: backpressure. */
function pullStream(chunks: AsyncGenerator<Uint8Array>): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const next = await chunks.next();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      },
      async cancel() {
        await chunks.return(undefined);
      },
    },
    { highWaterMark: 0 },
  );
}

function assertZip(head: Uint8Array, filename: string): void {
  const detected = detectFileType(head);
  if (detected !== 'zip') {
    throw new InputError('artifact_type', `the upload ${filename} is not a jar, war or zip: it starts like ${detected}, not with the zip header PK\\x03\\x04`, {
      details: { filename, detected },
    });
  }
}

const signatures: ReadonlyArray<readonly [number[], string]> = [
  [[0x50, 0x4b, 0x03, 0x04], 'zip'],
  [[0x50, 0x4b, 0x05, 0x06], 'an empty zip archive'],
  [[0x50, 0x4b, 0x07, 0x08], 'a spanned (multi-part) zip archive'],
  [[0x1f, 0x8b], 'a gzip file (a .tar.gz?)'],
  [[0x42, 0x5a, 0x68], 'a bzip2 file'],
  [[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], 'an xz file'],
  [[0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], 'a 7-Zip archive'],
  [[0x52, 0x61, 0x72, 0x21], 'a RAR archive'],
  [[0xca, 0xfe, 0xba, 0xbe], 'a single Java .class file'],
  [[0x7f, 0x45, 0x4c, 0x46], 'an ELF executable'],
  [[0x25, 0x50, 0x44, 0x46], 'a PDF document'],
];

/** `zip` for a zip local-file header, otherwise words saying what the bytes look like. */
export function detectFileType(head: Uint8Array): string {
  if (head.length === 0) return 'an empty file';
  for (const [magic, name] of signatures) {
    if (magic.every((byte, i) => head[i] === byte)) return name;
  }
  const text = head.every((byte) => byte === 0x09 || byte === 0x0a || byte === 0x0d || (byte >= 0x20 && byte < 0x7f));
  if (text) return head[0] === 0x3c ? 'HTML or XML text' : 'text';
  return `unknown bytes ${Array.from(head.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ')}`;
}

export function checkFilename(filename: string): string {
  // eslint-disable-next-line no-control-regex
  if (!filename || filename.length > 255 || /[/\\\u0000-\u001f]/.test(filename)) {
    throw new InputError('artifact_filename', 'the upload needs a plain file name (no path, at most 255 characters), e.g. orders-1.4.2.jar');
  }
  if (!allowedExtensions.some((extension) => filename.toLowerCase().endsWith(extension))) {
    throw new InputError('artifact_type', `the upload ${filename} must be a .jar, .war or .zip file`, { details: { filename } });
  }
  return filename;
}

function objectName(sha256: string): string {
  if (!sha256Pattern.test(sha256)) throw new InputError('artifact_sha256', `"${sha256}" is not a sha256 (64 lowercase hex digits)`);
  return `sha256/${sha256}`;
}

function describe(info: ObjectInfo, sha256: string): StoredArtifact {
  return {
    sha256,
    size: info.size,
    filename: info.metadata?.filename ?? '',
    contentType: info.metadata?.content_type || undefined,
    artifactUrl: storedArtifactUrl(sha256),
  };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}

function notFound(sha256: string): NotFoundError {
  return new NotFoundError('artifact_not_found', `no uploaded artifact has sha256 ${sha256}`, { details: { sha256 } });
}

function unavailable(bucket: string, cause: unknown): RetryableError {
  return new RetryableError('artifact_store_unavailable', `the artifact store (object store bucket ${bucket}) failed: ${(cause as Error).message}`, { cause });
}
