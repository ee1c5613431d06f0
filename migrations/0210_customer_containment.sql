-- Issue 13 (customer-side containment): credential and contact changes are risk events of their own
-- (counted so the payment rules see "a credential changed in the last 24 h"), and a customer-presented
-- code records the network it was minted from, so a till payment's risk event carries the customer's IP.
alter table risk_events drop constraint risk_events_kind_check;
alter table risk_events add constraint risk_events_kind_check
  check (kind in ('sign_in', 'recovery', 'social_link', 'funding_source_add', 'top_up', 'payment_code_mint', 'payment', 'security_signal', 'credential_change'));

alter table payment_codes add column minted_ip text check (length(minted_ip) <= 64);
-- The device as the risk engine knows it everywhere (the SHA-256 of the device cookie, hex; issue 13's one
-- device identity): a till payment is scored, and blocked, under the same key as the sign-in on that phone.
alter table payment_codes add column device_key text check (length(device_key) <= 64);

-- A payment waiting for its customer (issue 14, and issue 13's hold): the till charged a customer-presented
-- code above the confirmation amount, or risk asked for a strong confirmation. The payment row is CREATED
-- with no ledger transfer chosen (so nothing repairs it into moving money); the money moves only when the
-- customer confirms in the wallet. Declined or expired: the payment fails and nothing moved.
create table payment_confirmations (
  payment_id uuid primary key references payments (id),
  customer_id uuid not null,
  -- 'pin': the charge PIN on any of the customer's devices; 'strong': the PIN on a device the account has
  -- known for a day (or after a passkey/TOTP step-up), never on a device or session the thief may hold.
  strength text not null check (strength in ('pin', 'strong')),
  reasons jsonb not null default '[]',
  status text not null default 'waiting' check (status in ('waiting', 'confirmed', 'declined', 'expired')),
  expires_at timestamptz not null,
  created_at timestamptz not null,
  decided_at timestamptz,
  decided_device_id text,
  check ((status = 'waiting') = (decided_at is null))
);
create index payment_confirmations_waiting_by_customer on payment_confirmations (customer_id) where status = 'waiting';
create index payment_confirmations_due on payment_confirmations (expires_at) where status = 'waiting';
