import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createPrivateKey, createSign, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import bcrypt from 'bcryptjs';
import { freePort } from '@appserving/shared/testing';

/**
 * A registry of a test's own (Debian's docker-registry, the same program as the local cluster's), on 127.0.0.1,
 * that wants credentials: htpasswd (basic auth), or bearer tokens from a token service run here, signed with a
 * key whose self-signed certificate the registry trusts — the flow of Docker Hub, Harbor and GHCR.
 */
export interface PrivateRegistry {
  readonly host: string;
  readonly username: string;
  readonly password: string;
  /** Token requests the token service answered, with the scopes asked for. */
  readonly tokenRequests: { user: string | undefined; scopes: string[] }[];
  stop(): Promise<void>;
}

const run = promisify(execFile);

export async function startPrivateRegistry(auth: 'htpasswd' | 'token'): Promise<PrivateRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'appserving-registry-'));
  const port = await freePort();
  const username = 'robot';
  const password = `pw-${randomUUID()}`;
  const tokenRequests: PrivateRegistry['tokenRequests'] = [];
  let tokenServer: Server | undefined;
  let authConfig: string;

  if (auth === 'htpasswd') {
    await writeFile(join(dir, 'htpasswd'), `${username}:${bcrypt.hashSync(password, 6)}\n`);
    authConfig = `auth:\n  htpasswd:\n    realm: appserving-test\n    path: ${join(dir, 'htpasswd')}\n`;
  } else {
    await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=appserving-test-token', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]);
    const key = createPrivateKey(await readFile(join(dir, 'key.pem')));
    const certDer = (await readFile(join(dir, 'cert.pem'), 'utf8')).replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
    tokenServer = createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      const basic = /^Basic (.+)$/.exec(request.headers.authorization ?? '')?.[1];
      const [user, pass] = basic ? Buffer.from(basic, 'base64').toString().split(':') : [undefined, undefined];
      const scopes = url.searchParams.getAll('scope');
      tokenRequests.push({ user, scopes });
      if (user !== undefined && (user !== username || pass !== password)) return void response.writeHead(401).end();
      // Anonymous callers get a token that grants nothing, as Docker Hub does for private repositories.
      const access = user === undefined ? [] : scopes.map((s) => s.split(':')).map(([type, name, actions]) => ({ type, name, actions: (actions ?? '').split(',') }));
      const now = Math.floor(Date.now() / 1000);
      const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const body = `${encode({ alg: 'RS256', typ: 'JWT', x5c: [certDer] })}.${encode({ iss: 'appserving-test', sub: user ?? '', aud: 'appserving-test-registry', exp: now + 300, nbf: now - 10, iat: now, jti: randomUUID(), access })}`;
      const signature = createSign('RSA-SHA256').update(body).sign(key).toString('base64url');
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `${body}.${signature}`, expires_in: 300 }));
    });
    await new Promise<void>((resolve) => tokenServer?.listen(0, '127.0.0.1', resolve));
    const tokenPort = (tokenServer.address() as AddressInfo).port;
    authConfig = `auth:\n  token:\n    realm: http://127.0.0.1:${tokenPort}/token\n    service: appserving-test-registry\n    issuer: appserving-test\n    rootcertbundle: ${join(dir, 'cert.pem')}\n`;
  }

  await writeFile(
    join(dir, 'config.yml'),
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\nhttp:\n  addr: 127.0.0.1:${port}\n${authConfig}`,
  );
  const child: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const deadline = Date.now() + 15_000;
  for (;;) {
    const answered = await fetch(`http://127.0.0.1:${port}/v2/`).then(
      (r) => r.status === 401,
      () => false,
    );
    if (answered) break;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`docker-registry did not start: ${stderr}`);
    await sleep(100);
  }

  return {
    host: `127.0.0.1:${port}`,
    username,
    password,
    tokenRequests,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await new Promise<void>((resolve) => (tokenServer ? tokenServer.close(() => resolve()) : resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
