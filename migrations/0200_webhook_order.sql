-- In-order webhook delivery per payment (issue 15, issue 11): every merchant event names the payment it is
-- about (`order_key`) and its place among that payment's events (`seq`, 1, 2, … in commit order under the
-- payment's row lock). A delivery carries both, so the dispatcher can hold a later event for an endpoint
-- until the earlier one was delivered or given up. Rows written before this migration have no key and are
-- delivered as before (unordered).
alter table webhook_events add column order_key uuid, add column seq integer check (seq > 0);
create index webhook_events_by_order on webhook_events (order_key, seq) where order_key is not null;
alter table webhook_deliveries add column order_key uuid, add column seq integer check (seq > 0);
create index webhook_deliveries_pending_in_order on webhook_deliveries (endpoint_id, order_key, seq) where status = 'pending' and order_key is not null;
