import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InputError, type AppType } from '@appserving/shared';
import { detectFileType, parseStoredArtifactUrl, safeFetch, type AllowlistEntry, type ArtifactStore, type HostResolver } from '@appserving/shared/artifacts';

/**
 * The artifact of a build, fetched once and verified: from the platform's upload store (an
 * `appserving-artifact://sha256/…` URL names exactly its bytes) or from an http(s) URL under the platform's
 * fetch rules (allowlist, no private or metadata addresses, redirects re-checked, size bounded while streaming).
 * Its sha256 is computed on the way and compared with the release's `artifact_sha256` when it has one.
 *
 * Kaniko builds need the bytes where any builder replica can serve them to the build Pod, so a fetched artifact
 * goes into the upload store too (content-addressed: the same bytes are kept once). Direct builds only need them
 * here, so they are spooled to a temporary file.
 */
export interface StagedArtifact {
  readonly sha256: string;
  readonly size: number;
  /** True when the bytes are in the upload store under `sha256/<hex>`. */
  readonly inStore: boolean;
  open(): Readable;
  /** Removes a temporary copy. */
  dispose(): Promise<void>;
}

export interface StageOptions {
  readonly store: ArtifactStore;
  readonly appType: AppType;
  readonly expectedSha256?: string | undefined;
  /** Keep the bytes in the upload store (Kaniko) rather than a temporary file (direct). */
  readonly toStore: boolean;
  readonly allowlist: readonly AllowlistEntry[];
  readonly maxBytes: number;
  readonly resolve?: HostResolver;
  readonly signal?: AbortSignal;
  readonly onProgress?: (done: number, total: number | undefined) => void;
}

export async function stageArtifact(url: string, options: StageOptions): Promise<StagedArtifact> {
  const stored = parseStoredArtifactUrl(url);
  if (stored !== undefined) return fromStore(stored, options);
  const response = await safeFetch(url, {
    allowlist: options.allowlist,
    maxBytes: options.maxBytes,
    ...(options.resolve ? { resolve: options.resolve } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const total = response.contentLength;
  let done = 0;
  let head = Buffer.alloc(0);
  const inspect = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      if (head.length < 8) {
        head = Buffer.concat([head, chunk]).subarray(0, 8);
        if (head.length >= 4 && detectFileType(head) !== 'zip') {
          callback(notZip(url, options.appType, detectFileType(head)));
          return;
        }
      }
      done += chunk.length;
      options.onProgress?.(done, total);
      callback(null, chunk);
    },
  });
  if (options.toStore) {
    const result = await options.store.put(response.body.pipe(inspect), { filename: `artifact${extensionOf(options.appType)}` });
    checkSha(url, result.sha256, options.expectedSha256);
    return { sha256: result.sha256, size: result.size, inStore: true, open: () => storeStream(options.store, result.sha256), dispose: async () => {} };
  }
  const dir = await mkdtemp(join(tmpdir(), 'appserving-build-'));
  const file = join(dir, `artifact${extensionOf(options.appType)}`);
  try {
    await pipeline(response.body, inspect, createWriteStream(file, { mode: 0o600 }));
    if (head.length < 4) throw notZip(url, options.appType, detectFileType(head));
    const { sha256, size } = response.digest();
    checkSha(url, sha256, options.expectedSha256);
    return { sha256, size, inStore: false, open: () => createReadStream(file, { highWaterMark: 256 * 1024 }), dispose: () => rm(dir, { recursive: true, force: true }) };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

async function fromStore(sha256: string, options: StageOptions): Promise<StagedArtifact> {
  if (options.expectedSha256 && options.expectedSha256 !== sha256) {
    throw new InputError('artifact_sha256_mismatch', `artifact_sha256 ${options.expectedSha256} does not match the uploaded artifact ${sha256} the artifact_url names`);
  }
  const info = await options.store.info(sha256);
  if (!info) throw new InputError('artifact_not_found', `no uploaded artifact has sha256 ${sha256} (it was never uploaded, or was removed): upload it again with POST /artifacts`);
  if (info.size > options.maxBytes) throw new InputError('artifact_too_large', `the uploaded artifact ${sha256} is larger than the artifact size limit`, { details: { max_bytes: options.maxBytes } });
  options.onProgress?.(info.size, info.size);
  return { sha256, size: info.size, inStore: true, open: () => storeStream(options.store, sha256), dispose: async () => {} };
}

function storeStream(store: ArtifactStore, sha256: string): Readable {
  return Readable.from(
    (async function* () {
      const body = await store.get(sha256);
      for await (const chunk of body) yield chunk as Buffer;
    })(),
  );
}

function checkSha(url: string, actual: string, expected: string | undefined): void {
  if (expected && expected !== actual) {
    throw new InputError('artifact_sha256_mismatch', `the artifact fetched from ${safeUrl(url)} has sha256 ${actual}, but the release expects ${expected}: the file changed, or artifact_sha256 is wrong`, {
      details: { expected, actual },
    });
  }
}

function notZip(url: string, appType: AppType, detected: string): InputError {
  return new InputError('artifact_type', `the artifact from ${safeUrl(url)} is not a ${appType === 'python' ? 'zip' : appType} (a zip archive): it starts like ${detected}`, {
    details: { detected },
  });
}

function extensionOf(appType: AppType): string {
  return appType === 'python' ? '.zip' : `.${appType}`;
}

/** The URL without its query string (which may carry a presigned token) for messages. */
function safeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return 'artifact_url';
  }
}
