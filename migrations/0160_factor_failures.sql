-- Second-factor guessing across fresh challenges (issue 14): one failure counter per customer and
-- guessable factor (SMS code, TOTP code, recovery code). It lives on the account, not on a challenge,
-- so requesting a new challenge or a new code never resets it. Consecutive failures slow attempts
-- down and end in a lock that only a completed account recovery lifts.
create table factor_failures (
  customer_id uuid not null references customers (id),
  factor text not null check (factor in ('sms', 'totp', 'recovery_code')),
  -- Attempts reserved and not (yet) proved right: reserved before the check, so parallel guesses each count.
  failures integer not null default 0 check (failures >= 0),
  last_attempt_at timestamptz not null default now(),
  locked_at timestamptz,
  primary key (customer_id, factor)
);
