-- Wallet funding (src/wallet): funding sources, top-ups and the provider events Koban has seen.
-- No foreign keys to identity's customers table: identity owns it (see 0031's customer_wallets).

-- A card (tokenised by the acquirer: only token, brand, last4, expiry, fingerprint and 3-D Secure capability,
-- never a PAN or CVV — PCI-01/02) or a bank account under a direct-debit mandate confirmed by the bank's own code.
create table funding_sources (
  id uuid primary key,
  customer_id uuid not null,
  kind text not null check (kind in ('card', 'bank')),
  status text not null check (status in ('pending_confirmation', 'active', 'failed', 'removed')),
  card_token text check (length(card_token) <= 128),
  card_brand text check (length(card_brand) <= 32),
  card_last4 text check (card_last4 ~ '^[0-9]{4}$'),
  card_exp_month integer check (card_exp_month between 1 and 12),
  card_exp_year integer check (card_exp_year between 2000 and 2200),
  card_fingerprint text check (length(card_fingerprint) <= 128),
  -- The acquirer's view: 'required' cards are always challenged.
  card_three_ds text check (card_three_ds in ('required', 'optional')),
  -- Set once a 3-D Secure challenge on this card succeeded; until then the lower non-3DS limits apply.
  card_three_ds_verified_at timestamptz,
  bank_mandate_id text check (length(bank_mandate_id) <= 128),
  bank_code text check (bank_code ~ '^[0-9]{4}$'),
  bank_branch_code text check (bank_branch_code ~ '^[0-9]{3}$'),
  bank_account_type text check (bank_account_type in ('ordinary', 'current')),
  bank_account_last4 text check (bank_account_last4 ~ '^[0-9]{4}$'),
  bank_holder_name_kana text check (length(bank_holder_name_kana) <= 40),
  failure_code text check (length(failure_code) <= 64),
  created_at timestamptz not null default now(),
  removed_at timestamptz,
  check (kind <> 'card' or (card_token is not null and card_last4 is not null and card_fingerprint is not null and card_three_ds is not null)),
  check (kind <> 'bank' or (bank_mandate_id is not null and bank_account_last4 is not null))
);
create index funding_sources_by_customer on funding_sources (customer_id, kind, status);
-- One live registration of a card per customer; the same card on other customers is allowed but recorded below.
create unique index funding_sources_one_card_per_customer on funding_sources (customer_id, card_fingerprint)
  where kind = 'card' and status in ('pending_confirmation', 'active');

-- Every customer a card fingerprint was seen on (LOG-02: one card across many accounts), for the risk engine.
create table card_fingerprint_sightings (
  fingerprint text not null check (length(fingerprint) <= 128),
  customer_id uuid not null,
  first_seen_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  primary key (fingerprint, customer_id)
);

-- Koban's own failure counters (on top of the acquirer's): wrong CVVs per customer, failed 3-D Secure per card.
create table funding_failures (
  id uuid primary key,
  customer_id uuid not null,
  funding_source_id uuid references funding_sources (id),
  kind text not null check (kind in ('cvv_incorrect', 'three_ds_failed', 'bank_code_incorrect', 'card_rejected')),
  created_at timestamptz not null default now()
);
create index funding_failures_recent on funding_failures (customer_id, kind, created_at);

-- A top-up. The row is also the idempotency record: (customer, Idempotency-Key) is unique and the request
-- hash says what the key was first used for. Money moves only by the ledger transfer `ledger_transfer_id`,
-- derived from the id, so every confirmation path (inline, redirect, webhook, reconciler) credits once.
create table top_ups (
  id uuid primary key,
  customer_id uuid not null,
  funding_source_id uuid not null references funding_sources (id),
  kind text not null check (kind in ('card', 'bank')),
  wallet_account_id uuid not null references accounts (id),
  idempotency_key text not null check (length(idempotency_key) between 1 and 128),
  request_hash bytea not null,
  amount_minor bigint not null check (amount_minor > 0),
  -- Counted under the 3-D Secure limits (the card is verified or this top-up is challenged) or the lower ones.
  three_ds boolean not null,
  status text not null check (status in ('processing', 'requires_action', 'completed', 'failed')),
  provider_ref text check (length(provider_ref) <= 128),
  challenge_url text check (length(challenge_url) <= 2048),
  failure_code text check (length(failure_code) <= 64),
  ledger_transfer_id uuid not null unique,
  reconcile_attempts integer not null default 0 check (reconcile_attempts >= 0),
  next_check_at timestamptz not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  finished_at timestamptz,
  unique (customer_id, idempotency_key),
  check ((status in ('completed', 'failed')) = (finished_at is not null))
);
create index top_ups_by_customer on top_ups (customer_id, created_at desc);
create index top_ups_open on top_ups (next_check_at) where status in ('processing', 'requires_action');
create index top_ups_by_provider_ref on top_ups (provider_ref) where provider_ref is not null;

-- Provider webhook events already handled (replay and duplicate protection, WH-02).
create table provider_webhook_events (
  provider text not null check (provider in ('acquirer', 'bank')),
  event_id text not null check (length(event_id) <= 128),
  event_type text not null check (length(event_type) <= 64),
  received_at timestamptz not null default now(),
  processed_at timestamptz,
  primary key (provider, event_id)
);
