-- The in-app notification feed per customer (security alerts now, payments later).
create table customer_notifications (
  id uuid primary key,
  customer_id uuid not null references customers (id),
  kind text not null check (kind ~ '^[a-z][a-z0-9_]{0,63}$'),
  title text not null check (length(title) <= 200),
  body text not null check (length(body) <= 2000),
  created_at timestamptz not null default now(),
  read_at timestamptz
);
create index customer_notifications_by_customer on customer_notifications (customer_id, created_at desc);
