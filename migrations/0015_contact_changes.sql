-- Changing the e-mail or phone of record (REC-08). A change is started from a session with a fresh
-- step-up, proved by a code sent to the new contact, and only then replaces the old one; the old
-- contact is told, with a single-use "this wasn't me" token (stored hashed). See src/identity/contacts/.
alter table one_time_codes drop constraint one_time_codes_purpose_check;
alter table one_time_codes add constraint one_time_codes_purpose_check
  check (purpose in ('signup_email', 'signup_phone', 'login_sms', 'step_up_sms', 'recovery_sms', 'recovery_email', 'contact_change'));

create table contact_changes (
  id uuid primary key,
  customer_id uuid not null references customers (id),
  session_id uuid not null references sessions (id),
  kind text not null check (kind in ('email', 'phone')),
  old_value text not null check (length(old_value) between 3 and 320),
  new_value text not null check (length(new_value) between 3 and 320),
  expires_at timestamptz not null,
  completed_at timestamptz,
  -- Set at completion; the token goes only to the old contact.
  report_token_hash bytea unique check (length(report_token_hash) = 32),
  report_expires_at timestamptz,
  reported_at timestamptz,
  created_at timestamptz not null default now(),
  check ((completed_at is null) = (report_token_hash is null))
);
create index contact_changes_by_customer on contact_changes (customer_id, completed_at);
