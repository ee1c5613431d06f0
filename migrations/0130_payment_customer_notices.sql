-- The customer's notices of payments, refunds and cancels (feed entry, e-mail), written in the transaction that
-- records the outcome (a transactional outbox, src/payments/customer-notices.ts): a crash between the commit and
-- the delivery loses nothing. The relay turns each row into the customer's feed entry and e-mail and deletes it in
-- one transaction, so each notice reaches each recipient once. `event` is the CustomerEvent as JSON.
create table payment_customer_notices (
  id uuid primary key,
  customer_id uuid not null,
  event jsonb not null,
  created_at timestamptz not null
);
create index payment_customer_notices_by_age on payment_customer_notices (created_at);
