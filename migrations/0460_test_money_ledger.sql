-- Test money is another currency (issue 15 follow-up, src/merchants/README.md "Test mode"): a merchant's test twin
-- and the developers' test wallets keep their accounts on a ledger of their own, so real and test yen can never meet
-- in one transfer — the ledger refuses a transfer between accounts of two ledgers (src/ledger/engine.ts).
-- ISO 4217 reserves XTS (963) "for testing purposes"; the unit is a yen, scale 0.
insert into ledgers (id, asset, asset_scale, name) values (963, 'XTS', 0, 'Test yen (sandbox money, never paid out)')
on conflict (id) do nothing;

insert into account_codes (code, name, description) values
  (800, 'test_money_issuer', 'Where test money comes from: tops up test wallets for free, on the test ledger only')
on conflict (code) do nothing;

-- A test wallet: a sandbox customer a merchant's developer made in the portal. Its wallet account is on the
-- test ledger; it can pay only test twins, and no real money can reach it (src/wallet/test-wallets.ts).
create table test_wallets (
  customer_id uuid primary key,
  -- The live merchant whose developer made it (its twin is what it pays).
  merchant_id uuid not null references merchants (id),
  account_id uuid not null unique references accounts (id),
  label text not null check (char_length(label) between 1 and 64),
  created_by uuid,
  created_at timestamptz not null default now()
);
create index test_wallets_by_merchant on test_wallets (merchant_id, created_at);

-- Twins made before this migration have their receivable (and payout account, after a daily close) on the real-yen ledger. There is no production data yet:
-- an account no transfer ever touched moves to the test ledger in place (nothing to recompute). One that real
-- money reached (a real wallet paid a test order) cannot be moved by a migration — that money must be returned
-- to its payers by an operator first — so the migration stops and names it rather than hide it.
do $$
declare
  touched uuid;
begin
  select a.id into touched
    from merchants m join accounts a on a.id in (m.receivable_account_id, m.payout_account_id)
   where m.test_twin_of is not null and a.ledger = 392
     and exists (select 1 from transfers t where t.debit_account_id = a.id or t.credit_account_id = a.id)
   limit 1;
  if touched is not null then
    raise exception 'test twin account % holds real yen: refund those test payments, then migrate', touched;
  end if;
  update accounts a set ledger = 963
    from merchants m
   where m.test_twin_of is not null and a.id in (m.receivable_account_id, m.payout_account_id) and a.ledger = 392;
end $$;
