-- Issue 12: copies of one top-up request (same customer, same Idempotency-Key) that arrive while the
-- original is still running. The first copy claims the key for the time it runs; the others wait for
-- its outcome (bounded) or are told to retry (409 operation_in_progress) instead of failing on the
-- step-up grant the original already used. A claim older than a minute is from a process that died
-- mid-request and may be taken over. Owned by the wallet module (src/wallet/top-up-claims.ts).
create table top_up_claims (
  customer_id uuid not null,
  idempotency_key text not null check (length(idempotency_key) between 1 and 128),
  claimed_at timestamptz not null default now(),
  primary key (customer_id, idempotency_key)
);
