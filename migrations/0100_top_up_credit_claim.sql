-- The moment Koban, having read the provider's confirmation of the funds, starts crediting a top-up
-- (src/wallet/settle.ts). The ledger credit is written outside the transaction that holds the top-up row
-- (a transaction must not reach the pool, and PGlite has one connection), so this claim is what keeps a
-- concurrent "failed" (the reconciler giving up) from winning once the credit is under way: a claimed
-- top-up is only ever finished by the credit, which is retried idempotently until it lands.
alter table top_ups add column credit_claimed_at timestamptz;
