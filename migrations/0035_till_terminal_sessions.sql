-- The till in a browser (src/payments/terminal): a store tablet proves it is one terminal with a one-time
-- activation code and then holds a terminal session. The merchant's API secret never reaches a tablet.
-- Neither codes nor session tokens are stored: only their HMAC / SHA-256.

create table terminal_activation_codes (
  id uuid primary key,
  terminal_id uuid not null references terminals (id),
  -- HMAC-SHA256 of the normalised code under a key derived from KOBAN_SECRET_KEY.
  code_hash bytea not null unique,
  expires_at timestamptz not null,
  used_at timestamptz,
  -- Who issued it (`cli`, `demo`, `test`…), for the record.
  issued_by text not null check (length(issued_by) between 1 and 100),
  created_at timestamptz not null
);
create index terminal_activation_codes_by_terminal on terminal_activation_codes (terminal_id) where used_at is null;

create table terminal_sessions (
  id uuid primary key,
  terminal_id uuid not null references terminals (id),
  token_hash bytea not null unique,
  created_at timestamptz not null,
  last_seen_at timestamptz not null,
  expires_at timestamptz not null,
  revoked_at timestamptz,
  ip text,
  user_agent text check (length(user_agent) <= 512)
);
create index terminal_sessions_live_by_terminal on terminal_sessions (terminal_id) where revoked_at is null;
