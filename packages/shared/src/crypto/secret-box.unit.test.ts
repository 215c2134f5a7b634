import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSecretBox, DEV_SECRET_KEY, generateSecretKeySpec, parseSecretKeys, SecretBoxError } from './secret-box.ts';

const key = (id: string) => ({ id, key: randomBytes(32) });

describe('secret box', () => {
  const k1 = key('k1');
  const box = createSecretBox([k1]);

  it('round-trips text and bytes, and never contains the plaintext', () => {
    const plaintext = 'token: super-secret-kubeconfig-token';
    const sealed = box.encrypt(plaintext, 'cluster:1');
    expect(sealed.includes(Buffer.from('super-secret'))).toBe(false);
    expect(sealed.subarray(0, 2).toString()).toBe('v1');
    expect(box.keyIdOf(sealed)).toBe('k1');
    expect(box.decryptText(sealed, 'cluster:1')).toBe(plaintext);

    const bytes = randomBytes(100);
    expect(box.decrypt(box.encrypt(bytes, 'x'), 'x').equals(bytes)).toBe(true);
    expect(box.decryptText(box.encrypt('', 'empty'), 'empty')).toBe('');
  });

  it('uses a fresh nonce per message', () => {
    expect(box.encrypt('same', 'a').equals(box.encrypt('same', 'a'))).toBe(false);
  });

  it('refuses a ciphertext moved to another row (other aad)', () => {
    const sealed = box.encrypt('secret', 'cluster:1');
    expect(() => box.decrypt(sealed, 'cluster:2')).toThrow(SecretBoxError);
    expect(() => box.decrypt(sealed, 'cluster:2')).toThrow(/wrong key, wrong row, or altered/);
  });

  it('refuses any altered byte, header included', () => {
    const sealed = box.encrypt('secret', 'row');
    for (let index = 0; index < sealed.length; index++) {
      const altered = Buffer.from(sealed);
      altered[index] = (altered[index] ?? 0) ^ 0x01;
      expect(() => box.decrypt(altered, 'row'), `byte ${index}`).toThrow(SecretBoxError);
    }
    expect(() => box.decrypt(sealed.subarray(0, 20), 'row')).toThrow(/truncated/);
    expect(() => box.decrypt(Buffer.from('plain text'), 'row')).toThrow(/not a v1/);
  });

  it('rotates: decrypts with any configured key, encrypts with the first', () => {
    const k2 = key('k2');
    const old = box.encrypt('made with k1', 'row');
    const rotated = createSecretBox([k2, k1]);
    expect(rotated.currentKeyId).toBe('k2');
    expect(rotated.decryptText(old, 'row')).toBe('made with k1');
    const fresh = rotated.encrypt('made with k2', 'row');
    expect(rotated.keyIdOf(fresh)).toBe('k2');
    expect(() => box.decrypt(fresh, 'row')).toThrow(/key "k2", which is not configured/);
  });

  it('does not decrypt with a different key under the same id', () => {
    const sealed = box.encrypt('secret', 'row');
    expect(() => createSecretBox([key('k1')]).decrypt(sealed, 'row')).toThrow(/does not authenticate/);
  });

  it('validates keys', () => {
    expect(() => createSecretBox([])).toThrow(/at least one key/);
    expect(() => createSecretBox([{ id: 'short', key: randomBytes(16) }])).toThrow(/32 bytes/);
    expect(() => createSecretBox([k1, k1])).toThrow(/given twice/);
    expect(() => createSecretBox([{ id: 'bad id', key: randomBytes(32) }])).toThrow(/key id/);
  });
});

describe('parseSecretKeys', () => {
  it('reads keyId:base64 entries in order', () => {
    const a = generateSecretKeySpec('2026-05');
    const b = generateSecretKeySpec('2025-11');
    const keys = parseSecretKeys(`${a}, ${b}`);
    expect(keys.map((k) => k.id)).toEqual(['2026-05', '2025-11']);
    expect(keys[0]?.key).toHaveLength(32);
    expect(Buffer.from(keys[0]?.key ?? []).toString('base64')).toBe(a.split(':')[1]);
  });

  it('names the bad entry without echoing key material', () => {
    const material = randomBytes(16).toString('base64');
    const error = captureError(() => parseSecretKeys(`k1:${material}`));
    expect(error.message).toBe('key "k1" must decode to 32 bytes, it has 16');
    expect(error.message).not.toContain(material);
    expect(() => parseSecretKeys('no-colon')).toThrow(/entry 1 must look like keyId:base64key/);
    expect(() => parseSecretKeys(`${generateSecretKeySpec('a')},:abc`)).toThrow(/entry 2/);
    expect(() => parseSecretKeys('k1:not*base64')).toThrow(/not base64/);
  });

  it('has a fixed development key', () => {
    expect(DEV_SECRET_KEY.id).toBe('dev');
    expect(DEV_SECRET_KEY.key).toHaveLength(32);
    const sealed = createSecretBox([DEV_SECRET_KEY]).encrypt('x', 'row');
    expect(createSecretBox([DEV_SECRET_KEY]).decryptText(sealed, 'row')).toBe('x');
  });
});

function captureError(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    if (error instanceof Error) return error;
  }
  throw new Error('expected an error');
}
