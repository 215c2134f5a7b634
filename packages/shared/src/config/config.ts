import type Type from 'typebox';
import { type TSchema } from 'typebox';
import Value from 'typebox/value';

/**
 * One configuration setting: where it comes from, what it must look like, and what it means.
 * The same definitions validate the environment at start-up and generate the configuration reference.
 */
export interface Setting<S extends TSchema = TSchema> {
  readonly env: string;
  readonly schema: S;
  readonly description: string;
  /** Used when the variable is unset or empty. A setting without a default is required. */
  readonly default?: Type.Static<S>;
  /** Never echoed back in an error message or a log line. */
  readonly secret?: boolean;
}

export type Settings = Readonly<Record<string, Setting>>;

export type ConfigOf<S extends Settings> = {
  readonly [K in keyof S]: Type.Static<S[K]['schema']>;
};

export function setting<S extends TSchema>(definition: Setting<S>): Setting<S> {
  return definition;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.problems = problems;
  }
}

/**
 * Reads every setting from `env`, converts and validates all of them, and throws one ConfigError listing
 * every problem (not just the first), each naming its variable.
 */
export function loadConfig<S extends Settings>(settings: S, env: Readonly<Record<string, string | undefined>>): ConfigOf<S> {
  const problems: string[] = [];
  const config: Record<string, unknown> = {};
  for (const [key, definition] of Object.entries(settings)) {
    const raw = env[definition.env];
    if (raw === undefined || raw === '') {
      if ('default' in definition) {
        config[key] = definition.default;
      } else {
        problems.push(`${definition.env} is required: ${definition.description}`);
      }
      continue;
    }
    const value = Value.Convert(definition.schema, parseStructured(definition.schema, raw));
    if (Value.Check(definition.schema, value)) {
      config[key] = value;
    } else {
      const shown = definition.secret ? '(value hidden)' : JSON.stringify(raw);
      problems.push(`${definition.env} ${explain(definition.schema, value)}, got ${shown}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config as ConfigOf<S>;
}

/** Objects and arrays are given as JSON in the environment. */
function parseStructured(schema: TSchema, raw: string): unknown {
  const type = (schema as { type?: unknown }).type;
  if (type !== 'object' && type !== 'array') return raw;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

function explain(schema: TSchema, value: unknown): string {
  const allowed = literalChoices(schema);
  if (allowed) return `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`;
  const s = schema as { type?: string; minimum?: number; maximum?: number; format?: string };
  const parts: string[] = [];
  if (s.type === 'integer' || s.type === 'number') {
    parts.push(`must be ${s.type === 'integer' ? 'an integer' : 'a number'}`);
    if (s.minimum !== undefined && s.maximum !== undefined) parts.push(`between ${s.minimum} and ${s.maximum}`);
    else if (s.minimum !== undefined) parts.push(`>= ${s.minimum}`);
    else if (s.maximum !== undefined) parts.push(`<= ${s.maximum}`);
    return parts.join(' ');
  }
  if (s.type === 'boolean') return 'must be true or false';
  if (s.format === 'uri') return 'must be a URL';
  const first = [...Value.Errors(schema, value)][0];
  return first ? `${first.instancePath ? `at ${first.instancePath} ` : ''}${first.message}` : 'is invalid';
}

function literalChoices(schema: TSchema): unknown[] | undefined {
  const values = (schema as { enum?: unknown[] }).enum;
  if (Array.isArray(values)) return values;
  const anyOf = (schema as { anyOf?: { const?: unknown }[] }).anyOf;
  if (!anyOf || !anyOf.every((member) => 'const' in member)) return undefined;
  return anyOf.map((member) => member.const);
}

/** The configuration reference as a Markdown table, generated from the same definitions. */
export function describeSettings(settings: Settings): string {
  const rows = Object.values(settings).map((s) => {
    const choices = literalChoices(s.schema);
    const def = !('default' in s) ? '(required)' : s.default === '' ? '(empty)' : `\`${typeof s.default === 'string' ? s.default : JSON.stringify(s.default)}\``;
    const kind = choices ? choices.map((c) => `\`${String(c)}\``).join(' \\| ') : ((s.schema as { type?: string }).type ?? '');
    return `| \`${s.env}\` | ${kind} | ${def} | ${s.description}${s.secret ? ' Secret: never logged.' : ''} |`;
  });
  return ['| variable | type | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
