-- Security signals fed to the risk engine (issue 14): a second factor locked after guessing, an SMS
-- budget exhausted, a forged or mismatching acquirer/bank callback. Each is recorded as a risk event of
-- kind 'security_signal' with decision 'review', so it shows with the flagged decisions and, when it
-- names a customer, joins (or opens) that customer's case.
alter table risk_events drop constraint risk_events_kind_check;
alter table risk_events add constraint risk_events_kind_check
  check (kind in ('sign_in', 'recovery', 'social_link', 'funding_source_add', 'top_up', 'payment_code_mint', 'payment', 'security_signal'));
