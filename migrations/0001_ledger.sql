-- The double-entry ledger (TigerBeetle's model on PostgreSQL). See src/ledger/README.md.

-- A ledger is one asset: transfers only move value between accounts of the same ledger.
-- The minor-unit exponent (asset_scale) is data: JPY has 0, USD would have 2.
create table ledgers (
  id integer primary key check (id > 0),
  asset text not null unique check (asset ~ '^[A-Z][A-Z0-9]{2,11}$'),
  asset_scale smallint not null check (asset_scale between 0 and 18),
  name text not null
);
insert into ledgers (id, asset, asset_scale, name) values (392, 'JPY', 0, 'Japanese yen');

-- The kind of an account. Codes are stable numbers (they are stored in every account row).
create table account_codes (
  code smallint primary key,
  name text not null unique,
  description text not null
);
insert into account_codes (code, name, description) values
  (100, 'customer_wallet', 'A customer''s stored value (a liability of Koban to the customer)'),
  (200, 'merchant_receivable', 'What Koban owes a merchant for payments not yet settled'),
  (210, 'merchant_payout', 'Settled amounts on their way to the merchant''s bank'),
  (300, 'funding_clearing_card', 'Money arriving from the card acquirer for top-ups'),
  (310, 'funding_clearing_bank', 'Money arriving from banks by direct debit for top-ups'),
  (400, 'fee_revenue', 'Koban''s merchant fees'),
  (500, 'promotion_budget', 'Cashback and campaign money'),
  (600, 'compensation', 'Money paid to customers who lost funds to fraud'),
  (900, 'suspense', 'Money whose destination is not yet known');

-- Balances live on the account row so that a balance read is O(1). Only the ledger's batch writer
-- changes them, under a row lock, from totals it recomputed; `ledger verify` recomputes them from
-- the transfers. flags: 1 = debits must not exceed credits, 2 = credits must not exceed debits.
create table accounts (
  id uuid primary key,
  ledger integer not null references ledgers (id),
  code smallint not null references account_codes (code),
  flags integer not null default 0 check (flags between 0 and 3),
  status text not null default 'active' check (status in ('active', 'frozen', 'closed')),
  debits_pending bigint not null default 0 check (debits_pending >= 0),
  debits_posted bigint not null default 0 check (debits_posted >= 0),
  credits_pending bigint not null default 0 check (credits_pending >= 0),
  credits_posted bigint not null default 0 check (credits_posted >= 0),
  reference text check (length(reference) <= 128),
  created_at timestamptz not null default now(),
  -- Defence in depth: the engine checks these first, the database refuses them anyway.
  constraint debits_must_not_exceed_credits check ((flags & 1) = 0 or debits_posted + debits_pending <= credits_posted),
  constraint credits_must_not_exceed_debits check ((flags & 2) = 0 or credits_posted + credits_pending <= debits_posted)
) with (fillfactor = 70);
-- fillfactor 70 leaves room on each page so a balance update is a HOT update (no new index
-- entries): every batch rewrites the totals of every account it touches.
create index accounts_by_reference on accounts (reference) where reference is not null;

-- Transfers are immutable: corrections are new transfers. flags: 1 linked, 2 pending,
-- 4 post_pending_transfer, 8 void_pending_transfer. There are deliberately no foreign keys here:
-- the writer holds row locks on both accounts when it inserts, and `ledger verify` checks every
-- reference; per-row RI triggers would cost a third of the hot path.
create table transfers (
  id uuid primary key,
  seq bigint generated always as identity (cache 100),
  debit_account_id uuid not null,
  credit_account_id uuid not null,
  amount bigint not null check (amount > 0),
  pending_id uuid,
  ledger integer not null,
  code smallint not null check (code > 0),
  flags integer not null check (flags between 0 and 15),
  timeout_seconds integer not null default 0 check (timeout_seconds >= 0),
  reference text check (length(reference) <= 128),
  created_at timestamptz not null,
  check (debit_account_id <> credit_account_id),
  check ((pending_id is not null) = ((flags & 12) <> 0))
);
-- At most one post or void per pending transfer, whatever the application does.
create unique index transfers_resolving_pending on transfers (pending_id) where pending_id is not null;
create index transfers_by_debit_account on transfers (debit_account_id, seq);
create index transfers_by_credit_account on transfers (credit_account_id, seq);

-- The state of each two-phase hold. This is an index over the transfers, not money: the amounts
-- are in `transfers`; the status says whether the hold still counts in the *_pending totals.
create table pending_transfers (
  id uuid primary key,
  status text not null check (status in ('pending', 'posted', 'voided', 'expired')),
  expires_at timestamptz not null,
  resolved_at timestamptz
);
create index pending_transfers_to_expire on pending_transfers (expires_at) where status = 'pending';

-- Ids of transfers that failed: a retry of a failed id stays failed (TigerBeetle's
-- id_already_failed), so a retry can never turn an old failure into a new success.
create table transfer_failures (
  id uuid primary key,
  result text not null,
  created_at timestamptz not null default now()
);

create function refuse_ledger_rewrite() returns trigger language plpgsql as $$
begin
  raise exception 'ledger history is immutable: % on % refused', tg_op, tg_table_name
    using errcode = 'restrict_violation';
end $$;
create trigger transfers_are_immutable before update or delete or truncate on transfers
  for each statement execute function refuse_ledger_rewrite();
create trigger transfer_failures_are_immutable before update or delete or truncate on transfer_failures
  for each statement execute function refuse_ledger_rewrite();
