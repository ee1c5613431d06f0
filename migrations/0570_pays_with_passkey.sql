-- Issue 13: a customer who has a passkey pays with it (identity's payment-passkey.ts). Malware on the
-- customer's own phone holds the session, the device key and the PIN it read, never the passkey's user
-- verification, so a payment that needs the passkey cannot be made by it. The rule is "has a passkey and did
-- not opt out" (read with the session); opting out needs the passkey itself (step-up change_factors
-- {factor: payment_passkey}).
alter table customers add column payment_passkey_opt_out boolean not null default false;
