-- Issue 16 / 13: merchants are onboarded (applied → reviewed → active), can be suspended at once (a
-- merchant or one store), and their payouts held; merchant staff are a realm of their own (src/merchants).

alter table merchants drop constraint merchants_status_check;
alter table merchants add constraint merchants_status_check check (status in ('applied', 'active', 'suspended', 'closed'));
alter table merchants
  add column corporate_number text check (corporate_number ~ '^[0-9]{13}$'),
  add column representative text check (length(representative) between 1 and 200),
  add column business_address text check (length(business_address) between 1 and 400),
  add column contact_email text check (length(contact_email) between 3 and 254),
  add column contact_phone text check (length(contact_phone) between 3 and 32),
  add column expected_monthly_volume_minor bigint check (expected_monthly_volume_minor >= 0),
  -- The operator review of an application; null for merchants made before onboarding existed.
  add column review_state text check (review_state in ('pending', 'more_info_requested', 'approved', 'rejected')),
  add column review_note text check (length(review_note) <= 2000),
  -- Four eyes above the configured volume: the first approver, who may not also be the second.
  add column first_approved_by text,
  add column status_reason text check (length(status_reason) <= 2000),
  add column status_changed_at timestamptz,
  add column payouts_held boolean not null default false,
  add column applied_at timestamptz;
create index merchants_review_queue on merchants (applied_at) where status = 'applied';

alter table stores drop constraint stores_status_check;
alter table stores add constraint stores_status_check check (status in ('active', 'suspended', 'closed'));

-- A held payout: the money stays in the merchant's payout account (210) until the hold is lifted.
alter table settlements drop constraint settlements_payout_status_check;
alter table settlements add constraint settlements_payout_status_check
  check (payout_status in ('pending', 'held', 'instructed', 'paid', 'returned', 'rejected', 'no_payout_account', 'nothing_to_pay'));

alter table audit_events drop constraint audit_events_actor_kind_check;
alter table audit_events add constraint audit_events_actor_kind_check check (actor_kind in ('operator', 'customer', 'system', 'cli', 'merchant_user'));

create table merchant_users (
  id uuid primary key,
  merchant_id uuid not null references merchants (id),
  email text not null unique check (length(email) between 3 and 254),
  display_name text not null check (length(display_name) between 1 and 100),
  role text not null check (role in ('owner', 'manager', 'clerk', 'developer')),
  status text not null default 'active' check (status in ('active', 'disabled')),
  password_hash text not null,
  totp_secret_sealed bytea not null,
  totp_confirmed_at timestamptz,
  totp_last_step bigint not null default 0,
  failed_sign_ins integer not null default 0,
  locked_until timestamptz,
  created_at timestamptz not null default now()
);
create index merchant_users_by_merchant on merchant_users (merchant_id);

create table merchant_user_sessions (
  token_hash bytea primary key,
  user_id uuid not null references merchant_users (id),
  csrf_hash bytea not null,
  created_at timestamptz not null default now(),
  last_seen_at timestamptz not null,
  expires_at timestamptz not null,
  revoked_at timestamptz,
  ip text,
  user_agent text check (length(user_agent) <= 512)
);
create index merchant_user_sessions_live_by_user on merchant_user_sessions (user_id) where revoked_at is null;
