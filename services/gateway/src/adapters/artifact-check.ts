import { InputError } from '@appserving/shared';
import { checkArtifactUrl, parseStoredArtifactUrl, type ArtifactStore, type ArtifactUrlPolicy } from '@appserving/shared/artifacts';

/** What the gateway learns about an artifact_url when it accepts it. */
export interface ArtifactFacts {
  /** The uploaded file's name, for an artifact from POST /artifacts (tells jar, war or python apart). */
  filename?: string;
}

/**
 * The gateway's check of an `artifact_url` before anything is stored: an uploaded artifact must exist in the
 * store; any other URL must pass the fetch rules (scheme, private and metadata addresses, allowlist). The fetch
 * itself happens in the builder, under the same rules.
 */
export function artifactUrlChecker(deps: { store: ArtifactStore; policy: ArtifactUrlPolicy }): (url: string) => Promise<ArtifactFacts> {
  return async (url) => {
    const sha = parseStoredArtifactUrl(url);
    if (sha === undefined) {
      await checkArtifactUrl(url, deps.policy);
      return {};
    }
    const stored = await deps.store.info(sha);
    if (!stored) {
      throw new InputError('artifact_not_found', `artifact_url ${url} names no uploaded artifact (upload it with POST /artifacts)`, {
        details: { field: 'artifact_url' },
      });
    }
    return stored.filename ? { filename: stored.filename } : {};
  };
}
