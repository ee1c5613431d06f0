-- Four eyes and compensation (src/operations/proposals, src/operations/compensation).

-- A money-moving or incident action proposed by one operator and decided by another. The database
-- refuses a decision by the proposer too, whatever the application does.
create table proposals (
  id uuid primary key,
  kind text not null check (kind in ('compensation_batch', 'incident_reset_all')),
  subject_id text not null,
  summary jsonb not null default '{}'::jsonb,
  reason text not null check (length(reason) between 3 and 1000),
  status text not null default 'pending' check (status in ('pending', 'approved', 'rejected')),
  proposed_by uuid not null references operators (id),
  proposed_at timestamptz not null default now(),
  decided_by uuid references operators (id),
  decided_at timestamptz,
  decision_reason text,
  check (decided_by is null or decided_by <> proposed_by),
  check ((status = 'pending') = (decided_by is null))
);
create unique index proposals_one_pending_per_subject on proposals (kind, subject_id) where status = 'pending';

-- Transfers an operator flagged as fraudulent (a thief's payment out of a hijacked wallet, or a
-- top-up from a stolen card). The ledger itself stays immutable; this is a label beside it.
create table fraud_flags (
  transfer_id uuid primary key,
  case_id uuid references cases (id),
  reason text not null check (length(reason) between 3 and 1000),
  flagged_by text not null,
  flagged_at timestamptz not null default now()
);

create table compensation_batches (
  id uuid primary key,
  title text not null check (length(title) between 3 and 200),
  status text not null default 'draft' check (status in ('draft', 'proposed', 'approved', 'executed', 'rejected')),
  created_by uuid not null references operators (id),
  created_at timestamptz not null default now(),
  proposal_id uuid references proposals (id),
  executed_at timestamptz,
  total_minor bigint not null check (total_minor >= 0),
  item_count integer not null check (item_count >= 0)
);

-- One payment per victim wallet per batch; transfer_id is derived from (batch, wallet), so executing
-- the batch again asks the ledger for the same transfer and pays nothing twice.
create table compensation_items (
  batch_id uuid not null references compensation_batches (id),
  wallet_account_id uuid not null,
  customer_ref text,
  loss_minor bigint not null check (loss_minor > 0),
  transfer_id uuid not null unique,
  status text not null default 'pending' check (status in ('pending', 'paid')),
  primary key (batch_id, wallet_account_id)
);

-- Each flagged transfer is compensated in at most one batch.
create table compensated_transfers (
  transfer_id uuid primary key references fraud_flags (transfer_id),
  batch_id uuid not null references compensation_batches (id),
  wallet_account_id uuid not null
);
