-- Per-endpoint webhook format (issue 15, item 3): `koban` is Koban's event envelope (as before), `paypay`
-- PayPay's flat Transaction notification, sent only for the events PayPay sends. A delivery of an event an
-- endpoint's format has no notification for is recorded as `skipped` (never posted), so the log stays true.
alter table merchant_webhook_endpoints
  add column format text not null default 'koban' check (format in ('koban', 'paypay'));
alter table webhook_deliveries drop constraint webhook_deliveries_status_check;
alter table webhook_deliveries add constraint webhook_deliveries_status_check check (status in ('pending', 'delivered', 'failed', 'skipped'));
