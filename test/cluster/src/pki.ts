import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REAL_NODE_NAME } from './node/node-layout.ts';

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
  /** The real node's kubelet token (user system:node:<name>, group system:nodes). */
  readonly nodeToken: string;
  /** The API server's client certificate for kubelets (logs, exec, port-forward), signed by the CA. */
  readonly kubeletClientCert: string;
  readonly kubeletClientKey: string;
  /** Prometheus's client certificate for the real node's kubelet (its /metrics/cadvisor), signed by the CA; one file holds both. */
  readonly prometheusClientCert: string;
  readonly prometheusClientKey: string;
}

/** The real node kubelet's identity, in the token file. */
const NODE_USER = `system:node:${REAL_NODE_NAME}`;

function paths(dir: string): Omit<Pki, 'adminToken' | 'nodeToken'> {
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    apiserverCert: join(dir, 'apiserver.crt'),
    apiserverKey: join(dir, 'apiserver.key'),
    serviceAccountKey: join(dir, 'sa.key'),
    serviceAccountPub: join(dir, 'sa.pub'),
    tokenFile: join(dir, 'tokens.csv'),
    kubeletClientCert: join(dir, 'kubelet-client.crt'),
    kubeletClientKey: join(dir, 'kubelet-client.key'),
    prometheusClientCert: join(dir, 'prometheus-client.pem'),
    prometheusClientKey: join(dir, 'prometheus-client.pem'),
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
  addRealNodeCredentials(dir);
  const lines = readFileSync(join(dir, 'tokens.csv'), 'utf8').split('\n');
  const adminToken = lines[0]?.split(',')[0] ?? '';
  const nodeToken = lines.find((line) => line.split(',')[1] === NODE_USER)?.split(',')[0] ?? '';
  return { ...paths(dir), adminToken, nodeToken };
}

/**
 * The real node's credentials, added to a PKI made before the node existed: the kubelet's token (the API server
 * reads the token file when it starts, so a cluster started before this must be restarted; healthy() notices the
 * missing node) and the API server's client certificate for the kubelet.
 */
function addRealNodeCredentials(dir: string): void {
  const tokens = readFileSync(join(dir, 'tokens.csv'), 'utf8');
  if (!tokens.split('\n').some((line) => line.split(',')[1] === NODE_USER)) {
    writeFileSync(join(dir, 'tokens.csv'), `${tokens.trimEnd()}\n${randomBytes(24).toString('hex')},${NODE_USER},${NODE_USER},"system:nodes"\n`, { mode: 0o600 });
  }
  if (!existsSync(join(dir, 'kubelet-client.crt'))) {
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    openssl(dir, 'req', ...ec, '-keyout', 'kubelet-client.key.tmp', '-out', 'kubelet-client.csr', '-subj', '/O=system:masters/CN=kube-apiserver-kubelet-client');
    writeFileSync(join(dir, 'kubelet-client.ext'), 'extendedKeyUsage=clientAuth\n');
    openssl(dir, 'x509', '-req', '-in', 'kubelet-client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
      '-out', 'kubelet-client.crt.tmp', '-days', '3650', '-extfile', 'kubelet-client.ext');
    renameSync(join(dir, 'kubelet-client.key.tmp'), join(dir, 'kubelet-client.key'));
    renameSync(join(dir, 'kubelet-client.crt.tmp'), join(dir, 'kubelet-client.crt'));
  }
  // Prometheus reads the kubelet's cAdvisor metrics (the kubelet admits every client of the CA). Certificate and key
  // in one file, renamed into place: test processes that check a running cluster at once may each make one.
  if (!existsSync(join(dir, 'prometheus-client.pem'))) {
    const tmp = `prometheus-client.tmp-${process.pid}`;
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    openssl(dir, 'req', ...ec, '-keyout', `${tmp}.key`, '-out', `${tmp}.csr`, '-subj', '/CN=appserving-prometheus');
    writeFileSync(join(dir, `${tmp}.ext`), 'extendedKeyUsage=clientAuth\n');
    openssl(dir, 'x509', '-req', '-in', `${tmp}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAserial', `${tmp}.srl`, '-CAcreateserial',
      '-out', `${tmp}.crt`, '-days', '3650', '-extfile', `${tmp}.ext`);
    writeFileSync(join(dir, `${tmp}.pem`), readFileSync(join(dir, `${tmp}.crt`), 'utf8') + readFileSync(join(dir, `${tmp}.key`), 'utf8'), { mode: 0o600 });
    renameSync(join(dir, `${tmp}.pem`), join(dir, 'prometheus-client.pem'));
    for (const ext of ['key', 'csr', 'ext', 'srl', 'crt']) rmSync(join(dir, `${tmp}.${ext}`), { force: true });
  }
}

/**
 * A serving certificate of the CA for the real node's kubelet (its name and bridge address), written to `outDir` as
 * kubelet.crt and kubelet.key: clients that check the kubelet's identity (Prometheus) trust the cluster's CA, not a
 * certificate the kubelet made up itself. Made at every start: the node's address follows the port block.
 */
export function issueKubeletServingCertificate(pki: Pki, outDir: string, nodeName: string, nodeIp: string): { cert: string; key: string } {
  mkdirSync(outDir, { recursive: true });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(outDir, 'req', ...ec, '-keyout', 'kubelet.key', '-out', 'kubelet.csr', '-subj', `/CN=${nodeName}`);
  writeFileSync(join(outDir, 'kubelet.ext'), `subjectAltName=IP:${nodeIp},DNS:${nodeName}\nextendedKeyUsage=serverAuth\n`);
  openssl(outDir, 'x509', '-req', '-in', 'kubelet.csr', '-CA', pki.caCert, '-CAkey', join(pki.dir, 'ca.key'), '-CAcreateserial',
    '-CAserial', join(outDir, 'ca.srl'), '-out', 'kubelet.crt', '-days', '3650', '-extfile', 'kubelet.ext');
  return { cert: join(outDir, 'kubelet.crt'), key: join(outDir, 'kubelet.key') };
}
