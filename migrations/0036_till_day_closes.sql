-- What a till did (src/payments/terminal): the reason staff gave for each cancel and refund, and the
-- daily close (Z-report) of a terminal's business day (JST), recorded once.

create table terminal_reversals (
  id uuid primary key,
  terminal_id uuid not null references terminals (id),
  session_id uuid not null references terminal_sessions (id),
  payment_id uuid not null references payments (id),
  kind text not null check (kind in ('cancel', 'refund')),
  refund_id uuid references refunds (id),
  amount_minor bigint not null check (amount_minor > 0),
  reason text not null check (length(reason) between 1 and 255),
  created_at timestamptz not null,
  check ((kind = 'refund') = (refund_id is not null))
);
create index terminal_reversals_by_payment on terminal_reversals (payment_id);
create unique index terminal_reversals_one_per_refund on terminal_reversals (refund_id) where refund_id is not null;
create unique index terminal_reversals_one_cancel on terminal_reversals (payment_id) where kind = 'cancel';

create table terminal_day_closes (
  terminal_id uuid not null references terminals (id),
  business_date text not null check (business_date ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
  payments_count integer not null check (payments_count >= 0),
  gross_minor bigint not null check (gross_minor >= 0),
  cancels_count integer not null check (cancels_count >= 0),
  cancels_minor bigint not null check (cancels_minor >= 0),
  refunds_count integer not null check (refunds_count >= 0),
  refunds_minor bigint not null check (refunds_minor >= 0),
  net_minor bigint not null,
  closed_at timestamptz not null,
  session_id uuid not null references terminal_sessions (id),
  primary key (terminal_id, business_date),
  check (net_minor = gross_minor - cancels_minor - refunds_minor)
);
