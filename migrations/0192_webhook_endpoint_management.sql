-- Webhook endpoint management (issue 15, item 3): a deleted endpoint stays as a row (its deliveries refer to
-- it) but is never listed or delivered to again; a rotated secret keeps signing beside the new one until
-- previous_secret_expires_at (Stripe's overlap); one URL is one endpoint per merchant while not deleted.
alter table merchant_webhook_endpoints drop constraint merchant_webhook_endpoints_status_check;
alter table merchant_webhook_endpoints
  add constraint merchant_webhook_endpoints_status_check check (status in ('active', 'disabled', 'deleted')),
  add column previous_secret_sealed bytea,
  add column previous_secret_expires_at timestamptz,
  add column updated_at timestamptz not null default now(),
  add constraint merchant_webhook_endpoints_previous_secret check ((previous_secret_sealed is null) = (previous_secret_expires_at is null));
create unique index merchant_webhook_endpoints_one_per_url on merchant_webhook_endpoints (merchant_id, url) where status <> 'deleted';
