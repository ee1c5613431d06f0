/**
 * The wallet a customer keeps using, in a real Chromium: a bottom tab bar with a big Pay and Scan on
 * every signed-in screen; a receipt per movement with a short receipt number, the refunds linked both
 * ways and the net amount, and no raw ids; 「心当たりがない」 only where the server says it can help
 * (a payment, not its refund); a store named after its merchant said once; the feed in the wallet's
 * language, and switching to English stores that choice for the next texts.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot } from '../support/browser.ts';
import { fundWallet, scanningContext, seriousViolations, watchPageErrors } from './a11y-support.ts';
import { chargeAtTill, ja, pageApi, PIN, signUpInBrowser, startMoneyEnv, type BrowserCustomer, type MoneyEnv } from './wallet-money-support.ts';

let env: MoneyEnv;
let browser: Browser;
let page: Page;
let pageErrors: () => Promise<string[]>;
let customer: BrowserCustomer;

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

beforeAll(async () => {
  env = await startMoneyEnv();
  // A store named after its merchant: the wallet must not say "Koban Mart Koban Mart Shibuya".
  await env.koban.db.pool.query(`update stores set name = 'Koban Mart Shibuya' where id = $1`, [env.merchant.storeId]);
  browser = await launchBrowser();
  const context = await scanningContext(browser, { width: 390, height: 844 });
  page = await context.newPage();
  pageErrors = watchPageErrors(page);
  customer = await signUpInBrowser(env, page);
  await fundWallet(env.koban, customer.customerId, 5_000n);
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await env?.close();
});

describe('the tab bar', () => {
  it('offers Home, a big Pay, a big Scan, History and Settings at the bottom of every signed-in screen', async () => {
    await page.goto(`${env.base}/wallet/`);
    // Signed in with nothing stored, the wallet stores the language it shows (Japanese by default).
    await expect.poll(async () => (await pageApi<{ language: string | null }>(page, 'GET', '/v1/customer/me')).json.language).toBe('ja');
    const tabs = page.getByRole('navigation', { name: ja('nav.label') });
    await tabs.waitFor();
    expect(await tabs.locator('.tab-label').allTextContents()).toEqual(['nav.home', 'nav.pay', 'nav.scan', 'nav.history', 'nav.settings'].map((key) => ja(key)));
    expect(await tabs.getByRole('link').count()).toBe(5);
    expect(await tabs.getByRole('link', { name: ja('nav.home') }).getAttribute('aria-current')).toBe('page');
    // Fixed to the bottom of the viewport, and the big tabs are bigger than the others.
    const box = await tabs.boundingBox();
    expect(box !== null && Math.round(box.y + box.height)).toBe(844);
    const payIcon = await tabs.getByRole('link', { name: ja('nav.pay') }).locator('.tab-icon').boundingBox();
    const homeIcon = await tabs.getByRole('link', { name: ja('nav.home') }).locator('.tab-icon').boundingBox();
    expect((payIcon?.width ?? 0) > (homeIcon?.width ?? 0) * 1.5).toBe(true);
    await screenshot(page, 'wallet-tab-bar');
    expect(await seriousViolations(page)).toEqual([]);

    await tabs.getByRole('link', { name: ja('nav.pay') }).click();
    await page.locator('.pay-barcode').waitFor();
    expect(await tabs.getByRole('link', { name: ja('nav.pay') }).getAttribute('aria-current')).toBe('page');
    await tabs.getByRole('link', { name: ja('nav.scan') }).click();
    await page.waitForURL(/\/wallet\/scan$/);
    await tabs.getByRole('link', { name: ja('nav.settings') }).click();
    await page.getByRole('heading', { name: '設定' }).waitFor();
    expect(await tabs.getByRole('link', { name: ja('nav.settings') }).getAttribute('aria-current')).toBe('page');
    expect(await pageErrors()).toEqual([]);
  }, 60_000);
});

describe('the charge PIN', () => {
  it('a weak PIN is refused in the wallet before any step-up is asked for (no code spent)', async () => {
    await page.goto(`${env.base}/wallet/settings/pin`);
    await page.getByLabel(ja('pin.current')).fill(PIN);
    await page.getByLabel(ja('pin.new')).fill('123456');
    await page.getByLabel(ja('pin.repeat')).fill('123456');
    await page.getByRole('button', { name: ja('pin.save') }).click();
    await page.getByText(ja('pin.trivial')).waitFor();
    expect(await page.getByRole('dialog').count()).toBe(0);
    const stepUps = await env.koban.db.pool.query('select 1 from step_up_requests where customer_id = $1 and action = $2', [customer.customerId, 'change_factors']);
    expect(stepUps.rowCount).toBe(1); // the one signUpInBrowser used to set the first PIN
  });
});

describe('receipts', () => {
  let paymentTransferId = '';

  it('a paid, partly refunded purchase: the receipt shows its number, the refund and the net; the refund links back', async () => {
    await page.goto(`${env.base}/wallet/pay`);
    const code = await page.locator('.pay-barcode').getAttribute('data-code');
    expect((await chargeAtTill(env, code ?? '', 1_500)).resultInfo.code).toBe('SUCCESS');
    await page.getByTestId('paid-screen').waitFor();
    const history = await pageApi<{ items: Array<{ transferId: string; kind: string; paymentId: string | null; receiptNumber: string }> }>(page, 'GET', '/v1/wallet/history?kind=payment');
    const paid = history.json.items[0];
    if (paid?.paymentId == null) throw new Error('no payment in the history');
    paymentTransferId = paid.transferId;
    await env.koban.payments.payments.refundPayment({ merchantId: env.merchant.merchantId, paymentId: paid.paymentId, merchantRefundId: 'receipt-refund-1', amountMinor: 400n, reason: 'returned item', requestedAt: null });

    await page.goto(`${env.base}/wallet/history`);
    const rows = page.locator('.history-list');
    await rows.getByText('Koban Mart Shibuya').first().waitFor();
    expect(await rows.first().textContent()).not.toContain('Koban Mart Koban Mart');

    await page.goto(`${env.base}/wallet/history/${paymentTransferId}`);
    expect(await page.getByTestId('receipt-number').textContent()).toBe(paid.receiptNumber);
    expect(paid.receiptNumber).toMatch(/^[0-9A-F]{4}-[0-9A-F]{4}$/);
    const returns = page.getByTestId('receipt-returns');
    await returns.waitFor();
    expect(await returns.getByRole('listitem').count()).toBe(1);
    expect(await returns.textContent()).toContain('+400円');
    expect(await page.getByTestId('receipt-net').textContent()).toBe('1,100円');
    const card = page.locator('.card').filter({ has: page.getByTestId('receipt-number') });
    expect(await card.textContent()).toContain('Koban Mart Shibuya');
    expect(await card.textContent()).not.toMatch(UUID);
    await screenshot(page, 'wallet-receipt');
    expect(await seriousViolations(page)).toEqual([]);

    await returns.getByRole('link').click();
    await page.getByTestId('receipt-amount').filter({ hasText: '+400円' }).waitFor();
    const original = page.getByRole('link', { name: ja('money.detail.receiptLink', { number: paid.receiptNumber, amount: '1,500円' }) });
    await original.click();
    await page.waitForURL(new RegExp(`/wallet/history/${paymentTransferId}$`));
    await page.getByTestId('receipt-returns').waitFor();
    expect(await pageErrors()).toEqual([]);
  }, 60_000);

  it('「心当たりがない」 is offered on the payment, not on its refund', async () => {
    await env.koban.payments.payments.runMaintenance();
    await page.goto(`${env.base}/wallet/notifications`);
    // The wallet stored its language (Japanese) for the customer: the feed speaks it.
    const refundRow = page.locator('.notification-item').filter({ hasText: 'Koban Mart Shibuyaから400円が返金されました' });
    const paymentRow = page.locator('.notification-item').filter({ hasText: 'Koban Mart Shibuyaで1,500円を支払いました' });
    await refundRow.waitFor();
    await paymentRow.waitFor();
    expect(await paymentRow.textContent()).toContain('Koban Mart Shibuya');
    expect(await paymentRow.textContent()).not.toContain('Koban Mart Koban Mart');
    expect(await paymentRow.getByRole('button', { name: ja('money.notMe.button') }).count()).toBe(1);
    expect(await refundRow.getByRole('button', { name: ja('money.notMe.button') }).count()).toBe(0);
    expect(await pageErrors()).toEqual([]);
  });

  it('switching the wallet to English stores the choice: the next notification is in English', async () => {
    await page.goto(`${env.base}/wallet/notifications`);
    await page.getByRole('button', { name: 'Switch to English' }).click();
    await expect.poll(async () => (await pageApi<{ language: string | null }>(page, 'GET', '/v1/customer/me')).json.language).toBe('en');
    await page.goto(`${env.base}/wallet/pay`);
    const code = await page.locator('.pay-barcode').getAttribute('data-code');
    expect((await chargeAtTill(env, code ?? '', 300)).resultInfo.code).toBe('SUCCESS');
    await page.getByTestId('paid-screen').waitFor();
    await expect.poll(async () => {
      await env.koban.payments.payments.runMaintenance();
      return (await pageApi<{ notifications: Array<{ title: string }> }>(page, 'GET', '/v1/customer/notifications')).json.notifications[0]?.title;
    }, { timeout: 20_000 }).toBe('Paid ¥300 at Koban Mart Shibuya');
    await page.goto(`${env.base}/wallet/notifications`);
    await page.getByText('Paid ¥300 at Koban Mart Shibuya').waitFor();
    await page.getByRole('button', { name: /日本語/ }).click();
    await expect.poll(async () => (await pageApi<{ language: string | null }>(page, 'GET', '/v1/customer/me')).json.language).toBe('ja');
  }, 60_000);
});
