import Type from 'typebox';

/**
 * The grammar of every name and value a release spec carries to Kubernetes, helm and the image registry, in one
 * place. The REST schemas (gateway), the message schemas (commands from any producer) and the checks of
 * `release-spec.rules.ts` all take them from here, so a request the API accepts cannot fail later for its shape,
 * and a command another system publishes is held to the same rules (it is dead-lettered with the problem).
 *
 * Where Kubernetes is more lenient than a rule here, the rule says why it is stricter (e.g. environment names:
 * the API server takes any printable ASCII but `=`; shells, Spring and the chart's YAML only names like C
 * identifiers). `field-rules.cases.ts` holds the table of cases that is checked against these rules and, on the
 * local cluster, against the real API server's answer for the same names.
 */

/** One problem with one field: a JSON pointer and what is wrong, as every 400 and dead letter lists them. */
export interface FieldProblem {
  path: string;
  message: string;
}

/**
 * Characters that have no place in a name or single-line value: C0 and C1 controls, DEL, line and paragraph
 * separators, and the bidirectional overrides and isolates that make text read differently from what it is.
 */
export const CONTROL_CHARACTERS = '\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069';

const rule = (pattern: string, errorMessage: string, extra: { maxLength?: number; minLength?: number; description?: string } = {}) => ({ pattern, errorMessage, ...extra });

export const fieldRules = {
  /**
   * Environment variable names: C identifiers. Stricter than the API server (printable ASCII but `=`, since 1.34):
   * names with `-`, `.` or spaces cannot be read by a shell, Spring's relaxed binding or most runtimes, and the
   * chart writes names into YAML unquoted.
   */
  envName: rule('^[A-Za-z_][A-Za-z0-9_]*$', 'must be an environment variable name: letters, digits and "_", not starting with a digit (at most 256 characters)', { maxLength: 256 }),
  /**
   * ConfigMap and Secret keys (they become file names under the mount path): Kubernetes' own rule, IsConfigMapKey:
   * letters, digits, `-`, `_`, `.`, at most 253, not `.` or `..`, not starting with `..` (the kubelet's own files).
   */
  fileName: rule(
    '^(?!\\.\\.?$)(?!\\.\\.)[-._a-zA-Z0-9]{1,253}$',
    'must be a file name: letters, digits, "-", "_" and "." (at most 253 characters), not "." or "..", not starting with ".." and without "/"',
    { maxLength: 253 },
  ),
  /** Volume names: DNS-1123 labels (the pod's volume and the PVC `<app>-<name>`), starting with a letter. */
  volumeName: rule('^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$', 'must be a DNS label: lowercase letters, digits and "-", starting with a letter and ending with a letter or digit, at most 63 characters', { maxLength: 63 }),
  /** Mount paths: absolute, plain segments (no `.` or `..`, no empty segment), never `/` itself. */
  mountPath: rule(
    '^(/(?!\\.\\.?(/|$))[-._A-Za-z0-9@+=,~]+)+$',
    'must be an absolute path of letters, digits and "-", "_", ".", "@", "+", "=", ",", "~" (no "." or ".." segments, not "/" itself, at most 1024 characters)',
    { maxLength: 1024 },
  ),
  /** PVC sizes: a whole number of Mi, Gi or Ti. */
  volumeSize: rule('^[1-9][0-9]{0,8}(Mi|Gi|Ti)$', 'must be a size like 1Gi or 500Mi (a whole number of Mi, Gi or Ti)', { maxLength: 11 }),
  /** The HTTP path of the probes (the chart's rule): visible ASCII only, starting with `/`. */
  healthPath: rule('^/[\\x21-\\x7e]*$', 'must be a path starting with / of visible ASCII characters (no spaces or control characters, at most 1024)', { maxLength: 1024 }),
  /** Spring profiles, comma-separated (the chart's rule). */
  profile: rule('^[-_.,A-Za-z0-9]*$', 'must be Spring profile names: letters, digits, "-", "_", "." separated by "," (at most 253 characters)', { maxLength: 253 }),
  /** A CPU quantity the chart and the API server both take: 0.5, 2, 500m (no zero, no fractions of milli). */
  cpu: rule('^(0\\.[0-9]*[1-9][0-9]*|[1-9][0-9]*(\\.[0-9]+)?|[1-9][0-9]*m)$', 'must be a CPU quantity above zero, e.g. 500m, 0.5 or 2', { maxLength: 12 }),
  /** A memory quantity (bytes, or with a binary or decimal suffix), above zero. */
  memory: rule('^[1-9][0-9]*(Ki|Mi|Gi|Ti|K|M|G|T)?$', 'must be a memory quantity above zero, e.g. 512Mi or 2Gi', { maxLength: 16 }),
  /** The version label a person gives; it becomes the `app.kubernetes.io/version` label (after cleaning). */
  versionLabel: rule('^[A-Za-z0-9][-._+A-Za-z0-9]{0,62}$', 'must be a version label of letters, digits, ".", "-", "_" or "+" (at most 63 characters), e.g. "v1" or "1.4.2"', { maxLength: 63 }),
  /**
   * An image reference as the OCI distribution grammar and the chart take it: `[registry[:port]/]path[:tag][@sha256:hex]`,
   * path components lowercase. (IPv6 registry addresses are not taken: the chart refuses them.)
   */
  imageReference: rule(
    '^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]{1,5})?/)?[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$',
    'must be an image reference: [registry[:port]/]repository[:tag][@sha256:<64 hex>], the repository in lowercase (e.g. registry.example.com/team/app:1.4@sha256:…)',
    { maxLength: 1024 },
  ),
  /** Single-line text a person chooses (token names, …): anything but control and bidi-override characters. */
  plainText: rule(`^[^${CONTROL_CHARACTERS}]*$`, 'must not contain control characters, line breaks or bidirectional overrides'),
} as const;

