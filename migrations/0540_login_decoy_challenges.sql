-- Issue 13, credential stuffing: on a device the account does not remember, a wrong password or an unknown
-- identifier answers like a right one, with a decoy challenge (src/identity/login/decoy.ts). A decoy has no
-- customer and can never complete; it lives in the same table so that its id, expiry and attempt limit are
-- those of a real challenge by construction. `risk_refused`: the risk engine refused a right password on a
-- new device; the refusal is told only after a real second factor, so the first step is no oracle either.
alter table login_challenges alter column customer_id drop not null;
alter table login_challenges
  add column decoy boolean not null default false,
  add column risk_refused boolean not null default false;
alter table login_challenges add constraint login_challenges_decoy_without_customer
  check ((decoy and customer_id is null and not risk_refused) or (not decoy and customer_id is not null));
