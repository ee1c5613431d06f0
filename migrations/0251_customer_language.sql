-- The language the customer reads Koban in (set by the wallet when they choose one): server texts — the
-- feed and its live banners, SMS and e-mail — are written in it. Null: never chosen (English texts).
alter table customers add column language text check (language in ('ja', 'en'));
