-- What a merchant said about an order that Koban echoes back but does not act on (issue 15, items 1 and 3):
-- the storeId/terminalId strings as the merchant sent them, PayPay's orderItems, storeInfo and productType.
-- Keyed like the payment's idempotency key so it can be written before a till payment row exists; kept
-- apart from `payments` so the payment path's hot row stays as it is.
create table payment_order_details (
  merchant_id uuid not null references merchants (id),
  merchant_payment_id text not null,
  store_ref text check (char_length(store_ref) between 1 and 255),
  terminal_ref text check (char_length(terminal_ref) between 1 and 255),
  store_info text check (char_length(store_info) <= 255),
  product_type text check (char_length(product_type) <= 64),
  order_items jsonb check (order_items is null or jsonb_typeof(order_items) = 'array'),
  created_at timestamptz not null default now(),
  primary key (merchant_id, merchant_payment_id)
);

-- PayPay's cancel answers 202 for a merchantPaymentId it has not seen (the merchant cancels after a timeout,
-- before or instead of the payment arriving) and guarantees that payment never goes through. Koban keeps
-- the cancelled id here; a payment or order QR created later with it is refused.
create table payment_cancel_requests (
  merchant_id uuid not null references merchants (id),
  merchant_payment_id text not null,
  requested_at timestamptz not null,
  primary key (merchant_id, merchant_payment_id)
);
