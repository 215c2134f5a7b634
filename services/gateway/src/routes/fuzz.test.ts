import { randomUUID } from 'node:crypto';
import { freePort } from '@appserving/shared/testing';
import { allMessageTypes, decodeCloudEvent, rpcs } from '@appserving/shared';
import fc from 'fast-check';
import type { Dispatcher, Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpPool, startTestGateway, type TestGateway } from '../testing/test-gateway.ts';

/**
 * Property-based fuzz run over real HTTP against a real gateway on 127.0.0.1 (private nats-server, throw-away
 * database): thousands of generated requests to every route of the API (bodies derived from the schemas and mutated
 * away from them, kubeconfigs aimed at metadata and private addresses, random routes, ids, queries, headers,
 * malformed JSON, upload bytes) must never get a 5xx, every 4xx must carry the error body, every route must have
 * been hit (the OpenAPI document's and the undocumented ones), every command accepted must pass the checks its
 * consumers make (so no release can fail later for its shape), the run must end within a minute, and the gateway
 * must still answer its probes at the end. Generated kubeconfigs connect nowhere but 127.0.0.1 (the test gateway's
 * probe connects to nothing else).
 *
 * Replay a failure with its seed: `FUZZ_SEED=<seed> pnpm vitest run services/gateway/src/routes/fuzz.test.ts`
 * (the seed is printed at the start of the run and in fast-check's failure report, with its path).
 */

const IN_FLIGHT = 8;
const BATCHES = Number(process.env.FUZZ_BATCHES ?? 660); // × IN_FLIGHT requests: 5,280
const MIN_REQUESTS = 5_000;
const seed = process.env.FUZZ_SEED === undefined ? Date.now() ^ (Math.random() * 0x100000000) : Number(process.env.FUZZ_SEED);

let gw: TestGateway;
let pool: Pool;
const realAppIds: string[] = [];
/** An app whose release is always terminal and that no other generated request changes: GET /wait answers at once. */
let waitAppId: string = randomUUID();
/** A port nothing listens on: the API server of generated kubeconfigs that pass the address rules. */
let deadPort = 1;
const realImage = '127.0.0.1:5000/fuzz@sha256:' + '1'.repeat(64);

interface FuzzRequest {
  method: Dispatcher.HttpMethod;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  /** A live stream (SSE): only its status and headers are read, then the client hangs up. */
  stream?: boolean;
}

// ---------------------------------------------------------------------------------------------- values

function visibleAsciiToken(): fc.Arbitrary<string> {
  return fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.~+/='.split('')), minLength: 1, maxLength: 60 }).map((t) => `aps_${t}`);
}

const hugeString = fc.constantFrom('x'.repeat(70_000), 'é'.repeat(40_000), '\u0000'.repeat(3), 'a'.repeat(2049));
const unicodeString = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }), // lone surrogates, control characters, NUL
  fc.constantFrom('🦀🚀', 'ß', '\u202e', 'ǅ', '\ud800', '\udfff', 'a\u0000b', '\u2028'),
);
const junk = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 2, arbitrary: unicodeString },
  { weight: 1, arbitrary: hugeString },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false, 0, -1, 1e308, -0, 0.5, 2 ** 53 + 1, '', ' ', '8080', '1e3', '0x1f', 'NaN', '-1', '65536') },
  { weight: 1, arbitrary: fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 5 }) },
);

const dnsLabel = fc.stringMatching(/^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$/);
const versionLabel = fc.oneof(fc.integer({ min: 1, max: 1_000 }), fc.stringMatching(/^[A-Za-z0-9][-._+A-Za-z0-9]{0,62}$/));
const port = fc.oneof(fc.integer({ min: 1, max: 65_535 }), fc.integer({ min: 1, max: 65_535 }).map(String));
const artifactUrl = fc.oneof(
  fc.constantFrom(
    'http://nexus.example/repository/app/1.0/app-1.0.jar',
    'https://nexus.example/app.war',
    'http://metadata.test/latest',
    'http://127.0.0.1/app.jar',
    'file:///etc/passwd',
    'ftp://nexus.example/app.jar',
    'appserving-artifact://sha256/' + 'a'.repeat(64),
    'http://[::1]/x.jar',
    'http://user:pass@nexus.example/app.jar',
    'http://nexus.example:99999/app.jar',
  ),
  fc.webUrl(),
  unicodeString,
);
const record = (key: fc.Arbitrary<string>, value: fc.Arbitrary<string>) => fc.dictionary(key, value, { maxKeys: 4 });

