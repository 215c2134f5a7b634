import type { FastifyInstance } from 'fastify';
import { isAppServingError, type SecretBox } from '@appserving/shared';
import type { ArtifactStore } from '@appserving/shared/artifacts';

/**
 * How a Kaniko build Pod gets its artifact: its init container downloads it from here, with a bearer token made
 * for that one build. The token is sealed with the platform's secret keys (the same box that encrypts
 * kubeconfigs), binding the release, the artifact's sha256 and an expiry; any builder replica can check it
 * without shared state, and serves the bytes from the upload store, which verifies them against their name.
 */

const aad = (releaseId: string) => `build-artifact:${releaseId}`;

export function buildArtifactToken(box: SecretBox, releaseId: string, sha256: string, expiresAt: number): string {
  return box.encrypt(JSON.stringify({ sha256, expiresAt }), aad(releaseId)).toString('base64url');
}

export function buildArtifactPath(releaseId: string, sha256: string): string {
  return `/build-artifacts/${releaseId}/${sha256}`;
}

export function registerBuildArtifactsRoute(app: FastifyInstance, deps: { box: SecretBox; store: () => ArtifactStore | undefined; now?: () => number }): void {
  const now = deps.now ?? Date.now;
  app.get<{ Params: { releaseId: string; sha256: string } }>('/build-artifacts/:releaseId/:sha256', async (request, reply) => {
    const { releaseId, sha256 } = request.params;
    const token = /^Bearer ([A-Za-z0-9_-]+)$/.exec(request.headers.authorization ?? '')?.[1];
    if (!token) return reply.code(401).send({ error: 'a build token is required (Authorization: Bearer …)' });
    let claims: { sha256?: string; expiresAt?: number };
    try {
      claims = JSON.parse(deps.box.decryptText(Buffer.from(token, 'base64url'), aad(releaseId))) as typeof claims;
    } catch {
      return reply.code(403).send({ error: 'the build token is not valid for this build' });
    }
    if (claims.sha256 !== sha256) return reply.code(403).send({ error: 'the build token is for another artifact' });
    if (typeof claims.expiresAt !== 'number' || claims.expiresAt < now()) return reply.code(403).send({ error: 'the build token has expired' });
    const store = deps.store();
    if (!store) return reply.code(503).send({ error: 'the builder is starting' });
    try {
      const info = await store.info(sha256);
      if (!info) return reply.code(404).send({ error: `no artifact ${sha256}` });
      const body = await store.get(sha256);
      return reply.header('content-type', 'application/octet-stream').header('content-length', String(info.size)).send(body);
    } catch (error) {
      request.log.warn({ err: error, releaseId }, 'could not serve a build artifact');
      return reply.code(isAppServingError(error) && error.kind === 'not-found' ? 404 : 503).send({ error: 'the artifact cannot be read now' });
    }
  });
}
