-- What the static store QR (EMVCo MPM) needs to name a merchant truthfully: the store's city (tag 60,
-- Latin script, at most 15 characters) and postal code (tag 61, at most 10), the city as written locally
-- (language template 64, sub-field 02), and the merchant's Latin name (tag 59, at most 25) for a merchant
-- whose own name is not in Latin script. Nullable: stores created before this carry none until a
-- merchant sets them; new stores get them through the merchants module.
alter table merchants add column name_latin text check (name_latin ~ '^[ -~]{1,25}$');
alter table stores
  add column city text check (city ~ '^[ -~]{1,15}$'),
  add column city_local text check (char_length(city_local) between 1 and 15),
  add column postal_code text check (postal_code ~ '^[0-9A-Za-z -]{1,10}$');