const specFields = {
  version: versionLabel,
  task_type: fc.constantFrom('all', 'build', 'deploy', 'build_only', ''),
  app_type: fc.constantFrom('jar', 'war', 'python', 'node', 'JAR'),
  artifact_url: artifactUrl,
  artifact_sha256: fc.oneof(fc.stringMatching(/^[a-f0-9]{64}$/), fc.string({ maxLength: 70 })),
  image_url: fc.oneof(fc.constantFrom('nginx:1.27', 'registry.example/app@sha256:' + 'b'.repeat(64), 'UPPER/Case', ':::'), fc.string({ maxLength: 30 })),
  port,
  resource_spec: fc.constantFrom('small', 'medium', 'large', 'xlarge', 'Medium'),
  profile: fc.oneof(fc.constantFrom('default', 'prod'), unicodeString),
  strategy: fc.constantFrom('rolling', 'canary', 'blue_green', 'blue-green', 'recreate'),
  env: record(fc.oneof(fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,10}$/), unicodeString), fc.oneof(fc.string({ maxLength: 20 }), unicodeString)),
  config: record(fc.oneof(fc.stringMatching(/^[-._a-zA-Z0-9]{1,20}$/), unicodeString), fc.oneof(fc.string({ maxLength: 50 }), unicodeString)),
  secrets: record(fc.oneof(fc.stringMatching(/^[-._a-zA-Z0-9]{1,20}$/), unicodeString), fc.oneof(fc.string({ maxLength: 50 }), unicodeString)),
  volumes: fc.array(
    fc.record(
      {
        name: fc.oneof(dnsLabel, unicodeString),
        mount_path: fc.oneof(fc.constantFrom('/data', '/', '/var/lib/x'), fc.string({ maxLength: 20 })),
        size: fc.oneof(fc.constantFrom('1Gi', '500Mi', '0Gi', '1G', '1Ti'), fc.string({ maxLength: 8 })),
      },
      { requiredKeys: [] },
    ),
    { maxLength: 18 },
  ),
  replicas: fc.oneof(fc.integer({ min: -5, max: 120 }), fc.constantFrom(1.5, '2')),
  health_path: fc.oneof(fc.constantFrom('/health', '/', 'health'), unicodeString),
};

const createFields = {
  name: fc.oneof({ weight: 4, arbitrary: dnsLabel }, { weight: 1, arbitrary: unicodeString }, { weight: 1, arbitrary: fc.constantFrom('a', 'A', '-a', 'a-', 'a'.repeat(41)) }),
  target_cluster_id: fc.oneof(fc.constantFrom('local', 'nope'), fc.uuid().map(String), unicodeString),
  project: fc.oneof(dnsLabel, unicodeString),
  ...specFields,
};

const createBody = fc.record(createFields, { requiredKeys: ['name'] });
const validishCreate = fc.record(
  { ...createFields, task_type: fc.constantFrom('all'), artifact_url: fc.constantFrom('http://nexus.example/app-1.0.jar'), port, resource_spec: fc.constantFrom('medium'), target_cluster_id: fc.constantFrom('local') },
  { requiredKeys: ['name', 'task_type', 'artifact_url'] },
);
const updateBody = fc.record(specFields, { requiredKeys: [] });
/**
 * Specs drawn from values the API should take (names in the env and ConfigMap key grammars, volumes, quantities,
 * labels), varied enough that their releases reach the consumers' own checks at the end of the run.
 */
const acceptableSpec = {
  version: fc.stringMatching(/^[A-Za-z0-9][-._A-Za-z0-9]{0,20}$/),
  port: fc.integer({ min: 1, max: 65_535 }),
  resource_spec: fc.oneof(fc.constantFrom('small', 'medium', 'large'), fc.record({ cpu: fc.constantFrom('250m', '1', '1.5', '2000m'), memory: fc.constantFrom('256Mi', '1Gi', '1500M') })),
  profile: fc.stringMatching(/^[A-Za-z0-9][-_.A-Za-z0-9,]{0,20}$/),
  strategy: fc.constantFrom('rolling', 'canary', 'blue-green'),
  env: fc.dictionary(fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.-]{0,15}$/), fc.string({ maxLength: 30 }), { maxKeys: 4 }),
  config: fc.dictionary(fc.stringMatching(/^[-_A-Za-z0-9][-._A-Za-z0-9]{0,15}$/), fc.string({ maxLength: 40 }), { maxKeys: 3 }),
  volumes: fc.uniqueArray(fc.record({ name: dnsLabel, mount_path: fc.stringMatching(/^\/[a-z][a-z0-9/_-]{0,15}[a-z0-9]$/), size: fc.constantFrom('1Gi', '500Mi', '2G', '10Gi') }), {
    maxLength: 2,
    selector: (v) => v.name,
  }),
  replicas: fc.integer({ min: 1, max: 10 }),
  health_path: fc.stringMatching(/^\/[-a-zA-Z0-9._~/]{0,20}$/),
};
const acceptableCreate = fc.record(
  { name: dnsLabel, task_type: fc.constant('deploy'), image_url: fc.constant(`registry.example/fuzz/app@sha256:${'d'.repeat(64)}`), ...acceptableSpec },
  { requiredKeys: ['name', 'task_type', 'image_url'] },
);
const acceptableUpdate = fc.record(acceptableSpec, { requiredKeys: [] });
const rollbackBody = fc.record({ to_version: fc.oneof(versionLabel, junk), skip_analysis: fc.oneof(fc.boolean(), junk) }, { requiredKeys: [] });
/** Kubeconfigs whose API server the address rules refuse, or one on 127.0.0.1 where nothing answers (the probe then refuses it). */
const kubeconfigFor = (server: string, extra = '') =>
  `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "${server}"${extra}}}]\nusers: [{name: u, user: {token: t0k3n}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`;
