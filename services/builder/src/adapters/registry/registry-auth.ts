import { request, type Agent, type Dispatcher } from 'undici';
import { InputError, RetryableError } from '@appserving/shared';
import type { Challenge } from './auth-challenge.ts';

export interface RegistryCredentials {
  readonly username: string;
  readonly password: string;
}

/**
 * The Authorization headers of one registry client, per host and scope: the registry's challenge is answered with
 * basic credentials, or traded at the token service it names (with the credentials, or anonymously) for a bearer
 * token, cached until shortly before it expires. A token that may push to a repository is also used to pull from
 * it, and requests for one scope that start together share one token request. Credentials go to the registry
 * host and its token realm only; they are never logged or put into an error.
 */
export class RegistryAuthorization {
  readonly #agent: Agent;
  readonly #credentials: (host: string) => RegistryCredentials | undefined;
  readonly #headers = new Map<string, { header: string; until: number }>();
  readonly #pending = new Map<string, Promise<string>>();

  constructor(agent: Agent, credentials: (host: string) => RegistryCredentials | undefined) {
    this.#agent = agent;
    this.#credentials = credentials;
  }

  /** The header already held for this scope (or for push to the same repository), if still valid. */
  cached(host: string, scope: string): string | undefined {
    const key = `${host} ${scope}`;
    return [key, key.replace(/:pull$/, ':pull,push')].map((k) => this.#headers.get(k)).find((entry) => entry && entry.until > Date.now())?.header;
  }

  forget(host: string, scope: string): void {
    this.#headers.delete(`${host} ${scope}`);
  }

  /**
   * The header to retry a challenged request with. `sent` is the header the challenged request carried: a header
   * cached since it started (another request for the scope got its token meanwhile) is used instead of asking the
   * token service again; the header that was just refused is not.
   */
  authorize(host: string, scope: string, challenge: Challenge, sent: string | undefined, signal: AbortSignal | undefined): Promise<string> {
    const held = this.cached(host, scope);
    if (held !== undefined && held !== sent) return Promise.resolve(held);
    const key = `${host} ${scope}`;
    let pending = this.#pending.get(key);
    if (!pending) {
      pending = this.#answer(host, scope, challenge, signal).finally(() => this.#pending.delete(key));
      this.#pending.set(key, pending);
    }
    return pending;
  }

  async #answer(host: string, scope: string, challenge: Challenge, signal: AbortSignal | undefined): Promise<string> {
    const credentials = this.#credentials(host);
    const basic = credentials ? `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}` : undefined;
    const key = `${host} ${scope}`;
    if (challenge.scheme === 'basic') {
      if (!basic) throw denied(host, 'access', 401, 'the registry asks for credentials and none are configured for it');
      this.#headers.set(key, { header: basic, until: Number.POSITIVE_INFINITY });
      return basic;
    }
    const realm = challenge.params.realm;
    if (!realm) throw denied(host, 'access', 401, 'the bearer challenge names no realm');
    const url = new URL(realm);
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
    for (const s of scope.split(' ')) url.searchParams.append('scope', s);
    let response: Dispatcher.ResponseData;
    try {
      response = await request(url, { method: 'GET', dispatcher: this.#agent, headers: { 'user-agent': 'AppServing builder', ...(basic ? { authorization: basic } : {}) }, ...(signal ? { signal } : {}) });
    } catch (error) {
      throw unreachable(url.host, error);
    }
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw denied(host, `a token for ${scope}`, response.statusCode, `the token service ${url.host} refused`);
    }
    const answer = (await response.body.json()) as { token?: string; access_token?: string; expires_in?: number };
    const token = answer.token ?? answer.access_token;
    if (!token) throw denied(host, 'access', 401, `the token service ${url.host} answered without a token`);
    const lifetimeMs = Math.max(30, answer.expires_in ?? 60) * 1000;
    const header = `Bearer ${token}`;
    this.#headers.set(key, { header, until: Date.now() + lifetimeMs - 10_000 });
    return header;
  }
}

export function unreachable(host: string, error: unknown): RetryableError {
  const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  return new RetryableError('registry_unreachable', `registry ${host} cannot be reached: ${reason}`, { cause: error, details: { host } });
}

export function denied(host: string, what: string, status: number, why: string): InputError {
  return new InputError('registry_denied', `registry ${host} refused ${what} (HTTP ${status}): ${why}; check the registry credentials`, { details: { host, status } });
}
