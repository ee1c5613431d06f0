-- Issue 19: cash top-up at the register, and auto top-up.
--
-- Code 220: the cash a store took for Koban at its register (a cash top-up). The merchant owes Koban that cash,
-- so the account carries a debit balance between the top-up and the daily close, which settles it out of the
-- merchant's payout account (src/payments/settlement/close.ts). Its id is derived from the merchant
-- (ledger/owned-accounts.ts, src/merchants/payout-accounts.ts ensureCashOwedAccount); no flags.
insert into account_codes (code, name, description) values
  (220, 'merchant_cash_owed', 'Cash a merchant''s stores took at the register for customer top-ups: the merchant owes it to Koban until the daily close nets it');

-- Owned by the wallet module (src/wallet/cash/codes.ts). A customer's one-time top-up code, shown in the wallet
-- ("現金でチャージ") and scanned at a till. Only its HMAC is stored; short-lived; one use.
create table cash_top_up_codes (
  id uuid primary key,
  code_hash bytea not null unique,
  customer_id uuid not null,
  status text not null check (status in ('live', 'used', 'revoked')),
  expires_at timestamptz not null,
  used_at timestamptz,
  created_at timestamptz not null default now(),
  check ((status = 'used') = (used_at is not null))
);
create index cash_top_up_codes_by_customer on cash_top_up_codes (customer_id, created_at desc);

-- Owned by the wallet module (src/wallet/cash/cash-top-ups.ts). One cash top-up taken at a till, idempotent by
-- the till's own id. The money (cash owed 220 → the customer's prepaid wallet 100) moves in the same
-- transaction as this row (ledger.createTransfersWithin); a void moves it back in the transaction that marks it.
create table cash_top_ups (
  id uuid primary key,
  customer_id uuid not null,
  wallet_account_id uuid not null references accounts (id),
  merchant_id uuid not null,
  store_id uuid not null,
  terminal_id uuid not null,
  till_top_up_id text not null check (length(till_top_up_id) between 1 and 64),
  code_id uuid not null unique references cash_top_up_codes (id),
  amount_minor bigint not null check (amount_minor > 0),
  cash_owed_account_id uuid not null references accounts (id),
  ledger_transfer_id uuid not null unique,
  business_date text not null check (business_date ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
  -- The customer is this merchant's staff member (same verified e-mail): a second clerk approved it.
  linked_staff_user_id uuid,
  approved_by_user_id uuid,
  status text not null check (status in ('completed', 'voided')),
  void_reason text check (length(void_reason) between 1 and 255),
  void_transfer_id uuid unique,
  void_business_date text,
  voided_at timestamptz,
  created_at timestamptz not null,
  unique (terminal_id, till_top_up_id),
  check ((status = 'voided') = (voided_at is not null and void_transfer_id is not null and void_business_date is not null)),
  check (linked_staff_user_id is null or approved_by_user_id is not null)
);
create index cash_top_ups_by_customer on cash_top_ups (customer_id, created_at desc);
create index cash_top_ups_by_store_day on cash_top_ups (store_id, business_date);
create index cash_top_ups_by_merchant_day on cash_top_ups (merchant_id, business_date);
create index cash_top_ups_by_merchant_void_day on cash_top_ups (merchant_id, void_business_date) where void_business_date is not null;

-- Settlement (payments) nets the cash a merchant's stores took: the day's payout = sales net − cash.
alter table settlements
  add column cash_top_ups_count integer not null default 0 check (cash_top_ups_count >= 0),
  add column cash_top_ups_minor bigint not null default 0,
  add column sales_net_minor bigint,
  add column cash_transfer_id uuid;
-- The day's net is now its sales net (gross − refunds − fees) less the cash; statements from before keep net = sales net.
alter table settlements drop constraint settlements_check;
alter table settlements add constraint settlements_net_check
  check (coalesce(sales_net_minor, net_minor) = gross_minor - refunds_minor - fees_minor and net_minor = coalesce(sales_net_minor, net_minor) - cash_top_ups_minor);

-- Owned by the wallet module (src/wallet/auto-top-up.ts). The customer's auto top-up: when the prepaid balance
-- is below the threshold, top up the amount from the source (a 3-D Secure verified card or a confirmed bank
-- account). `armed` makes it once per crossing: disarmed when a run starts, armed again when the balance is seen
-- at or above the threshold.
create table auto_top_up_settings (
  customer_id uuid primary key,
  funding_source_id uuid not null references funding_sources (id),
  threshold_minor bigint not null check (threshold_minor > 0),
  amount_minor bigint not null check (amount_minor > 0),
  enabled boolean not null,
  armed boolean not null default true,
  disabled_reason text check (length(disabled_reason) <= 64),
  updated_at timestamptz not null
);
create index auto_top_up_settings_armed on auto_top_up_settings (customer_id) where enabled and armed;

-- Owned by the wallet module (src/wallet/auto-top-up.ts). One row per crossing that started a top-up.
create table auto_top_up_runs (
  id uuid primary key,
  customer_id uuid not null,
  top_up_id uuid unique,
  amount_minor bigint not null check (amount_minor > 0),
  status text not null check (status in ('started', 'completed', 'failed', 'refused')),
  failure_code text check (length(failure_code) <= 64),
  created_at timestamptz not null
);
create index auto_top_up_runs_by_customer on auto_top_up_runs (customer_id, created_at desc);
