import { describe, expect, it } from 'vitest';
import { InputError } from '../errors/index.ts';
import { checkArtifactUrl, classifyAddress, parseArtifactHostAllowlist, type HostResolver } from './artifact-url.guard.ts';

/** A resolver that knows a few made-up names and nothing else: no test depends on real DNS. */
function fakeDns(table: Record<string, string[]>): HostResolver & { calls: string[] } {
  const calls: string[] = [];
  const resolve = async (hostname: string) => {
    calls.push(hostname);
    const answers = table[hostname];
    if (!answers) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return answers;
  };
  return Object.assign(resolve, { calls });
}

async function refusal(promise: Promise<unknown>): Promise<InputError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InputError);
  return error as InputError;
}

describe('classifyAddress', () => {
  it.each([
    ['127.0.0.1', 'loopback', '127.0.0.0/8'],
    ['127.255.0.9', 'loopback', '127.0.0.0/8'],
    ['10.0.0.1', 'private', '10.0.0.0/8'],
    ['172.16.0.1', 'private', '172.16.0.0/12'],
    ['172.31.255.254', 'private', '172.16.0.0/12'],
    ['192.168.1.1', 'private', '192.168.0.0/16'],
    ['169.254.169.254', 'metadata', '169.254.169.254/32'],
    ['169.254.10.1', 'link-local', '169.254.0.0/16'],
    ['100.100.100.200', 'metadata', '100.100.100.200/32'],
    ['100.64.0.1', 'carrier-grade-nat', '100.64.0.0/10'],
    ['100.127.255.255', 'carrier-grade-nat', '100.64.0.0/10'],
    ['0.0.0.0', 'unspecified', '0.0.0.0/8'],
    ['224.0.0.1', 'multicast', '224.0.0.0/4'],
    ['255.255.255.255', 'broadcast', '255.255.255.255/32'],
    ['240.0.0.1', 'reserved', '240.0.0.0/4'],
    ['192.0.2.10', 'reserved', '192.0.2.0/24'],
    ['198.18.0.1', 'reserved', '198.18.0.0/15'],
    ['::', 'unspecified', '::/128'],
    ['::1', 'loopback', '::1/128'],
    ['fc00::1', 'private', 'fc00::/7'],
    ['fd12:3456::1', 'private', 'fc00::/7'],
    ['fd00:ec2::254', 'metadata', 'fd00:ec2::254/128'],
    ['fe80::1', 'link-local', 'fe80::/10'],
    ['ff02::1', 'multicast', 'ff00::/8'],
    ['2001:db8::1', 'reserved', '2001:db8::/32'],
    ['::ffff:127.0.0.1', 'loopback', '127.0.0.0/8'],
    ['::ffff:7f00:1', 'loopback', '127.0.0.0/8'],
    ['::ffff:169.254.169.254', 'metadata', '169.254.169.254/32'],
    ['::ffff:10.0.0.1', 'private', '10.0.0.0/8'],
    ['64:ff9b::a00:1', 'private', '10.0.0.0/8'], // NAT64 of 10.0.0.1
    ['2002:7f00:1::', 'loopback', '127.0.0.0/8'], // 6to4 of 127.0.0.1
    ['::127.0.0.1', 'loopback', '127.0.0.0/8'], // IPv4-compatible form, judged by its IPv4 address
    ['::a00:1', 'reserved', '::/96'], // the same form written in hex
    ['4000::1', 'reserved', 'outside 2000::/3'],
  ])('%s is %s (%s)', (address, category, range) => {
    expect(classifyAddress(address)).toEqual({ category, range });
  });

  it.each(['93.184.216.34', '8.8.8.8', '100.63.255.255', '100.128.0.0', '172.32.0.1', '2606:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808'])(
    '%s is public',
    (address) => {
      expect(classifyAddress(address)).toBeUndefined();
    },
  );
});

