import { createHash } from 'node:crypto';
import { InputError, type AppType, type ReleaseRefV1, type ReleaseSpecV1 } from '@appserving/shared';
import { repositoryComponent } from '../adapters/registry/image-ref.ts';

/** How an image is made: a layer pushed by the builder itself, or a Kaniko Pod running a generated Dockerfile. */
export type BuildMethod = 'direct' | 'kaniko';

/** Template ids and versions: a change to what a template produces bumps its version, which changes the cache key. */
export const TEMPLATES = {
  direct: { jar: 'direct-jar@1', war: 'direct-war@1' },
  kaniko: { jar: 'kaniko-jar@1', war: 'kaniko-war@1', python: 'kaniko-python@1' },
} as const;

export interface BuildDefaults {
  readonly defaultMethod: BuildMethod;
  readonly baseImages: Readonly<Record<AppType, string>>;
}

export interface BuildPlan {
  readonly method: BuildMethod;
  readonly appType: AppType;
  readonly template: string;
  /** The base image as configured (a tag or a digest); resolved to a digest before the key is known. */
  readonly baseImage: string;
  /** The app's port: written into the image (EXPOSE, SERVER_PORT / PORT). */
  readonly port: number;
}

/** Decides how a release is built. Throws InputError for a release the builder cannot build. */
export function planBuild(spec: ReleaseSpecV1, defaults: BuildDefaults): BuildPlan {
  const appType = spec.app_type;
  if (!appType) throw new InputError('app_type_missing', 'the release has no app_type (jar, war or python): the builder cannot tell how to build it');
  if (!spec.artifact_url) throw new InputError('artifact_url_missing', 'the release has no artifact_url: there is nothing to build');
  const wanted: BuildMethod = spec.build_method ?? (appType === 'python' ? 'kaniko' : defaults.defaultMethod);
  if (wanted === 'direct' && appType === 'python') {
    throw new InputError('build_method_unsupported', 'build_method direct is for jar and war apps; a Python app needs its requirements installed, so it is built with kaniko');
  }
  const template = wanted === 'direct' ? TEMPLATES.direct[appType as 'jar' | 'war'] : TEMPLATES.kaniko[appType];
  return { method: wanted, appType, template, baseImage: defaults.baseImages[appType], port: spec.port };
}

/**
 * The content key of an image: equal keys mean an equal image, so a build whose key already has a `cache-<key>`
 * tag in the app's repository is skipped and that image reused.
 */
export function cacheKey(parts: { artifactSha256: string; baseDigest: string; template: string; port: number; platform: string }): string {
  const canonical = JSON.stringify([parts.artifactSha256, parts.baseDigest, parts.template, parts.port, parts.platform]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 40);
}

export const cacheTag = (key: string) => `cache-${key}`;
export const versionTag = (ref: ReleaseRefV1) => `v${ref.version}`;

/** Where a registry setting (`host[:port][/prefix]`) puts an app's images: `<prefix>/<namespace>/<app>`. */
export function imageRepository(registry: string, namespace: string, appName: string): { host: string; repository: string } {
  const slash = registry.indexOf('/');
  const host = slash < 0 ? registry : registry.slice(0, slash);
  const prefix = slash < 0 ? '' : registry.slice(slash + 1).replace(/\/+$/, '');
  const path = [prefix, repositoryComponent(namespace), repositoryComponent(appName)].filter(Boolean).join('/');
  return { host, repository: path };
}

/** The repository of the target registry that keeps copies of base images from other registries. */
export function mirrorRepository(registry: string, baseRepository: string): string {
  const slash = registry.indexOf('/');
  const prefix = slash < 0 ? '' : registry.slice(slash + 1).replace(/\/+$/, '');
  return [prefix, 'appserving-base-mirror', baseRepository].filter(Boolean).join('/');
}

/** Labels written into every image (content only: the same artifact gives the same image in any release). */
export function imageLabels(ref: ReleaseRefV1, artifactSha256: string, basePinned: string, template: string): Record<string, string> {
  return {
    'org.opencontainers.image.title': ref.app_name,
    'org.opencontainers.image.base.name': basePinned.split('@')[0] ?? basePinned,
    'org.opencontainers.image.base.digest': basePinned.split('@')[1] ?? '',
    'dev.appserving.app-id': ref.app_id,
    'dev.appserving.artifact.sha256': artifactSha256,
    'dev.appserving.template': template,
  };
}
