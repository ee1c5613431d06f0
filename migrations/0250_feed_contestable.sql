-- Which feed entries the customer can answer with 「心当たりがない」 (this wasn't me): money that left or
-- came in by their account's doing (payments, top-ups) and sign-ins from a new device. Money coming back
-- (refunds, cancels), a failed top-up and the customer's own settings changes are not a takeover signal.
alter table customer_notifications add column contestable boolean not null default false;
update customer_notifications set contestable = true
 where kind in ('payment_completed', 'top_up_completed')
    or (kind = 'security_alert' and title in ('New sign-in to Koban', 'Someone entered your Koban password'));
