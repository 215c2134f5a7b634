import { createHash, type Hash } from 'node:crypto';
import { TooLargeError } from '../errors/index.ts';

/** 512 MiB: larger than any reasonable fat jar, small enough that one upload cannot fill the object store. */
export const DEFAULT_ARTIFACT_MAX_BYTES = 512 * 1024 * 1024;

/**
 * Counts and hashes artifact bytes as they stream past, and stops the stream the moment it passes the limit:
 * an artifact is never held in memory whole, so the limit has to be enforced chunk by chunk, not after the fact.
 */
export class ArtifactMeter {
  readonly maxBytes: number;
  /** Says where the bytes come from in the too-large message, e.g. "the upload" or "artifact_url host x". */
  readonly #source: string;
  readonly #hash: Hash = createHash('sha256');
  #size = 0;

  constructor(maxBytes: number, source: string) {
    this.maxBytes = maxBytes;
    this.#source = source;
  }

  get size(): number {
    return this.#size;
  }

  /** Adds a chunk; throws `artifact_too_large` (before hashing it) if it takes the total past the limit. */
  update(chunk: Uint8Array): void {
    if (this.#size + chunk.byteLength > this.maxBytes) throw tooLarge(this.#source, this.maxBytes);
    this.#size += chunk.byteLength;
    this.#hash.update(chunk);
  }

  /** The lowercase hex sha256 of everything added; call once, at the end. */
  sha256(): string {
    return this.#hash.digest('hex');
  }
}

export function tooLarge(source: string, maxBytes: number, declared?: number): TooLargeError {
  const announced = declared === undefined ? '' : ` (it announces ${formatBytes(declared)})`;
  return new TooLargeError('artifact_too_large', `${source} is larger than the artifact size limit of ${formatBytes(maxBytes)}${announced}`, {
    details: { max_bytes: maxBytes, ...(declared === undefined ? {} : { declared_bytes: declared }) },
  });
}

export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1 && value % 1024 === 0) {
    value /= 1024;
    unit += 1;
  }
  return `${value} ${units[unit]}`;
}
