-- The risk engine (src/risk/README.md): shared counters, links between accounts and devices/cards/
-- networks/stores, operator-tunable rule settings (versioned), block and watch lists, and every decision.

-- Bucketed counters: one row per (key, bucket start, shard). A window sum reads a few rows by primary
-- key; hot keys (a store, a network) spread their increments over shards so they do not serialise.
create table risk_counters (
  key text not null check (length(key) <= 300),
  bucket bigint not null,
  shard smallint not null default 0,
  count bigint not null default 0,
  amount_minor bigint not null default 0,
  primary key (key, bucket, shard)
) with (fillfactor = 70);

-- Which accounts used which device, card, network or store, and when first and last.
create table risk_links (
  kind text not null check (kind in ('device', 'card', 'network', 'store')),
  key text not null check (length(key) <= 200),
  account_id text not null check (length(account_id) <= 100),
  first_seen timestamptz not null default now(),
  last_seen timestamptz not null default now(),
  primary key (kind, key, account_id)
) with (fillfactor = 70);
create index risk_links_by_account on risk_links (account_id, kind, last_seen);

-- Rule settings: every change is a new version (nothing is overwritten); the newest version is in force.
create table risk_rule_settings (
  rule_id text not null check (rule_id ~ '^[a-z][a-z0-9_]{0,63}$'),
  version integer not null check (version >= 1),
  enabled boolean not null,
  action text not null check (action in ('challenge', 'review', 'deny')),
  params jsonb not null check (jsonb_typeof(params) = 'object'),
  reason text not null check (length(reason) between 3 and 1000),
  changed_by text not null,
  changed_at timestamptz not null default now(),
  primary key (rule_id, version)
);
-- One number for "the rules in force", recorded with every decision.
create table risk_ruleset (
  id boolean primary key default true check (id),
  version bigint not null default 0
);
insert into risk_ruleset (id, version) values (true, 0);

-- Operator-maintained lists: blocked devices, cards and networks (deny), marked networks and
-- countries (sign-ins from them need a second factor). Removal is a timestamp, never a delete.
create table risk_lists (
  id uuid primary key,
  list text not null check (list in ('blocked_device', 'blocked_card', 'blocked_network', 'marked_network', 'marked_country')),
  value text not null check (length(value) between 1 and 200),
  reason text not null check (length(reason) between 3 and 1000),
  created_by text not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz,
  removed_at timestamptz,
  removed_by text
);
create unique index risk_lists_active on risk_lists (list, value) where removed_at is null;

-- Every decision with its reasons.
create table risk_events (
  id uuid primary key,
  kind text not null check (kind in ('sign_in', 'recovery', 'social_link', 'funding_source_add', 'top_up', 'payment_code_mint', 'payment')),
  account_id text,
  decision text not null check (decision in ('allow', 'challenge', 'review', 'deny')),
  score integer not null check (score between 0 and 100),
  reasons jsonb not null default '[]'::jsonb,
  rule_version bigint not null,
  device_id text,
  ip text,
  country text,
  card_ref text,
  store_id text,
  amount_minor bigint,
  event_ref text,
  created_at timestamptz not null default now()
);
create index risk_events_by_account on risk_events (account_id, created_at);
create index risk_events_flagged on risk_events (created_at) where decision <> 'allow';
