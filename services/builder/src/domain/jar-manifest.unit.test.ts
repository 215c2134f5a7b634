import { randomBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { inspectJarHead } from './jar-manifest.ts';

/** A zip local file entry as jar tools write it; `streamed` leaves the sizes to a data descriptor after the data. */
function entry(name: string, content: Buffer, options: { method?: 0 | 8; streamed?: boolean } = {}): Buffer {
  const method = options.method ?? 8;
  const data = method === 8 ? deflateRawSync(content) : content;
  const header = Buffer.alloc(30);
  header.writeUInt32LE(0x04034b50, 0);
  header.writeUInt16LE(20, 4);
  header.writeUInt16LE(options.streamed ? 0x08 : 0, 6);
  header.writeUInt16LE(method, 8);
  header.writeUInt32LE(options.streamed ? 0 : data.length, 18);
  header.writeUInt32LE(options.streamed ? 0 : content.length, 22);
  header.writeUInt16LE(Buffer.byteLength(name), 26);
  return Buffer.concat([header, Buffer.from(name), data, options.streamed ? Buffer.alloc(16) : Buffer.alloc(0)]);
}

const bootManifest = Buffer.from('Manifest-Version: 1.0\r\nMain-Class: org.springframework.boot.loader.launch.JarLauncher\r\nStart-Class: com.example.Orders\r\n\r\n');

describe('jar manifest check', () => {
  it('finds Main-Class in a Spring Boot jar (directory entry first, deflated manifest)', () => {
    const jar = Buffer.concat([entry('META-INF/', Buffer.alloc(0), { method: 0 }), entry('META-INF/MANIFEST.MF', bootManifest), entry('BOOT-INF/lib/x.jar', randomBytes(5000), { method: 0 })]);
    expect(inspectJarHead(jar)).toEqual({ kind: 'executable', mainClass: 'org.springframework.boot.loader.launch.JarLauncher' });
  });

  it('reads a manifest written with a data descriptor, followed by more entries', () => {
    const jar = Buffer.concat([entry('META-INF/MANIFEST.MF', bootManifest, { streamed: true }), entry('a.class', randomBytes(3000))]);
    expect(inspectJarHead(jar)).toMatchObject({ kind: 'executable' });
  });

  it('a plain library jar is not executable, and says why', () => {
    const jar = Buffer.concat([entry('META-INF/MANIFEST.MF', Buffer.from('Manifest-Version: 1.0\r\nCreated-By: Maven\r\n\r\n')), entry('com/example/Lib.class', randomBytes(100))]);
    expect(inspectJarHead(jar)).toEqual({ kind: 'not-executable', reason: expect.stringMatching(/names no Main-Class/) });
  });

  it('stays out of the way when the bytes do not settle it', () => {
    expect(inspectJarHead(randomBytes(1000))).toEqual({ kind: 'unknown' });
    expect(inspectJarHead(Buffer.concat([entry('big.bin', randomBytes(10_000), { streamed: true }), entry('META-INF/MANIFEST.MF', bootManifest)]))).toEqual({ kind: 'unknown' });
    const cut = Buffer.concat([entry('META-INF/MANIFEST.MF', bootManifest)]).subarray(0, 40);
    expect(inspectJarHead(cut)).toEqual({ kind: 'unknown' });
  });
});
