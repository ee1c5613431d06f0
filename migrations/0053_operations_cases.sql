-- Cases: alerts grouped per customer account, worked by operators (src/operations/cases).
create table cases (
  id uuid primary key,
  account_id text not null check (length(account_id) between 1 and 100),
  status text not null default 'open' check (status in ('open', 'closed')),
  source text not null check (source in ('risk', 'customer', 'operator')),
  assignee_id uuid references operators (id),
  alert_count integer not null default 0 check (alert_count >= 0),
  outcome text check (outcome in ('fraud_confirmed', 'false_positive', 'customer_error', 'inconclusive')),
  opened_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  closed_at timestamptz,
  check ((status = 'closed') = (outcome is not null and closed_at is not null))
);
-- At most one open case per account: new alerts join it.
create unique index cases_one_open_per_account on cases (account_id) where status = 'open';
create index cases_by_status on cases (status, updated_at);

create table case_alerts (
  case_id uuid not null references cases (id),
  risk_event_id uuid not null,
  decision text not null,
  reasons jsonb not null,
  created_at timestamptz not null default now(),
  primary key (case_id, risk_event_id)
);

-- The case's history: comments and every action taken on it, in order.
create table case_notes (
  id uuid primary key,
  case_id uuid not null references cases (id),
  author text not null,
  kind text not null check (kind in ('comment', 'action')),
  body text not null check (length(body) between 1 and 4000),
  created_at timestamptz not null default now()
);
create index case_notes_by_case on case_notes (case_id, created_at);
