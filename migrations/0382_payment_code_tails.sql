-- The till's sales list shows the last four digits of the code a sale was paid with (issue 17), as a paper
-- receipt prints a card's last four: staff match a customer's screen to a sale without a name. Four of 19
-- random digits, kept in the clear like a card's last four; codes minted before this have none.
alter table payment_codes add column code_tail text check (code_tail ~ '^[0-9]{4}$');
-- The sales list finds the codes of its payments by payment id (used codes only).
create index payment_codes_by_payment on payment_codes (payment_id) where payment_id is not null;
