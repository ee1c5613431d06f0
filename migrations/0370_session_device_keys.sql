-- Issue 13: sessions bound to a key the device holds (src/identity/sessions/device-proof.ts). The wallet makes a
-- non-extractable ECDSA P-256 key pair at sign-in and sends its public JWK inside a DPoP-style proof; the
-- session keeps the key's RFC 7638 thumbprint. From then on a state-changing request, a read after the last
-- proof grew old, and any request from a new network must carry a fresh proof signed by that key: a copied
-- cookie without the key is refused. `proof_at`/`proof_network` are when and from which /24 or /64 the last
-- proof came.
alter table sessions
  add column device_key_thumbprint text check (length(device_key_thumbprint) = 43),
  add column proof_at timestamptz,
  add column proof_network text check (length(proof_network) <= 64);

-- Every accepted proof's jti (SHA-256), kept until the proof could no longer be accepted anyway: a replayed
-- proof is refused. Purged by identity.purgeExpired.
create table device_proof_jtis (
  jti_hash bytea primary key,
  session_id uuid not null,
  expires_at timestamptz not null
);
create index device_proof_jtis_expires on device_proof_jtis (expires_at);
