-- A till's sale, QR order, cancel or refund while it runs (src/payments/terminal/day-guard.ts): the daily
-- close refuses while one is in flight, so nothing lands on a business day after its Z-report is recorded.
-- Rows live for the length of one request; a crash leaves one behind, which the close ignores once older
-- than two minutes.
create table terminal_actions_in_flight (
  id uuid primary key,
  terminal_id uuid not null references terminals (id),
  business_date text not null check (business_date ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
  started_at timestamptz not null default now()
);
create index terminal_actions_in_flight_by_terminal on terminal_actions_in_flight (terminal_id, started_at);
