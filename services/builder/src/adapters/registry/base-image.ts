import { InputError } from '@appserving/shared';
import { formatImageRef, type ImageRef } from './image-ref.ts';
import { MEDIA_TYPES, type RegistryClient, type Repo } from './registry-client.ts';

/** What an image manifest (OCI or Docker v2 schema 2) says. */
export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { os: string; architecture: string; variant?: string };
}

/** The parts of an image config the builder reads and writes; everything else is kept as it came. */
export interface ImageConfig {
  architecture?: string;
  os?: string;
  created?: string;
  config?: {
    Env?: string[];
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    WorkingDir?: string;
    ExposedPorts?: Record<string, object>;
    Labels?: Record<string, string> | null;
    User?: string;
    [key: string]: unknown;
  };
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: { created?: string; created_by?: string; comment?: string; empty_layer?: boolean }[];
  [key: string]: unknown;
}

/** A base image pinned to the exact manifest for one platform. */
export interface BaseImage {
  readonly ref: ImageRef;
  readonly repo: Repo;
  /** Digest of the platform's image manifest: what the build is on, and part of the cache key. */
  readonly digest: string;
  readonly mediaType: string;
  readonly manifest: ImageManifest;
  readonly manifestBytes: Buffer;
  readonly config: ImageConfig;
  /** `host/repository@digest`: a reference that always means this exact image. */
  readonly pinned: string;
}

export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

/** `linux/amd64`, `linux/arm64/v8`. */
export function parsePlatform(value: string): Platform {
  const [os, architecture, variant] = value.split('/');
  if (!os || !architecture) throw new InputError('platform_invalid', `platform "${value}" is not os/architecture[/variant], e.g. linux/amd64`);
  return variant ? { os, architecture, variant } : { os, architecture };
}

/**
 * Resolves a base image reference to one platform's manifest and reads its config. An index (multi-platform
 * image) is narrowed to the entry for `platform`.
 */
export async function resolveBaseImage(client: RegistryClient, ref: ImageRef, platform: Platform, signal?: AbortSignal): Promise<BaseImage> {
  const repo = { host: ref.host, repository: ref.repository };
  const reference = ref.digest ?? ref.tag ?? 'latest';
  let fetched = await client.getManifest(repo, reference, signal);
  if (!fetched) throw notFound(ref);
  if (fetched.mediaType === MEDIA_TYPES.ociIndex || fetched.mediaType === MEDIA_TYPES.dockerList) {
    const index = JSON.parse(fetched.bytes.toString('utf8')) as { manifests: Descriptor[] };
    const entry = index.manifests.find((m) => matches(m.platform, platform));
    if (!entry) {
      const offered = index.manifests.map((m) => (m.platform ? `${m.platform.os}/${m.platform.architecture}${m.platform.variant ? `/${m.platform.variant}` : ''}` : '?')).join(', ');
      throw new InputError('base_image_platform', `base image ${formatImageRef(ref)} has no ${platform.os}/${platform.architecture} image (it has ${offered})`);
    }
    fetched = await client.getManifest(repo, entry.digest, signal);
    if (!fetched) throw notFound(ref);
  }
  if (fetched.mediaType !== MEDIA_TYPES.ociManifest && fetched.mediaType !== MEDIA_TYPES.dockerManifest) {
    throw new InputError('base_image_unsupported', `base image ${formatImageRef(ref)} is a ${fetched.mediaType || 'manifest of unknown type'}, not an OCI or Docker v2 image manifest`);
  }
  const manifest = JSON.parse(fetched.bytes.toString('utf8')) as ImageManifest;
  const configBytes = await client.readBlob(repo, manifest.config.digest, 8 * 1024 * 1024, signal);
  const config = JSON.parse(configBytes.toString('utf8')) as ImageConfig;
  if (config.rootfs?.diff_ids?.length !== manifest.layers.length) {
    throw new InputError('base_image_unsupported', `base image ${formatImageRef(ref)} lists ${manifest.layers.length} layers but its config ${config.rootfs?.diff_ids?.length ?? 0}`);
  }
  return {
    ref,
    repo,
    digest: fetched.digest,
    mediaType: fetched.mediaType,
    manifest,
    manifestBytes: fetched.bytes,
    config,
    pinned: formatImageRef({ host: ref.host, repository: ref.repository, digest: fetched.digest }),
  };
}

function matches(candidate: Descriptor['platform'], wanted: Platform): boolean {
  if (!candidate || candidate.os !== wanted.os || candidate.architecture !== wanted.architecture) return false;
  return wanted.variant === undefined || candidate.variant === undefined || candidate.variant === wanted.variant;
}

function notFound(ref: ImageRef): InputError {
  return new InputError('base_image_not_found', `base image ${formatImageRef(ref)} is not in its registry (check the builder's base image settings)`, {
    details: { image: formatImageRef(ref) },
  });
}

/** The value of a variable in an image config's `Env` list. */
export function envOf(config: ImageConfig, name: string): string | undefined {
  const entry = config.config?.Env?.find((e) => e.startsWith(`${name}=`));
  return entry?.slice(name.length + 1);
}