describe('checkArtifactUrl', () => {
  const dns = fakeDns({ 'repo.example': ['93.184.216.34', '2606:2800:220:1::1'], 'internal.example': ['93.184.216.34', '10.1.2.3'] });

  it('accepts a public host and reports every address it resolved, resolving once', async () => {
    dns.calls.length = 0;
    const checked = await checkArtifactUrl('https://repo.example/libs/app.jar', { resolve: dns });
    expect(checked.addresses).toEqual(['93.184.216.34', '2606:2800:220:1::1']);
    expect(checked.port).toBe(443);
    expect(checked.allowlisted).toBe(false);
    expect(dns.calls).toEqual(['repo.example']);
  });

  it.each(['file:///etc/passwd', 'ftp://repo.example/app.jar', 'data:text/plain,hi', 'javascript:alert(1)', 'gopher://repo.example/', 'appserving-artifact://sha256/00'])(
    'refuses the scheme of %s',
    async (url) => {
      const error = await refusal(checkArtifactUrl(url, { resolve: dns }));
      expect(error.code).toBe('artifact_url_scheme');
      expect(error.message).toMatch(/use an http:\/\/ or https:\/\/ URL/);
    },
  );

  it('refuses credentials without repeating them', async () => {
    const error = await refusal(checkArtifactUrl('https://deploy:s3cret@repo.example/app.jar', { resolve: dns }));
    expect(error.code).toBe('artifact_url_credentials');
    expect(error.message).not.toContain('s3cret');
  });

  it('refuses a URL that does not parse', async () => {
    expect((await refusal(checkArtifactUrl('not a url', { resolve: dns }))).code).toBe('artifact_url_invalid');
  });

  // Addresses an attacker would give (issue #4's SSRF cases): inputs the guard must refuse. The guard only
  // parses and compares them; nothing here resolves or dials them (the test asserts no DNS call).
  it.each([
    ['http://10.0.0.1/app.jar', '10.0.0.0/8'],
    ['http://169.254.169.254/latest/meta-data/', '169.254.169.254/32'],
    ['http://127.0.0.1:8080/app.jar', '127.0.0.0/8'],
    ['http://[::1]/app.jar', '::1/128'],
    ['http://[::ffff:127.0.0.1]/app.jar', '127.0.0.0/8'],
    ['http://2130706433/app.jar', '127.0.0.0/8'],
    ['http://0x7f.1/app.jar', '127.0.0.0/8'],
    ['http://017700000001/app.jar', '127.0.0.0/8'],
    ['http://0/app.jar', '0.0.0.0/8'],
    ['http://[fd00:ec2::254]/', 'fd00:ec2::254/128'],
    ['http://100.100.100.200/', '100.100.100.200/32'],
  ])('refuses %s (%s) without resolving anything', async (url, range) => {
    dns.calls.length = 0;
    const error = await refusal(checkArtifactUrl(url, { resolve: dns }));
    expect(error.code).toBe('artifact_url_private_address');
    expect(error.details?.range).toBe(range);
    expect(error.message).toContain(`(${range}); add it to APPSERVING_ARTIFACT_HOST_ALLOWLIST to allow it`);
    expect(dns.calls).toEqual([]);
  });

  it('names the host and the range', async () => {
    const error = await refusal(checkArtifactUrl('http://10.0.0.1/app.jar'));
    expect(error.message).toBe('artifact_url host 10.0.0.1 is in a private range (10.0.0.0/8); add it to APPSERVING_ARTIFACT_HOST_ALLOWLIST to allow it');
  });

  it('refuses a hostname when any of its addresses is private', async () => {
    const error = await refusal(checkArtifactUrl('https://internal.example/app.jar', { resolve: dns }));
    expect(error.code).toBe('artifact_url_private_address');
    expect(error.message).toBe(
      'artifact_url host internal.example resolves to 10.1.2.3, which is in a private range (10.0.0.0/8); add it to APPSERVING_ARTIFACT_HOST_ALLOWLIST to allow it',
    );
  });

  it('refuses a host that does not resolve', async () => {
    expect((await refusal(checkArtifactUrl('https://nowhere.example/app.jar', { resolve: dns }))).code).toBe('artifact_url_unknown_host');
  });

  it('allows an allowlisted host by name, and by host:port only on that port', async () => {
    const byName = parseArtifactHostAllowlist('internal.example');
    expect((await checkArtifactUrl('https://internal.example/app.jar', { resolve: dns, allowlist: byName })).allowlisted).toBe(true);

    const byPort = parseArtifactHostAllowlist('127.0.0.1:8081, [::1]:443');
    expect((await checkArtifactUrl('http://127.0.0.1:8081/app.jar', { allowlist: byPort })).addresses).toEqual(['127.0.0.1']);
    expect((await checkArtifactUrl('https://[::1]/app.jar', { allowlist: byPort })).addresses).toEqual(['::1']);
    expect((await refusal(checkArtifactUrl('http://127.0.0.1:8082/app.jar', { allowlist: byPort }))).code).toBe('artifact_url_private_address');
    // The allowlist names a host, not every spelling that happens to reach the same address.
    expect((await refusal(checkArtifactUrl('http://2130706433:8081/', { allowlist: parseArtifactHostAllowlist('localhost:8081') }))).code).toBe(
      'artifact_url_private_address',
    );
  });
});

describe('parseArtifactHostAllowlist', () => {
  it('canonicalises entries like the URL parser does', () => {
    expect(parseArtifactHostAllowlist(' Nexus.Internal ,10.0.0.5:8081,[FD00::5]:443,::1 ,')).toEqual([
      { host: 'nexus.internal' },
      { host: '10.0.0.5', port: 8081 },
      { host: '[fd00::5]', port: 443 },
      { host: '[::1]' },
    ]);
    expect(parseArtifactHostAllowlist(undefined)).toEqual([]);
  });

  it.each(['http://nexus.internal', 'nexus:99999', 'a b'])('refuses the entry %s, naming the setting', (entry) => {
    expect(() => parseArtifactHostAllowlist(entry)).toThrow(/APPSERVING_ARTIFACT_HOST_ALLOWLIST entry/);
  });
});
