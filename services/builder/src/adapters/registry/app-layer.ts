import { createHash } from 'node:crypto';
import type { Readable} from 'node:stream';
import { PassThrough, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { pack } from 'tar-stream';

/**
 * The app layer of a direct build: a tar holding the artifact at a fixed path, gzip-wrapped, produced as a
 * stream while its two digests (of the tar: the config's diff_id; of the gzip: the blob digest) are computed on
 * the way. Everything is fixed but the artifact's bytes (owner 0:0, mode 0644, mtime 1970-01-01T00:00:01Z), so
 * the same artifact always gives the same layer, and the same image digest.
 *
 * The gzip is written at level 0 (stored blocks). Jars and wars are zip files whose entries are compressed
 * already: deflating them again saves about 1% and costs about ten times the upload itself (docs/adr).
 */

export interface LayerFile {
  /** Path in the image, without a leading slash (`app/app.jar`). */
  readonly path: string;
  readonly size: number;
  readonly open: () => Readable;
}

export interface AppLayer {
  /** The gzip stream to upload. */
  readonly body: Readable;
  /** Once `body` has ended: the digest and size of the gzip, and the digest of the tar. */
  result(): { digest: string; size: number; diffId: string };
}

export const LAYER_MTIME = new Date(1000);
const GZIP_LEVEL = 0;

/**
 * `directories` are created in the layer (mode 0755) before the file, for paths that do not exist in the base;
 * directories the base has are left out, so the layer does not change their owner or mode.
 */
export function appLayer(file: LayerFile, directories: readonly string[] = []): AppLayer {
  const tar = pack();
  const tarHash = createHash('sha256');
  const gzHash = createHash('sha256');
  let gzSize = 0;
  let ended = false;

  const hashTar = new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      tarHash.update(chunk);
      done(null, chunk);
    },
  });
  const hashGzip = new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      gzHash.update(chunk);
      gzSize += chunk.length;
      done(null, chunk);
    },
  });
  const body = new PassThrough();
  body.once('end', () => (ended = true));

  const header = { uid: 0, gid: 0, uname: '', gname: '', mtime: LAYER_MTIME };
  const fill = async () => {
    for (const dir of directories) {
      await new Promise<void>((resolve, reject) => tar.entry({ ...header, name: `${dir.replace(/\/$/, '')}/`, type: 'directory', mode: 0o755 }, (error) => (error ? reject(error) : resolve())));
    }
    const entry = tar.entry({ ...header, name: file.path, type: 'file', mode: 0o644, size: file.size });
    await pipeline(file.open(), entry);
    tar.finalize();
  };
  fill().catch((error: unknown) => tar.destroy(error as Error));
  pipeline(tar as unknown as Readable, hashTar, createGzip({ level: GZIP_LEVEL, chunkSize: 256 * 1024 }), hashGzip, body).catch((error: unknown) => body.destroy(error as Error));

  let digests: { digest: string; size: number; diffId: string } | undefined;
  return {
    body,
    result() {
      if (!ended) throw new Error('the app layer was asked for its digests before it was read to its end');
      digests ??= { digest: `sha256:${gzHash.digest('hex')}`, size: gzSize, diffId: `sha256:${tarHash.digest('hex')}` };
      return digests;
    },
  };
}
