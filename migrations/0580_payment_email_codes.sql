-- Issue 13: a held payment confirmed without a passkey needs the charge PIN plus a code e-mailed to an address
-- verified before the cool-down (identity/payment-email-code.ts). One code per held payment (subject = payment id).
alter table one_time_codes drop constraint one_time_codes_purpose_check;
alter table one_time_codes add constraint one_time_codes_purpose_check
  check (purpose in ('signup_email', 'signup_phone', 'login_sms', 'step_up_sms', 'recovery_sms', 'recovery_email', 'contact_change', 'payment_email'));
