import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ArtifactMeter, formatBytes } from './artifact-meter.ts';
import { checkFilename, detectFileType, parseStoredArtifactUrl, storedArtifactUrl } from './artifact.store.ts';

describe('detectFileType', () => {
  it.each([
    [[0x50, 0x4b, 0x03, 0x04, 0x14, 0x00], 'zip'],
    [[0x50, 0x4b, 0x05, 0x06, 0, 0], 'an empty zip archive'],
    [[0x1f, 0x8b, 0x08, 0x00], 'a gzip file (a .tar.gz?)'],
    [[0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 0x41], 'a single Java .class file'],
    [[0x7f, 0x45, 0x4c, 0x46, 2, 1], 'an ELF executable'],
    [[...Buffer.from('%PDF-1.7')], 'a PDF document'],
    [[...Buffer.from('<!DOCTYPE html>')], 'HTML or XML text'],
    [[...Buffer.from('print("hi")\n')], 'text'],
    [[0x00, 0x01, 0x02, 0xff, 0x10], 'unknown bytes 00 01 02 ff'],
    [[], 'an empty file'],
  ])('%j is %s', (bytes, expected) => {
    expect(detectFileType(new Uint8Array(bytes))).toBe(expected);
  });
});

describe('checkFilename', () => {
  it.each(['app.jar', 'ROOT.WAR', 'bundle.zip', 'orders-1.4.2.jar'])('accepts %s', (name) => {
    expect(checkFilename(name)).toBe(name);
  });

  it.each([
    ['app.tar.gz', 'artifact_type'],
    ['app.jar.exe', 'artifact_type'],
    ['', 'artifact_filename'],
    ['dir/app.jar', 'artifact_filename'],
    ['..\\app.jar', 'artifact_filename'],
    ['app\n.jar', 'artifact_filename'],
    [`${'a'.repeat(252)}.jar`, 'artifact_filename'],
  ])('refuses %j with %s', (name, code) => {
    expect(() => checkFilename(name)).toThrow(expect.objectContaining({ code }));
  });
});

describe('stored artifact URLs', () => {
  const sha = createHash('sha256').update('x').digest('hex');

  it('round-trips', () => {
    expect(storedArtifactUrl(sha)).toBe(`appserving-artifact://sha256/${sha}`);
    expect(parseStoredArtifactUrl(storedArtifactUrl(sha))).toBe(sha);
  });

  it('leaves other URLs alone and refuses malformed ones of its scheme', () => {
    expect(parseStoredArtifactUrl('https://repo.example/app.jar')).toBeUndefined();
    expect(() => parseStoredArtifactUrl('appserving-artifact://sha256/ABC')).toThrow(expect.objectContaining({ code: 'artifact_url_invalid' }));
    expect(() => parseStoredArtifactUrl(`appserving-artifact://md5/${sha}`)).toThrow(/not of the form/);
  });
});

describe('ArtifactMeter', () => {
  it('hashes and counts, and refuses the chunk that crosses the limit', () => {
    const meter = new ArtifactMeter(10, 'the upload a.jar');
    meter.update(Buffer.from('hello'));
    meter.update(Buffer.from('world'));
    expect(meter.size).toBe(10);
    expect(() => meter.update(Buffer.from('!'))).toThrow(
      expect.objectContaining({ code: 'artifact_too_large', message: 'the upload a.jar is larger than the artifact size limit of 10 bytes' }),
    );
    expect(meter.size).toBe(10);
    expect(meter.sha256()).toBe(createHash('sha256').update('helloworld').digest('hex'));
  });

  it.each([
    [512 * 1024 * 1024, '512 MiB'],
    [1024, '1 KiB'],
    [1536, '1536 bytes'],
    [3 * 1024 * 1024 * 1024, '3 GiB'],
  ])('formats %d bytes as %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});
