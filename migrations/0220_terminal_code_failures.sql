-- Per-terminal throttle on failed customer-code lookups (issue 14: 300 random codes from one till were all
-- evaluated). One row per terminal that has failed at least once: failures in the current window, the last
-- failure (the slow-down waits from it) and the lock an operator lifts from the console.
create table terminal_code_failures (
  terminal_id uuid primary key references terminals (id),
  failures integer not null check (failures >= 0),
  window_started_at timestamptz not null,
  last_failure_at timestamptz not null,
  locked_at timestamptz,
  unlocked_by text,
  unlocked_at timestamptz
);
create index terminal_code_failures_locked on terminal_code_failures (locked_at) where locked_at is not null;
