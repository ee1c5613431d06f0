/**
 * Demo customers for `npm start`, one per demo wallet in seed.ts (hanako, taro, yuki): verified phone
 * and e-mail, one documented password (src/identity/README.md), and the demo wallet linked through
 * the wallet's customer → wallet mapping. Hanako's account at the dev identity provider is linked too, so
 * "sign in with dev" works at once. Fixed ids, idempotent, and never in production (AUTH-09).
 */
import type { PasswordHasher } from '../identity/password/hasher.ts';
import { ensureSeededCustomer } from '../identity/seed/seeded-customer.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { assert } from '../platform/assert.ts';
import type { Database } from '../platform/db/database.ts';
import { ensureCustomerWallet, linkCustomerWallets } from '../wallet/customer-wallets.ts';
import { DEMO } from './seed.ts';
import { DEV_IDP_PROVIDER_ID } from './dev-idp.ts';

/** Public on purpose (development only): long, not on the blocklist, no name or contact in it. */
export const DEMO_CUSTOMER_PASSWORD = 'paper lantern over the river';

export const DEMO_CUSTOMERS = [
  { name: 'hanako', customerId: '00000000-0000-7000-8000-000000004001', email: 'hanako@demo.koban.example', phone: '+818011110001', devIdpSubject: 'demo-hanako' },
  { name: 'taro', customerId: '00000000-0000-7000-8000-000000004002', email: 'taro@demo.koban.example', phone: '+818011110002', devIdpSubject: null },
  { name: 'yuki', customerId: '00000000-0000-7000-8000-000000004003', email: 'yuki@demo.koban.example', phone: '+818011110003', devIdpSubject: null },
] as const;

/** What seeding needs from a running Koban (the `Koban` object fits; the demo does not import the composition root). */
export interface DemoCustomerDeps {
  readonly config: { readonly nodeEnv: string };
  readonly db: Database;
  readonly ledger: Ledger;
  readonly identity: { readonly deps: { readonly hasher: PasswordHasher } };
}

export async function seedDemoCustomers(koban: DemoCustomerDeps, devIdpIssuer: string | null): Promise<void> {
  if (koban.config.nodeEnv === 'production') return;
  for (const demo of DEMO_CUSTOMERS) {
    const wallet = DEMO.customers.find((c) => c.name === demo.name)?.wallet;
    assert(wallet !== undefined, `demo wallet for ${demo.name}`);
    const socialIdentity = devIdpIssuer !== null && demo.devIdpSubject !== null
      ? { providerId: DEV_IDP_PROVIDER_ID, issuer: devIdpIssuer, subject: demo.devIdpSubject } : null;
    await ensureSeededCustomer(koban.db, koban.identity.deps.hasher, { customerId: demo.customerId, email: demo.email, phone: demo.phone, password: DEMO_CUSTOMER_PASSWORD, socialIdentity });
    // The demo wallet account already exists (seed.ts) under its own reference, which
    // ensureCustomerWallet would refuse to re-create: map it first, then let the wallet confirm the mapping.
    await linkCustomerWallets(koban.db, [{ customerId: demo.customerId, accountId: wallet }]);
    const linked = await ensureCustomerWallet(koban.db, koban.ledger, demo.customerId, wallet);
    assert(linked === wallet, `demo customer ${demo.name} is linked to another wallet`);
  }
}
