-- Kill switches (src/operations/switches). A missing row means "on": only switches someone changed are
-- stored. Every Koban process caches this small table and re-reads it on NOTIFY koban_changes and at
-- least every second, so a change is obeyed everywhere within one second.
create table operation_switches (
  name text primary key check (name ~ '^[a-z][a-z0-9_.-]{0,63}$'),
  state text not null check (state in ('on', 'off')),
  reason text not null check (length(reason) between 3 and 1000),
  changed_by text not null check (length(changed_by) between 1 and 200),
  changed_at timestamptz not null default now(),
  version bigint not null check (version >= 1)
);
