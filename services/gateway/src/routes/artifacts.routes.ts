import { InputError, TooLargeError } from '@appserving/shared';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { formatBytes, type ArtifactStore } from '@appserving/shared/artifacts';
import { ErrorBody } from '../schemas/app.schemas.ts';

const UploadQuery = Type.Object(
  { filename: Type.String({ pattern: '^[^/\\\\]{1,255}\\.(jar|war|zip)$', errorMessage: 'must be a file name ending in .jar, .war or .zip' }) },
  { additionalProperties: false },
);
type UploadQuery = Type.Static<typeof UploadQuery>;

const Uploaded = Type.Object({
  sha256: Type.String(),
  size: Type.Integer(),
  filename: Type.String(),
  artifact_url: Type.String({ description: 'Use as artifact_url in POST /apps or PATCH /apps/{id}.' }),
  deduplicated: Type.Boolean(),
});

/**
 * `POST /artifacts?filename=app.jar` with the file as the raw body: the "deploy from my laptop, no Nexus"
 * path. The body streams into the NATS Object Store; size and type are checked while it streams.
 */
export async function artifactsRoutes(app: FastifyInstance, deps: { store: ArtifactStore }): Promise<void> {
  // Hand the request stream to the store untouched (this plugin's context only): no buffering, no JSON.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
  // A refused upload is answered before its body has been read: close the connection, or the client keeps
  // sending into a socket nobody reads and its next request on that connection never gets an answer.
  app.addHook('onError', async (_request, reply) => {
    void reply.header('connection', 'close');
  });
  app.post(
    '/artifacts',
    {
      // A body declared larger than the limit is refused from its Content-Length, before a byte of it is read; one
      // that grows past it while streaming is cut off there (artifact_too_large). Both are 413.
      preParsing: async (request, _reply, payload) => {
        const declared = Number(request.headers['content-length']);
        if (Number.isFinite(declared) && declared > deps.store.maxBytes) {
          throw new TooLargeError('payload_too_large', `the upload announces ${declared} bytes, more than the artifact size limit of ${formatBytes(deps.store.maxBytes)}`, {
            details: { max_bytes: deps.store.maxBytes, declared_bytes: declared },
          });
        }
        return payload;
      },
      bodyLimit: deps.store.maxBytes + 1024 * 1024,
      schema: {
        querystring: UploadQuery,
        response: { 201: Uploaded, 400: ErrorBody, 413: ErrorBody },
        summary: 'Upload a jar, war or zip (raw body); returns its sha256 and an artifact_url',
        tags: ['artifacts'],
      },
    },
    async (request, reply) => {
      const { filename } = request.query as UploadQuery;
      const contentType = request.headers['content-type'];
      if (request.body === undefined || request.body === null) {
        throw new InputError('artifact_empty', 'send the file as the request body (e.g. curl --data-binary @app.jar)');
      }
      const stored = await deps.store.put(request.body as NodeJS.ReadableStream & AsyncIterable<Uint8Array>, {
        filename,
        ...(contentType ? { contentType } : {}),
      });
      return reply.code(201).send({
        sha256: stored.sha256,
        size: stored.size,
        filename: stored.filename,
        artifact_url: stored.artifactUrl,
        deduplicated: stored.deduplicated,
      });
    },
  );
}
