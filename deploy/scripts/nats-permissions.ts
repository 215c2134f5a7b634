import { DEFAULT_ARTIFACT_BUCKET } from '@appserving/shared/artifacts';
import { commandTypes, consumers, DeployCommandV1 as deployCommand, eventTypes, rpcs, streams, type ConsumerDefinition } from '@appserving/shared/contracts';

/**
 * The NATS subject permissions of each service, derived from the message catalog: what it publishes, which
 * durable consumers it pulls from, which JetStream API calls it makes. The bundled NATS server of the chart
 * (deploy/appserving/charts/nats) renders them into its users; operators of their own NATS give the same sets to
 * their users (docs/operations.md). `pnpm --filter @appserving/deploy nats-permissions` writes the file the chart
 * reads; a test fails when the catalog changed and the file was not regenerated.
 */
export const SERVICES = ['gateway', 'builder', 'deployer', 'watcher'] as const;
export type Service = (typeof SERVICES)[number];

export interface SubjectRules {
  allow: string[];
  deny: string[];
}
export interface UserPermissions {
  publish: SubjectRules;
  subscribe: SubjectRules;
  /** May answer requests (publish once to the reply subject of a message it received). */
  allow_responses: boolean;
}

/** Who pulls from each durable consumer. Every consumer of the catalog must have exactly one owner. */
export function ownerOf(consumer: ConsumerDefinition): Service {
  if (consumer.name === 'builder') return 'builder';
  if (consumer.name === 'deployer') return 'deployer';
  if (consumer.name.startsWith('watcher-')) return 'watcher';
  throw new Error(`consumer ${consumer.name} has no owning service: add it to ownerOf() in deploy/scripts/nats-permissions.ts`);
}

/**
 * Core NATS subject on which gateway replicas tell each other that a token was revoked
 * (services/gateway/src/auth/principal-cache.ts, TOKEN_REVOKED_SUBJECT).
 */
export const TOKEN_REVOKED_SUBJECT = 'appserving.gateway.token-revoked';

/** Who publishes each event family (appserving.evt.<family>.…). */
const eventPublishers: Record<string, Service> = { build: 'builder', deploy: 'deployer', release: 'watcher', canary: 'watcher', app: 'watcher' };

function eventPublisher(subjectPattern: string): Service {
  const family = subjectPattern.split('.')[2] ?? '';
  const owner = eventPublishers[family];
  if (!owner) throw new Error(`event family ${family} (${subjectPattern}) has no publishing service: add it to eventPublishers in deploy/scripts/nats-permissions.ts`);
  return owner;
}

/** JetStream API subjects for one object store bucket (its stream is OBJ_<bucket>). */
function objectStoreApi(bucket: string, write: boolean): string[] {
  const stream = `OBJ_${bucket}`;
  return [
    `$JS.API.STREAM.INFO.${stream}`,
    // Opening the store creates the bucket when it is missing, whichever service comes first.
    `$JS.API.STREAM.CREATE.${stream}`,
    `$JS.API.STREAM.MSG.GET.${stream}`,
    `$JS.API.DIRECT.GET.${stream}`,
    `$JS.API.DIRECT.GET.${stream}.>`,
    // Reading an object is an ordered (ephemeral) consumer on its chunks.
    `$JS.API.CONSUMER.CREATE.${stream}`,
    `$JS.API.CONSUMER.CREATE.${stream}.>`,
    `$JS.API.CONSUMER.INFO.${stream}.*`,
    `$JS.API.CONSUMER.MSG.NEXT.${stream}.*`,
    `$JS.API.CONSUMER.DELETE.${stream}.*`,
    ...(write ? [`$JS.API.STREAM.PURGE.${stream}`, `$O.${bucket}.>`] : []),
  ];
}

/**
 * KV buckets of the deployer (services/deployer/src/adapters: gate-store.ts GATE_BUCKET, app-locks.ts
 * LOCK_BUCKET): promotion gates and per-app helm leases shared by its replicas.
 */
export const DEPLOYER_KV_BUCKETS = ['appserving_deployer_gates', 'appserving_deployer_locks'];

