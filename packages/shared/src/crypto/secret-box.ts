import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Encryption of secrets at rest (kubeconfigs, app secret values): AES-256-GCM with a random 96-bit nonce
 * per message and a 128-bit tag.
 *
 * Format (bytes): `v1` | key id length (1 byte) | key id (ASCII) | nonce (12) | ciphertext | tag (16).
 * The key id lets keys rotate: `decrypt` accepts any configured key, `encrypt` always uses the current one.
 * The header (version and key id) is authenticated together with the caller's `aad`.
 *
 * `aad` (additional authenticated data) binds a ciphertext to the row it belongs to, e.g. `cluster:<id>`:
 * a ciphertext copied into another row does not decrypt there. It is not secret and not stored.
 *
 * A random 96-bit nonce per message is safe up to about 2^32 messages per key (NIST SP 800-38D); rotate the
 * key long before that.
 */
export interface SecretBox {
  /** The id of the key `encrypt` uses. */
  readonly currentKeyId: string;
  encrypt(plaintext: string | Uint8Array, aad: string): Buffer;
  decrypt(ciphertext: Uint8Array, aad: string): Buffer;
  decryptText(ciphertext: Uint8Array, aad: string): string;
  /** The key id a ciphertext was made with (to find rows to re-encrypt after a rotation). */
  keyIdOf(ciphertext: Uint8Array): string;
}

export interface SecretKey {
  readonly id: string;
  /** 32 bytes. */
  readonly key: Uint8Array;
}

/** A ciphertext that cannot be decrypted: malformed, an unknown key, the wrong `aad`, or tampered with. */
export class SecretBoxError extends Error {
  override readonly name = 'SecretBoxError';
}

const VERSION = Buffer.from('v1', 'ascii');
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
export const KEY_ID_PATTERN = /^[A-Za-z0-9_.-]{1,32}$/;

export function createSecretBox(keys: readonly SecretKey[]): SecretBox {
  const current = keys[0];
  if (current === undefined) throw new SecretBoxError('at least one key is needed');
  const byId = new Map<string, Buffer>();
  for (const { id, key } of keys) {
    if (!KEY_ID_PATTERN.test(id)) throw new SecretBoxError(`key id "${id}" must be 1-32 letters, digits, ".", "_" or "-"`);
    if (key.length !== KEY_BYTES) throw new SecretBoxError(`key "${id}" must be ${KEY_BYTES} bytes, it has ${key.length}`);
    if (byId.has(id)) throw new SecretBoxError(`key id "${id}" is given twice`);
    byId.set(id, Buffer.from(key));
  }

  function decrypt(ciphertext: Uint8Array, aad: string): Buffer {
    const { keyId, header, nonce, body, tag } = split(Buffer.from(ciphertext));
    const key = byId.get(keyId);
    if (key === undefined) throw new SecretBoxError(`the secret was encrypted with key "${keyId}", which is not configured`);
    const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.concat([header, Buffer.from(aad, 'utf8')]));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(body), decipher.final()]);
    } catch (error) {
      throw new SecretBoxError('the secret does not authenticate: wrong key, wrong row, or altered', { cause: error });
    }
  }

  return {
    currentKeyId: current.id,
    encrypt(plaintext, aad) {
      const header = Buffer.concat([VERSION, Buffer.from([current.id.length]), Buffer.from(current.id, 'ascii')]);
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv('aes-256-gcm', byId.get(current.id) as Buffer, nonce, { authTagLength: TAG_BYTES });
      cipher.setAAD(Buffer.concat([header, Buffer.from(aad, 'utf8')]));
      const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
      const body = Buffer.concat([cipher.update(data), cipher.final()]);
      return Buffer.concat([header, nonce, body, cipher.getAuthTag()]);
    },
    decrypt,
    decryptText: (ciphertext, aad) => decrypt(ciphertext, aad).toString('utf8'),
    keyIdOf: (ciphertext) => split(Buffer.from(ciphertext)).keyId,
  };
}

function split(data: Buffer): { keyId: string; header: Buffer; nonce: Buffer; body: Buffer; tag: Buffer } {
  if (data.length < VERSION.length + 1 || !data.subarray(0, VERSION.length).equals(VERSION)) {
    throw new SecretBoxError('not a v1 secret box ciphertext');
  }
  const idLength = data[VERSION.length] ?? 0;
  const headerEnd = VERSION.length + 1 + idLength;
  if (idLength === 0 || data.length < headerEnd + NONCE_BYTES + TAG_BYTES) throw new SecretBoxError('truncated ciphertext');
  return {
    keyId: data.subarray(VERSION.length + 1, headerEnd).toString('ascii'),
    header: data.subarray(0, headerEnd),
    nonce: data.subarray(headerEnd, headerEnd + NONCE_BYTES),
    body: data.subarray(headerEnd + NONCE_BYTES, data.length - TAG_BYTES),
    tag: data.subarray(data.length - TAG_BYTES),
  };
}

/**
 * Parses `keyId:base64key[,keyId:base64key...]` (the first is the current key). Throws SecretBoxError with
 * a message that names the faulty entry by position and id, never by its key material.
 */
export function parseSecretKeys(spec: string): SecretKey[] {
  return spec.split(',').map((entry, index) => {
    const trimmed = entry.trim();
    const colon = trimmed.indexOf(':');
    const id = colon > 0 ? trimmed.slice(0, colon) : '';
    const encoded = colon > 0 ? trimmed.slice(colon + 1) : '';
    if (!KEY_ID_PATTERN.test(id) || encoded === '') {
      throw new SecretBoxError(`entry ${index + 1} must look like keyId:base64key`);
    }
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) throw new SecretBoxError(`key "${id}" is not base64`);
    const key = Buffer.from(encoded, 'base64');
    if (key.length !== KEY_BYTES) throw new SecretBoxError(`key "${id}" must decode to ${KEY_BYTES} bytes, it has ${key.length}`);
    return { id, key };
  });
}

/**
 * A fixed, publicly known key for local development only: anyone can compute it, so it protects nothing.
 * It exists so that a laptop setup works without configuration while the code path stays the same.
 */
export const DEV_SECRET_KEY: SecretKey = {
  id: 'dev',
  key: createHash('sha256').update('appserving local development key; not a secret').digest(),
};

/** A fresh random key in the `keyId:base64key` form `parseSecretKeys` reads. */
export function generateSecretKeySpec(id: string): string {
  return `${id}:${randomBytes(KEY_BYTES).toString('base64')}`;
}
