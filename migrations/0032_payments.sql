-- Payments, merchant-presented QR codes and refunds (src/payments). Money itself moves only in the
-- ledger; these rows say which transfers belong to which order, and in what state the order is.
-- Transfer ids are chosen and written here *before* the ledger is called, so a crash between the two
-- is repaired by re-submitting the same ids (the ledger is idempotent by id): see src/payments/README.md.

create table payments (
  id uuid primary key,
  merchant_id uuid not null references merchants (id),
  merchant_payment_id text not null check (merchant_payment_id ~ '^[A-Za-z0-9_-]{1,64}$'),
  kind text not null check (kind in ('customer_code', 'dynamic_qr', 'static_qr')),
  status text not null check (status in ('CREATED', 'COMPLETED', 'REFUNDED', 'FAILED', 'CANCELED', 'EXPIRED')),
  amount_minor bigint not null check (amount_minor > 0),
  fee_minor bigint not null check (fee_minor >= 0 and fee_minor <= amount_minor),
  store_id uuid references stores (id),
  terminal_id uuid references terminals (id),
  order_description text check (length(order_description) <= 255),
  -- What makes a repeat of merchantPaymentId "the same request" (sha-256 of the defining fields).
  request_fingerprint text not null,
  customer_id uuid,
  wallet_account_id uuid references accounts (id),
  device_id text,
  code_id uuid,
  payment_transfer_id uuid unique,
  -- When the current ledger attempt was staged (the repair sweeper waits a while after it).
  staged_at timestamptz,
  fee_transfer_id uuid unique,
  failure_code text,
  refunded_minor bigint not null default 0 check (refunded_minor >= 0),
  refunded_fee_minor bigint not null default 0 check (refunded_fee_minor >= 0),
  requested_at timestamptz,
  created_at timestamptz not null,
  accepted_at timestamptz,
  business_date text check (business_date ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
  canceled_at timestamptz,
  cancel_business_date text check (cancel_business_date ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
  cancel_amount_minor bigint check (cancel_amount_minor > 0),
  cancel_fee_minor bigint check (cancel_fee_minor >= 0),
  cancel_transfer_id uuid unique,
  cancel_fee_transfer_id uuid unique,
  -- The cancel is decided but its reversal transfers may not be in the ledger yet (repaired if a crash hits).
  reversal_pending boolean not null default false,
  unique (merchant_id, merchant_payment_id),
  check (refunded_minor + coalesce(cancel_amount_minor, 0) <= amount_minor),
  check (refunded_fee_minor + coalesce(cancel_fee_minor, 0) <= fee_minor),
  check (status not in ('COMPLETED', 'REFUNDED', 'CANCELED') or (accepted_at is not null and business_date is not null and customer_id is not null)),
  check ((status = 'CANCELED') = (canceled_at is not null))
);
-- The repair sweeper's work list: payments whose ledger step may not have finished.
create index payments_in_flight on payments (staged_at) where status = 'CREATED' and payment_transfer_id is not null;
create index payments_reversal_pending on payments (canceled_at) where reversal_pending;
create index payments_by_customer on payments (customer_id, created_at desc) where customer_id is not null;
create index payments_by_merchant_day on payments (merchant_id, business_date) where business_date is not null;
create index payments_by_merchant_cancel_day on payments (merchant_id, cancel_business_date) where cancel_business_date is not null;

-- A dynamic (order) QR: one per payment row of kind dynamic_qr.
create table dynamic_qr_codes (
  id text primary key check (id ~ '^[A-Za-z0-9_-]{8,64}$'),
  payment_id uuid not null unique references payments (id),
  merchant_id uuid not null references merchants (id),
  status text not null default 'ACTIVE' check (status in ('ACTIVE', 'DELETED', 'PAID')),
  expires_at timestamptz not null,
  created_at timestamptz not null
);

create table refunds (
  id uuid primary key,
  payment_id uuid not null references payments (id),
  merchant_id uuid not null references merchants (id),
  merchant_refund_id text not null check (merchant_refund_id ~ '^[A-Za-z0-9_-]{1,64}$'),
  status text not null check (status in ('CREATED', 'REFUNDED', 'REFUND_FAILED')),
  amount_minor bigint not null check (amount_minor > 0),
  fee_refund_minor bigint not null check (fee_refund_minor >= 0),
  reason text check (length(reason) <= 255),
  request_fingerprint text not null,
  refund_transfer_id uuid not null unique,
  fee_transfer_id uuid unique,
  failure_code text,
  requested_at timestamptz,
  created_at timestamptz not null,
  completed_at timestamptz,
  business_date text check (business_date ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
  unique (merchant_id, merchant_refund_id)
);
create index refunds_by_payment on refunds (payment_id);
create index refunds_in_flight on refunds (created_at) where status = 'CREATED';
create index refunds_by_merchant_day on refunds (merchant_id, business_date) where business_date is not null;
