-- The append-only, tamper-evident audit log (src/operations/audit/README.md).
--
-- Callers insert one row (cheap, inside their own transaction when the action is transactional).
-- A sealer, off the request path, groups unsealed events into blocks and chains the blocks by hash:
-- block hash = SHA-256(previous block hash, block number, canonical encoding of its events in order).
-- `koban audit verify` recomputes the chain and reports any edited, deleted or reordered event or block.

create table audit_events (
  id bigint generated always as identity primary key,
  occurred_at timestamptz not null default clock_timestamp(),
  actor_kind text not null check (actor_kind in ('operator', 'customer', 'system', 'cli')),
  actor_id text not null check (length(actor_id) between 1 and 200),
  action text not null check (action ~ '^[a-z][a-z0-9_.]{0,99}$'),
  target_kind text check (length(target_kind) <= 50),
  target_id text check (length(target_id) <= 200),
  reason text check (length(reason) <= 2000),
  details jsonb not null default '{}'::jsonb check (jsonb_typeof(details) = 'object' and length(details::text) <= 16384),
  ip text check (length(ip) <= 64),
  outcome text not null check (outcome in ('success', 'denied', 'failure')),
  request_id text check (length(request_id) <= 64)
);
create index audit_events_by_target on audit_events (target_kind, target_id, id);
create index audit_events_by_actor on audit_events (actor_kind, actor_id, id);

-- The sealer's work queues: every event enters one by trigger (whoever inserted it), the sealer
-- removes the ones it sealed. They stay small, so finding unsealed events never scans the whole log.
-- The chain covers two sources: operations' audit_events and identity's security_events (0010).
create table audit_unsealed (event_id bigint primary key);
create table security_events_unsealed (event_id uuid primary key, seq bigint not null);
create index security_events_unsealed_by_seq on security_events_unsealed (seq);

create function audit_queue_event() returns trigger language plpgsql as $$
begin
  insert into audit_unsealed (event_id) values (new.id);
  return new;
end $$;
create trigger audit_events_queue after insert on audit_events for each row execute function audit_queue_event();

create function security_event_queue_event() returns trigger language plpgsql as $$
begin
  insert into security_events_unsealed (event_id, seq) values (new.id, new.seq);
  return new;
end $$;
create trigger security_events_queue after insert on security_events for each row execute function security_event_queue_event();
-- Security events written before this migration are queued too, so the chain covers all of them.
insert into security_events_unsealed (event_id, seq) select id, seq from security_events;

-- One row per block. The arrays list the block's events in sealing order: the hash covers that order,
-- so swapping two events (or their ids) is detected.
create table audit_blocks (
  block_no bigint primary key check (block_no >= 1),
  previous_hash text not null check (previous_hash ~ '^[0-9a-f]{64}$'),
  hash text not null unique check (hash ~ '^[0-9a-f]{64}$'),
  event_ids bigint[] not null,
  security_event_ids uuid[] not null,
  check (cardinality(event_ids) + cardinality(security_event_ids) between 1 and 20000),
  sealed_at timestamptz not null default clock_timestamp()
);

create function refuse_audit_rewrite() returns trigger language plpgsql as $$
begin
  raise exception 'the audit log is append-only: % on % refused', tg_op, tg_table_name
    using errcode = 'restrict_violation';
end $$;
create trigger audit_events_are_immutable before update or delete or truncate on audit_events
  for each statement execute function refuse_audit_rewrite();
create trigger audit_blocks_are_immutable before update or delete or truncate on audit_blocks
  for each statement execute function refuse_audit_rewrite();
