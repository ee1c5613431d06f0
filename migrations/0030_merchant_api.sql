-- The merchant API: credentials, webhook endpoints and the OPA-Auth nonce store (src/merchants).
-- Secrets are never stored in clear: `*_sealed` columns hold AES-256-GCM boxes under the key-encryption
-- key KOBAN_SECRET_KEY (src/merchants/secret-box.ts), bound to their row by the associated data.

create table merchant_api_credentials (
  id uuid primary key,
  merchant_id uuid not null references merchants (id),
  -- The public half, sent in every OPA-Auth header; ':' is the header's separator, so it cannot occur.
  api_key text not null unique check (api_key ~ '^[A-Za-z0-9._~-]{1,128}$'),
  secret_sealed bytea not null,
  -- Empty: any address. Otherwise the request's address must fall in one of these networks.
  ip_allow_list cidr[] not null default '{}' check (cardinality(ip_allow_list) <= 64),
  status text not null default 'active' check (status in ('active', 'revoked')),
  created_at timestamptz not null default now(),
  revoked_at timestamptz
);
create index merchant_api_credentials_by_merchant on merchant_api_credentials (merchant_id);

create table merchant_webhook_endpoints (
  id uuid primary key,
  merchant_id uuid not null references merchants (id),
  url text not null check (length(url) between 8 and 2048),
  secret_sealed bytea not null,
  status text not null default 'active' check (status in ('active', 'disabled')),
  created_at timestamptz not null default now()
);
create index merchant_webhook_endpoints_by_merchant on merchant_webhook_endpoints (merchant_id) where status = 'active';

-- OPA nonce store (design: src/merchants/opa/nonce-store.sql). A row lives while its request's epoch is
-- still inside the clock window. Logged on purpose: a crash must not forget nonces that could be replayed.
create table opa_nonces (
  api_key    text        not null check (length(api_key) between 1 and 128),
  nonce      text        not null check (length(nonce) between 8 and 64),
  expires_at timestamptz not null,
  primary key (api_key, nonce)
);
create index opa_nonces_expires_at_idx on opa_nonces (expires_at);

-- Where a merchant's settled money goes; the account number is sealed like the secrets.
create table merchant_payout_accounts (
  merchant_id uuid primary key references merchants (id),
  bank_code text not null check (bank_code ~ '^[0-9]{4}$'),
  branch_code text not null check (branch_code ~ '^[0-9]{3}$'),
  account_type text not null check (account_type in ('ordinary', 'current')),
  account_number_sealed bytea not null,
  account_number_last4 text not null check (account_number_last4 ~ '^[0-9]{4}$'),
  holder_name_kana text not null check (length(holder_name_kana) between 1 and 100),
  updated_at timestamptz not null default now()
);

-- The ledger account (code 210) settled money waits in until the bank pays it out.
alter table merchants add column payout_account_id uuid unique references accounts (id);
