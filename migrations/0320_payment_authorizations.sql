-- Pre-authorisation (issue 15, src/payments/authorizations.ts): an order QR made with isAuthorization is
-- paid by a ledger hold (a pending transfer wallet → merchant receivable with a timeout) instead of a
-- posted payment. The payment is AUTHORIZED until the merchant captures it (COMPLETED: the hold posted,
-- in full or in part, the rest released, the fee charged on what was captured), reverts it (CANCELED:
-- the hold voided) or the hold expires (EXPIRED: the ledger's sweeper released it).

alter table payments
  add column is_authorization boolean not null default false,
  -- The expiry the merchant asked for (authorizationExpiry) or Koban's default; the hold's timeout is counted to it.
  add column authorization_expires_at timestamptz,
  -- When the hold was placed (the customer paid the QR).
  add column authorized_at timestamptz,
  -- What was authorised; amount_minor becomes what was captured.
  add column authorized_amount_minor bigint check (authorized_amount_minor > 0);

-- The status list and the "paid payments have their acceptance" rule gain the authorisation's states: a
-- reverted authorisation is CANCELED without ever having been accepted (nothing was paid, nothing settles).
do $$
declare c record;
begin
  for c in select conname from pg_constraint where conrelid = 'payments'::regclass and contype = 'c'
             and (pg_get_constraintdef(oid) like '%''CREATED''::text%' or pg_get_constraintdef(oid) like '%accepted_at IS NOT NULL%')
  loop
    execute format('alter table payments drop constraint %I', c.conname);
  end loop;
end $$;

alter table payments
  add constraint payments_status_check
    check (status in ('CREATED', 'AUTHORIZED', 'COMPLETED', 'REFUNDED', 'FAILED', 'CANCELED', 'EXPIRED')),
  add constraint payments_accepted_check
    check (status not in ('COMPLETED', 'REFUNDED', 'CANCELED')
           or (accepted_at is not null and business_date is not null and customer_id is not null)
           or (status = 'CANCELED' and is_authorization and accepted_at is null and authorized_at is not null and customer_id is not null)),
  add constraint payments_authorization_check
    check (not is_authorization or (kind = 'dynamic_qr' and authorization_expires_at is not null and authorized_amount_minor is not null)),
  add constraint payments_authorized_check
    check (status not in ('AUTHORIZED', 'EXPIRED') or not is_authorization or (authorized_at is not null and customer_id is not null)),
  add constraint payments_only_authorizations_authorized
    check (status <> 'AUTHORIZED' or is_authorization);

-- Authorisations waiting for their expiry (the payments maintenance loop marks them EXPIRED once the ledger released the hold).
create index payments_authorized_by_expiry on payments (authorization_expires_at) where status = 'AUTHORIZED';

-- The one capture or revert of an authorisation (primary key: one per payment, so a capture racing a
-- revert or a second capture loses on the key), idempotent by the merchant's id: the same id and body
-- answer the first outcome, another body is a duplicate. The ledger transfer ids are derived from the
-- hold's, so a retry or the repair re-submits the same ones.
create table payment_authorization_actions (
  payment_id uuid primary key references payments (id),
  merchant_id uuid not null references merchants (id),
  kind text not null check (kind in ('capture', 'revert')),
  merchant_action_id text not null check (merchant_action_id ~ '^[A-Za-z0-9_-]{1,64}$'),
  request_fingerprint text not null,
  amount_minor bigint check (amount_minor > 0),
  fee_minor bigint check (fee_minor >= 0 and fee_minor <= amount_minor),
  note text check (length(note) <= 255),
  requested_at timestamptz,
  created_at timestamptz not null,
  check ((kind = 'capture') = (amount_minor is not null and fee_minor is not null)),
  unique (merchant_id, kind, merchant_action_id)
);
