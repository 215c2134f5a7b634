import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import Type from 'typebox';
import { Compile } from 'typebox/compile';
import { InputError, RetryableError } from '../errors/index.ts';

/**
 * The rules an `artifact_url` must pass before the platform connects to it (SSRF protection).
 *
 * An artifact URL is chosen by the user but fetched by the platform, from inside the platform's network: without
 * these rules anyone who can create an app could make the gateway or the builder read cloud metadata credentials
 * (169.254.169.254), the Kubernetes API or any internal service. So only http(s) is allowed, and every address the
 * host resolves to must be a public one — unless an operator has put the host on the allowlist (an internal
 * Nexus or Artifactory, say). `safe-fetch.ts` then connects only to the addresses checked here.
 */

/** The setting operators use to allow internal artifact hosts; named in every refusal so the fix is one step away. */
export const ARTIFACT_HOST_ALLOWLIST_SETTING = 'APPSERVING_ARTIFACT_HOST_ALLOWLIST';

/** Answers every address (A and AAAA) a hostname has. Injected so tests never depend on real DNS. */
export type HostResolver = (hostname: string) => Promise<readonly string[]>;

export interface AllowlistEntry {
  /** Hostname as the URL parser writes it: lower case, IPv4 canonical, IPv6 in brackets. */
  readonly host: string;
  /** When set, only this port of the host is allowed. */
  readonly port?: number;
}

export interface ArtifactUrlPolicy {
  readonly allowlist?: readonly AllowlistEntry[];
  readonly resolve?: HostResolver;
}

export interface CheckedArtifactUrl {
  readonly url: URL;
  /** `url.hostname` without IPv6 brackets: what a connection is opened to. */
  readonly hostname: string;
  readonly port: number;
  /** The addresses that passed the check; a connection must go to one of these and nowhere else. */
  readonly addresses: readonly string[];
  readonly allowlisted: boolean;
}

export type AddressCategory =
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'metadata'
  | 'carrier-grade-nat'
  | 'multicast'
  | 'broadcast'
  | 'reserved';

export interface AddressClassification {
  readonly category: AddressCategory;
  /** The range that matched, e.g. `10.0.0.0/8`. */
  readonly range: string;
}

/**
 * Every range an artifact may not be fetched from. Order matters: the first match names the range, so specific
 * entries (metadata endpoints, broadcast) come before the wider ranges that contain them.
 */
const blockedRanges: ReadonlyArray<readonly [string, AddressCategory]> = [
  ['169.254.169.254/32', 'metadata'], // AWS, GCP, Azure, OpenStack instance metadata
  ['100.100.100.200/32', 'metadata'], // Alibaba Cloud
  ['fd00:ec2::254/128', 'metadata'], // AWS over IPv6
  ['255.255.255.255/32', 'broadcast'],
  ['0.0.0.0/8', 'unspecified'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'carrier-grade-nat'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'reserved'], // IETF protocol assignments
  ['192.0.2.0/24', 'reserved'], // documentation
  ['192.88.99.0/24', 'reserved'], // 6to4 relay anycast
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'reserved'], // benchmarking
  ['198.51.100.0/24', 'reserved'], // documentation
  ['203.0.113.0/24', 'reserved'], // documentation
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['::/96', 'reserved'], // IPv4-compatible, deprecated
  ['64:ff9b:1::/48', 'private'], // local-use NAT64
  ['100::/64', 'reserved'], // discard-only
  ['2001::/32', 'reserved'], // Teredo: tunnels to an address that cannot be checked here
  ['2001:db8::/32', 'reserved'], // documentation
  ['fc00::/7', 'private'], // unique local
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'private'], // site-local, deprecated
  ['ff00::/8', 'multicast'],
];

const parsedRanges = blockedRanges.map(([cidr, category]) => ({ cidr, category, range: ipaddr.parseCIDR(cidr) }));
const globalUnicastV6 = ipaddr.parseCIDR('2000::/3');
const nat64 = ipaddr.parseCIDR('64:ff9b::/96');
const sixToFour = ipaddr.parseCIDR('2002::/16');

/**
 * Why an address must not be fetched from, or `undefined` when it is a public unicast address. IPv6 forms that
 * carry an IPv4 address (mapped `::ffff:a.b.c.d`, NAT64, 6to4) are judged by the IPv4 address they lead to.
 */
