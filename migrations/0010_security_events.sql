-- The security audit log: append-only. Every sign-in, factor, contact, recovery and social-link event
-- is one row. Rows are never changed or removed (a hash chain over them comes with operations).
create table security_events (
  id uuid primary key,
  seq bigint generated always as identity,
  occurred_at timestamptz not null default now(),
  event_type text not null check (event_type ~ '^[a-z][a-z0-9_.]{1,63}$'),
  outcome text not null check (outcome in ('success', 'failure', 'refused')),
  -- Who acted: 'customer', 'anonymous' or 'system'.
  actor text not null check (actor in ('customer', 'anonymous', 'system')),
  customer_id uuid,
  session_id uuid,
  -- First 16 hex characters of the device cookie's SHA-256: enough to correlate, useless to replay.
  device_ref text check (device_ref ~ '^[0-9a-f]{16}$'),
  ip text check (length(ip) <= 64),
  user_agent text check (length(user_agent) <= 512),
  reasons text[] not null default '{}' check (cardinality(reasons) <= 16),
  details jsonb not null default '{}'
);
create index security_events_by_customer on security_events (customer_id, seq) where customer_id is not null;
create index security_events_by_type on security_events (event_type, occurred_at);

create function refuse_security_event_rewrite() returns trigger language plpgsql as $$
begin
  raise exception 'the security audit log is append-only: % on % refused', tg_op, tg_table_name
    using errcode = 'restrict_violation';
end $$;
create trigger security_events_are_immutable before update or delete or truncate on security_events
  for each statement execute function refuse_security_event_rewrite();
