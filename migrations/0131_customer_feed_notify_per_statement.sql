-- One pg_notify per statement instead of one per row (0021): a batch of feed entries wakes the live feed with
-- the distinct customer ids joined by ',' (at most 200 per notification, well under the 8000-byte payload
-- limit). Listeners split the payload (src/notifications/live-feed.ts).
create function notify_customer_feed_batch() returns trigger language plpgsql as $$
begin
  perform pg_notify('koban_customer_feed', string_agg(customer_id::text, ','))
  from (select customer_id, (row_number() over (order by customer_id) - 1) / 200 as chunk
        from (select distinct customer_id from inserted) as distinct_customers) as chunked
  group by chunk;
  return null;
end;
$$;
drop trigger customer_notifications_notify on customer_notifications;
create trigger customer_notifications_notify after insert on customer_notifications
  referencing new table as inserted for each statement execute function notify_customer_feed_batch();
