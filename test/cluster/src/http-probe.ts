import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';

export interface ProbeResponse {
  readonly status: number;
  readonly body: string;
}

export interface ProbeOptions {
  /** PEM CA to verify the server; without it, TLS is not verified (only for 127.0.0.1 health endpoints). */
  readonly ca?: string;
  readonly token?: string;
  readonly timeoutMs?: number;
}

/** GET on a 127.0.0.1 URL (http or https), used for health checks of the components. */
export function probe(url: string, opts: ProbeOptions = {}): Promise<ProbeResponse> {
  const target = new URL(url);
  if (target.hostname !== '127.0.0.1') throw new Error(`refusing to probe ${url}: only 127.0.0.1 is allowed`);
  const headers: Record<string, string> = opts.token ? { authorization: `Bearer ${opts.token}` } : {};
  return new Promise((resolve, reject) => {
    const done = (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    };
    const req =
      target.protocol === 'https:'
        ? httpsRequest(target, { headers, ca: opts.ca, rejectUnauthorized: opts.ca !== undefined }, done)
        : httpRequest(target, { headers }, done);
    req.setTimeout(opts.timeoutMs ?? 2000, () => req.destroy(new Error(`timeout on ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

export async function probeOk(url: string, opts: ProbeOptions = {}): Promise<boolean> {
  return (await probe(url, opts)).status === 200;
}
