-- Leases for background work that must run on one Koban node at a time (issue 18): the hold sweeper, the
-- audit sealer, the reconcilers, the purges. One row per job; a node holds it until expires_at (the
-- database's clock, so the nodes' clocks never have to agree) and renews it well before. A takeover bumps
-- token: work that must not be committed by a node that lost its lease locks the row (FOR SHARE) in its own
-- transaction and checks the token it was given (src/platform/leases.ts).
create table platform_leases (
  name text primary key check (name ~ '^[a-z][a-z0-9_.-]{0,63}$'),
  holder text not null check (length(holder) between 1 and 200),
  token bigint not null check (token >= 1),
  acquired_at timestamptz not null,
  renewed_at timestamptz not null,
  expires_at timestamptz not null
);
