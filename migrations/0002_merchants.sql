-- Merchants, their stores and the tills (terminals) in them. The merchant API, credentials and
-- settlement extend these tables in later migrations.
create table merchants (
  id uuid primary key,
  name text not null check (length(name) between 1 and 200),
  -- ISO 18245 merchant category code: risk rules look at it (easily resold goods).
  category_code text not null check (category_code ~ '^[0-9]{4}$'),
  status text not null default 'active' check (status in ('active', 'suspended', 'closed')),
  receivable_account_id uuid not null unique references accounts (id),
  created_at timestamptz not null default now()
);

create table stores (
  id uuid primary key,
  merchant_id uuid not null references merchants (id),
  name text not null check (length(name) between 1 and 200),
  address text not null default '',
  latitude double precision check (latitude between -90 and 90),
  longitude double precision check (longitude between -180 and 180),
  status text not null default 'active' check (status in ('active', 'closed')),
  created_at timestamptz not null default now()
);
create index stores_by_merchant on stores (merchant_id);

create table terminals (
  id uuid primary key,
  store_id uuid not null references stores (id),
  name text not null check (length(name) between 1 and 100),
  status text not null default 'active' check (status in ('active', 'disabled')),
  created_at timestamptz not null default now()
);
create index terminals_by_store on terminals (store_id);