const clusterKubeconfig = fc.oneof(
  fc.constantFrom('apiVersion: v1\nkind: Config\n', '{}', 'current-context: x', '- [', 'a: *b'),
  unicodeString,
  fc.constantFrom('https://169.254.169.254', 'https://10.0.0.1:6443', 'http://k8s.example.com', 'https://metadata.test', 'https://internal.test:6443', 'https://[::ffff:a9fe:a9fe]', 'https://user:pw@k8s.example.com', 'file:///etc/passwd', 'ftp://127.0.0.1').map((server) => kubeconfigFor(server)),
  fc.constantFrom(', proxy-url: "socks5://127.0.0.1:1080"', ', insecure-skip-tls-verify: true', '').map((extra) => kubeconfigFor(`https://127.0.0.1:${deadPort}`, extra)),
);
const clusterBody = fc.record(
  {
    name: fc.oneof(dnsLabel, unicodeString),
    kubeconfig: clusterKubeconfig,
    default: fc.oneof(fc.boolean(), junk),
    prometheus_url: fc.oneof(fc.constantFrom('http://127.0.0.1:9090', 'http://169.254.169.254/', 'http://metadata.test', 'gopher://x', 'http://10.0.0.7:9090'), unicodeString),
    image_registries: fc.oneof(fc.array(fc.oneof(fc.constantFrom('harbor.internal', '10.0.0.5:5000', 'Bad/Registry'), unicodeString), { maxLength: 3 }), junk),
    placement: fc.oneof(fc.record({ node_selector: fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 }), { maxKeys: 2 }) }), junk),
  },
  { requiredKeys: [] },
);
const signInBody = fc.record({ token: fc.oneof(fc.constant('admin'), visibleAsciiToken(), unicodeString, junk) }, { requiredKeys: [] });
const projectBody = fc.record({ name: fc.oneof(dnsLabel, unicodeString), cluster_id: fc.oneof(fc.uuid().map(String), junk), namespace: fc.oneof(dnsLabel, junk) }, { requiredKeys: [] });
const tokenBody = fc.record(
  { name: fc.oneof(fc.string({ maxLength: 30 }), unicodeString), project_ids: fc.oneof(fc.array(fc.uuid().map(String), { maxLength: 3 }), junk), admin: fc.oneof(fc.boolean(), junk) },
  { requiredKeys: [] },
);

/** Takes an object and moves it away from its schema: a field gets a wrong type, an extra key, a key dropped. */
function mutated(base: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 3, arbitrary: base },
    {
      weight: 3,
      arbitrary: fc.tuple(base, fc.nat(), junk).map(([o, i, value]) => {
        const keys = Object.keys(o);
        if (keys.length === 0) return { name: value };
        return { ...o, [keys[i % keys.length] as string]: value };
      }),
    },
    { weight: 2, arbitrary: fc.tuple(base, fc.oneof(fc.string({ maxLength: 12 }), unicodeString, fc.constantFrom('__proto__', 'constructor', 'prototype')), junk).map(([o, k, v]) => JSON.parse(JSON.stringify({ ...o, [k]: v })) as unknown) },
    { weight: 1, arbitrary: fc.tuple(base, fc.nat()).map(([o, i]) => Object.fromEntries(Object.entries(o).filter((_, j) => j !== i % Math.max(1, Object.keys(o).length)))) },
    { weight: 1, arbitrary: base.map((o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'number' ? String(v) : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v]))) },
    { weight: 1, arbitrary: base.map((o) => [o]) },
    { weight: 1, arbitrary: junk },
  );
}