export function classifyAddress(address: string): AddressClassification | undefined {
  const parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6') {
    const embedded = embeddedIPv4(parsed as ipaddr.IPv6);
    if (embedded) return classifyAddress(embedded);
  }
  for (const { cidr, category, range } of parsedRanges) {
    if (parsed.kind() === range[0].kind() && parsed.match(range)) return { category, range: cidr };
  }
  // Only 2000::/3 is handed out as global unicast; anything else is reserved by definition.
  if (parsed.kind() === 'ipv6' && !parsed.match(globalUnicastV6)) return { category: 'reserved', range: 'outside 2000::/3' };
  return undefined;
}

function embeddedIPv4(address: ipaddr.IPv6): string | undefined {
  if (address.isIPv4MappedAddress()) return address.toIPv4Address().toString();
  const bytes = address.toByteArray();
  if (address.match(nat64)) return bytes.slice(12, 16).join('.');
  if (address.match(sixToFour)) return bytes.slice(2, 6).join('.');
  return undefined;
}

const categoryWords: Record<AddressCategory, string> = {
  unspecified: 'the unspecified range',
  loopback: 'a loopback range',
  private: 'a private range',
  'link-local': 'a link-local range',
  metadata: 'a cloud metadata address',
  'carrier-grade-nat': 'the carrier-grade NAT range',
  multicast: 'a multicast range',
  broadcast: 'the broadcast address',
  reserved: 'a reserved range',
};

/** The system resolver (getaddrinfo: /etc/hosts, then DNS), all A and AAAA answers. */
export const systemResolver: HostResolver = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map((answer) => answer.address);

/**
 * Parses the value of `APPSERVING_ARTIFACT_HOST_ALLOWLIST`: comma-separated `host` or `host:port` entries
 * (`nexus.internal`, `10.0.0.5:8081`, `[fd00::5]:443`). Throws an InputError naming a bad entry.
 */
export function parseArtifactHostAllowlist(value: string | undefined): AllowlistEntry[] {
  return parseHostAllowlist(value, ARTIFACT_HOST_ALLOWLIST_SETTING);
}

/** Parses a comma-separated list of `host` or `host:port` entries of the setting `setting` (named when one is bad). */
export function parseHostAllowlist(value: string | undefined, setting: string): AllowlistEntry[] {
  if (!value) return [];
  return value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => parseAllowlistEntry(entry, setting));
}

function parseAllowlistEntry(entry: string, setting: string): AllowlistEntry {
  const match = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry) ?? (entry.split(':').length > 2 ? [entry, entry, undefined] : /^([^:/\s]+)(?::(\d+))?$/.exec(entry));
  const host = match?.[1];
  const port = match?.[2] === undefined ? undefined : Number(match[2]);
  const invalid = () => new InputError('host_allowlist_invalid', `${setting} entry "${entry}" is not a host or host:port`);
  if (!host || (port !== undefined && (port < 1 || port > 65_535))) throw invalid();
  try {
    // The URL parser canonicalises the host exactly as it does for artifact URLs, so they compare equal.
    const canonical = new URL(`http://${isIP(host) === 6 ? `[${host}]` : host}/`).hostname;
    return port === undefined ? { host: canonical } : { host: canonical, port };
  } catch {
    throw invalid();
  }
}

/** Whether a URL's host (and port: the scheme's default when it names none) is on an allowlist. */
export function isAllowlisted(url: URL, port: number, allowlist: readonly AllowlistEntry[]): boolean {
  return allowlist.some((entry) => entry.host === url.hostname && (entry.port === undefined || entry.port === port));
}

/**
 * How a refusal about one host is worded and coded: `what` names the field (`artifact_url`, `image_url registry`),
 * `code` prefixes the error codes (`<code>_unknown_host`, `<code>_dns`, `<code>_private_address`), `hint` says how to
 * allow the host anyway, and `field` goes into the details.
 */
export interface HostRefusalWording {
  readonly what: string;
  readonly code: string;
  readonly hint: string;
  readonly field: string;
}

/**
 * Resolves a host once (an IP literal is its own answer) and refuses it if any address it has is in a refused range
 * (unless `allowlisted`; `allowLoopback` lets loopback addresses alone through, for a caller that connects to this
 * machine on purpose). Returns the addresses, which are the only ones a connection may then use.
 */
