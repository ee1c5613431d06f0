-- A payout the bank accepted can still end as paid or failed (closed account, wrong number). A failed
-- one is returned in the ledger (bank clearing 310 → the merchant's payout account 210) so the money
-- is owed again and leaves with the next payout; `payout_return_transfer_id` is that ledger transfer.
alter table settlements drop constraint settlements_payout_status_check;
alter table settlements add constraint settlements_payout_status_check
  check (payout_status in ('pending', 'instructed', 'paid', 'returned', 'rejected', 'no_payout_account', 'nothing_to_pay'));
alter table settlements add column payout_return_transfer_id uuid unique;
alter table settlements add column payout_checked_at timestamptz;
create index settlements_instructed on settlements (payout_checked_at nulls first) where payout_status = 'instructed';
