/**
 * A customer created whole, without the sign-up ceremony: fixed id, verified phone and e-mail, a
 * password and optionally a linked social identity. For the demo data only (src/demo), which must not
 * write identity's tables itself; never reachable from an API. Idempotent: a second call changes nothing.
 */
import type { Database } from '../../platform/db/database.ts';
import { uuidv7 } from '../../platform/ids.ts';
import type { PasswordHasher } from '../password/hasher.ts';
import { checkNewPassword } from '../password/policy.ts';
import { randomToken } from '../secrets.ts';

export interface SeededCustomer {
  readonly customerId: string;
  readonly email: string;
  readonly phone: string;
  readonly password: string;
  readonly socialIdentity: { readonly providerId: string; readonly issuer: string; readonly subject: string } | null;
}

export async function ensureSeededCustomer(db: Database, hasher: PasswordHasher, customer: SeededCustomer): Promise<void> {
  const pool = db.pool;
  await pool.query('insert into customers (id, webauthn_user_id) values ($1, $2) on conflict (id) do nothing', [customer.customerId, randomToken()]);
  await pool.query(
    `insert into customer_contacts (id, customer_id, kind, value, verified_at) values ($1, $3, 'email', $4, now()), ($2, $3, 'phone', $5, now()) on conflict do nothing`,
    [uuidv7(), uuidv7(), customer.customerId, customer.email, customer.phone],
  );
  const hasPassword = (await pool.query('select 1 from password_credentials where customer_id = $1', [customer.customerId])).rowCount === 1;
  if (!hasPassword) {
    const password = checkNewPassword(customer.password, { email: customer.email, phone: customer.phone });
    await pool.query('insert into password_credentials (customer_id, password_hash) values ($1, $2) on conflict do nothing', [customer.customerId, await hasher.hash(password)]);
  }
  if (customer.socialIdentity !== null) {
    const social = customer.socialIdentity;
    await pool.query(
      'insert into social_identities (id, customer_id, provider_id, issuer, subject) values ($1, $2, $3, $4, $5) on conflict (issuer, subject) do nothing',
      [uuidv7(), customer.customerId, social.providerId, social.issuer, social.subject],
    );
  }
}