export async function checkHostAddresses(
  hostname: string,
  options: { resolve?: HostResolver; allowlisted?: boolean; allowLoopback?: boolean; wording: HostRefusalWording },
): Promise<string[]> {
  const bare = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  const addresses = isIP(bare) ? [bare] : await resolveHost(bare, options.resolve ?? systemResolver, options.wording);
  if (!options.allowlisted) {
    for (const address of addresses) {
      const blocked = classifyAddress(address);
      if (blocked && !(options.allowLoopback && blocked.category === 'loopback')) throw refusal(hostname, bare, address, blocked, options.wording);
    }
  }
  return addresses;
}

const artifactWording: HostRefusalWording = {
  what: 'artifact_url',
  code: 'artifact_url',
  hint: `add it to ${ARTIFACT_HOST_ALLOWLIST_SETTING} to allow it`,
  field: 'artifact_url',
};

/**
 * Checks an artifact URL and resolves its host once. The answer lists the addresses a connection may use:
 * connecting anywhere else (e.g. after resolving again) would reopen the DNS-rebinding gap.
 */
export async function checkArtifactUrl(input: string | URL, policy: ArtifactUrlPolicy = {}): Promise<CheckedArtifactUrl> {
  const url = parseUrl(input);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InputError('artifact_url_scheme', `artifact_url scheme ${url.protocol} is not allowed: use an http:// or https:// URL, or upload the file with POST /artifacts`, {
      details: { field: 'artifact_url', scheme: url.protocol },
    });
  }
  if (url.username || url.password) {
    // The credentials are not repeated in the message: errors end up in logs and API responses.
    throw new InputError('artifact_url_credentials', `artifact_url for host ${url.host} must not contain credentials (user:password@): the URL is stored and shown in the release history`, {
      details: { field: 'artifact_url', host: url.host },
    });
  }
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const allowlisted = isAllowlisted(url, port, policy.allowlist ?? []);
  const addresses = await checkHostAddresses(url.hostname, { allowlisted, wording: artifactWording, ...(policy.resolve ? { resolve: policy.resolve } : {}) });
  return { url, hostname, port, addresses, allowlisted };
}

/**
 * A URL exactly as RFC 3986 writes one: what the release spec stores and every consumer checks (the `uri` format).
 * The WHATWG parser alone would take and silently rewrite more (`\` becomes `/`, spaces are percent-encoded).
 */
const rfc3986 = Compile(Type.String({ format: 'uri' }));

function parseUrl(input: string | URL): URL {
  if (input instanceof URL) return new URL(input.href);
  const invalid = () =>
    new InputError('artifact_url_invalid', 'artifact_url is not a valid absolute URL (RFC 3986: no spaces, backslashes or control characters)', { details: { field: 'artifact_url' } });
  if (!rfc3986.Check(input)) throw invalid();
  try {
    // WHATWG parsing also turns decimal, octal and hex IPv4 spellings (2130706433, 0x7f.1) into dotted decimal.
    return new URL(input);
  } catch {
    throw invalid();
  }
}

async function resolveHost(hostname: string, resolve: HostResolver, wording: HostRefusalWording): Promise<string[]> {
  let answers: readonly string[];
  try {
    answers = await resolve(hostname);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTFOUND' || code === 'ENODATA') {
      throw new InputError(`${wording.code}_unknown_host`, `${wording.what} host ${hostname} does not resolve to any address`, { cause: error, details: { field: wording.field, host: hostname } });
    }
    throw new RetryableError(`${wording.code}_dns`, `could not resolve ${wording.what} host ${hostname}: ${(error as Error).message}`, { cause: error });
  }
  if (answers.length === 0) throw new InputError(`${wording.code}_unknown_host`, `${wording.what} host ${hostname} does not resolve to any address`, { details: { field: wording.field, host: hostname } });
  const invalid = answers.find((answer) => !isIP(answer));
  if (invalid !== undefined) {
    throw new RetryableError(`${wording.code}_dns`, `resolving ${wording.what} host ${hostname} gave "${invalid}", which is not an IP address`);
  }
  return [...answers];
}

function refusal(shown: string, hostname: string, address: string, blocked: AddressClassification, wording: HostRefusalWording): InputError {
  const where = `${categoryWords[blocked.category]} (${blocked.range})`;
  const subject = address === hostname ? `${wording.what} host ${shown} is in ${where}` : `${wording.what} host ${shown} resolves to ${address}, which is in ${where}`;
  return new InputError(`${wording.code}_private_address`, `${subject}; ${wording.hint}`, {
    details: { field: wording.field, host: shown, address, category: blocked.category, range: blocked.range },
  });
}
