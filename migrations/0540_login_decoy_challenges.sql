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

-- The account-wide second-factor guard (factor_failures: slow-down from 3 consecutive failures, lock at 10)
-- would tell a real challenge from a decoy at the fourth wrong code. Decoys keep a shadow guard of their own,
-- keyed by an HMAC of the account (or of the identifier, for one Koban never had), so they slow down and lock
-- at the same moments; it never touches the real account's counters (a stranger cannot lock its factors).
alter table login_challenges add column decoy_subject bytea check (decoy_subject is null or length(decoy_subject) = 32);
create table login_decoy_factor_failures (
  subject bytea not null check (length(subject) = 32),
  factor text not null check (factor in ('sms', 'totp', 'recovery_code')),
  failures integer not null check (failures >= 0),
  last_attempt_at timestamptz not null,
  locked_at timestamptz,
  primary key (subject, factor)
);
