-- Issue 11: risk_links_by_account held last_seen, which every payment's link upsert writes, so no link
-- update could be HOT: each one wrote a new tuple into both indexes (bench/risk-batch.ts: 0 % HOT). Every
-- query that uses this index narrows by account and kind and reads an account's few rows (its devices, its
-- stores, the console's list), so last_seen is a filter there and the index needs no column an update writes.
-- risk_links keeps fillfactor 70 (0040), the room a HOT update needs on the row's own page.
drop index risk_links_by_account;
create index risk_links_by_account on risk_links (account_id, kind);
