/**
 * Demo customers for `npm start`, one per demo wallet in seed.ts (hanako, taro, yuki): verified phone
 * and e-mail, one documented password (src/identity/README.md), and the demo wallet linked through
 * payments' customer → wallet mapping. Hanako's account at the dev identity provider is linked too, so
 * "sign in with dev" works at once. Fixed ids, idempotent, and never in production (AUTH-09).
 */
import { assert } from '../platform/assert.ts';
import type { Koban } from '../koban.ts';
import { checkNewPassword } from '../identity/password/policy.ts';
import { randomToken } from '../identity/secrets.ts';
import { ensureCustomerWallet } from '../wallet/customer-wallets.ts';
import { uuidv7 } from '../platform/ids.ts';
import { DEMO } from './seed.ts';
import { DEV_IDP_PROVIDER_ID } from './dev-idp.ts';

/** Public on purpose (development only): long, not on the blocklist, no name or contact in it. */
export const DEMO_CUSTOMER_PASSWORD = 'paper lantern over the river';

export const DEMO_CUSTOMERS = [
  { name: 'hanako', customerId: '00000000-0000-7000-8000-000000004001', email: 'hanako@demo.koban.example', phone: '+818011110001', devIdpSubject: 'demo-hanako' },
  { name: 'taro', customerId: '00000000-0000-7000-8000-000000004002', email: 'taro@demo.koban.example', phone: '+818011110002', devIdpSubject: null },
  { name: 'yuki', customerId: '00000000-0000-7000-8000-000000004003', email: 'yuki@demo.koban.example', phone: '+818011110003', devIdpSubject: null },
] as const;

export async function seedDemoCustomers(koban: Koban, devIdpIssuer: string | null): Promise<void> {
  if (koban.config.nodeEnv === 'production') return;
  const db = koban.db.pool;
  for (const demo of DEMO_CUSTOMERS) {
    const wallet = DEMO.customers.find((c) => c.name === demo.name)?.wallet;
    assert(wallet !== undefined, `demo wallet for ${demo.name}`);
    await db.query('insert into customers (id, webauthn_user_id) values ($1, $2) on conflict (id) do nothing', [demo.customerId, randomToken()]);
    await db.query(
      `insert into customer_contacts (id, customer_id, kind, value, verified_at) values ($1, $3, 'email', $4, now()), ($2, $3, 'phone', $5, now()) on conflict do nothing`,
      [uuidv7(), uuidv7(), demo.customerId, demo.email, demo.phone],
    );
    const hasPassword = (await db.query('select 1 from password_credentials where customer_id = $1', [demo.customerId])).rowCount === 1;
    if (!hasPassword) {
      const password = checkNewPassword(DEMO_CUSTOMER_PASSWORD, { email: demo.email, phone: demo.phone });
      await db.query('insert into password_credentials (customer_id, password_hash) values ($1, $2) on conflict do nothing', [demo.customerId, await koban.identity.deps.hasher.hash(password)]);
    }
    // The demo wallet account already exists (seed.ts) under its own reference, which
    // ensureCustomerWallet would refuse to re-create: map it first, then let payments confirm the mapping.
    await db.query('insert into customer_wallets (customer_id, account_id) values ($1, $2) on conflict do nothing', [demo.customerId, wallet]);
    const linked = await ensureCustomerWallet(koban.db, koban.ledger, demo.customerId, wallet);
    assert(linked === wallet, `demo customer ${demo.name} is linked to another wallet`);
    if (devIdpIssuer !== null && demo.devIdpSubject !== null) {
      await db.query(
        'insert into social_identities (id, customer_id, provider_id, issuer, subject) values ($1, $2, $3, $4, $5) on conflict (issuer, subject) do nothing',
        [uuidv7(), demo.customerId, DEV_IDP_PROVIDER_ID, devIdpIssuer, demo.devIdpSubject],
      );
    }
  }
}
