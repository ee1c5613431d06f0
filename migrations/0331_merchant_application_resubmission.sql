-- Issue 16: when an operator asks for more information, the applicant signs in to a session that can only read
-- the request and resubmit the corrected application; every submitted version is kept for the console.
alter table merchant_user_sessions add column kind text not null default 'full' check (kind in ('full', 'applicant'));

create table merchant_application_versions (
  merchant_id uuid not null references merchants (id),
  version integer not null check (version >= 1),
  -- The application's fields as submitted (never the bank account number: only its last four digits).
  fields jsonb not null,
  -- What the operator asked for (the review note this version answers) and the applicant's reply; null for version 1.
  requested_info text check (length(requested_info) <= 2000),
  applicant_note text check (length(applicant_note) <= 2000),
  submitted_by text not null check (length(submitted_by) <= 200),
  submitted_at timestamptz not null,
  primary key (merchant_id, version)
);
