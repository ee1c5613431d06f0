-- The customer's notices of payments, refunds and cancels (feed entry, e-mail), written in the transaction that
-- records the outcome (a transactional outbox, src/payments/customer-notices.ts): a crash between the commit and
-- the delivery loses nothing. The relay turns each row into the customer's feed entry and e-mail and deletes it in
-- one transaction, so each notice reaches each recipient once. `event` is the CustomerEvent as JSON. A notice
-- whose delivery fails is retried later with backoff (attempts, next_attempt_at) without holding up the others.
create table payment_customer_notices (
  id uuid primary key,
  customer_id uuid not null,
  event jsonb not null,
  created_at timestamptz not null,
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  last_error text
);
create index payment_customer_notices_due on payment_customer_notices (next_attempt_at);
