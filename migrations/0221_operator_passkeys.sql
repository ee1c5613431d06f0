-- Operators on passkeys (issue 14). Password + TOTP alone no longer signs an operator in: it opens a short
-- enrolment session (only while the operator has no passkey and the enrolment window is open), or, with a
-- second operator's approval, a break-glass session. Every other sign-in is a WebAuthn assertion.
alter table operators add column passkey_enrolment_until timestamptz;
-- Operators who exist when this ships get a window to enrol their first passkey.
update operators set passkey_enrolment_until = now() + interval '72 hours';

alter table operator_sessions add column kind text not null default 'full' check (kind in ('full', 'enrolment', 'break_glass'));

create table operator_passkeys (
  credential_id text primary key check (length(credential_id) <= 1400),
  operator_id uuid not null references operators (id),
  public_key bytea not null,
  counter bigint not null default 0,
  transports text[] not null default '{}',
  name text not null check (length(name) between 1 and 100),
  created_at timestamptz not null default now(),
  last_used_at timestamptz
);
create index operator_passkeys_by_operator on operator_passkeys (operator_id);

-- Server-side WebAuthn challenges, deleted on any use; a registration is bound to the session that asked.
create table operator_webauthn_challenges (
  id uuid primary key,
  challenge text not null check (length(challenge) <= 200),
  ceremony text not null check (ceremony in ('registration', 'sign_in')),
  operator_id uuid references operators (id),
  session_hash bytea,
  expires_at timestamptz not null
);
create index operator_webauthn_challenges_expiry on operator_webauthn_challenges (expires_at);

-- Break-glass: password + TOTP, a reason, and another operator's approval (four eyes), then a fresh code.
create table operator_break_glass (
  id uuid primary key,
  operator_id uuid not null references operators (id),
  reason text not null check (length(reason) between 3 and 1000),
  token_hash bytea not null,
  ip text check (length(ip) <= 64),
  user_agent text check (length(user_agent) <= 512),
  requested_at timestamptz not null,
  expires_at timestamptz not null,
  approved_by uuid references operators (id),
  approved_at timestamptz,
  approval_reason text check (length(approval_reason) <= 1000),
  used_at timestamptz,
  check (approved_by is null or approved_by <> operator_id)
);
create index operator_break_glass_pending on operator_break_glass (requested_at) where used_at is null;
