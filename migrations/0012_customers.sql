-- Customers and everything that proves who they are. See src/identity/README.md.

create table customers (
  id uuid primary key,
  status text not null default 'active' check (status in ('active', 'closed')),
  -- WebAuthn user handle: random, never the customer id or a contact (WebAuthn §14.6.1).
  webauthn_user_id text not null unique check (webauthn_user_id ~ '^[A-Za-z0-9_-]{43}$'),
  recovery_cooldown_until timestamptz,
  created_at timestamptz not null default now()
);

-- Verified contact points only: a row exists once a code sent there was entered (REC-01).
create table customer_contacts (
  id uuid primary key,
  customer_id uuid not null references customers (id),
  kind text not null check (kind in ('email', 'phone')),
  value text not null check (length(value) between 3 and 320),
  verified_at timestamptz not null,
  created_at timestamptz not null default now()
);
create unique index customer_contacts_unique_value on customer_contacts (kind, value);
create unique index customer_contacts_one_per_kind on customer_contacts (customer_id, kind);

create table password_credentials (
  customer_id uuid primary key references customers (id),
  password_hash text not null check (password_hash like '$argon2id$%'),
  updated_at timestamptz not null default now()
);

-- A sign-up claims nothing until both codes are entered: it is not a customer, it expires, and the
-- first verified sign-up of a phone or e-mail deletes every other pending one (LINK-03).
create table signups (
  id uuid primary key,
  email text not null,
  phone text not null,
  password_hash text not null check (password_hash like '$argon2id$%'),
  email_verified_at timestamptz,
  phone_verified_at timestamptz,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null
);
create index signups_by_email on signups (email);
create index signups_by_phone on signups (phone);
create index signups_to_expire on signups (expires_at);

-- One-time codes, HMAC'd with the server secret and bound to one purpose and one subject (a sign-up,
-- a sign-in attempt, a step-up, a recovery). A resend replaces the code but keeps `attempts` (OTP-01).
create table one_time_codes (
  id uuid primary key,
  purpose text not null check (purpose in ('signup_email', 'signup_phone', 'login_sms', 'step_up_sms', 'recovery_sms', 'recovery_email')),
  subject_id uuid not null,
  code_hash bytea not null,
  destination text not null,
  expires_at timestamptz not null,
  attempts integer not null default 0 check (attempts >= 0),
  sends integer not null default 1 check (sends >= 1),
  consumed_at timestamptz,
  created_at timestamptz not null default now(),
  unique (purpose, subject_id)
);

create table devices (
  id uuid primary key,
  customer_id uuid not null references customers (id),
  device_hash bytea not null check (length(device_hash) = 32),
  label text not null check (length(label) <= 200),
  created_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  unique (customer_id, device_hash)
);

create table sessions (
  id uuid primary key,
  customer_id uuid not null references customers (id),
  token_hash bytea not null unique check (length(token_hash) = 32),
  device_id uuid references devices (id) on delete set null,
  auth_methods text[] not null check (cardinality(auth_methods) between 1 and 4),
  ip text check (length(ip) <= 64),
  user_agent text check (length(user_agent) <= 512),
  created_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  rotated_at timestamptz not null default now(),
  revoked_at timestamptz
);
create index sessions_by_customer on sessions (customer_id) where revoked_at is null;

-- A password (or social sign-in) that was right, waiting for the second factor from the same device.
create table login_challenges (
  id uuid primary key,
  customer_id uuid not null references customers (id),
  device_hash bytea not null check (length(device_hash) = 32),
  first_factor text not null check (first_factor in ('password', 'social')),
  attempts integer not null default 0 check (attempts >= 0),
  expires_at timestamptz not null,
  completed_at timestamptz,
  created_at timestamptz not null default now()
);

-- Fixed-window counters shared by every Koban process: per account, IP, network, global (AUTH-05).
create table throttle_counters (
  key text primary key check (length(key) <= 200),
  count integer not null check (count >= 0),
  window_started_at timestamptz not null
);

