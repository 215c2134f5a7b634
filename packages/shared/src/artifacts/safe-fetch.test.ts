import { createHash, randomBytes } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseArtifactHostAllowlist, type HostResolver } from './artifact-url.guard.ts';
import { probeArtifactUrl, safeFetch, safeFetchBuffer } from './safe-fetch.ts';
import { failure } from '../testing/assertions.ts';

/**
 * Real HTTP servers on 127.0.0.1, real sockets. Every address outside loopback that appears here must be refused
 * before a connection is attempted: the undici `beforeConnect` channel records every connection undici opens.
 */

const artifact = randomBytes(300_000);
const artifactSha256 = createHash('sha256').update(artifact).digest('hex');

interface TestServer {
  server: Server;
  port: number;
  base: string;
  connections: number;
  requests: Array<{ method: string; url: string; host: string | undefined }>;
  /** Bytes the endless route managed to write before the client hung up. */
  endlessBytesWritten: number;
  endlessClosed: Promise<void>;
}

async function startServer(): Promise<TestServer> {
  let closed!: () => void;
  const state: TestServer = {
    server: undefined as unknown as Server,
    port: 0,
    base: '',
    connections: 0,
    requests: [],
    endlessBytesWritten: 0,
    endlessClosed: new Promise<void>((resolve) => (closed = resolve)),
  };
  state.server = createServer((req, res) => {
    state.requests.push({ method: req.method ?? '', url: req.url ?? '', host: req.headers.host });
    route(state, req, res, closed);
  });
  state.server.on('connection', () => (state.connections += 1));
  await new Promise<void>((resolve) => state.server.listen(0, '127.0.0.1', resolve));
  state.port = (state.server.address() as AddressInfo).port;
  state.base = `http://127.0.0.1:${state.port}`;
  return state;
}

