-- The one dispatcher (src/notifications/dispatcher.ts) reads every queue's attempt limit from its rows, as
-- webhook deliveries always had it: e-mail and SMS keep their limit of 8 (DISPATCH_LIMITS.attemptsMax).
alter table outbox_messages add column attempts_max integer not null default 8 check (attempts_max between 1 and 100);
