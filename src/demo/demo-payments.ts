/**
 * Demo data for payments (`npm start` with KOBAN_DEMO_DATA): merchant API credentials and a webhook-free
 * setup for Koban Mart, customer → wallet mappings for the demo wallets, and a payout bank account at the
 * sandbox bank. Fixed values, idempotent writes. The demo secret is public: never use it outside a laptop.
 */
import { assert } from '../platform/assert.ts';
import { createApiCredential } from '../merchants/credentials.ts';
import { setMerchantPayoutAccount } from '../merchants/payout-accounts.ts';
import type { SecretBox } from '../merchants/secret-box.ts';
import { buildStaticQrPayload } from '../payments/emvco.ts';
import type { TerminalAccess } from '../payments/terminal/access.ts';
import type { Database } from '../platform/db/database.ts';
import { linkCustomerWallets } from '../wallet/customer-wallets.ts';
import { DEMO } from './seed.ts';

export const DEMO_PAYMENTS = {
  credential: {
    credentialId: '00000000-0000-7000-8000-00000000a001',
    apiKey: 'kbk_demo_koban_mart',
    apiSecret: 'demo-secret-koban-mart-public-never-use-in-production',
  },
  customerIds: ['00000000-0000-7000-8000-00000000c001', '00000000-0000-7000-8000-00000000c002', '00000000-0000-7000-8000-00000000c003'],
} as const;

/**
 * A fresh one-time activation code for Koban Mart Shibuya's Till 1 at every start (printed by main.ts):
 * typing it at /till/ turns that browser into the till. Issuing retires the previous start's code.
 */
export async function issueDemoTillCode(terminals: TerminalAccess): Promise<{ code: string; terminalName: string; storeName: string }> {
  const store = DEMO.merchant.stores[0];
  const terminal = store.terminals[0];
  const issued = await terminals.issueActivationCode(terminal.id, 'demo');
  return { code: issued.code, terminalName: terminal.name, storeName: store.name };
}

export async function seedDemoPayments(db: Database, box: SecretBox): Promise<{ apiKey: string; apiSecret: string; storeQr: string }> {
  const merchantId = DEMO.merchant.id;
  await createApiCredential(db, box, { merchantId, ...DEMO_PAYMENTS.credential });
  await linkCustomerWallets(db, DEMO_PAYMENTS.customerIds.map((customerId, index) => {
    const wallet = DEMO.customers[index]?.wallet;
    assert(wallet !== undefined, 'one demo wallet per demo payments customer');
    return { customerId, accountId: wallet };
  }));
  await setMerchantPayoutAccount(db, box, merchantId, { bankCode: '0001', branchCode: '001', accountType: 'ordinary', accountNumber: '1234567', holderNameKana: 'ｺﾊﾞﾝﾏｰﾄ' });
  const store = DEMO.merchant.stores[0];
  const storeQr = buildStaticQrPayload({ merchantId, storeId: store.id, categoryCode: DEMO.merchant.categoryCode, merchantName: DEMO.merchant.name,
    merchantCity: store.city, merchantCityLocal: store.cityLocal, postalCode: store.postalCode });
  return { apiKey: DEMO_PAYMENTS.credential.apiKey, apiSecret: DEMO_PAYMENTS.credential.apiSecret, storeQr };
}