/** Deeply nested bodies (once a 500 via a stack overflow in canonicalJson; now refused beyond 64 levels). */
const deepNesting = fc.constantFrom(100, 1_000, 2_000, 100_000).chain((depth) =>
  fc.constantFrom('['.repeat(depth) + ']'.repeat(depth), '{"a":'.repeat(depth) + '1' + '}'.repeat(depth), `{"name":"x","env":${'{"A":'.repeat(depth)}"v"${'}'.repeat(depth)}}`),
);
const malformedJson = fc.oneof(
  fc.constantFrom('', '{', '}', '{"name":', '{"name":"a",}', "{'name':'a'}", 'null', 'true', '0', '"str"', '[]', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}', '\ufeff{}', '{"a":1}{"b":2}', 'NaN', '{"name":"a"\u0000}', '{"name":"\\ud800"}', '{"name":"\\u0000"}'),
  fc.string({ maxLength: 60 }),
  fc.jsonValue().map((v) => JSON.stringify(v).slice(0, -1)),
  deepNesting,
);

/** A JSON request body: mostly the (mutated) schema object, sometimes broken text or nothing at all. */
function jsonBody(base: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { weight: 8, arbitrary: mutated(base).map((v) => JSON.stringify(v) ?? 'null') },
    { weight: 2, arbitrary: malformedJson },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
}

// ---------------------------------------------------------------------------------------------- requests

/** Percent-encodes; a string with lone surrogates gets invalid UTF-8 (an encoded lone surrogate) instead. */
const uriEncode = (v: string) => (v.isWellFormed() ? encodeURIComponent(v) : `${encodeURIComponent(v.toWellFormed())}%ED%A0%80`);
const encoded = (s: fc.Arbitrary<string>) => s.map(uriEncode);
const appId = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 1_000 }).map((i) => realAppIds[i % realAppIds.length] ?? randomUUID()) },
  { weight: 2, arbitrary: fc.uuid().map(String) },
  { weight: 1, arbitrary: fc.constantFrom('00000000-0000-0000-0000-000000000000', 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF', 'not-a-uuid', '%00', '..', '%2e%2e', 'a'.repeat(300), '1', '-1') },
  { weight: 1, arbitrary: encoded(unicodeString) },
);
const versionSegment = fc.oneof(fc.constantFrom('1', '2', 'v1', 'v2', '0', '-1', '99999999999999999999', '1.0', 'a'.repeat(64)), encoded(fc.string({ maxLength: 70 })), encoded(unicodeString));
const uploadName = fc.oneof(fc.constantFrom('app.jar', 'app.war', 'app.zip', 'a/b.jar', '..\\x.jar', 'x.exe', '.jar', 'a'.repeat(300) + '.jar'), fc.string({ maxLength: 30 }), unicodeString);
const uploadBytes = fc.oneof(
  { weight: 6, arbitrary: fc.uint8Array({ maxLength: 4_096 }) },
  { weight: 1, arbitrary: fc.constantFrom(Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 0]), new Uint8Array(0)) },
  { weight: 1, arbitrary: fc.constant(new Uint8Array(1024 * 1024 + 10)) }, // over the store's 1 MiB limit
);

const forceQuery = fc.option(fc.oneof(fc.constantFrom('?force=true', '?force=false', '?force=1', '?force=', '?force=true&force=false', '?other=1'), encoded(unicodeString).map((q) => `?force=${q}`)), { nil: '' });
/** The gateway, once started (the generators run inside the test). */
const gw0 = () => gw;

type Shape = { method: Dispatcher.HttpMethod; path: string; body?: string | Uint8Array; upload?: boolean; stream?: boolean };
const m = (method: Dispatcher.HttpMethod, path: string, body?: string | Uint8Array): Shape => ({ method, path, ...(body === undefined ? {} : { body }) });

