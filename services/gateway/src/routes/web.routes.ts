import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';
import { promisify } from 'node:util';
import { brotliCompress, gzip, constants as zlib } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * The web console (packages/web), served by the gateway on the same origin as the API under `/console/`: the
 * session cookie then needs no CORS and stays SameSite=Strict. The built files are read once at start and
 * kept in memory, each compressed (brotli and gzip) the first time it is asked for, not at start: the strongest
 * compression of the whole console takes seconds of CPU that a gateway nobody browses should not spend; hashed
 * assets are cached for good, the page itself never.
 *
 * Every console page is sent with a strict Content-Security-Policy: scripts only from this origin (no inline
 * script, no eval), styles from this origin or carrying the per-response nonce (the component library writes
 * its theme variables into a <style> element that carries it), connections to this origin only, no framing.
 */
export interface WebRoutesDeps {
  /** The console's build output (packages/web/dist); missing: the console routes answer 503. */
  dir: string;
}

export const NONCE_PLACEHOLDER = '__CSP_NONCE__';

interface StaticFile {
  type: string;
  body: Buffer;
  gzip: () => Promise<Buffer>;
  br: () => Promise<Buffer>;
  etag: string;
}

const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);

/** A value made on first use (off the event loop: zlib works in libuv's thread pool) and kept. */
function once(make: () => Promise<Buffer>): () => Promise<Buffer> {
  let value: Promise<Buffer> | undefined;
  return () => (value ??= make());
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

export function contentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    `style-src 'self' 'nonce-${nonce}'`,
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export async function webRoutes(app: FastifyInstance, deps: WebRoutesDeps): Promise<void> {
  const files = existsSync(join(deps.dir, 'index.html')) ? await loadFiles(deps.dir) : undefined;
  const index = files?.get('index.html')?.body.toString('utf8');

  app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/console/'));
  app.get('/console', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/console/'));

  const notBuilt = (reply: FastifyReply) =>
    reply.code(503).send({ error: { code: 'console_not_built', message: 'the web console is not built: run `pnpm --filter @appserving/web build` (scripts/start.sh does)' } });

  app.get('/console/assets/*', { schema: { hide: true } }, async (request, reply) => {
    if (!files) return notBuilt(reply);
    const file = files.get(`assets/${(request.params as { '*': string })['*']}`);
    if (!file) return reply.code(404).send({ error: { code: 'asset_not_found', message: 'no such console asset' } });
    return sendFile(request, reply, file, 'public, max-age=31536000, immutable');
  });

  app.get('/console/*', { schema: { hide: true } }, async (request, reply) => {
    if (!files || index === undefined) return notBuilt(reply);
    const path = (request.params as { '*': string })['*'];
    const file = path !== 'index.html' ? files.get(path) : undefined;
    if (file) return sendFile(request, reply, file, 'public, max-age=3600');
    // Every other path is a page of the console (its router decides): the page, with a fresh nonce.
    const nonce = randomBytes(16).toString('base64');
    securityHeaders(reply, nonce);
    return reply.header('content-type', TYPES['.html']).header('cache-control', 'no-store').send(index.replaceAll(NONCE_PLACEHOLDER, nonce));
  });
}

function securityHeaders(reply: FastifyReply, nonce: string): void {
  void reply
    .header('content-security-policy', contentSecurityPolicy(nonce))
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'same-origin')
    .header('cross-origin-opener-policy', 'same-origin');
}

async function sendFile(request: FastifyRequest, reply: FastifyReply, file: StaticFile, cacheControl: string) {
  securityHeaders(reply, randomBytes(16).toString('base64'));
  void reply.header('content-type', file.type).header('cache-control', cacheControl).header('etag', file.etag).header('vary', 'accept-encoding');
  if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
  const accepted = String(request.headers['accept-encoding'] ?? '');
  if (/\bbr\b/.test(accepted)) return reply.header('content-encoding', 'br').send(await file.br());
  if (/\bgzip\b/.test(accepted)) return reply.header('content-encoding', 'gzip').send(await file.gzip());
  return reply.send(file.body);
}

async function loadFiles(dir: string): Promise<Map<string, StaticFile>> {
  const files = new Map<string, StaticFile>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = join(entry.parentPath, entry.name);
    const body = await readFile(full);
    const name = relative(dir, full).split(sep).join('/');
    files.set(name, {
      type: TYPES[extname(name)] ?? 'application/octet-stream',
      body,
      gzip: once(() => gzipAsync(body, { level: 9 })),
      br: once(() => brotliAsync(body, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11 } })),
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
    });
  }
  return files;
}
