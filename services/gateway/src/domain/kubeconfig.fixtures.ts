// Shared by tests (not a test file itself): a kubeconfig shaped like the one `pnpm cluster:up` writes, whose
// credentials are unique strings a test can search every response and log line for.
import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';

export interface TestKubeconfig {
  text: string;
  server: string;
  /** Every secret in `text`: none may ever appear in a response or a log line. */
  secrets: string[];
}

export function testKubeconfig(server = 'https://127.0.0.1:26400'): TestKubeconfig {
  const token = `kubetoken-${randomBytes(12).toString('hex')}`;
  const caData = Buffer.from(`-----BEGIN CERTIFICATE-----\nca-${randomBytes(12).toString('hex')}\n-----END CERTIFICATE-----\n`).toString('base64');
  const keyData = Buffer.from(`-----BEGIN PRIVATE KEY-----\nkey-${randomBytes(12).toString('hex')}\n-----END PRIVATE KEY-----\n`).toString('base64');
  const text = stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'appserving-test', cluster: { server, 'certificate-authority-data': caData } }],
    users: [{ name: 'appserving-admin', user: { token, 'client-key-data': keyData } }],
    contexts: [{ name: 'appserving-test', context: { cluster: 'appserving-test', user: 'appserving-admin', namespace: 'default' } }],
    'current-context': 'appserving-test',
  });
  return { text, server, secrets: [token, caData, keyData] };
}
