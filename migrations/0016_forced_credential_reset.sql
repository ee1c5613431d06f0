-- A forced password and charge PIN reset (an operator's case action or the all-customer incident
-- reset). While credentials_reset_required_at is set, no sign-in succeeds; completing account
-- recovery (a new password proved by two channels) clears it. See src/identity/recovery/forced-reset.ts.
alter table customers add column credentials_reset_required_at timestamptz;
alter table customers add column credentials_reset_reason text check (length(credentials_reset_reason) between 1 and 1000);
alter table customers add constraint customers_reset_reason_with_flag
  check ((credentials_reset_required_at is null) = (credentials_reset_reason is null));
