-- Customer-presented payment codes (src/payments/codes.ts) and the customer → wallet mapping.

-- Which ledger account (code 100) is a customer's wallet. No foreign key to the customers table:
-- identity owns it and its migrations may land in any order relative to these.
create table customer_wallets (
  customer_id uuid primary key,
  account_id uuid not null unique references accounts (id)
);

-- A one-time code shown by the wallet app. Only an HMAC of the code is kept (keyed from
-- KOBAN_SECRET_KEY), so a database read reveals no live code; the code itself carries no customer data.
create table payment_codes (
  id uuid primary key,
  code_hash bytea not null unique check (length(code_hash) = 32),
  customer_id uuid not null,
  wallet_account_id uuid not null references accounts (id),
  device_id text not null check (length(device_id) between 1 and 128),
  -- live → used (a till took it) or revoked (refreshed on screen); expiry is by expires_at.
  status text not null default 'live' check (status in ('live', 'used', 'revoked')),
  expires_at timestamptz not null,
  created_at timestamptz not null,
  used_at timestamptz,
  payment_id uuid,
  check ((status = 'used') = (used_at is not null and payment_id is not null))
);
create index payment_codes_live_by_device on payment_codes (customer_id, device_id) where status = 'live';
create index payment_codes_by_expiry on payment_codes (expires_at);
