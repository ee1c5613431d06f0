/**
 * Server texts in the customer's language: the wallet stores the language the customer chose
 * (PUT /v1/customer/language), and the feed (with its live banners), the top-up e-mail and the step-up
 * SMS are then written in it; a customer who never chose keeps English. Bad input changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildStaticQrPayload } from '../../src/payments/emvco.ts';
import { messagesTo, type Customer } from '../identity/support.ts';
import { createTestMerchant, type TestMerchant } from '../payments/merchant-fixtures.ts';
import { CARDS, cardSource, customerWithPin, startWalletEnv, topUp, type WalletEnv } from '../wallet/support.ts';

let w: WalletEnv;
let merchant: TestMerchant;

interface Feed { notifications: Array<{ kind: string; title: string; body: string; contestable: boolean }> }
const feed = async (customer: Customer) => ((await customer.client.request({ method: 'GET', url: '/v1/customer/notifications' })).json() as Feed).notifications;
const me = async (customer: Customer) => (await customer.client.request({ method: 'GET', url: '/v1/customer/me' })).json() as { language: string | null };

beforeAll(async () => {
  w = await startWalletEnv();
  merchant = await createTestMerchant(w.db, w.koban.ledger, 'Koban Mart');
  // A store named after its merchant: said once in every text.
  await w.db.pool.query(`update stores set name = 'Koban Mart Shibuya' where id = $1`, [merchant.storeId]);
}, 60_000);
afterAll(async () => { await w.close(); });

async function payAtStore(customer: Customer, amount: string, key: string): Promise<void> {
  const payload = buildStaticQrPayload({ merchantId: merchant.merchantId, storeId: merchant.storeId, categoryCode: '5411', merchantName: 'Koban Mart', merchantCity: 'Chiyoda-ku', postalCode: '100-0001' });
  const paid = await customer.client.request({ method: 'POST', url: '/v1/wallet/static-qr/pay', body: { payload, amount, idempotencyKey: key } });
  expect(paid.statusCode, paid.body).toBe(200);
  // The notice relay runs after the commit (this process) and in maintenance: wait for the entry itself.
  await expect.poll(async () => {
    await w.koban.payments.payments.runMaintenance();
    return (await feed(customer)).some((entry) => entry.kind === 'payment_completed');
  }, { timeout: 20_000 }).toBe(true);
}

describe('the customer\'s language', () => {
  it('is stored when chosen; an unknown language is refused and changes nothing', async () => {
    const customer = await customerWithPin(w.koban);
    expect((await me(customer)).language).toBeNull();
    const set = await customer.client.request({ method: 'PUT', url: '/v1/customer/language', body: { language: 'ja' } });
    expect(set.statusCode, set.body).toBe(200);
    expect((await me(customer)).language).toBe('ja');
    const refused = await customer.client.request({ method: 'PUT', url: '/v1/customer/language', body: { language: 'fr' } });
    expect(refused.statusCode).toBe(400);
    expect(refused.headers['content-type']).toMatch(/problem\+json/);
    expect((await me(customer)).language).toBe('ja');
    expect((await w.koban.app.inject({ method: 'PUT', url: '/v1/customer/language', payload: { language: 'en' } })).statusCode).toBe(401);
  });

  it('writes the feed, the top-up e-mail and the step-up SMS in Japanese for a customer who chose it', async () => {
    const customer = await customerWithPin(w.koban);
    await customer.client.request({ method: 'PUT', url: '/v1/customer/language', body: { language: 'ja' } });
    const card = await cardSource(w.koban, customer, CARDS.visa);
    expect((await topUp(w.koban, customer, card, 3_000)).json()).toMatchObject({ status: 'completed' });
    await payAtStore(customer, '1200', 'language-ja-1');
    const entries = await feed(customer);
    const titles = Object.fromEntries(entries.filter((e) => e.kind !== 'security_alert').map((e) => [e.kind, e.title]));
    expect(titles).toEqual({ top_up_completed: '3,000円のチャージが完了しました', payment_completed: 'Koban Mart Shibuyaで1,200円を支払いました' });
    expect(entries.find((e) => e.kind === 'payment_completed')?.body).toMatch(/レシート番号: [0-9A-F]{4}-[0-9A-F]{4}/);
    const mail = (await messagesTo(w.koban, customer.email)).map((m) => m.body);
    expect(mail.some((body) => body.includes('VISA カード（末尾 4242）から3,000円を Koban 残高にチャージしました。'))).toBe(true);
    const sms = (await messagesTo(w.koban, customer.phone)).filter((m) => m.kind === 'step_up_code').map((m) => m.body);
    expect(sms.at(0)).toMatch(/^Koban 確認コード [0-9]{6} （チャージの確認）/);
  });

  it('keeps English for a customer who never chose, with the store said once', async () => {
    const customer = await customerWithPin(w.koban);
    const card = await cardSource(w.koban, customer, CARDS.visa);
    expect((await topUp(w.koban, customer, card, 2_000)).json()).toMatchObject({ status: 'completed' });
    await payAtStore(customer, '500', 'language-en-1');
    const titles = (await feed(customer)).filter((e) => e.kind !== 'security_alert').map((e) => e.title);
    expect(titles).toEqual(expect.arrayContaining(['Top-up of ¥2,000 completed', 'Paid ¥500 at Koban Mart Shibuya']));
  });
});
