-- Issue 19: a refund or a cancel returns money to the balances the payment was paid from.
-- Owned by the payments module (src/payments/refund-credits.ts). Written with the refund's reservation (or the
-- cancel's decision), under the payment row's lock and only for a payment paid by a stored debit plan
-- (payment_debit_plans: more than one balance), so every path that runs the refund's legs (the request, the
-- repair sweeper) credits the same accounts. `transfer_id` is the refund's `refund_transfer_id` or the
-- payment's `cancel_transfer_id`; the first credit carries it, later credits ids derived from it.
create table refund_credit_plans (
  transfer_id uuid primary key,
  payment_id uuid not null,
  credits jsonb not null check (jsonb_typeof(credits) = 'array' and jsonb_array_length(credits) between 1 and 4),
  created_at timestamptz not null default now()
);
create index refund_credit_plans_payment on refund_credit_plans (payment_id);
