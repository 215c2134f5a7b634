import { inflateRawSync } from 'node:zlib';

/**
 * What the start of a jar says about whether `java -jar` can run it: jar tools (and Spring Boot's repackager)
 * write `META-INF/MANIFEST.MF` among the first entries, so the first few hundred KiB are enough to read its
 * `Main-Class`. Pure: bytes in, a verdict out. `unknown` whenever the bytes do not settle it (the manifest is
 * further in, an unusual compression): the build then goes on, as it would without the check.
 */
export type JarVerdict = { kind: 'executable'; mainClass: string } | { kind: 'not-executable'; reason: string } | { kind: 'unknown' };

const LOCAL_HEADER = 0x04034b50;
const MANIFEST = 'META-INF/MANIFEST.MF';

export function inspectJarHead(head: Buffer): JarVerdict {
  let offset = 0;
  for (let entries = 0; entries < 64 && offset + 30 <= head.length; entries += 1) {
    if (head.readUInt32LE(offset) !== LOCAL_HEADER) return { kind: 'unknown' };
    const flags = head.readUInt16LE(offset + 6);
    const method = head.readUInt16LE(offset + 8);
    const compressedSize = head.readUInt32LE(offset + 18);
    const nameLength = head.readUInt16LE(offset + 26);
    const extraLength = head.readUInt16LE(offset + 28);
    const name = head.subarray(offset + 30, offset + 30 + nameLength).toString('utf8');
    const dataStart = offset + 30 + nameLength + extraLength;
    const sizeKnown = (flags & 0x08) === 0;
    if (name === MANIFEST) {
      const text = manifestText(head, dataStart, method, sizeKnown ? compressedSize : undefined);
      if (text === undefined) return { kind: 'unknown' };
      const mainClass = /^Main-Class:[ \t]*(\S+)/im.exec(text.replace(/\r?\n /g, ''))?.[1];
      return mainClass
        ? { kind: 'executable', mainClass }
        : { kind: 'not-executable', reason: 'its META-INF/MANIFEST.MF names no Main-Class, so `java -jar` cannot start it' };
    }
    // An entry whose size comes after its data cannot be skipped without reading it: give up quietly.
    if (!sizeKnown) return { kind: 'unknown' };
    offset = dataStart + compressedSize;
  }
  return { kind: 'unknown' };
}

function manifestText(head: Buffer, start: number, method: number, size: number | undefined): string | undefined {
  const data = head.subarray(start, size === undefined ? head.length : start + size);
  if (size !== undefined && start + size > head.length) return undefined;
  try {
    if (method === 0) return size === undefined ? undefined : data.toString('utf8');
    if (method === 8) return inflateRawSync(data, { finishFlush: 2 /* Z_SYNC_FLUSH: tolerate bytes after the stream */ }).toString('utf8');
  } catch {
    return undefined;
  }
  return undefined;
}
