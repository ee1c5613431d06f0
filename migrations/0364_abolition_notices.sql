-- Issue 19: every customer is told of the abolition once, in their language (src/wallet/abolition/notices.ts),
-- in batches; a row per customer told, written in the transaction that writes their feed entry and e-mail.
-- Owned by the wallet module.
create table abolition_notices (
  customer_id uuid primary key,
  procedure_id uuid not null references abolition_procedures (id),
  notified_at timestamptz not null
);
