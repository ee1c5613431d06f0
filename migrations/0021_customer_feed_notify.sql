-- The live feed (src/notifications/live-feed.ts): every new entry of a customer's in-app feed wakes the
-- Koban processes that hold a stream for that customer, whichever module wrote it (top-ups, payments,
-- security alerts). The payload is only the customer id; listeners read the rows themselves. Processes
-- that miss a notification (a dropped LISTEN connection, PGlite) find the rows by their safety-net poll.
create function notify_customer_feed() returns trigger language plpgsql as $$
begin
  perform pg_notify('koban_customer_feed', new.customer_id::text);
  return new;
end;
$$;
create trigger customer_notifications_notify after insert on customer_notifications
  for each row execute function notify_customer_feed();
