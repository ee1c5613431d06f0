-- Issue 19: identity verification (eKYC) through a provider reached over HTTP. Owned by the wallet module
-- (src/wallet/kyc/). A customer submits their name, date of birth, address and the references of a document
-- and a selfie; the provider answers later by signed webhook, and only its word (read back from the provider,
-- never taken from the webhook body) or an operator's review decides. Kept for the record-keeping duty of the
-- Act on Prevention of Transfer of Criminal Proceeds.
create table kyc_applications (
  id uuid primary key,
  customer_id uuid not null,
  full_name text not null check (length(full_name) between 1 and 200),
  date_of_birth date not null,
  address text not null check (length(address) between 1 and 400),
  document_ref text not null check (length(document_ref) between 1 and 200),
  selfie_ref text not null check (length(selfie_ref) between 1 and 200),
  status text not null check (status in ('submitted', 'approved', 'rejected', 'needs_review')),
  provider_ref text unique check (length(provider_ref) <= 128),
  reason text check (length(reason) <= 200),
  decided_by text check (length(decided_by) <= 200),
  created_at timestamptz not null default now(),
  decided_at timestamptz,
  check ((status in ('approved', 'rejected')) = (decided_at is not null))
);
-- One application in progress per customer.
create unique index kyc_applications_one_open on kyc_applications (customer_id) where status in ('submitted', 'needs_review');
create index kyc_applications_by_customer on kyc_applications (customer_id, created_at desc);
create index kyc_applications_review_queue on kyc_applications (created_at) where status = 'needs_review';

-- The eKYC provider's webhook events share the replay protection of the acquirer's and the bank's.
alter table provider_webhook_events drop constraint provider_webhook_events_provider_check;
alter table provider_webhook_events add constraint provider_webhook_events_provider_check check (provider in ('acquirer', 'bank', 'ekyc'));
