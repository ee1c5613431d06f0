/**
 * The wallet's money screens in a real Chromium at 360 px (a small phone), against a real Koban with the
 * sandbox acquirer: a customer tops up with a 3-D Secure card (PIN, step-up, the issuer's page, credited
 * only once the acquirer says so), shows a one-time code as barcode + QR with a countdown, a till
 * charges it and the wallet shows it live over server-sent events; pays a static store QR and a dynamic
 * order QR after seeing merchant, store and amount; filters the history and opens a transaction; and
 * "this wasn't me" freezes the account so the next payment is refused clearly. Nothing overflows.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { buildStaticQrPayload } from '../../src/payments/emvco.ts';
import { uuidv7 } from '../../src/platform/ids.ts';
import { launchBrowser, overflowsHorizontally, screenshot } from '../support/browser.ts';
import { CARDS } from '../wallet/support.ts';
import { chargeAtTill, completeStepUpDialog, ja, pageApi, PIN, signUpInBrowser, startMoneyEnv, type BrowserCustomer, type MoneyEnv } from './wallet-money-support.ts';

let env: MoneyEnv;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let customer: BrowserCustomer;
const pageErrors: string[] = [];

beforeAll(async () => {
  env = await startMoneyEnv();
  browser = await launchBrowser();
  context = await browser.newContext({ viewport: { width: 360, height: 780 } });
  page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  customer = await signUpInBrowser(env, page);
}, 120_000);
afterEach(() => {
  // A script error on any screen fails the test that caused it.
  expect(pageErrors.splice(0)).toEqual([]);
});
afterAll(async () => {
  await browser?.close();
  await env?.close();
});

async function expectNoOverflow(name: string): Promise<void> {
  expect(await overflowsHorizontally(page), `${name} overflows at 360 px`).toBe(false);
}

const todayJst = () => new Date(Date.now() + 9 * 3600_000).toISOString().slice(0, 10);

describe('wallet money screens', () => {
  it('tops up from a 3-D Secure card: card added behind a step-up, PIN + step-up, the issuer\'s page, then credited', async () => {
    await page.goto(`${env.base}/wallet/top-up`);
    await page.getByText(ja('money.topUp.noSources')).waitFor();
    await page.getByRole('button', { name: ja('money.topUp.addCard') }).click();
    await page.getByLabel(ja('money.card.number')).fill(CARDS.threeDs);
    await page.getByLabel(ja('money.card.exp')).fill('12/31');
    await page.getByLabel(ja('money.card.cvv')).fill('123');
    await page.getByLabel(ja('money.card.holder')).fill('HANAKO KOBAN');
    await page.getByRole('button', { name: ja('money.card.add') }).click();
    await completeStepUpDialog(env, page, customer);
    await page.getByRole('radio', { name: /3220/ }).waitFor();
    await page.getByLabel(ja('money.topUp.amount')).fill('20000');
    await page.getByLabel(ja('money.topUp.pin')).fill(PIN);
    await expectNoOverflow('top-up');
    await screenshot(page, 'wallet-top-up');
    await page.getByRole('button', { name: ja('money.topUp.submit', { amount: '20,000円' }) }).click();
    await completeStepUpDialog(env, page, customer);
    // The acquirer's own 3-D Secure page, then back to the wallet's status screen.
    await page.waitForURL(/\/v1\/challenges\//);
    expect(await completedTopUps()).toBe(0);
    await page.getByLabel('One-time code').fill('123456');
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.waitForURL(/\/wallet\/top-up\/[0-9a-f-]{36}$/);
    await expect.poll(() => page.getByTestId('top-up-status').textContent(), { timeout: 10_000 }).toBe(ja('money.topUp.status.completed'));
    expect(await completedTopUps()).toBe(1);
    await expectNoOverflow('top-up status');
    await page.getByRole('link', { name: ja('money.pay.done') }).click();
    await expect.poll(() => page.getByTestId('balance').textContent()).toBe('20,000円');
    await expectNoOverflow('home');
    await screenshot(page, 'wallet-home');
  });

  it('shows a one-time code as barcode, QR and digits with a countdown; a till charges it and the payment shows at once, live', async () => {
    await page.goto(`${env.base}/wallet/pay`);
    const barcode = page.getByRole('img', { name: ja('money.pay.barcodeAlt') });
    await barcode.waitFor();
    expect(await barcode.locator('rect').count()).toBeGreaterThan(20);
    const qr = page.getByRole('img', { name: ja('money.pay.qrAlt') });
    await qr.waitFor();
    expect(await qr.getAttribute('src')).toMatch(/^data:image\/png;base64,/);
    const digits = ((await page.getByLabel(ja('money.pay.digitsLabel')).textContent()) ?? '').replace(/\s/g, '');
    expect(digits).toMatch(/^9[0-9]{19}$/);
    expect(await barcode.getAttribute('data-code')).toBe(digits);
    const timer = page.getByRole('timer');
    expect(await timer.textContent()).toMatch(/有効期限まで [45]:[0-5][0-9]/);
    const first = await timer.textContent();
    await expect.poll(() => timer.textContent(), { timeout: 3_000 }).not.toBe(first);
    await expectNoOverflow('pay code');
    await screenshot(page, 'wallet-pay-code');

    const charged = await chargeAtTill(env, digits, 1_200);
    expect(charged.resultInfo.code).toBe('SUCCESS');
    // The live stream's toast (SSE) and the pay screen's own result.
    await page.getByRole('region', { name: ja('money.live.label') }).getByText(/¥1,200|1,200円/).waitFor({ timeout: 5_000 });
    await page.getByText(ja('money.pay.paid')).waitFor({ timeout: 5_000 });
    expect(await page.getByTestId('paid-amount').textContent()).toBe('1,200円');
    await expectNoOverflow('paid');
  });

  it('pays a pasted static store QR with a typed amount, and dynamic order QRs (the large one with the charge PIN), after showing merchant, store and amount', async () => {
    const payload = buildStaticQrPayload({ merchantId: env.merchant.merchantId, storeId: env.merchant.storeId, categoryCode: '5411', merchantName: 'Koban Mart', merchantCity: 'Chiyoda-ku', postalCode: '100-0001' });
    await page.goto(`${env.base}/wallet/scan`);
    await page.getByLabel(ja('money.scan.pasteLabel')).fill(payload);
    await page.getByRole('button', { name: ja('money.scan.read') }).click();
    const preview = page.getByTestId('scan-preview');
    await preview.getByText('Koban Mart').waitFor();
    expect(await preview.textContent()).toContain('Main store');
    await page.getByLabel(ja('money.scan.amountLabel')).fill('800');
    await page.getByRole('button', { name: ja('money.scan.next') }).click();
    expect(await preview.textContent()).toContain('800円');
    await expectNoOverflow('scan confirm');
    await screenshot(page, 'wallet-scan');
    await page.getByRole('button', { name: ja('money.scan.confirm', { amount: '800円' }) }).click();
    await page.getByText(ja('money.scan.paid')).waitFor();
    expect(await page.getByTestId('paid-amount').textContent()).toBe('800円');

    const order = await env.koban.payments.payments.createDynamicQr({
      merchantId: env.merchant.merchantId, merchantPaymentId: `order-${uuidv7().slice(-12)}`, amountMinor: 1_500n, orderDescription: 'Bento set', storeId: env.merchant.storeId, terminalId: null, requestedAt: null,
    });
    await page.goto(`${env.base}/wallet/scan`);
    await page.getByLabel(ja('money.scan.pasteLabel')).fill(`${env.base}/qr/${order.codeId}`);
    await page.getByRole('button', { name: ja('money.scan.read') }).click();
    await preview.getByText('1,500円').waitFor();
    expect(await preview.textContent()).toMatch(/Koban Mart.*Main store.*Bento set/);
    await page.getByRole('button', { name: ja('money.scan.confirm', { amount: '1,500円' }) }).click();
    await page.getByText(ja('money.scan.paid')).waitFor();

    // Above ¥10,000 the payment needs the charge PIN typed for it: asked for, then paid.
    const big = await env.koban.payments.payments.createDynamicQr({
      merchantId: env.merchant.merchantId, merchantPaymentId: `order-${uuidv7().slice(-12)}`, amountMinor: 12_000n, orderDescription: null, storeId: env.merchant.storeId, terminalId: null, requestedAt: null,
    });
    await page.goto(`${env.base}/wallet/scan`);
    await page.getByLabel(ja('money.scan.pasteLabel')).fill(`koban://qr/${big.codeId}`);
    await page.getByRole('button', { name: ja('money.scan.read') }).click();
    await preview.getByText('12,000円').waitFor();
    await page.getByRole('button', { name: ja('money.scan.confirm', { amount: '12,000円' }) }).click();
    await page.getByText(ja('money.scan.strongConfirmation')).waitFor();
    await page.getByLabel(ja('money.scan.pinLabel')).fill(PIN);
    await page.getByRole('button', { name: ja('money.scan.confirm', { amount: '12,000円' }) }).click();
    await page.getByText(ja('money.scan.paid')).waitFor();
    expect((await pageApi<{ balance: string }>(page, 'GET', '/v1/wallet/summary')).json.balance).toBe(String(20_000 - 1_200 - 800 - 1_500 - 12_000));
  });

  it('filters the history by kind and date and opens a transaction\'s receipt with its merchant, store, time and receipt number (no raw ids)', async () => {
    await page.goto(`${env.base}/wallet/history`);
    const results = page.getByRole('region', { name: ja('money.history.results') });
    await expect.poll(() => results.getByRole('listitem').count()).toBe(5);
    await page.getByLabel(ja('money.history.kind')).selectOption('payment');
    await page.getByLabel(ja('money.history.from')).fill(todayJst());
    await page.getByLabel(ja('money.history.to')).fill(todayJst());
    await page.getByRole('button', { name: ja('money.history.apply') }).click();
    await page.waitForURL(/kind=payment/);
    await expect.poll(() => results.getByRole('listitem').count()).toBe(4);
    expect(await results.textContent()).not.toContain(ja('money.kind.top_up'));
    await expectNoOverflow('history');
    await screenshot(page, 'wallet-history');
    await results.getByRole('link', { name: /800円/ }).click();
    await page.waitForURL(/\/wallet\/history\/[0-9a-f-]{36}$/);
    const detail = page.locator('dl.detail-list');
    await detail.waitFor();
    expect(await detail.textContent()).toMatch(/Koban Mart Main store/);
    expect(await page.getByTestId('receipt-number').textContent()).toMatch(/^[0-9A-F]{4}-[0-9A-F]{4}$/);
    expect(await detail.textContent()).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/);
    await expectNoOverflow('history detail');
    await page.goto(`${env.base}/wallet/history?from=2001-01-01&to=2001-01-31`);
    await page.getByText(ja('money.history.empty')).waitFor();
  });

  it('"this wasn\'t me" on a live notification freezes the account: the home says so and the next payment is refused clearly', async () => {
    await page.goto(`${env.base}/wallet/`);
    await page.getByTestId('balance').waitFor();
    // Wait for the stream before money moves, so the toast can only come from the live push.
    await page.locator('[data-live="on"]').waitFor();
    const code = (await pageApi<{ code: string }>(page, 'POST', '/v1/wallet/payment-codes', {})).json.code;
    expect((await chargeAtTill(env, code, 300)).resultInfo.code).toBe('SUCCESS');
    const toast = page.getByRole('region', { name: ja('money.live.label') }).locator('.toast').filter({ hasText: /¥300|300円/ });
    await toast.waitFor({ timeout: 5_000 });
    await toast.getByRole('button', { name: ja('money.notMe.button') }).click();
    await toast.getByRole('button', { name: ja('money.notMe.yes') }).click();
    await page.getByText(ja('money.notMe.done')).waitFor();
    await page.goto(`${env.base}/wallet/`);
    await page.getByText(ja('money.frozen.title')).waitFor();
    expect(await page.getByText(ja('money.state.frozen')).count()).toBe(1);
    await expectNoOverflow('frozen home');
    await screenshot(page, 'wallet-frozen');
    await page.goto(`${env.base}/wallet/pay`);
    await page.getByText(ja('money.frozen.title')).waitFor();
    expect(await page.getByRole('img', { name: ja('money.pay.barcodeAlt') }).count()).toBe(0);
    const refused = await pageApi<{ code: string }>(page, 'POST', '/v1/wallet/payment-codes', {});
    expect(refused).toMatchObject({ status: 403, json: { code: 'wallet_frozen' } });
    const cases = await env.koban.operations.cases.list({ status: 'open' });
    expect(cases.cases.find((c) => c.accountId === customer.customerId)).toMatchObject({ source: 'customer' });
  });

  it('a top-up whose answer was lost is sent again with the same idempotency key: the card is charged once', async () => {
    // A customer of their own, so the balances the other tests assert stay theirs.
    const other = await browser.newContext({ viewport: { width: 360, height: 780 } });
    const page = await other.newPage();
    const customer = await signUpInBrowser(env, page);
    await page.goto(`${env.base}/wallet/top-up`);
    await page.getByRole('button', { name: ja('money.topUp.addCard') }).click();
    await page.getByLabel(ja('money.card.number')).fill(CARDS.threeDs);
    await page.getByLabel(ja('money.card.exp')).fill('12/31');
    await page.getByLabel(ja('money.card.cvv')).fill('123');
    await page.getByLabel(ja('money.card.holder')).fill('TARO KOBAN');
    await page.getByRole('button', { name: ja('money.card.add') }).click();
    await completeStepUpDialog(env, page, customer);
    await page.getByRole('radio', { name: /3220/ }).waitFor();
    await page.getByLabel(ja('money.topUp.amount')).fill('3000');
    await page.getByLabel(ja('money.topUp.pin')).fill(PIN);
    // The request reaches Koban, but the answer never reaches the phone (a tunnel, a dropped connection).
    const keys: string[] = [];
    await page.route('**/v1/customer/top-ups', async (route) => {
      keys.push(route.request().headers()['idempotency-key'] ?? '');
      if (keys.length === 1) {
        await route.fetch();
        await route.abort('connectionreset');
      } else {
        await route.continue();
      }
    });
    const submit = page.getByRole('button', { name: ja('money.topUp.submit', { amount: '3,000円' }) });
    await submit.click();
    await completeStepUpDialog(env, page, customer);
    await page.getByRole('alert').first().waitFor();
    // The customer presses again: same source and amount, so the same intent.
    await submit.click();
    await completeStepUpDialog(env, page, customer);
    await page.waitForURL(/\/v1\/challenges\//);
    await page.unroute('**/v1/customer/top-ups');
    expect(keys).toHaveLength(2);
    expect(keys[1]).toBe(keys[0]);
    const made = await env.koban.db.pool.query(`select status from top_ups where customer_id = $1`, [customer.customerId]);
    expect(made.rowCount).toBe(1);
    await page.getByLabel('One-time code').fill('123456');
    await page.getByRole('button', { name: 'Confirm' }).click();
    await expect.poll(() => page.getByTestId('top-up-status').textContent(), { timeout: 10_000 }).toBe(ja('money.topUp.status.completed'));
    await page.getByRole('link', { name: ja('money.pay.done') }).click();
    await expect.poll(() => page.getByTestId('balance').textContent()).toBe('3,000円');
    await other.close();
  });
});

/** Completed top-ups of the customer, read from the database: nothing is credited before the issuer answers. */
async function completedTopUps(): Promise<number> {
  const rows = await env.koban.db.pool.query<{ n: number }>(`select count(*)::int as n from top_ups where customer_id = $1 and status = 'completed'`, [customer.customerId]);
  return rows.rows[0]?.n ?? -1;
}
