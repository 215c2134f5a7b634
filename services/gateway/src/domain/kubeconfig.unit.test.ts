import { InputError } from '@appserving/shared';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { testKubeconfig } from './kubeconfig.fixtures.ts';
import { inspectKubeconfig } from './kubeconfig.ts';

function refusal(text: string): InputError {
  try {
    inspectKubeconfig(text);
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
  throw new Error('expected the kubeconfig to be refused');
}

/** The test kubeconfig with `change` applied to its parsed form. */
function variant(change: (config: any) => void): { text: string; secrets: string[] } {
  const base = testKubeconfig();
  const config = parse(base.text);
  change(config);
  return { text: stringify(config), secrets: base.secrets };
}

describe('inspectKubeconfig', () => {
  it('returns the current context and its server', () => {
    const kubeconfig = testKubeconfig('https://127.0.0.1:26400');
    expect(inspectKubeconfig(kubeconfig.text)).toEqual({ apiServerUrl: 'https://127.0.0.1:26400', currentContext: 'appserving-test' });
    expect(inspectKubeconfig(JSON.stringify(parse(kubeconfig.text))).apiServerUrl).toBe('https://127.0.0.1:26400');
  });

  it('explains what is missing, as invalid_kubeconfig on the kubeconfig field', () => {
    const cases: [string, string][] = [
      ['', 'must be a mapping'],
      ['- a\n- b\n', 'must be a mapping'],
      [variant((c) => delete c['current-context']).text, 'has no current-context'],
      [variant((c) => (c['current-context'] = 'elsewhere')).text, 'has no context named "elsewhere"'],
      [variant((c) => (c.contexts[0].context.cluster = 'gone')).text, 'has no cluster named "gone"'],
      [variant((c) => delete c.clusters[0].cluster.server).text, 'has no http(s) server URL'],
      [variant((c) => (c.clusters[0].cluster.server = 'ftp://x')).text, 'has no http(s) server URL'],
      [variant((c) => (c.contexts[0].context.user = 'nobody')).text, 'has no user named "nobody"'],
    ];
    for (const [text, message] of cases) {
      const error = refusal(text);
      expect(error.code).toBe('invalid_kubeconfig');
      expect(error.message).toContain(message);
      expect(error.details).toEqual({ field: 'kubeconfig' });
    }
  });

  it('refuses credentials that run programs or read files', () => {
    const exec = variant((c) => (c.users[0].user = { exec: { command: '/bin/sh', args: ['-c', 'id'] } }));
    expect(refusal(exec.text).message).toMatch(/uses exec: the platform runs no programs/);
    const provider = variant((c) => (c.users[0].user = { 'auth-provider': { name: 'oidc' } }));
    expect(refusal(provider.text).message).toMatch(/uses auth-provider/);
    for (const key of ['tokenFile', 'client-certificate', 'client-key']) {
      expect(refusal(variant((c) => (c.users[0].user[key] = '/etc/passwd')).text).message).toContain(`refers to a file (${key})`);
    }
    expect(refusal(variant((c) => (c.clusters[0].cluster['certificate-authority'] = '/ca.pem')).text).message).toContain('certificate-authority');
  });

  it('never quotes the document in a syntax error', () => {
    const { text, secrets } = testKubeconfig();
    const broken = text.replace('current-context:', 'current-context: [unclosed');
    const error = refusal(`${broken}\n  bad: indentation: here\n`);
    expect(error.message).toMatch(/^kubeconfig is not valid YAML \([A-Z_]+ at line \d+, column \d+\)$/);
    for (const secret of secrets) expect(error.message).not.toContain(secret);

    const duplicate = refusal(`${text}\ncurrent-context: again\n`);
    expect(duplicate.message).toMatch(/DUPLICATE_KEY/);
  });

  it('refuses alias bombs', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`)].join('\n');
    expect(refusal(bomb).message).toMatch(/aliases|must be a mapping|current-context/);
  });
});
