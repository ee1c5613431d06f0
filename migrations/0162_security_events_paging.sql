-- The operators' security-event view (issue 14) pages the whole log newest first by seq; per customer it
-- already has (customer_id, seq). Outcome filters (failures, refusals) page on (outcome, seq).
create index security_events_by_seq on security_events (seq);
create index security_events_by_outcome on security_events (outcome, seq);