/** JetStream API subjects for one KV bucket (its stream is KV_<bucket>), read and write. */
function keyValueApi(bucket: string): string[] {
  const stream = `KV_${bucket}`;
  return [
    `$JS.API.STREAM.INFO.${stream}`,
    `$JS.API.STREAM.CREATE.${stream}`,
    `$JS.API.STREAM.UPDATE.${stream}`,
    `$JS.API.STREAM.MSG.GET.${stream}`,
    `$JS.API.DIRECT.GET.${stream}`,
    `$JS.API.DIRECT.GET.${stream}.>`,
    `$JS.API.CONSUMER.CREATE.${stream}`,
    `$JS.API.CONSUMER.CREATE.${stream}.>`,
    `$JS.API.CONSUMER.INFO.${stream}.*`,
    `$JS.API.CONSUMER.MSG.NEXT.${stream}.*`,
    `$JS.API.CONSUMER.DELETE.${stream}.*`,
    `$KV.${bucket}.>`,
  ];
}

export function natsPermissions(): Record<Service, UserPermissions> {
  const catalogStreams = Object.values(streams);
  const allConsumers = Object.values(consumers) as ConsumerDefinition[];

  // Every service ensures the whole topology at start (docs/messaging.md): every stream and every durable
  // consumer of the catalog, created or updated, never deleted.
  const topology = [
    '$JS.API.INFO',
    '$JS.API.STREAM.NAMES',
    '$JS.API.STREAM.LIST',
    ...catalogStreams.flatMap((s) => [`$JS.API.STREAM.INFO.${s.name}`, `$JS.API.STREAM.CREATE.${s.name}`, `$JS.API.STREAM.UPDATE.${s.name}`]),
    ...allConsumers.flatMap((c) => [
      `$JS.API.CONSUMER.INFO.${c.stream.name}.${c.name}`,
      `$JS.API.CONSUMER.CREATE.${c.stream.name}.${c.name}`,
      `$JS.API.CONSUMER.CREATE.${c.stream.name}.${c.name}.>`,
      `$JS.API.CONSUMER.DURABLE.CREATE.${c.stream.name}.${c.name}`,
    ]),
  ];

  const result = {} as Record<Service, UserPermissions>;
  for (const service of SERVICES) {
    const owned = allConsumers.filter((c) => ownerOf(c) === service);
    const publish = [
      ...topology,
      // Pull, acknowledge and dead-letter the messages of its own consumers only.
      ...owned.flatMap((c) => [`$JS.API.CONSUMER.MSG.NEXT.${c.stream.name}.${c.name}`, `$JS.ACK.${c.stream.name}.${c.name}.>`, `appserving.dlq.${c.name}`]),
      ...eventTypes.filter((t) => eventPublisher(t.subjectPattern) === service).map((t) => t.subjectPattern),
    ];
    const subscribe: string[] = ['_INBOX.>'];
    const deny: string[] = [];
    let allowResponses = false;

    if (service === 'gateway') {
      publish.push(...commandTypes.map((t) => t.subjectPattern));
      publish.push(...objectStoreApi(DEFAULT_ARTIFACT_BUCKET, true));
      publish.push(rpcs.podLogs.subject, TOKEN_REVOKED_SUBJECT);
      subscribe.push(TOKEN_REVOKED_SUBJECT);
      // Live events (SSE) are ordered consumers with generated names on the events stream; the durable
      // consumers there belong to the watcher and stay out of reach.
      const events = streams.events.name;
      publish.push(`$JS.API.CONSUMER.CREATE.${events}.*.>`, `$JS.API.CONSUMER.INFO.${events}.*`, `$JS.API.CONSUMER.MSG.NEXT.${events}.*`, `$JS.API.CONSUMER.DELETE.${events}.*`);
      for (const c of allConsumers.filter((c) => c.stream.name === events)) {
        deny.push(`$JS.API.CONSUMER.MSG.NEXT.${events}.${c.name}`, `$JS.API.CONSUMER.DELETE.${events}.${c.name}`);
      }
    }
    if (service === 'builder') {
      // A successful build of a `task_type: all` release asks for its deploy.
      publish.push(deployCommand.subjectPattern);
      // It fetches an artifact_url once and keeps the bytes in the upload store for the build Pod (ADR 0008).
      publish.push(...objectStoreApi(DEFAULT_ARTIFACT_BUCKET, true));
    }
    if (service === 'deployer') {
      for (const bucket of DEPLOYER_KV_BUCKETS) publish.push(...keyValueApi(bucket));
    }
    if (service === 'watcher') {
      subscribe.push(rpcs.podLogs.subject);
      allowResponses = true;
    }
    result[service] = {
      publish: { allow: unique(publish), deny: unique(deny) },
      subscribe: { allow: unique(subscribe), deny: [] },
      allow_responses: allowResponses,
    };
  }
  return result;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

/** The file the chart reads (charts/nats/files/permissions.json), as written by the generator. */
export function natsPermissionsFile(): string {
  return `${JSON.stringify(natsPermissions(), null, 2)}\n`;
}
