import type { FastifyInstance } from 'fastify';

/**
 * JSON bodies as fastify reads them (prototype poisoning refused), except that an empty body is no body: many HTTP
 * clients send `Content-Type: application/json` on a DELETE or a bodiless POST (`/promote`, `/abort`), and fastify
 * would answer 400 `fst_err_ctp_empty_json_body`, a code the API reference does not list. A route whose body is
 * required still refuses it, through its schema (`invalid_request`, "body is required").
 */
export function acceptEmptyJsonBodies(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    void parse(request, text, done);
  });
}

/**
 * fastify's own 4xx codes in the API's words (the reference lists these): a body that is not JSON is
 * `invalid_json`, a content type no route reads is `unsupported_media_type`, a body over the limit is
 * `payload_too_large`; anything else keeps fastify's code, lower-cased.
 */
export function frameworkCode(error: { statusCode?: number | undefined; code?: string | undefined; name?: string }): string {
  if (error.statusCode === 413) return 'payload_too_large';
  if (error.statusCode === 415 || error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return 'unsupported_media_type';
  if (error.name === 'SyntaxError' || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY') return 'invalid_json';
  return (error.code ?? 'bad_request').toLowerCase();
}
