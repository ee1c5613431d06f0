-- Issue 15: where an order QR's checkout page sends the customer after paying (PayPay's redirectUrl and
-- redirectType on POST /v2/codes). Both or neither; the payments module validates the URL (https outside
-- the sandbox, bounded length) before it gets here.
alter table dynamic_qr_codes
  add column redirect_url text check (length(redirect_url) <= 2048),
  add column redirect_type text check (redirect_type in ('WEB_LINK', 'APP_DEEP_LINK', 'WEBVIEW_IN_PAYPAY')),
  add constraint dynamic_qr_codes_redirect_pair check ((redirect_url is null) = (redirect_type is null));
