-- Issue 13: reversing a suspended merchant's payments from compromised wallets is four-eyes, through the
-- operators' proposals (one operator proposes the list, another approves; src/portal/reversals.ts).
alter table proposals drop constraint proposals_kind_check;
alter table proposals add constraint proposals_kind_check check (kind in ('compensation_batch', 'incident_reset_all', 'merchant_reversal'));
