-- Daily settlement per merchant (src/payments/settlement): what a business day (JST) earned the merchant,
-- the ledger move from receivable (200) to payout (210), and the payout instruction to the bank.
create table settlements (
  id uuid primary key,
  merchant_id uuid not null references merchants (id),
  business_date text not null check (business_date ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
  payments_count integer not null check (payments_count >= 0),
  refunds_count integer not null check (refunds_count >= 0),
  gross_minor bigint not null check (gross_minor >= 0),
  -- Refunds and cancels made that day (of payments of any day).
  refunds_minor bigint not null check (refunds_minor >= 0),
  -- Fees charged that day net of fees returned with that day's refunds and cancels (may be negative).
  fees_minor bigint not null,
  net_minor bigint not null,
  settlement_transfer_id uuid unique,
  payout_amount_minor bigint check (payout_amount_minor > 0),
  payout_transfer_id uuid unique,
  payout_reference text,
  payout_status text not null check (payout_status in ('pending', 'instructed', 'rejected', 'no_payout_account', 'nothing_to_pay')),
  payout_failure text,
  created_at timestamptz not null,
  unique (merchant_id, business_date),
  check (net_minor = gross_minor - refunds_minor - fees_minor)
);
