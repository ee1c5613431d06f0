/**
 * Compensation picked from the account's transactions (issue 17): the console lists the customer's
 * ledger history with checkboxes and sends the picked transfer ids with the customer they came from.
 * The server checks every id against that customer's wallet, so a forged or stale form cannot flag
 * (and later compensate) someone else's transfer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Koban } from '../../src/koban.ts';
import { PUBLIC_URL } from '../identity/support.ts';
import { startTestKoban } from '../support/koban.ts';
import { createShop, fundedCustomer, pay } from './console-support.ts';
import { opsRequest, signInAs, type SignedInOperator } from './support.ts';

let env: Awaited<ReturnType<typeof startTestKoban>>;
let koban: Koban;
let analyst: SignedInOperator;

beforeAll(async () => {
  env = await startTestKoban({ env: { KOBAN_PUBLIC_URL: PUBLIC_URL, KOBAN_OPA_PORT: '0' } });
  koban = env.koban;
  analyst = await signInAs(koban, 'risk_analyst');
}, 60_000);
afterAll(async () => {
  await env?.close();
});

async function paymentTransferOf(merchantPaymentId: string): Promise<string> {
  const row = await koban.db.pool.query<{ payment_transfer_id: string }>('select payment_transfer_id from payments where merchant_payment_id = $1', [merchantPaymentId]);
  return row.rows[0]!.payment_transfer_id;
}

async function flaggedCount(): Promise<number> {
  return Number((await koban.db.pool.query<{ n: string }>('select count(*) as n from fraud_flags')).rows[0]!.n);
}

describe('flagging transfers picked from an account', () => {
  it('the statement the console lists offers the account\'s transfers, and flagging them with the account works', async () => {
    const shop = await createShop(koban, 'Picked Goods');
    const victim = await fundedCustomer(koban, 10_000n);
    const stolen = await paymentTransferOf((await pay(koban, shop, victim, 4_000)).merchantPaymentId);
    const statement = (await opsRequest(koban, analyst)('GET', `/v1/ops/customers/${victim.customerId}/statement?limit=50`)).json() as { entries: Array<{ transferId: string; amountMinor: string; direction: string }> };
    expect(statement.entries).toContainEqual(expect.objectContaining({ transferId: stolen, amountMinor: '4000', direction: 'out' }));
    const flagged = await opsRequest(koban, analyst)('POST', '/v1/ops/compensation/flags', { transferIds: [stolen], customerId: victim.customerId, reason: 'takeover: picked from the account' });
    expect(flagged.statusCode).toBe(200);
    expect(flagged.json()).toEqual({ flagged: 1 });
  });

  it('a transfer of another account slipped into a picked list is refused, and nothing of the list is flagged', async () => {
    const shop = await createShop(koban, 'Other Goods');
    const victim = await fundedCustomer(koban, 10_000n);
    const stranger = await fundedCustomer(koban, 10_000n);
    const victims = await paymentTransferOf((await pay(koban, shop, victim, 2_000)).merchantPaymentId);
    const strangers = await paymentTransferOf((await pay(koban, shop, stranger, 3_000)).merchantPaymentId);
    const before = await flaggedCount();
    const refused = await opsRequest(koban, analyst)('POST', '/v1/ops/compensation/flags', { transferIds: [victims, strangers], customerId: victim.customerId, reason: 'takeover: picked from the account' });
    expect(refused.statusCode).toBe(422);
    expect(refused.json()).toMatchObject({ code: 'transfer_not_in_account', transferIds: [strangers] });
    expect(await flaggedCount()).toBe(before);
  });

  it('a customer without a wallet or a malformed account id is a clear 4xx and flags nothing', async () => {
    const shop = await createShop(koban, 'Third Goods');
    const victim = await fundedCustomer(koban, 5_000n);
    const transfer = await paymentTransferOf((await pay(koban, shop, victim, 1_000)).merchantPaymentId);
    const before = await flaggedCount();
    const unknown = await opsRequest(koban, analyst)('POST', '/v1/ops/compensation/flags', { transferIds: [transfer], customerId: '01900000-0000-7000-8000-000000000000', reason: 'no such account' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().code).toBe('wallet_not_found');
    const malformed = await opsRequest(koban, analyst)('POST', '/v1/ops/compensation/flags', { transferIds: [transfer], customerId: 'not-a-uuid', reason: 'bad input' });
    expect(malformed.statusCode).toBe(400);
    expect(await flaggedCount()).toBe(before);
  });
});
