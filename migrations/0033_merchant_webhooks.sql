-- Merchant webhooks (src/payments/webhooks): a transactional outbox of events, one delivery per event and
-- endpoint with bounded retries, and a log of every attempt.

-- Written in the same transaction as the payment or refund state it reports. `body` is the exact bytes
-- delivered and signed, so a redelivery sends (and signs) the same document.
create table webhook_events (
  id uuid primary key,
  merchant_id uuid not null references merchants (id),
  type text not null check (type ~ '^[a-z]+\.[a-z_]+$'),
  body text not null check (length(body) <= 65536),
  created_at timestamptz not null
);
create index webhook_events_by_merchant on webhook_events (merchant_id, created_at desc);

create table webhook_deliveries (
  id uuid primary key,
  event_id uuid not null references webhook_events (id),
  endpoint_id uuid not null references merchant_webhook_endpoints (id),
  merchant_id uuid not null references merchants (id),
  status text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
  attempts integer not null default 0 check (attempts >= 0),
  attempts_max integer not null check (attempts_max between 1 and 100),
  next_attempt_at timestamptz not null,
  last_status_code integer,
  last_error text check (length(last_error) <= 500),
  delivered_at timestamptz,
  created_at timestamptz not null,
  unique (event_id, endpoint_id)
);
create index webhook_deliveries_due on webhook_deliveries (next_attempt_at) where status = 'pending';
create index webhook_deliveries_by_merchant on webhook_deliveries (merchant_id, created_at desc);

create table webhook_attempts (
  id bigint generated always as identity primary key,
  delivery_id uuid not null references webhook_deliveries (id),
  attempt integer not null,
  attempted_at timestamptz not null,
  status_code integer,
  error text check (length(error) <= 500),
  duration_ms integer not null
);
create index webhook_attempts_by_delivery on webhook_attempts (delivery_id, attempt);
