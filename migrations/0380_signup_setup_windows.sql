-- One setup window per fresh sign-up (issue 17, identity/step-up/setup-window.ts): the sign-up's own
-- verified phone and e-mail codes stand in for an SMS step-up for the account's first setup steps, on the
-- session the sign-up started and its device only, for a fixed time that is never extended. Each step can
-- be covered once (the first PIN, the first funding source, the first top-up, the first passkey).
create table signup_setup_windows (
  session_id uuid primary key references sessions (id) on delete cascade,
  customer_id uuid not null references customers (id),
  device_id uuid not null references devices (id) on delete cascade,
  opened_at timestamptz not null default now(),
  expires_at timestamptz not null,
  charge_pin_used_at timestamptz,
  funding_source_used_at timestamptz,
  top_up_used_at timestamptz,
  passkey_used_at timestamptz,
  check (expires_at > opened_at)
);
create index signup_setup_windows_by_customer on signup_setup_windows (customer_id);
