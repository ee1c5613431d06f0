-- The console finds a customer by any fragment of the phone number (issue 17): the last digits, a middle
-- fragment, the start with or without the trunk 0 or the country code, hyphens and spaces ignored
-- (operations/console/search.ts). A LIKE '%fragment%' over customer_contacts would read every row, so each
-- phone number keeps its suffixes here, and a fragment is a prefix lookup on one index:
-- the fragment occurs in the number exactly when it starts one of its suffixes.
-- For +819012345678 the rows are the suffixes of 819012345678 with at least 4 digits (the shortest fragment
-- searched) and the national form 09012345678: at most 9 + 1 rows per number.
create table customer_phone_fragments (
  contact_id uuid not null references customer_contacts (id) on delete cascade,
  customer_id uuid not null references customers (id),
  fragment text not null check (fragment ~ '^[0-9]{4,15}$'),
  primary key (contact_id, fragment)
);
create index customer_phone_fragments_lookup on customer_phone_fragments (fragment text_pattern_ops);

create function customer_phone_fragments_of(phone text) returns setof text language sql immutable as $$
  select substr(substr(phone, 2), i) from generate_series(1, length(phone) - 4) as i
  union
  select '0' || substr(phone, 4)
$$;

-- Kept by the database itself, so every writer of a phone contact (sign-up, contact change, its undo,
-- support) keeps the fragments true without knowing about them.
create function customer_phone_fragments_sync() returns trigger language plpgsql as $$
begin
  if tg_op = 'UPDATE' then
    delete from customer_phone_fragments where contact_id = old.id;
  end if;
  if new.kind = 'phone' and new.value ~ '^\+81[0-9]{9,10}$' then
    insert into customer_phone_fragments (contact_id, customer_id, fragment)
      select new.id, new.customer_id, f from customer_phone_fragments_of(new.value) as f;
  end if;
  return new;
end;
$$;
create trigger customer_contacts_phone_fragments after insert or update of value, kind, customer_id on customer_contacts
  for each row execute function customer_phone_fragments_sync();

insert into customer_phone_fragments (contact_id, customer_id, fragment)
  select c.id, c.customer_id, f from customer_contacts c, customer_phone_fragments_of(c.value) as f
   where c.kind = 'phone' and c.value ~ '^\+81[0-9]{9,10}$';
