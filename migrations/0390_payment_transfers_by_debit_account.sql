-- The tier's payment limits (issue 19) sum a customer's payment transfers of the last 30 days on every
-- payment (src/wallet/transfers/money-limits.ts `paymentLimitFacts`): a range scan over just those rows,
-- however long the customer's history. Partial: only payment transfers (code 2) pay for the index.
create index transfers_payments_by_debit_account on transfers (debit_account_id, created_at) where code = 2;
