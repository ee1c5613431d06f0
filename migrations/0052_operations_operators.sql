-- Operators: Koban's staff, a realm apart from customers (own table, own sessions, own cookie).
-- Password (argon2id) plus a mandatory TOTP; the TOTP seed is encrypted at rest (AES-256-GCM with a key
-- from KOBAN_OPERATOR_SECRET) and the last accepted time step is kept so a code works only once.
create table operators (
  id uuid primary key,
  email text not null unique check (email = lower(email) and length(email) between 3 and 254),
  display_name text not null check (length(display_name) between 1 and 100),
  role text not null check (role in ('support', 'risk_analyst', 'finance', 'administrator')),
  password_hash text not null,
  totp_secret_sealed text not null,
  totp_last_step bigint not null default 0,
  totp_confirmed_at timestamptz,
  status text not null default 'active' check (status in ('active', 'disabled')),
  failed_sign_ins integer not null default 0 check (failed_sign_ins >= 0),
  locked_until timestamptz,
  created_at timestamptz not null default now(),
  created_by text not null
);

-- Reference sessions: only the SHA-256 of the cookie value and of the CSRF token are stored.
create table operator_sessions (
  token_hash bytea primary key,
  operator_id uuid not null references operators (id),
  csrf_hash bytea not null,
  created_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  expires_at timestamptz not null,
  revoked_at timestamptz,
  ip text check (length(ip) <= 64),
  user_agent text check (length(user_agent) <= 512)
);
create index operator_sessions_by_operator on operator_sessions (operator_id) where revoked_at is null;
