import { Transform, type TransformCallback } from 'node:stream';
import { appLayer, LAYER_MTIME, type LayerFile } from './app-layer.ts';
import type { BaseImage, Descriptor, ImageConfig, ImageManifest } from './base-image.ts';
import { MEDIA_TYPES, sha256Digest, type RegistryClient, type Repo } from './registry-client.ts';

/**
 * The direct path (like Jib): no Pod and no Dockerfile run. The artifact becomes one layer on top of the base
 * image's layers; the image config is the base's with the entrypoint, environment, exposed port and labels written
 * in; the manifest is pushed over the distribution API.
 *
 * Base layers are never downloaded when the target registry can link them: they are mounted from the base
 * image's repository (same registry) or, for a base in another registry, copied once into a mirror repository of
 * the target registry and mounted from there for every later app.
 */

export interface DirectImageSpec {
  readonly base: BaseImage;
  readonly target: Repo;
  /** Tags the manifest is stored under (`v3`, `cache-<key>`). */
  readonly tags: readonly string[];
  readonly file: LayerFile;
  /** Directories the layer creates (ones the base image lacks). */
  readonly directories?: readonly string[];
  readonly image: {
    /** Replaces the base's entrypoint (and clears its Cmd) when given; the base's are kept otherwise. */
    readonly entrypoint?: readonly string[];
    readonly workingDir?: string;
    readonly env: Readonly<Record<string, string>>;
    readonly port: number;
    readonly labels: Readonly<Record<string, string>>;
  };
  /** Repository of the target registry that keeps base layers copied from another registry. */
  readonly mirrorRepository: string;
  /** Says what made the layer, in the image history. */
  readonly createdBy: string;
}

export interface DirectPushResult {
  readonly digest: string;
  readonly mediaType: string;
  readonly manifest: ImageManifest;
  readonly config: ImageConfig;
  readonly baseLayers: { present: number; mounted: number; copied: number };
  readonly appLayer: { digest: string; size: number; diffId: string };
}

export interface DirectPushOptions {
  signal?: AbortSignal;
  /** Bytes of the artifact sent so far, of its size. */
  onProgress?: (done: number, total: number) => void;
  /** A base layer is about to be copied from another registry (this happens once per layer and registry). */
  onBaseLayerCopy?: (layer: Descriptor, into: Repo) => void;
}

export async function pushDirectImage(client: RegistryClient, spec: DirectImageSpec, options: DirectPushOptions = {}): Promise<DirectPushResult> {
  const { signal } = options;
  const [baseLayers, layer] = await Promise.all([ensureBaseLayers(client, spec, options), uploadAppLayer(client, spec, options)]);

  const oci = spec.base.mediaType === MEDIA_TYPES.ociManifest;
  const config = imageConfig(spec, layer.diffId);
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDigest = sha256Digest(configBytes);
  if (!(await client.hasBlob(spec.target, configDigest, signal))) {
    await client.pushBlob(spec.target, configDigest, configBytes, configBytes.length, signal);
  }
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: spec.base.mediaType,
    config: { mediaType: oci ? MEDIA_TYPES.ociConfig : MEDIA_TYPES.dockerConfig, digest: configDigest, size: configBytes.length },
    layers: [...spec.base.manifest.layers, { mediaType: oci ? MEDIA_TYPES.ociLayerGzip : MEDIA_TYPES.dockerLayerGzip, digest: layer.digest, size: layer.size }],
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  let digest = sha256Digest(manifestBytes);
  for (const tag of spec.tags) digest = await client.putManifest(spec.target, tag, spec.base.mediaType, manifestBytes, signal);
  return { digest, mediaType: spec.base.mediaType, manifest, config, baseLayers, appLayer: layer };
}

async function uploadAppLayer(client: RegistryClient, spec: DirectImageSpec, options: DirectPushOptions) {
  let sent = 0;
  const total = spec.file.size;
  const counted: LayerFile = {
    ...spec.file,
    open: () =>
      spec.file.open().pipe(
        new Transform({
          transform(chunk: Buffer, _encoding, done: TransformCallback) {
            sent += chunk.length;
            options.onProgress?.(sent, total);
            done(null, chunk);
          },
        }),
      ),
  };
  const layer = appLayer(counted, spec.directories ?? []);
  await client.pushBlobStream(spec.target, layer.body, () => layer.result().digest, options.signal);
  return layer.result();
}

async function ensureBaseLayers(client: RegistryClient, spec: DirectImageSpec, options: DirectPushOptions) {
  const { base, target } = spec;
  const { signal } = options;
  const counts = { present: 0, mounted: 0, copied: 0 };
  const sameRegistry = base.repo.host === target.host;
  const mirror: Repo = sameRegistry ? base.repo : { host: target.host, repository: spec.mirrorRepository };

  await inParallel(base.manifest.layers, 4, async (layer) => {
    if (await client.hasBlob(target, layer.digest, signal)) {
      counts.present += 1;
      return;
    }
    if (!sameRegistry && !(await client.hasBlob(mirror, layer.digest, signal))) {
      options.onBaseLayerCopy?.(layer, mirror);
      await copyBlob(client, base.repo, mirror, layer, signal);
      counts.copied += 1;
    }
    if (await client.mountBlob(target, layer.digest, mirror.repository, signal)) {
      counts.mounted += 1;
    } else {
      options.onBaseLayerCopy?.(layer, target);
      await copyBlob(client, mirror, target, layer, signal);
      counts.copied += 1;
    }
  });
  if (!sameRegistry && !(await client.headManifest(mirror, base.digest, signal))) {
    // The mirror keeps the base manifest too, so its layers are referenced and survive a registry clean-up.
    if (!(await client.hasBlob(mirror, base.manifest.config.digest, signal))) await copyBlob(client, base.repo, mirror, base.manifest.config, signal);
    await client.putManifest(mirror, base.digest, base.mediaType, base.manifestBytes, signal);
  }
  return counts;
}

async function copyBlob(client: RegistryClient, from: Repo, to: Repo, blob: Descriptor, signal: AbortSignal | undefined): Promise<void> {
  const source = await client.getBlob(from, blob.digest, signal);
  await client.pushBlob(to, blob.digest, source.body, blob.size, signal);
}

function imageConfig(spec: DirectImageSpec, diffId: string): ImageConfig {
  const config = structuredClone(spec.base.config);
  const created = LAYER_MTIME.toISOString();
  const own = (config.config ??= {});
  const env = new Map((own.Env ?? []).map((entry) => [entry.split('=')[0]!, entry]));
  for (const [name, value] of Object.entries(spec.image.env)) env.set(name, `${name}=${value}`);
  own.Env = [...env.values()];
  own.ExposedPorts = { ...own.ExposedPorts, [`${spec.image.port}/tcp`]: {} };
  own.Labels = { ...own.Labels, ...spec.image.labels };
  if (spec.image.entrypoint) {
    own.Entrypoint = [...spec.image.entrypoint];
    own.Cmd = null;
  }
  if (spec.image.workingDir) own.WorkingDir = spec.image.workingDir;
  config.created = created;
  config.rootfs = { type: 'layers', diff_ids: [...config.rootfs.diff_ids, diffId] };
  config.history = [...(config.history ?? []), { created, created_by: spec.createdBy, comment: 'AppServing direct build' }];
  return config;
}

async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
