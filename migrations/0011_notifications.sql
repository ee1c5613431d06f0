-- Transactional outbox: a message is inserted in the same transaction as the event that causes it,
-- so a committed event always gets its message and a rolled-back one never does. The dispatcher
-- delivers pending rows with bounded retries.
create table outbox_messages (
  id uuid primary key,
  channel text not null check (channel in ('email', 'sms')),
  recipient text not null check (length(recipient) between 3 and 320),
  kind text not null check (kind ~ '^[a-z][a-z0-9_]{0,63}$'),
  subject text not null check (length(subject) <= 200),
  body text not null check (length(body) <= 4000),
  status text not null default 'pending' check (status in ('pending', 'sent', 'failed')),
  attempts integer not null default 0 check (attempts >= 0),
  next_attempt_at timestamptz not null default now(),
  last_error text check (length(last_error) <= 500),
  created_at timestamptz not null default now(),
  sent_at timestamptz
);
create index outbox_messages_due on outbox_messages (next_attempt_at) where status = 'pending';

-- The development outbox: where e-mail and SMS "arrive" when no SMTP server or SMS provider is
-- configured (never in production), shown at /dev/outbox so people trying Koban can read codes.
create table dev_outbox (
  id uuid primary key,
  channel text not null check (channel in ('email', 'sms')),
  recipient text not null,
  kind text not null,
  subject text not null,
  body text not null,
  delivered_at timestamptz not null default now()
);
create index dev_outbox_by_recipient on dev_outbox (recipient, delivered_at desc);
