-- Issue 19: two kinds of balance, as Japan's Payment Services Act (資金決済法) defines them.
--   code 100 (customer_wallet, unchanged): the prepaid balance (前払式支払手段) — spendable, never withdrawn
--     or sent, refunded only when the business is abolished (Art. 20). Every existing wallet is this kind.
--   code 110 (customer_funds_transfer): the funds-transfer balance (資金移動業 type 2) — withdrawable to the
--     customer's own verified bank account and sendable, at most ¥1,000,000 per transfer; only for customers
--     whose identity is verified. Its id is derived from the customer (ledger/owned-accounts.ts).
insert into account_codes (code, name, description) values
  (110, 'customer_funds_transfer', 'A verified customer''s funds-transfer balance (資金移動業): withdrawable and sendable');

-- Owned by the wallet module (src/wallet/balances.ts). A customer whose identity has been verified (eKYC);
-- only the verification's own path writes a row. Without a row a customer has no funds-transfer balance.
create table customer_verifications (
  customer_id uuid primary key,
  verified_at timestamptz not null,
  -- Who said so: the eKYC provider's reference (or the operator review that approved it).
  source text not null check (length(source) between 1 and 200),
  created_at timestamptz not null default now()
);

-- Owned by the wallet module (src/wallet/spend-order.ts): the customer's own choice of which balance pays
-- first. No row: prepaid first (the default order).
create table wallet_spend_orders (
  customer_id uuid primary key,
  spend_order text not null check (spend_order in ('prepaid_first', 'funds_transfer_first')),
  updated_at timestamptz not null default now()
);

-- Owned by the payments module (src/payments/complete.ts): the balances a payment is paid from, when it is
-- paid by a customer who holds a funds-transfer balance. Written once, before any money moves, so every path
-- that runs the payment's legs (the request, the repair sweeper) runs the same legs: the ledger's
-- idempotency by transfer id then answers the original outcome.
create table payment_debit_plans (
  payment_transfer_id uuid primary key,
  debits jsonb not null check (jsonb_typeof(debits) = 'array' and jsonb_array_length(debits) between 1 and 4),
  created_at timestamptz not null default now()
);