const shape: fc.Arbitrary<Shape> = fc.oneof(
  { weight: 8, arbitrary: jsonBody(createBody).map((b) => m('POST', '/apps', b)) },
  { weight: 3, arbitrary: validishCreate.map((b) => m('POST', '/apps', JSON.stringify(b))) },
  { weight: 3, arbitrary: acceptableCreate.map((b) => m('POST', '/apps', JSON.stringify(b))) },
  { weight: 3, arbitrary: fc.tuple(appId, acceptableUpdate).map(([id, b]) => m('PATCH', `/apps/${id}`, JSON.stringify(b))) },
  { weight: 5, arbitrary: fc.tuple(appId, jsonBody(updateBody)).map(([id, b]) => m('PATCH', `/apps/${id}`, b)) },
  { weight: 3, arbitrary: fc.tuple(appId, jsonBody(rollbackBody)).map(([id, b]) => m('POST', `/apps/${id}/rollback`, b)) },
  { weight: 2, arbitrary: fc.tuple(appId, fc.constantFrom('promote', 'abort'), fc.option(malformedJson, { nil: undefined })).map(([id, verb, b]) => m('POST', `/apps/${id}/${verb}`, b)) },
  { weight: 1, arbitrary: appId.map((id) => m('DELETE', `/apps/${id}`)) },
  { weight: 2, arbitrary: appId.map((id) => m('GET', `/apps/${id}`)) },
  { weight: 1, arbitrary: fc.constant(m('GET', '/apps')) },
  { weight: 1, arbitrary: appId.map((id) => m('GET', `/apps/${id}/releases`)) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(appId, fc.option(fc.oneof(fc.stringMatching(/^[0-9]{1,18}$/), encoded(fc.string({ maxLength: 20 }))), { nil: undefined }), fc.option(fc.oneof(fc.integer({ min: -5, max: 2_000 }).map(String), encoded(unicodeString)), { nil: undefined }))
      .map(([id, after, limit]) => m('GET', `/apps/${id}/timeline?${after === undefined ? '' : `after=${after}&`}${limit === undefined ? '' : `limit=${limit}`}`)),
  },
  { weight: 2, arbitrary: fc.tuple(appId, versionSegment).map(([id, v]) => m('GET', `/apps/${id}/releases/${v}`)) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.option(uploadName, { nil: undefined }), uploadBytes, fc.constantFrom('', '&filename=b.jar', '&x=1'))
      .map(([name, bytes, extra]): Shape => ({ method: 'POST', path: `/artifacts${name === undefined ? '' : `?filename=${uriEncode(name)}`}${extra}`, body: bytes, upload: true })),
  },
  { weight: 1, arbitrary: fc.constantFrom(m('GET', '/clusters'), m('GET', '/projects'), m('GET', '/tokens')) },
  { weight: 1, arbitrary: jsonBody(clusterBody).map((b) => m('POST', '/clusters', b)) },
  { weight: 1, arbitrary: jsonBody(projectBody).map((b) => m('POST', '/projects', b)) },
  { weight: 1, arbitrary: jsonBody(tokenBody).map((b) => m('POST', '/tokens', b)) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('clusters', 'projects', 'tokens'), fc.oneof(fc.uuid().map(String), encoded(unicodeString)), forceQuery).map(([r, id, q]) => m('DELETE', `/${r}/${id}${q}`)) },
  { weight: 1, arbitrary: fc.tuple(appId, forceQuery).map(([id, q]) => m('DELETE', `/apps/${id}${q}`)) },
  { weight: 1, arbitrary: fc.oneof(fc.constant('cluster').map(() => gw0().clusterId), fc.uuid().map(String), encoded(unicodeString)).map((id) => m('POST', `/clusters/${id}/check`)) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.oneof({ weight: 3, arbitrary: fc.constant('wait-app') }, { weight: 1, arbitrary: fc.uuid().map(String) }, { weight: 1, arbitrary: encoded(unicodeString) }), fc.option(fc.oneof(fc.constantFrom('0s', '1s', '100ms', '15m', '16m', '1h', '-1s', '1e3'), encoded(unicodeString)), { nil: undefined }))
      .map(([id, timeout]) => m('GET', `/apps/${id === 'wait-app' ? waitAppId : id}/wait${timeout === undefined ? '' : `?timeout=${timeout}`}`)),
  },
  { weight: 1, arbitrary: appId.map((id): Shape => ({ ...m('GET', `/apps/${id}/events`), stream: true })) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(appId, fc.option(fc.oneof(fc.constantFrom('1', '100', '5000', '5001', '0', '-1'), encoded(unicodeString)), { nil: undefined }), fc.option(fc.constantFrom('true', 'false', 'yes'), { nil: undefined }), fc.option(versionSegment, { nil: undefined }))
      .map(([id, tail, previous, release]) => m('GET', `/apps/${id}/logs?${[tail && `tail=${tail}`, previous && `previous=${previous}`, release && `release=${release}`].filter(Boolean).join('&')}`)),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(appId, fc.option(fc.oneof(fc.constantFrom('1h', '15m', '7d', '8d', '30s', '0m', 'x'), encoded(unicodeString)), { nil: undefined }), fc.option(fc.oneof(fc.constantFrom('30s', '5s', '1s', '1m'), encoded(unicodeString)), { nil: undefined }))
      .map(([id, range, step]) => m('GET', `/apps/${id}/metrics?${[range && `range=${range}`, step && `step=${step}`].filter(Boolean).join('&')}`)),
  },
  { weight: 1, arbitrary: jsonBody(signInBody).map((b) => m('POST', '/session', b)) },
  { weight: 1, arbitrary: fc.constantFrom(m('GET', '/session'), m('DELETE', '/session')) },
  { weight: 1, arbitrary: fc.constantFrom(m('GET', '/healthz'), m('GET', '/readyz'), m('GET', '/metrics'), m('GET', '/openapi.json'), m('GET', '/docs'), m('GET', '/docs/static/index.html'), m('GET', '/docs/json'), m('GET', '/'), m('GET', '/console/'), m('GET', '/console/assets/x.js')) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.constantFrom<Dispatcher.HttpMethod>('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'),
        fc.array(fc.oneof(fc.constantFrom('apps', 'artifacts', 'clusters', 'projects', 'tokens', 'releases', 'rollback', 'docs', 'healthz', 'readyz', 'metrics', 'openapi.json', '..', '%2e%2e', '%00', '%ff', '', '%'), encoded(fc.string({ maxLength: 10 }))), { maxLength: 5 }),
        fc.option(fc.string({ maxLength: 20 }).map((q) => `?${uriEncode(q)}=${uriEncode(q)}&a[b]=1`), { nil: '' }),
        fc.option(malformedJson, { nil: undefined }),
      )
      .map(([method, segments, query, body]) => m(method, `/${segments.join('/')}${query}`, method === 'GET' || method === 'HEAD' ? undefined : body)),
  },
);

