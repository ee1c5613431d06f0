-- Issue 19: abolition of the prepaid instrument (資金決済法 Art. 20). Owned by the wallet module
-- (src/wallet/abolition/). One procedure at most; while it is active customers claim their prepaid balance to
-- their own bank account and payouts go out in batches through the bank rail.
create table abolition_procedures (
  id uuid primary key,
  started_at timestamptz not null,
  -- At least 60 days after the start (Art. 20: a period of not less than 60 days).
  claim_deadline timestamptz not null,
  started_by text not null,
  approved_by text not null,
  created_at timestamptz not null default now(),
  check (claim_deadline >= started_at + interval '60 days'),
  check (started_by <> approved_by)
);
create unique index abolition_one_procedure on abolition_procedures ((true));

create table abolition_claims (
  id uuid primary key,
  procedure_id uuid not null references abolition_procedures (id),
  customer_id uuid not null,
  wallet_account_id uuid not null,
  amount_minor bigint not null check (amount_minor > 0),
  bank_code text not null check (bank_code ~ '^[0-9]{4}$'),
  branch_code text not null check (branch_code ~ '^[0-9]{3}$'),
  account_number text not null check (account_number ~ '^[0-9]{7}$'),
  holder_name_kana text not null check (length(holder_name_kana) between 1 and 60),
  -- pending: waiting for a batch; sent: the money left the wallet and the payout was asked of the bank (its id
  -- once it answered); paid: the bank paid; refused: the ledger refused the debit (the balance is gone).
  status text not null check (status in ('pending', 'sent', 'paid', 'refused')),
  -- Each payout attempt has its own transfer ids and idempotency key, derived from (claim, attempt).
  attempt integer not null default 1 check (attempt between 1 and 10),
  payout_id text,
  failure_code text,
  created_at timestamptz not null,
  updated_at timestamptz not null
);
-- One open claim per customer (paid or refused claims stay for the record).
create unique index abolition_claims_open on abolition_claims (customer_id) where status in ('pending', 'sent');
create index abolition_claims_status on abolition_claims (status, created_at);
