-- The console's search finds by prefix and fragment without scanning: an e-mail prefix, the last digits of
-- a phone number, a card's last four, a receipt number (the last eight hex digits of a payment, refund or
-- top-up id: platform/receipt-number.ts) and an amount within a date range.
create index customer_contacts_value_prefix on customer_contacts (kind, value text_pattern_ops);
create index customer_contacts_value_suffix on customer_contacts (kind, reverse(value) text_pattern_ops);
create index funding_sources_card_last4 on funding_sources (card_last4) where card_last4 is not null;
create index payments_receipt_tail on payments (right(id::text, 8));
create index refunds_receipt_tail on refunds (right(id::text, 8));
create index top_ups_receipt_tail on top_ups (right(id::text, 8));
create index payments_by_amount on payments (amount_minor, created_at);
