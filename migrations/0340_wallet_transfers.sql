-- Issue 19: sending, requesting and splitting money between customers; withdrawal to the customer's own bank
-- account. Every table here is owned by the wallet module (src/wallet/transfers/).

-- Money on its way from one customer's funds-transfer balance to another's: sender 110 → 700 → recipient 110
-- on acceptance, or back to the sender on a decline or when the claim deadline passes.
insert into account_codes (code, name, description) values
  (700, 'transfers_in_flight', 'Customer-to-customer transfers sent and not yet accepted, declined or returned');

-- Risk events for sends and withdrawals (src/risk; the wallet scores each before money moves).
alter table risk_events drop constraint risk_events_kind_check;
alter table risk_events add constraint risk_events_kind_check
  check (kind in ('sign_in', 'recovery', 'social_link', 'funding_source_add', 'top_up', 'payment_code_mint', 'payment', 'security_signal', 'credential_change', 'send', 'withdrawal'));

-- A customer's short public Koban ID (the handle others send to, printed in their QR/link), made on first use.
create table wallet_handles (
  customer_id uuid primary key,
  handle text not null unique check (handle ~ '^[A-Z2-9]{8}$'),
  created_at timestamptz not null default now()
);

create table p2p_transfers (
  id uuid primary key,
  sender_id uuid not null,
  recipient_id uuid not null check (recipient_id <> sender_id),
  amount_minor bigint not null check (amount_minor > 0 and amount_minor <= 1000000),
  message text not null default '' check (length(message) <= 200),
  -- pending: the money is in account 700, waiting for the recipient (who may still have to verify).
  status text not null check (status in ('pending', 'completed', 'declined', 'returned')),
  auto_accepted boolean not null default false,
  -- The money request this send pays, if any.
  request_id uuid,
  idempotency_key text not null check (length(idempotency_key) between 1 and 128),
  request_hash bytea not null,
  claim_deadline timestamptz not null,
  created_at timestamptz not null,
  finished_at timestamptz,
  unique (sender_id, idempotency_key)
);
create index p2p_transfers_by_sender on p2p_transfers (sender_id, created_at desc);
create index p2p_transfers_by_recipient on p2p_transfers (recipient_id, created_at desc);
create index p2p_transfers_due on p2p_transfers (claim_deadline) where status = 'pending';
create unique index p2p_transfers_one_payment_per_request on p2p_transfers (request_id) where request_id is not null and status in ('pending', 'completed');

-- わりかん: one bill split among participants, each of whom gets a money request for their share.
create table bill_splits (
  id uuid primary key,
  owner_id uuid not null,
  total_minor bigint not null check (total_minor > 0 and total_minor <= 1000000),
  message text not null default '' check (length(message) <= 200),
  created_at timestamptz not null
);
create index bill_splits_by_owner on bill_splits (owner_id, created_at desc);

-- A request for money: opened through its link (token) by anyone, or addressed to one payer (a split's share).
create table money_requests (
  id uuid primary key,
  requester_id uuid not null,
  token text not null unique check (length(token) between 16 and 64),
  amount_minor bigint not null check (amount_minor > 0 and amount_minor <= 1000000),
  message text not null default '' check (length(message) <= 200),
  payer_id uuid,
  split_id uuid references bill_splits (id),
  status text not null check (status in ('open', 'paid', 'cancelled')),
  paid_transfer_id uuid,
  reminders_sent integer not null default 0 check (reminders_sent >= 0),
  last_reminded_at timestamptz,
  created_at timestamptz not null,
  check ((status = 'paid') = (paid_transfer_id is not null))
);
create index money_requests_by_requester on money_requests (requester_id, created_at desc);
create index money_requests_by_payer on money_requests (payer_id, created_at desc) where payer_id is not null;
create index money_requests_by_split on money_requests (split_id) where split_id is not null;

-- Withdrawals of the funds-transfer balance to the customer's own verified bank account. The money (and fee)
-- leaves the balance when the row is written; the bank's word completes it, or a failure returns both once.
create table withdrawals (
  id uuid primary key,
  customer_id uuid not null,
  funding_source_id uuid not null,
  amount_minor bigint not null check (amount_minor > 0 and amount_minor <= 1000000),
  fee_minor bigint not null check (fee_minor >= 0),
  status text not null check (status in ('processing', 'completed', 'failed')),
  provider_ref text,
  failure_code text,
  idempotency_key text not null check (length(idempotency_key) between 1 and 128),
  request_hash bytea not null,
  next_check_at timestamptz not null,
  created_at timestamptz not null,
  finished_at timestamptz,
  unique (customer_id, idempotency_key)
);
create index withdrawals_by_customer on withdrawals (customer_id, created_at desc);
create index withdrawals_open on withdrawals (next_check_at) where status = 'processing';
