-- Issue 19: points and cashback campaigns. All tables are owned by the wallet module (src/wallet/promo/).
--   code 120 (customer_points): a customer's points balance, id ownedAccountId(120, customer), flag 1 (never
--     below zero). Points are spent first (wallet/spend-order.ts) and are never cash.
--   code 500 (promotion_budget): besides the platform's promotion account (which funds campaigns), each campaign
--     has its own budget account, id ownedAccountId(500, campaign), flag 1: grants stop exactly at its budget.
insert into account_codes (code, name, description) values
  (120, 'customer_points', 'A customer''s points (cashback of campaigns): spendable only, spent first, they expire')
on conflict (code) do nothing;

create table promo_campaigns (
  id uuid primary key,
  name text not null check (length(name) between 1 and 100),
  -- What a payment must match: this merchant, or any merchant of this ISO 18245 category (one of the two).
  merchant_id uuid,
  category_code text check (category_code ~ '^[0-9]{4}$'),
  rate_bps integer not null check (rate_bps between 1 and 10000),
  cap_per_customer_minor bigint not null check (cap_per_customer_minor > 0),
  budget_minor bigint not null check (budget_minor > 0),
  starts_at timestamptz not null,
  ends_at timestamptz not null,
  points_valid_days integer not null check (points_valid_days between 1 and 3650),
  budget_account_id uuid not null,
  status text not null check (status in ('active', 'ended')),
  created_by text not null,
  created_at timestamptz not null default now(),
  check ((merchant_id is null) <> (category_code is null)),
  check (ends_at > starts_at)
);

-- The consequences of payments, refunds and cancels a campaign may care about, written by the triggers below in
-- the commit that records the payment's outcome (so every path — the single pipeline, the group commit, the
-- repair sweepers — writes one), and relayed once by src/wallet/promo/relay.ts, which deletes the row in the
-- transaction that grants or reverses the points.
create table promo_queue (
  id bigserial primary key,
  kind text not null check (kind in ('payment', 'refund', 'cancel')),
  payment_id uuid not null,
  -- The refund's id for a refund; the payment's id otherwise.
  ref_id uuid not null,
  created_at timestamptz not null default now(),
  unique (kind, ref_id)
);

-- One grant per payment (campaigns do not stack: the highest rate that matches wins).
create table promo_grants (
  payment_id uuid primary key,
  campaign_id uuid not null references promo_campaigns (id),
  customer_id uuid not null,
  payment_amount_minor bigint not null check (payment_amount_minor > 0),
  -- What the rate asked for, and what was granted after the per-customer cap and the budget (may be 0).
  wanted_minor bigint not null check (wanted_minor >= 0),
  granted_minor bigint not null check (granted_minor >= 0 and granted_minor <= wanted_minor),
  reversed_minor bigint not null default 0 check (reversed_minor >= 0),
  -- What a reversal could not take back because the customer had already spent (or lost) the points.
  unrecovered_minor bigint not null default 0 check (unrecovered_minor >= 0),
  transfer_id uuid not null,
  expires_at timestamptz not null,
  -- Set by the expiry job once the customer's points were checked after this grant's expiry.
  expiry_done boolean not null default false,
  created_at timestamptz not null default now(),
  check (reversed_minor + unrecovered_minor <= granted_minor)
);
create index promo_grants_customer on promo_grants (customer_id, campaign_id);
create index promo_grants_expiry on promo_grants (expires_at) where not expiry_done;

-- Each refund or cancel whose payment earned points, once.
create table promo_reversals (
  ref_id uuid primary key,
  payment_id uuid not null references promo_grants (payment_id),
  -- The refund's amount (the cancel's: what it returned), for the proportional share of later refunds.
  refund_amount_minor bigint not null check (refund_amount_minor > 0),
  target_minor bigint not null check (target_minor >= 0),
  reversed_minor bigint not null check (reversed_minor >= 0 and reversed_minor <= target_minor),
  transfer_id uuid,
  created_at timestamptz not null default now()
);

-- Each expiry run's transfer per customer.
create table promo_expiries (
  transfer_id uuid primary key,
  customer_id uuid not null,
  amount_minor bigint not null check (amount_minor > 0),
  expired_at timestamptz not null
);

-- Statement-level triggers with transition tables: one insert per statement whatever the batch size, and
-- nothing at all while no campaign was ever defined.
create function promo_enqueue_inserted_payments() returns trigger language plpgsql as $$
begin
  if exists (select 1 from promo_campaigns where status = 'active') then
    insert into promo_queue (kind, payment_id, ref_id)
    select 'payment', n.id, n.id from promo_new n where n.status = 'COMPLETED' and n.customer_id is not null
    on conflict do nothing;
  end if;
  return null;
end $$;

create function promo_enqueue_updated_payments() returns trigger language plpgsql as $$
begin
  if exists (select 1 from promo_campaigns) then
    insert into promo_queue (kind, payment_id, ref_id)
    select case when n.status = 'COMPLETED' then 'payment' else 'cancel' end, n.id, n.id
    from promo_new n join promo_old o on o.id = n.id
    where n.customer_id is not null and n.status <> o.status
      and ((n.status = 'COMPLETED' and exists (select 1 from promo_campaigns where status = 'active')) or n.status = 'CANCELED')
    on conflict do nothing;
  end if;
  return null;
end $$;

create function promo_enqueue_refunds() returns trigger language plpgsql as $$
begin
  if exists (select 1 from promo_campaigns) then
    insert into promo_queue (kind, payment_id, ref_id)
    select 'refund', n.payment_id, n.id from promo_new n join promo_old o on o.id = n.id
    where n.status = 'REFUNDED' and o.status <> 'REFUNDED'
    on conflict do nothing;
  end if;
  return null;
end $$;

create trigger promo_payments_inserted after insert on payments referencing new table as promo_new
  for each statement execute function promo_enqueue_inserted_payments();
create trigger promo_payments_updated after update on payments referencing old table as promo_old new table as promo_new
  for each statement execute function promo_enqueue_updated_payments();
create trigger promo_refunds_updated after update on refunds referencing old table as promo_old new table as promo_new
  for each statement execute function promo_enqueue_refunds();