function route(state: TestServer, req: IncomingMessage, res: ServerResponse, endlessClosed: () => void): void {
  const url = new URL(req.url ?? '/', 'http://x');
  const loop = /^\/loop\/(\d+)$/.exec(url.pathname);
  if (url.pathname === '/app.jar') {
    res.writeHead(200, { 'content-type': 'application/java-archive', 'content-length': artifact.length });
    res.end(req.method === 'HEAD' ? undefined : artifact);
  } else if (url.pathname === '/no-head.jar') {
    if (req.method === 'HEAD') {
      res.writeHead(405).end();
    } else {
      res.writeHead(206, { 'content-range': `bytes 0-0/${artifact.length}` }).end(artifact.subarray(0, 1));
    }
  } else if (url.pathname === '/redirect') {
    res.writeHead(302, { location: url.searchParams.get('to') ?? '/' }).end();
  } else if (loop) {
    res.writeHead(302, { location: `/loop/${Number(loop[1]) + 1}` }).end();
  } else if (url.pathname === '/big-announced') {
    res.writeHead(200, { 'content-length': 10 * 1024 * 1024 });
    res.end(); // never sends the body: the client must refuse from the header alone
  } else if (url.pathname === '/endless') {
    // No Content-Length: the limit can only be enforced while streaming.
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    const chunk = Buffer.alloc(64 * 1024, 7);
    let open = true;
    res.on('close', () => {
      open = false;
      endlessClosed();
    });
    const pump = () => {
      while (open && state.endlessBytesWritten < 1024 * 1024 * 1024) {
        state.endlessBytesWritten += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
    };
    pump();
  } else if (url.pathname === '/hang') {
    // Answers nothing; the fetch deadline must end the wait.
  } else if (url.pathname === '/missing.jar') {
    res.writeHead(404).end('not here');
  } else {
    res.writeHead(500).end();
  }
}

/** A resolver with made-up names; it throws for anything else, so no test can reach real DNS. */
function fakeDns(table: Record<string, string[]>): HostResolver & { calls: string[] } {
  const calls: string[] = [];
  return Object.assign(
    async (hostname: string) => {
      calls.push(hostname);
      const answers = table[hostname];
      if (!answers) throw Object.assign(new Error(`ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
      return answers;
    },
    { calls },
  );
}

let server: TestServer;
const connectAttempts: string[] = [];
const onBeforeConnect = (message: unknown) => {
  const { connectParams } = message as { connectParams: { hostname: string; port: string } };
  connectAttempts.push(`${connectParams.hostname}:${connectParams.port}`);
};

beforeAll(async () => {
  server = await startServer();
  subscribe('undici:client:beforeConnect', onBeforeConnect);
});

afterAll(async () => {
  unsubscribe('undici:client:beforeConnect', onBeforeConnect);
  server.server.closeAllConnections();
  await new Promise((resolve) => server.server.close(resolve));
});

afterEach(() => {
  // Whatever a test did, no connection ever went anywhere but this test's server.
  expect(connectAttempts.filter((target) => target !== `127.0.0.1:${server.port}` && target !== `artifacts.test:${server.port}`)).toEqual([]);
  connectAttempts.length = 0;
  server.requests.length = 0;
  server.connections = 0;
});

const loopbackAllowed = () => parseArtifactHostAllowlist(`127.0.0.1:${server.port}`);

describe('safeFetch', () => {
  it('fetches from an allowlisted 127.0.0.1 with the right sha256, size and content type', async () => {
    const fetched = await safeFetchBuffer(`${server.base}/app.jar`, { allowlist: loopbackAllowed() });
    expect(fetched.sha256).toBe(artifactSha256);
    expect(fetched.size).toBe(artifact.length);
    expect(fetched.body.equals(artifact)).toBe(true);
    expect(fetched.contentType).toBe('application/java-archive');
  });

  it('streams the body and gives the digest at its end', async () => {
    const response = await safeFetch(`${server.base}/app.jar`, { allowlist: loopbackAllowed() });
    expect(() => response.digest()).toThrow(/before the body was read/);
    const hash = createHash('sha256');
    for await (const chunk of response.body) hash.update(chunk as Buffer);
    expect(response.digest()).toEqual({ sha256: artifactSha256, size: artifact.length });
    expect(hash.digest('hex')).toBe(artifactSha256);
  });

  it('connects to the address it checked, resolving once, with the original Host header', async () => {
    // artifacts.test exists only in this resolver: if anything resolved it again through the system, it would fail.
    const dns = fakeDns({ 'artifacts.test': ['127.0.0.1'] });
    const fetched = await safeFetchBuffer(`http://artifacts.test:${server.port}/app.jar`, {
      allowlist: parseArtifactHostAllowlist('artifacts.test'),
      resolve: dns,
    });
    expect(fetched.sha256).toBe(artifactSha256);
    expect(dns.calls).toEqual(['artifacts.test']);
    expect(server.requests).toEqual([{ method: 'GET', url: '/app.jar', host: `artifacts.test:${server.port}` }]);
  });

  it('refuses 127.0.0.1 when it is not allowlisted, before connecting', async () => {
    const error = await failure(safeFetch(`${server.base}/app.jar`));
    expect(error.code).toBe('artifact_url_private_address');
    expect(error.message).toContain('loopback range (127.0.0.0/8)');
    expect(server.connections).toBe(0);
    expect(connectAttempts).toEqual([]);
  });

  // Addresses an attacker would give (issue #4's SSRF cases): each must be refused before any connection, and
  // `connectAttempts` (every socket this file's fetches open) proves none was dialed.
  it.each([
    ['http://169.254.169.254/latest/meta-data/iam/', 'artifact_url_private_address'],
    ['http://10.0.0.1/app.jar', 'artifact_url_private_address'],
    ['http://[::1]:1/app.jar', 'artifact_url_private_address'],
    ['http://[::ffff:127.0.0.1]:1/app.jar', 'artifact_url_private_address'],
    ['http://2130706433:1/app.jar', 'artifact_url_private_address'],
    ['file:///etc/passwd', 'artifact_url_scheme'],
  ])('refuses %s without connecting', async (url, code) => {
    expect((await failure(safeFetch(url))).code).toBe(code);
    expect(connectAttempts).toEqual([]);
  });

  it('refuses a hostname that resolves to a private address', async () => {
    const error = await failure(safeFetch('https://build-cache.test/app.jar', { resolve: fakeDns({ 'build-cache.test': ['10.1.2.3'] }) }));
    expect(error.code).toBe('artifact_url_private_address');
    expect(error.message).toContain('build-cache.test resolves to 10.1.2.3');
    expect(connectAttempts).toEqual([]);
  });

  it.each([
    ['http://10.0.0.1/app.jar', '10.0.0.0/8'],
    ['http://169.254.169.254/latest/meta-data/', '169.254.169.254/32'],
  ])('refuses a redirect from an allowlisted server to %s without connecting there', async (to, range) => {
    const error = await failure(safeFetch(`${server.base}/redirect?to=${encodeURIComponent(to)}`, { allowlist: loopbackAllowed() }));
    expect(error.code).toBe('artifact_url_private_address');
    expect(error.details?.range).toBe(range);
    expect(server.requests.map((r) => r.url)).toEqual([`/redirect?to=${encodeURIComponent(to)}`]);
    expect(connectAttempts).toEqual([`127.0.0.1:${server.port}`]);
  });

  it('follows allowed redirects and reports where it ended', async () => {
    const fetched = await safeFetch(`${server.base}/redirect?to=/app.jar`, { allowlist: loopbackAllowed() });
    fetched.body.resume();
    await new Promise((resolve) => fetched.body.once('end', resolve));
    expect(fetched.url).toBe(`${server.base}/app.jar`);
    expect(fetched.redirects).toBe(1);
    expect(fetched.digest().sha256).toBe(artifactSha256);
  });

  it('refuses more than maxRedirects redirects', async () => {
    const error = await failure(safeFetch(`${server.base}/loop/0`, { allowlist: loopbackAllowed(), maxRedirects: 5 }));
    expect(error.code).toBe('artifact_url_redirects');
    expect(error.message).toContain('more than 5 times');
    expect(server.requests).toHaveLength(6);
  });

  it('stops an endless body at maxBytes with artifact_too_large, without reading the rest', async () => {
    const maxBytes = 1024 * 1024;
    const before = process.memoryUsage();
    const response = await safeFetch(`${server.base}/endless`, { allowlist: loopbackAllowed(), maxBytes });
    let read = 0;
    const error = await failure(
      (async () => {
        for await (const chunk of response.body) read += (chunk as Buffer).length;
      })(),
    );
    expect(error.code).toBe('artifact_too_large');
    expect(error.message).toContain('limit of 1 MiB');
    expect(read).toBeLessThanOrEqual(maxBytes);
    // The server sees the connection close; it got no further than the limit plus socket buffers.
    await server.endlessClosed;
    expect(server.endlessBytesWritten).toBeLessThan(16 * maxBytes);
    expect(process.memoryUsage().arrayBuffers - before.arrayBuffers).toBeLessThan(32 * 1024 * 1024);
  });

  it('refuses a body whose Content-Length is over maxBytes before reading it', async () => {
    const error = await failure(safeFetch(`${server.base}/big-announced`, { allowlist: loopbackAllowed(), maxBytes: 1024 * 1024 }));
    expect(error.code).toBe('artifact_too_large');
    expect(error.message).toContain('announces 10 MiB');
  });

  it('gives up after timeoutMs', async () => {
    const started = Date.now();
    const error = await failure(safeFetch(`${server.base}/hang`, { allowlist: loopbackAllowed(), timeoutMs: 300 }));
    expect(error.code).toBe('artifact_fetch_timeout');
    expect(error.kind).toBe('retryable');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('reports a 404 as an input error naming the host and status', async () => {
    const error = await failure(safeFetch(`${server.base}/missing.jar`, { allowlist: loopbackAllowed() }));
    expect(error.code).toBe('artifact_url_status');
    expect(error.kind).toBe('input');
    expect(error.message).toBe(`artifact_url host 127.0.0.1:${server.port} answered HTTP 404 for /missing.jar`);
  });

  it('reports a closed port as retryable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await failure(safeFetch(`http://127.0.0.1:${port}/app.jar`, { allowlist: parseArtifactHostAllowlist('127.0.0.1') }));
    expect(error.code).toBe('artifact_url_unreachable');
    expect(error.message).toContain('ECONNREFUSED');
    connectAttempts.length = 0; // that port was on 127.0.0.1 too
  });
});

describe('probeArtifactUrl', () => {
  it('checks reachability with HEAD, downloading nothing', async () => {
    const probe = await probeArtifactUrl(`${server.base}/app.jar`, { allowlist: loopbackAllowed() });
    expect(probe).toMatchObject({ status: 200, size: artifact.length, contentType: 'application/java-archive' });
    expect(server.requests.map((r) => r.method)).toEqual(['HEAD']);
  });

  it('falls back to a one-byte ranged GET when HEAD is refused', async () => {
    const probe = await probeArtifactUrl(`${server.base}/no-head.jar`, { allowlist: loopbackAllowed() });
    expect(probe).toMatchObject({ status: 206, size: artifact.length });
    expect(server.requests.map((r) => r.method)).toEqual(['HEAD', 'GET']);
  });

  it('refuses an announced size over the limit', async () => {
    const error = await failure(probeArtifactUrl(`${server.base}/app.jar`, { allowlist: loopbackAllowed(), maxBytes: 1000 }));
    expect(error.code).toBe('artifact_too_large');
  });

  it('applies the address rules', async () => {
    expect((await failure(probeArtifactUrl(`${server.base}/app.jar`))).code).toBe('artifact_url_private_address');
    expect(server.connections).toBe(0);
  });
});
