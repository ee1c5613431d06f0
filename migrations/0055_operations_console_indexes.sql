-- Indexes for the operator console's read models (src/operations/console). The console reads tables
-- other modules own (payments, top-ups, risk decisions, cases); these indexes are only for its reads.

-- The dashboard asks "what happened in the last hour" every few seconds per operator. BRIN indexes on
-- the insert time cost almost nothing on the payment path (one summary per block range, no entry per
-- row) and still let the last hour be read from the newest block ranges instead of the whole table.
create index payments_created_brin on payments using brin (created_at) with (pages_per_range = 32, autosummarize = on);
create index top_ups_created_brin on top_ups using brin (created_at) with (pages_per_range = 32, autosummarize = on);
create index risk_events_created_brin on risk_events using brin (created_at) with (pages_per_range = 32, autosummarize = on);

-- Search: a support operator types the merchant's order id from a receipt without knowing the
-- merchant; the unique index is (merchant_id, merchant_payment_id) and cannot answer that alone.
create index payments_by_merchant_payment_id on payments (merchant_payment_id);

-- The account page lists every case of a customer, closed ones too.
create index cases_by_account on cases (account_id, opened_at desc);
-- The case queue filtered by assignee.
create index cases_by_assignee on cases (assignee_id, updated_at desc) where assignee_id is not null;
