/** A `WWW-Authenticate` challenge of a registry: `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`. */
export interface Challenge {
  readonly scheme: 'bearer' | 'basic';
  readonly params: Readonly<Record<string, string>>;
}

export function parseChallenge(value: string | undefined): Challenge | undefined {
  if (!value) return undefined;
  const match = /^\s*(Bearer|Basic)\b\s*(.*)$/i.exec(value);
  if (!match) return undefined;
  const scheme = match[1]!.toLowerCase() as Challenge['scheme'];
  const params: Record<string, string> = {};
  for (const pair of (match[2] ?? '').matchAll(/([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
    params[pair[1]!.toLowerCase()] = (pair[2] ?? pair[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return { scheme, params };
}