export type FieldRuleName = keyof typeof fieldRules;

const compiled = new Map<FieldRuleName, RegExp>();

/** Whether a value passes one rule (pattern and length), for code outside schemas. */
export function passesRule(name: FieldRuleName, value: string): boolean {
  const r = fieldRules[name] as { pattern: string; maxLength?: number; minLength?: number };
  let re = compiled.get(name);
  if (!re) {
    re = new RegExp(r.pattern, 'u');
    compiled.set(name, re);
  }
  return re.test(value) && (r.maxLength === undefined || value.length <= r.maxLength) && (r.minLength === undefined || value.length >= r.minLength);
}

/** A TypeBox string schema of one rule, with its message; `options` add a description or examples. */
export function ruleSchema(name: FieldRuleName, options: { description?: string; examples?: unknown[]; minLength?: number } = {}) {
  return Type.String({ ...fieldRules[name], ...options });
}

/** A map whose keys follow one rule (refused by name, not only left unchecked as `patternProperties` would). */
export function namedMap<V extends Type.TSchema>(key: FieldRuleName, value: V, options: { maxProperties: number; description?: string; writeOnly?: boolean }) {
  const keyRule = fieldRules[key] as { pattern: string; errorMessage: string; maxLength?: number };
  return Type.Record(Type.String({ pattern: keyRule.pattern }), value, {
    ...options,
    propertyNames: { pattern: keyRule.pattern, ...(keyRule.maxLength === undefined ? {} : { maxLength: keyRule.maxLength }), errorMessage: `the name ${keyRule.errorMessage}` },
  });
}

/** Limits the chart and the API server set on a release's contents. */
export const specLimits = {
  /** Environment variables, config files and secret files, each (the chart's maxProperties). */
  maxEntries: 256,
  /** Longest single environment value. */
  maxEnvValueLength: 32_768,
  /**
   * Env values, config files and secret files together, in bytes (UTF-8). Helm keeps the values and the rendered
   * manifest (the ConfigMap, the Secret base64-encoded) in one release Secret, compressed: Kubernetes refuses any
   * object over 1 MiB, so what a release may carry is well under half of that.
   */
  maxPayloadBytes: 256 * 1024,
  /** `JAVA_TOOL_OPTIONS` of a Java app: the chart adds its own options in front, on one line of at most 4096. */
  maxJavaToolOptionsLength: 3_072,
  /** Volumes per app. */
  maxVolumes: 16,
  /** OCI: the repository name (registry and path) is at most 255 characters. */
  maxImageNameLength: 255,
} as const;

/** What the app chart puts in every pod itself: a release may not reuse these volume names or mount paths. */
export const reservedPodNames = {
  volumes: ['config', 'secrets', 'otel-agent'],
  mountPaths: ['/app/config', '/app/secrets', '/otel-agent'],
} as const;
