-- Merchant-chosen store and terminal ids (issue 15, item 1): PayPay's storeId/terminalId are the merchant's
-- own strings up to 255 characters. A merchant names its Koban stores and terminals with them; the OPA
-- listener maps a request's storeId/terminalId through this table (or takes a Koban id as before).
-- One external id names one store (or terminal) of one merchant; a store or terminal has at most one.
create table merchant_external_ids (
  merchant_id uuid not null references merchants (id),
  kind text not null check (kind in ('store', 'terminal')),
  external_id text not null check (char_length(external_id) between 1 and 255),
  target_id uuid not null,
  created_at timestamptz not null default now(),
  primary key (merchant_id, kind, external_id),
  unique (kind, target_id)
);
