import { setTimeout as sleep } from 'node:timers/promises';
import { RetryableError, type ReleaseRefV1 } from '@appserving/shared';
import type { JetStreamClient } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';

/**
 * The promotion gate of a canary or blue-green release, in a NATS KV bucket so that every deployer replica
 * answers Flagger the same. `closed` until a promote opens it; an abort closes it for good (`aborted`), which
 * also makes the rollback webhook answer yes.
 */
export type GateState = 'closed' | 'open' | 'aborted';

export interface GateRecord {
  release: ReleaseRefV1;
  state: GateState;
  /** `waiting-promotion` was published (Flagger asked while closed). */
  waitingAnnounced: boolean;
  /** `rolled-back` was published (Flagger reported the rollback of a failed analysis). */
  rollbackAnnounced: boolean;
  /** Flagger's last complaint about the analysis (e.g. `Halt orders.shop advancement success-rate 50.00 < 99`). */
  lastWarning: string | null;
  updatedAt: string;
}

export interface GateStore {
  get(appId: string, releaseId: string): Promise<GateRecord | undefined>;
  /** Creates the release's gate, closed, unless it exists (a promote or abort may have come first). */
  ensure(release: ReleaseRefV1): Promise<void>;
  /**
   * Reads, changes and writes a gate with compare-and-set, retrying when another replica wrote in between.
   * `change` gets the current record (a fresh closed one when there is none) and returns the new one, or
   * `undefined` to leave it as it is.
   */
  update(release: ReleaseRefV1, change: (current: GateRecord) => GateRecord | undefined): Promise<GateRecord>;
  /** Removes every gate of an app (on delete). */
  removeApp(appId: string): Promise<number>;
}

export const GATE_BUCKET = 'appserving_deployer_gates';
/** A gate nobody touched for this long is gone; its release reached a terminal state long before (the watcher's deadlines). */
const GATE_TTL_MS = 30 * 24 * 60 * 60 * 1000;

export async function openGateStore(js: JetStreamClient): Promise<GateStore> {
  const kv = await new Kvm(js).create(GATE_BUCKET, { history: 1, ttl: GATE_TTL_MS, description: 'Promotion gates of canary and blue-green releases (deployer).' });
  return createGateStore(kv);
}

const keyOf = (appId: string, releaseId: string) => `${appId}.${releaseId}`;
const MAX_ATTEMPTS = 25;

export function createGateStore(kv: KV): GateStore {
  async function read(appId: string, releaseId: string): Promise<{ record: GateRecord; revision: number } | undefined> {
    const entry = await kv.get(keyOf(appId, releaseId));
    if (!entry || entry.operation !== 'PUT' || entry.length === 0) return undefined;
    return { record: entry.json<GateRecord>(), revision: entry.revision };
  }

  return {
    async get(appId, releaseId) {
      return (await read(appId, releaseId))?.record;
    },

    async ensure(release) {
      try {
        await kv.create(keyOf(release.app_id, release.release_id), JSON.stringify(fresh(release)));
      } catch (error) {
        if (!isWrongRevision(error)) throw new RetryableError('gate_write_failed', `could not create the gate of release ${release.release_id}`, { cause: error });
      }
    },

    async update(release, change) {
      const key = keyOf(release.app_id, release.release_id);
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        // Another writer won the last round: let the writers spread out before reading again.
        if (attempt > 1) await sleep(Math.random() * 20 * Math.min(attempt, 5));
        const current = await read(release.app_id, release.release_id);
        const base = current?.record ?? fresh(release);
        const next = change(structuredClone(base));
        if (!next) return base;
        const body = JSON.stringify({ ...next, updatedAt: new Date().toISOString() });
        try {
          if (current) await kv.update(key, body, current.revision);
          else await kv.create(key, body);
          return next;
        } catch (error) {
          if (!isWrongRevision(error) || attempt === MAX_ATTEMPTS) throw new RetryableError('gate_write_failed', `could not write the gate of release ${release.release_id}`, { cause: error });
        }
      }
      throw new RetryableError('gate_write_failed', `could not write the gate of release ${release.release_id}`);
    },

    async removeApp(appId) {
      const keys: string[] = [];
      for await (const key of await kv.keys(`${appId}.*`)) keys.push(key);
      for (const key of keys) await kv.purge(key);
      return keys.length;
    },
  };
}

function fresh(release: ReleaseRefV1): GateRecord {
  return { release, state: 'closed', waitingAnnounced: false, rollbackAnnounced: false, lastWarning: null, updatedAt: new Date().toISOString() };
}

/** Another writer changed the key since it was read (or created it first). */
function isWrongRevision(error: unknown): boolean {
  const text = error instanceof Error ? `${error.message} ${String((error as { code?: number | string }).code ?? '')}` : String(error);
  return /wrong last sequence|10071|key exists/i.test(text);
}
