import { sql, type Kysely } from 'kysely';

// Frozen in time: imports nothing from the application.

// Creates of new apps, several in one statement (the gateway's group commit of POST /apps): one round trip
// and one commit for many requests, each item still judged on its own. Per item, in order: the target
// cluster (and project) must be live; a keyed request's idempotency record is written first, and an item whose
// key is already recorded writes nothing else; an item whose name is taken writes nothing (its record is
// removed again); otherwise the app, its first release, the operation and the outbox entry are written.
// No exception blocks, so no subtransaction per item: conflicts are met with ON CONFLICT DO NOTHING.
// One row per item: its ordinal (from 1) and outcome: written | key_answered | target_gone | name_taken.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create function appserving_create_apps(items jsonb)
    returns table (ordinal integer, outcome text)
    language plpgsql
    as $fn$
    declare
      item jsonb;
      n integer := 0;
      at timestamptz;
    begin
      for item in select value from jsonb_array_elements(items) loop
        n := n + 1;
        ordinal := n;
        at := (item->>'created_at')::timestamptz;
        if not (
          exists (select 1 from clusters c where c.id = (item->>'cluster_id')::uuid and c.deleted_at is null)
          and ((item->>'project_id') is null or exists (
            select 1 from projects p
            where p.id = (item->>'project_id')::uuid and p.cluster_id = (item->>'cluster_id')::uuid and p.deleted_at is null))
        ) then
          outcome := 'target_gone';
          return next;
          continue;
        end if;
        if item ? 'record' then
          insert into idempotency_records (principal, key, method, path, request_hash, status_code, response)
          values (item->'record'->>'principal', item->'record'->>'key', item->'record'->>'method', item->'record'->>'path',
            item->'record'->>'request_hash', (item->'record'->>'status')::integer, item->'record'->'response')
          on conflict (principal, key) do nothing;
          if not found then
            outcome := 'key_answered';
            return next;
            continue;
          end if;
        end if;
        insert into apps (id, name, cluster_id, project_id, app_type, strategy, created_at)
        values ((item->>'app_id')::uuid, item->>'name', (item->>'cluster_id')::uuid, (item->>'project_id')::uuid,
          item->>'app_type', item->>'strategy', at)
        on conflict do nothing;
        if not found then
          if item ? 'record' then
            delete from idempotency_records r where r.principal = item->'record'->>'principal' and r.key = item->'record'->>'key';
          end if;
          outcome := 'name_taken';
          return next;
          continue;
        end if;
        insert into releases (id, app_id, version, version_label, task_type, spec, strategy, image_ref, secrets_encrypted, created_at)
        values ((item->>'release_id')::uuid, (item->>'app_id')::uuid, 1, item->>'version_label', item->>'task_type', item->'spec',
          item->>'strategy', item->>'image_ref', decode(item->>'secrets_encrypted', 'base64'), at);
        insert into operations (id, app_id, release_id, kind, command_id, created_at)
        values ((item->>'operation_id')::uuid, (item->>'app_id')::uuid, (item->>'release_id')::uuid, 'create', item->>'command_id', at);
        insert into outbox (id, subject, type, event, created_at)
        values (item->>'command_id', item->>'subject', item->'event'->>'type', item->'event', at);
        outcome := 'written';
        return next;
      end loop;
    end
    $fn$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function appserving_create_apps(jsonb)`.execute(db);
}
