-- Issue 16: merchant staff sign in with a passkey (WebAuthn), enrolled after a password + TOTP sign-in.
-- The merchant realm's own tables: an operator's or a customer's credential is never looked up here.
create table merchant_user_passkeys (
  credential_id text primary key check (length(credential_id) <= 1400),
  user_id uuid not null references merchant_users (id),
  public_key bytea not null,
  counter bigint not null default 0,
  transports text[] not null default '{}',
  name text not null check (length(name) between 1 and 100),
  created_at timestamptz not null,
  last_used_at timestamptz
);
create index merchant_user_passkeys_by_user on merchant_user_passkeys (user_id);

-- Server-side challenges, deleted on any use; a registration is bound to the staff session that asked for it.
create table merchant_webauthn_challenges (
  id uuid primary key,
  challenge text not null check (length(challenge) <= 200),
  ceremony text not null check (ceremony in ('registration', 'sign_in')),
  user_id uuid references merchant_users (id),
  session_hash bytea,
  expires_at timestamptz not null
);
create index merchant_webauthn_challenges_expiry on merchant_webauthn_challenges (expires_at);
