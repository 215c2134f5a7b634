import { passesRule, specLimits } from './field-rules.ts';

/**
 * An OCI image reference taken apart (distribution/reference's grammar, as `fieldRules.imageReference` states it).
 * A reference without a registry names Docker Hub (`nginx:1.27` is `docker.io/library/nginx:1.27`), as every
 * container runtime reads it.
 */
export interface ImageReference {
  /** As written. */
  readonly reference: string;
  /** `host[:port]`, lower case: the registry the node pulls from (`docker.io` when the reference names none). */
  readonly registry: string;
  /** The host alone (what is resolved and checked). */
  readonly host: string;
  readonly port: number | undefined;
  /** The path within the registry (`library/nginx` for `nginx`). */
  readonly repository: string;
  readonly tag: string | undefined;
  /** `sha256:<hex>` when the reference pins one. */
  readonly digest: string | undefined;
  /** The reference without its digest: what the release history shows as the image. */
  readonly name: string;
}

export const DOCKER_HUB = 'docker.io';

/** Parses a reference; undefined when it breaks the grammar or the length limit. */
export function parseImageReference(reference: string): ImageReference | undefined {
  if (!passesRule('imageReference', reference)) return undefined;
  const [withoutDigest, digest] = splitOnce(reference, '@');
  const slash = withoutDigest.indexOf('/');
  const first = slash === -1 ? '' : withoutDigest.slice(0, slash);
  // The first component is a registry when it looks like a host: a dot, a port, or `localhost`.
  const hasRegistry = slash !== -1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  const registryPart = hasRegistry ? first.toLowerCase() : DOCKER_HUB;
  const rest = hasRegistry ? withoutDigest.slice(slash + 1) : withoutDigest;
  const colon = rest.lastIndexOf(':');
  const path = colon === -1 ? rest : rest.slice(0, colon);
  const tag = colon === -1 ? undefined : rest.slice(colon + 1);
  const [host, portText] = splitOnce(registryPart, ':');
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && (port < 1 || port > 65_535)) return undefined;
  if ((hasRegistry ? `${first}/${path}` : path).length > specLimits.maxImageNameLength) return undefined;
  const repository = !hasRegistry && !path.includes('/') ? `library/${path}` : path;
  return { reference, registry: registryPart, host, port, repository, tag, digest, name: withoutDigest };
}

function splitOnce(value: string, separator: string): [string, string | undefined] {
  const at = value.indexOf(separator);
  return at === -1 ? [value, undefined] : [value.slice(0, at), value.slice(at + 1)];
}

/**
 * `host[:port]` of a registry setting such as APPSERVING_REGISTRY (`harbor.example.com/appserving`,
 * `127.0.0.1:26408`), lower case; empty for an empty setting.
 */
export function registryHostOf(setting: string): string {
  return (setting.split('/')[0] ?? '').trim().toLowerCase();
}
