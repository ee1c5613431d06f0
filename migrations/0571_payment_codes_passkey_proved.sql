-- Issue 13: a code minted after the customer proved it with the passkey they pay with (identity's
-- payment-passkey.ts). The till's risk step passes it on: a challenge on that code's payment is met by the
-- proof (risk decides allow) instead of holding the payment for a second ceremony. An amount the store types
-- above the confirmation amount still waits for the customer: the proof did not see the amount.
alter table payment_codes add column passkey_proved boolean not null default false;