const visibleAscii = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 40 });
const headerText = fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f).map((c) => String.fromCharCode(c)), maxLength: 60 }).map((s) => s.trim());

const authorization = fc.oneof(
  { weight: 12, arbitrary: fc.constant('admin') },
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: headerText },
  { weight: 1, arbitrary: visibleAscii.map((t) => `Bearer ${t}`) },
  { weight: 1, arbitrary: fc.constantFrom('Basic YWRtaW46YWRtaW4=', 'Bearer', 'Bearer ', 'bearer admin', 'Bearer aps_' + 'A'.repeat(43), 'Bearer ' + 'a'.repeat(2_000), 'Bearer a b', 'Bearer ====') },
);
const contentType = fc.oneof(
  { weight: 10, arbitrary: fc.constant('application/json') },
  { weight: 1, arbitrary: fc.constant(undefined) },
  {
    weight: 2,
    arbitrary: fc.constantFrom('text/plain', 'application/json; charset=latin1', 'application/json; charset=utf-16', 'APPLICATION/JSON', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream', 'application/json, text/plain', ';', 'application/*'),
  },
  { weight: 1, arbitrary: headerText },
);
const idempotencyKey = fc.oneof(
  { weight: 8, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: fc.uuid().map(String) },
  { weight: 2, arbitrary: fc.constantFrom('k1', 'k2', 'k3') }, // reused across different requests
  { weight: 1, arbitrary: headerText },
  { weight: 1, arbitrary: fc.constantFrom('a'.repeat(255), 'a'.repeat(256), ' ', 'é', 'a b', '\t') },
);

const request: fc.Arbitrary<FuzzRequest> = fc.tuple(shape, authorization, contentType, idempotencyKey).map(([s, auth, type, key]) => {
  const headers: Record<string, string> = {};
  if (auth !== undefined) headers.authorization = auth === 'admin' ? `Bearer ${gw.adminToken}` : auth;
  if (s.upload) {
    if (type !== 'application/json' && type !== undefined) headers['content-type'] = type;
    else if (type === 'application/json') headers['content-type'] = 'application/java-archive';
  } else if (type !== undefined && s.body !== undefined) {
    headers['content-type'] = type;
  }
  if (key !== undefined) headers['idempotency-key'] = key;
  if (s.path === '/session' && s.method === 'POST' && s.body) headers['content-type'] = 'application/json';
  const body = s.path === '/session' && typeof s.body === 'string' ? s.body.replace('"admin"', JSON.stringify(gw.adminToken)) : s.body;
  return { method: s.method, path: s.path, headers, ...(body === undefined ? {} : { body }), ...(s.stream ? { stream: true } : {}) };
});

// ---------------------------------------------------------------------------------------------- run

function describeRequest(r: FuzzRequest): string {
  const body = r.body === undefined ? '(none)' : typeof r.body === 'string' ? JSON.stringify(r.body.length > 500 ? `${r.body.slice(0, 500)}… (${r.body.length} chars)` : r.body) : `<${r.body.length} bytes>`;
  return `${r.method} ${r.path.length > 300 ? `${r.path.slice(0, 300)}…` : r.path}\nheaders: ${JSON.stringify({ ...r.headers, ...(r.headers.authorization?.includes(gw.adminToken) ? { authorization: 'Bearer <admin>' } : {}) })}\nbody: ${body}`;
}

/**
 * Every route of the gateway, from its own OpenAPI document plus the routes the document leaves out (probes, docs,
 * console): each must get generated requests.
 */
function routeCoverage(openapi: { paths: Record<string, Record<string, unknown>> }) {
  const extra: [string, string][] = [['GET', '/healthz'], ['GET', '/readyz'], ['GET', '/metrics'], ['GET', '/openapi.json'], ['GET', '/docs'], ['GET', '/']];
  const routes = [
    ...Object.entries(openapi.paths).flatMap(([path, operations]) => Object.keys(operations).filter((k) => k !== 'parameters').map((method) => [method.toUpperCase(), path] as [string, string])),
    ...extra,
  ];
  const matchers = routes.map(([method, path]) => ({ key: `${method} ${path}`, method, pattern: new RegExp(`^${path.replace(/[.]/g, '\\.').replace(/\{[^}]+\}/g, '[^/]+')}$`) }));
  const hits = new Map(matchers.map((m) => [m.key, 0]));
  return {
    record(method: string, path: string) {
      const bare = path.split('?')[0] ?? path;
      for (const m of matchers) if (m.method === method && m.pattern.test(bare)) hits.set(m.key, (hits.get(m.key) ?? 0) + 1);
    },
    missed: () => [...hits].filter(([, n]) => n === 0).map(([key]) => key),
    size: () => matchers.length,
  };
}
let coverage: ReturnType<typeof routeCoverage>;

let sent = 0;
let clientRefused = 0;
const statuses = new Map<string, number>();

async function send(r: FuzzRequest): Promise<void> {
  let response: Dispatcher.ResponseData;
  try {
    response = await pool.request({ method: r.method, path: r.path, headers: r.headers, ...(r.body === undefined ? {} : { body: r.body }) });
  } catch (error) {
    // undici refuses some generated requests itself (e.g. a header it will not send): nothing reached the server.
    if ((error as { code?: string }).code === 'UND_ERR_INVALID_ARG' || error instanceof TypeError) {
      clientRefused += 1;
      return;
    }
    throw new Error(`no answer to\n${describeRequest(r)}\n${String(error)}`, { cause: error });
  }
  const streamed = r.stream === true && String(response.headers['content-type'] ?? '').startsWith('text/event-stream');
  const text = streamed ? '' : await response.body.text();
  if (streamed) response.body.destroy();
  sent += 1;
  coverage.record(r.method, r.path);
  const route = `${r.method} ${r.path.split('?')[0]?.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '{id}').slice(0, 40) ?? ''}`;
  const statusKey = `${response.statusCode}`;
  statuses.set(statusKey, (statuses.get(statusKey) ?? 0) + 1);
  const problem = (what: string) =>
    new Error(
      `${what}\n--- request\n${describeRequest(r)}\n--- response ${response.statusCode}\n${text.slice(0, 1_000)}\n--- server log (warn and above, last 3)\n${JSON.stringify(gw.logs.slice(-3), null, 1).slice(0, 3_000)}\nroute: ${route}`,
    );
  if (response.statusCode >= 500) throw problem('5xx');
  if (response.statusCode >= 400 && r.method !== 'HEAD') {
    let parsed: { error?: { code?: unknown; message?: unknown } } | undefined;
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      throw problem('a 4xx whose body is not JSON');
    }
    if (typeof parsed?.error?.code !== 'string' || typeof parsed.error.message !== 'string') throw problem('a 4xx without error.code and error.message strings');
  }
}

/** Keeps the real apps reachable by the deeper paths (update, rollback): their operations end, with an image. */
async function finishOperations(): Promise<void> {
  const db = gw.database.db;
  const ids = [...realAppIds, waitAppId];
  await db.updateTable('operations').set({ status: 'succeeded', finished_at: new Date() }).where('app_id', 'in', ids).where('status', 'in', ['pending', 'running']).execute();
  await db.updateTable('releases').set({ status: 'succeeded', finished_at: new Date(), image_ref: realImage.split('@')[0] ?? realImage, image_digest: realImage.split('@')[1] ?? null }).where('app_id', 'in', ids).where('finished_at', 'is', null).execute();
  await db.updateTable('apps').set({ status: 'running', deleted_at: null }).where('id', 'in', ids).execute();
}

beforeAll(async () => {
  gw = await startTestGateway();
  deadPort = await freePort();
  pool = httpPool(gw.base, IN_FLIGHT);
  // Pod logs are read by the watcher, which this file does not run: a responder on its subject answers for a
  // watcher whose cluster has no pods, so GET /logs reaches its answer instead of a 503 logs_unavailable.
  gw.nc.subscribe(rpcs.podLogs.subject, { callback: (_error, msg) => {
      msg.respond(JSON.stringify({ ok: true, data: { pods: [] } }));
    },
  });
  // The same for app metrics: a watcher whose cluster's Prometheus has no series for the app.
  gw.nc.subscribe(rpcs.appMetrics.subject, { callback: (_error, msg) => {
      const ask = msg.json<{ app_id: string; start: number; end: number; step_seconds: number }>();
      const data = { app_id: ask.app_id, start: new Date(ask.start * 1000).toISOString(), end: new Date(ask.end * 1000).toISOString(), step_seconds: ask.step_seconds, tracks: [], series: [], pods: [], markers: [], missing: [] };
      msg.respond(JSON.stringify({ ok: true, data }));
    },
  });
  const openapi = await pool.request({ method: 'GET', path: '/openapi.json' });
  coverage = routeCoverage((await openapi.body.json()) as { paths: Record<string, Record<string, unknown>> });
  for (const name of ['fuzz-a', 'fuzz-b', 'fuzz-c', 'fuzz-d', 'fuzz-wait']) {
    const r = await pool.request({
      method: 'POST',
      path: '/apps',
      headers: { authorization: `Bearer ${gw.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name, version: 'v1', task_type: 'all', artifact_url: 'http://nexus.example/a.jar', port: '8080', resource_spec: 'medium', strategy: name === 'fuzz-d' ? 'canary' : 'rolling' }),
    });
    const body = (await r.body.json()) as { app: { id: string } };
    expect(r.statusCode).toBe(202);
    if (name === 'fuzz-wait') waitAppId = body.app.id;
    else realAppIds.push(body.app.id);
  }
  await finishOperations();
});

afterAll(async () => {
  await pool?.close();
  await gw?.close();
});

describe('fuzz: generated requests over HTTP', () => {
  it(`answers ${MIN_REQUESTS}+ generated requests without a 5xx, each error with its code and message, and stays up`, { timeout: 180_000 }, async () => {
    console.log(`fuzz seed: ${seed} (replay: FUZZ_SEED=${seed})`);
    const started = Date.now();
    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: IN_FLIGHT, maxLength: IN_FLIGHT }), async (batch) => {
        await finishOperations();
        await Promise.all(batch.map(send));
      }),
      { seed, numRuns: BATCHES, endOnFailure: true, verbose: 0 },
    );
    const elapsed = Date.now() - started;
    console.log(`fuzz: ${sent} requests answered over ${coverage.size()} routes (every one hit; ${clientRefused} refused by the client before sending) in ${elapsed} ms; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
    expect(sent).toBeGreaterThanOrEqual(MIN_REQUESTS);
    expect(elapsed, 'the run is bounded in time').toBeLessThan(60_000);
    // Every route of the API got generated requests.
    expect(coverage.size()).toBeGreaterThan(25);
    expect(coverage.missed()).toEqual([]);

    // No release can fail later for its shape: every command the gateway accepted passes the checks each consumer
    // makes before it acts (the shared schemas and field rules of the catalog, as the builder and deployer decode).
    const commands = await gw.database.db.selectFrom('outbox').select(['type', 'event']).execute();
    const refused = commands.flatMap((c) => {
      try {
        decodeCloudEvent(new TextEncoder().encode(JSON.stringify(c.event)), allMessageTypes);
        return [];
      } catch (error) {
        return [`${c.type}: ${(error as Error).message} ${JSON.stringify((error as { details?: unknown }).details ?? {}).slice(0, 300)}`];
      }
    });
    const byType = Object.fromEntries([...new Set(commands.map((c) => c.type))].map((t) => [t, commands.filter((c) => c.type === t).length]));
    console.log(`fuzz: commands accepted ${JSON.stringify(byType)}`);
    expect(commands.filter((c) => /\.(build|deploy)\./.test(c.type)).length).toBeGreaterThan(10);
    expect(refused).toEqual([]);

    for (const probe of ['/healthz', '/readyz']) {
      const r = await pool.request({ method: 'GET', path: probe });
      await r.body.text();
      expect(r.statusCode, probe).toBe(200);
    }
    // Still serving the API too.
    const list = await pool.request({ method: 'GET', path: '/apps', headers: { authorization: `Bearer ${gw.adminToken}` } });
    await list.body.text();
    expect(list.statusCode).toBe(200);
  });
});
