import { isIP } from 'node:net';
import { parseImageReference, registryHostOf, type ImageReference } from '../contracts/index.ts';
import { InputError } from '../errors/index.ts';
import { checkHostAddresses, type HostResolver } from './artifact-url.guard.ts';

/**
 * Which registries an `image_url` may name. The image is pulled by the nodes of the target cluster, from inside its
 * network: without rules a release could aim those pulls at cloud metadata endpoints or internal services, as an
 * unchecked `artifact_url` could aim the platform's fetches.
 *
 * - the platform's own registry (APPSERVING_REGISTRY, `host[:port]`) is always allowed, whatever its address;
 * - a cluster with `image_registries` allows those registries (whatever their addresses) and no other;
 * - a cluster without that list allows any registry whose host resolves to public addresses only (the same ranges
 *   as artifact_url: no loopback, private, link-local, metadata, … address; docs/artifacts.md).
 */
export interface ImageRegistryPolicy {
  /** APPSERVING_REGISTRY (`host[:port][/prefix]`); empty: none. */
  readonly platformRegistry: string;
  /** The target cluster's allowlist (`host[:port]` entries); empty or null: any registry on a public address. */
  readonly clusterRegistries?: readonly string[] | null;
  /** The cluster's name, for messages. */
  readonly clusterName?: string;
  readonly resolve?: HostResolver;
}

export interface CheckedImage {
  readonly image: ImageReference;
  /** Whether the registry is the platform's own or on the cluster's list (its address was not checked). */
  readonly allowlisted: boolean;
}

/** Canonical `host[:port]` of a registry entry, as `parseImageReference` writes `registry` (lower case). */
export function registryKey(entry: string): string {
  return registryHostOf(entry);
}

export async function checkImageReference(reference: string, policy: ImageRegistryPolicy): Promise<CheckedImage> {
  const image = parseImageReference(reference);
  if (!image) {
    throw new InputError('image_url_invalid', 'image_url is not an image reference: [registry[:port]/]repository[:tag][@sha256:<64 hex>], the repository in lowercase', {
      details: { field: 'image_url' },
    });
  }
  const platform = registryKey(policy.platformRegistry);
  if (platform !== '' && image.registry === platform) return { image, allowlisted: true };
  const listed = (policy.clusterRegistries ?? []).map(registryKey).filter(Boolean);
  if (listed.length > 0) {
    if (listed.includes(image.registry)) return { image, allowlisted: true };
    const allowed = [...(platform ? [platform] : []), ...listed];
    const where = policy.clusterName ? ` on cluster ${policy.clusterName}` : '';
    throw new InputError('image_registry_not_allowed', `image_url registry ${image.registry} is not allowed${where}: images come from ${allowed.join(', ')} only (the cluster's image_registries)`, {
      details: { field: 'image_url', registry: image.registry, allowed },
    });
  }
  await checkHostAddresses(isIP(image.host) === 6 ? `[${image.host}]` : image.host, {
    ...(policy.resolve ? { resolve: policy.resolve } : {}),
    wording: {
      what: 'image_url registry',
      code: 'image_registry',
      field: 'image_url',
      hint: `list it in the cluster's image_registries (POST /clusters) to allow it, or use the platform's registry${platform ? ` (${platform})` : ''}`,
    },
  });
  return { image, allowlisted: false };
}