create table passkeys (
  id uuid primary key,
  customer_id uuid not null references customers (id),
  -- base64url of at most 1023 bytes (WebAuthn §7.1 step 24); unique across all customers (WA-03).
  credential_id text not null unique check (credential_id ~ '^[A-Za-z0-9_-]{16,1364}$'),
  public_key bytea not null,
  counter bigint not null check (counter >= 0),
  transports text[] not null default '{}',
  device_type text not null check (device_type in ('singleDevice', 'multiDevice')),
  backed_up boolean not null,
  name text not null check (length(name) <= 100),
  created_at timestamptz not null default now(),
  last_used_at timestamptz
);
create index passkeys_by_customer on passkeys (customer_id);

-- WebAuthn challenges live here, not in the browser, and are deleted on first use (WA-01).
create table webauthn_challenges (
  id uuid primary key,
  challenge text not null unique,
  ceremony text not null check (ceremony in ('registration', 'login', 'second_factor', 'step_up')),
  customer_id uuid references customers (id),
  session_id uuid references sessions (id),
  subject_id uuid,
  device_hash bytea,
  expires_at timestamptz not null
);

create table totp_factors (
  customer_id uuid primary key references customers (id),
  -- AES-256-GCM under a key derived from the identity secret: a database dump alone yields no seeds.
  secret_ciphertext bytea not null,
  confirmed_at timestamptz,
  -- The last accepted time step: a code is accepted once (OTP-02), checked and set in one UPDATE.
  last_time_step bigint,
  created_at timestamptz not null default now()
);

create table recovery_codes (
  id uuid primary key,
  customer_id uuid not null references customers (id),
  code_hash bytea not null unique,
  used_at timestamptz,
  created_at timestamptz not null default now()
);
create index recovery_codes_by_customer on recovery_codes (customer_id) where used_at is null;

-- A step-up in progress (bound to a session, an action and the hash of its exact parameters) and the
-- single-use grant it yields once a fresh second factor is shown (STEP-01/02/06).
create table step_up_requests (
  id uuid primary key,
  session_id uuid not null references sessions (id),
  customer_id uuid not null references customers (id),
  action text not null,
  params_hash bytea not null check (length(params_hash) = 32),
  attempts integer not null default 0 check (attempts >= 0),
  expires_at timestamptz not null,
  verified_at timestamptz
);
create table step_up_grants (
  id uuid primary key,
  token_hash bytea not null unique check (length(token_hash) = 32),
  request_id uuid not null unique references step_up_requests (id),
  session_id uuid not null references sessions (id),
  customer_id uuid not null references customers (id),
  action text not null,
  params_hash bytea not null check (length(params_hash) = 32),
  method text not null,
  issued_at timestamptz not null default now(),
  expires_at timestamptz not null,
  consumed_at timestamptz
);

create table charge_pins (
  customer_id uuid primary key references customers (id),
  pin_hash text not null check (pin_hash like '$argon2id$%'),
  failures integer not null default 0 check (failures between 0 and 100),
  locked_at timestamptz,
  updated_at timestamptz not null default now()
);

-- A recovery attempt. Rows for unknown identifiers exist too (customer_id null) so known and unknown
-- identifiers cost the same and look the same; they can never complete.
create table recovery_requests (
  id uuid primary key,
  customer_id uuid references customers (id),
  attempts integer not null default 0 check (attempts >= 0),
  expires_at timestamptz not null,
  completed_at timestamptz,
  created_at timestamptz not null default now()
);

-- External identities, keyed by (issuer, subject) and nothing else (FED-05).
create table social_identities (
  id uuid primary key,
  customer_id uuid not null references customers (id),
  provider_id text not null,
  issuer text not null,
  subject text not null check (length(subject) between 1 and 255),
  linked_at timestamptz not null default now(),
  unique (issuer, subject)
);
create index social_identities_by_customer on social_identities (customer_id);

-- OIDC login transactions, bound to the browser by a random HttpOnly cookie, taken (deleted) once.
create table social_transactions (
  binding_hash bytea primary key check (length(binding_hash) = 32),
  provider_id text not null,
  purpose text not null check (purpose in ('login', 'link')),
  customer_id uuid references customers (id),
  session_id uuid references sessions (id),
  state text not null,
  nonce text not null,
  code_verifier text not null,
  created_at_ms bigint not null,
  expires_at timestamptz not null,
  check ((purpose = 'link') = (session_id is not null))
);
create index social_transactions_to_expire on social_transactions (expires_at);
