-- Test and live API keys (issue 15, src/merchants/test-twin.ts): a key has a mode and a name. A test key
-- belongs to the merchant's **test twin**, a sandbox merchant made on the first test key with copies of the
-- live merchant's stores and terminals (answering to the same store/terminal ids), so everything a test key
-- creates or reads is the twin's, never the live merchant's, and the reverse.

alter table merchant_api_credentials
  add column mode text not null default 'live' check (mode in ('live', 'test')),
  add column name text check (char_length(name) between 1 and 64);

-- Set on a test twin only: the live merchant it mirrors (at most one twin each).
alter table merchants add column test_twin_of uuid unique references merchants (id);
alter table merchants add constraint merchants_twin_not_self check (test_twin_of is null or test_twin_of <> id);
