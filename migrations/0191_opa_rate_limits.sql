-- Rate limits on the merchant API, per API key (issue 15, item 9). A token bucket per credential kept in
-- PostgreSQL so every Koban process draws on the same allowance: one upsert refills and takes a token.
-- A credential's own limit overrides the default (null = the default in src/merchants/opa/rate-limit.ts).
alter table merchant_api_credentials
  add column rate_limit_per_second integer check (rate_limit_per_second between 1 and 10000),
  add column rate_limit_burst integer check (rate_limit_burst between 1 and 100000);

create table opa_rate_buckets (
  credential_id uuid primary key references merchant_api_credentials (id) on delete cascade,
  tokens double precision not null,
  refilled_at timestamptz not null
);
