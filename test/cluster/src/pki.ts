import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Key material of one local cluster: a CA, the apiserver's serving pair, the service-account key pair, a token. */
export interface Pki {
  readonly dir: string;
  readonly caCert: string;
  readonly apiserverCert: string;
  readonly apiserverKey: string;
  readonly serviceAccountKey: string;
  readonly serviceAccountPub: string;
  readonly tokenFile: string;
  readonly adminToken: string;
}

function paths(dir: string): Omit<Pki, 'adminToken'> {
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    apiserverCert: join(dir, 'apiserver.crt'),
    apiserverKey: join(dir, 'apiserver.key'),
    serviceAccountKey: join(dir, 'sa.key'),
    serviceAccountPub: join(dir, 'sa.pub'),
    tokenFile: join(dir, 'tokens.csv'),
  };
}

function openssl(cwd: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * Creates the PKI once (EC P-256 keys with openssl, fast) and reuses it on later starts. Built in a temporary
 * directory and renamed into place, so an interrupted run never leaves half a PKI behind.
 */
export function ensurePki(dir: string): Pki {
  if (!existsSync(join(dir, 'tokens.csv'))) {
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    openssl(tmp, 'req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '3650', '-subj', '/CN=appserving-test-ca');
    openssl(tmp, 'req', ...ec, '-keyout', 'apiserver.key', '-out', 'apiserver.csr', '-subj', '/CN=kube-apiserver');
    writeFileSync(
      join(tmp, 'apiserver.ext'),
      'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\n' +
        'extendedKeyUsage=serverAuth\n',
    );
    openssl(tmp, 'x509', '-req', '-in', 'apiserver.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
      '-out', 'apiserver.crt', '-days', '3650', '-extfile', 'apiserver.ext');
    openssl(tmp, 'ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'sa.key');
    openssl(tmp, 'ec', '-in', 'sa.key', '-pubout', '-out', 'sa.pub');
    // Static token of the cluster admin (group system:masters); used by every component and by tests.
    writeFileSync(join(tmp, 'tokens.csv'), `${randomBytes(24).toString('hex')},appserving-admin,appserving-admin,"system:masters"\n`, { mode: 0o600 });
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  }
  const adminToken = readFileSync(join(dir, 'tokens.csv'), 'utf8').split(',')[0] ?? '';
  return { ...paths(dir), adminToken };
}
