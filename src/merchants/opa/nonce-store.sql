-- OPA nonce store in PostgreSQL: the design for the NonceStore interface in nonce-store.ts.
-- Not a migration yet: it goes into migrations/ in the merchant API range (0030–0039, migrations/README.md)
-- together with the PgNonceStore that uses it.

-- A row lives while its request's epoch is still inside the clock window (expires_at = epoch + max skew).
-- Logged (not UNLOGGED) on purpose: a crash must not forget nonces that could still be replayed.
create table opa_nonces (
  api_key    text        not null check (length(api_key) between 1 and 128),
  nonce      text        not null check (length(nonce) between 8 and 64),
  expires_at timestamptz not null,
  primary key (api_key, nonce)
);

-- The sweeper reads oldest-first by expiry; without this index every sweep would scan the table.
create index opa_nonces_expires_at_idx on opa_nonces (expires_at);

-- claim(apiKey, nonce, expiresAtSec): one statement, atomic under concurrency, no read-then-write race.
-- The primary key makes the second of two concurrent inserts a no-op: RETURNING gives a row only to the
-- first, so "a row came back" means "first use". An expired row with the same key is overwritten in the
-- same statement, so a stale row never blocks a fresh request even if the sweeper is behind.
--
--   insert into opa_nonces (api_key, nonce, expires_at)
--   values ($1, $2, to_timestamp($3))
--   on conflict (api_key, nonce) do update
--     set expires_at = excluded.expires_at
--     where opa_nonces.expires_at <= now()
--   returning 1;
--
-- The plainer variant the brief names also works, at the cost of refusing a reused nonce until the
-- sweeper has removed the expired row (harmless: real clients draw a fresh nonce for every request):
--
--   insert into opa_nonces (api_key, nonce, expires_at)
--   values ($1, $2, to_timestamp($3))
--   on conflict (api_key, nonce) do nothing
--   returning 1;

-- Sweeper, run every minute or so; bounded batches keep each transaction and its locks short.
--
--   delete from opa_nonces
--   where ctid = any (array(
--     select ctid from opa_nonces
--     where expires_at <= now()
--     order by expires_at
--     limit 5000
--   ));
