import { InputError } from '@appserving/shared';

/**
 * An image reference split into what the registry API needs: `host/repository[:tag][@digest]`.
 * Docker Hub's short forms are expanded the way every container runtime does (`tomcat:10.1` is
 * `docker.io/library/tomcat:10.1`, served by `registry-1.docker.io`).
 */
export interface ImageRef {
  /** Registry host as written in the reference (`docker.io`, `127.0.0.1:5000`). */
  readonly host: string;
  /** Repository path inside the registry (`library/tomcat`, `team/orders`). */
  readonly repository: string;
  readonly tag: string | undefined;
  readonly digest: string | undefined;
}

export const DIGEST_PATTERN = /^sha256:[a-f0-9]{64}$/;
const componentPattern = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const tagPattern = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const hostPattern = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:]+\])(?::[0-9]+)?$/;

export function parseImageRef(reference: string): ImageRef {
  const invalid = (why: string) => new InputError('image_reference_invalid', `image reference "${reference}" is not valid: ${why}`);
  let rest = reference.trim();
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_PATTERN.test(digest)) throw invalid('the digest must be sha256: and 64 lowercase hex digits');
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!tagPattern.test(tag)) throw invalid(`tag "${tag}" has characters a tag may not have`);
  }
  const parts = rest.split('/');
  let host = 'docker.io';
  const first = parts[0] ?? '';
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    host = first;
    parts.shift();
    if (!hostPattern.test(host)) throw invalid(`registry host "${host}" is not a host name or address`);
  }
  if (parts.length === 0 || parts.some((p) => !componentPattern.test(p))) {
    throw invalid('the repository must be lowercase letters, digits and separators (., _, __, -) between slashes');
  }
  if (host === 'docker.io' && parts.length === 1) parts.unshift('library');
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { host, repository: parts.join('/'), tag, digest };
}

/** The reference as a runtime pulls it: `host/repository[:tag][@digest]`. */
export function formatImageRef(ref: { host: string; repository: string; tag?: string | undefined; digest?: string | undefined }): string {
  return `${ref.host}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** Where the registry API of a host answers: Docker Hub's API is not on docker.io itself. */
export function apiHostOf(host: string): string {
  return host === 'docker.io' || host === 'index.docker.io' ? 'registry-1.docker.io' : host;
}

/**
 * A repository path component from a name the platform does not control (a namespace, an app name): lower
 * case, runs of other characters turned into one `-`, no separator at either end.
 */
export function repositoryComponent(raw: string): string {
  const cleaned = raw
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return cleaned || 'x';
}
