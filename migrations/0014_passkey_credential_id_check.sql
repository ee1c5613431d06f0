-- 0012's check on passkeys.credential_id used the repetition {16,1364}, above PostgreSQL's regex
-- limit (255): the check failed to compile on every insert, so no passkey could be stored. Same rule,
-- written so PostgreSQL (and PGlite) can evaluate it: base64url of 12..1023 bytes (WebAuthn §7.1 step 24).
alter table passkeys drop constraint passkeys_credential_id_check;
alter table passkeys add constraint passkeys_credential_id_check
  check (credential_id ~ '^[A-Za-z0-9_-]+$' and length(credential_id) between 16 and 1364);
