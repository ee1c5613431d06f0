/**
 * Issue 15, "the QR url is a dead end": a merchant's web page links to an order QR's url; in Chromium at
 * 360 px a visitor lands on the wallet's checkout page (merchant, store, amount, expiry), signs in and comes
 * back, pays with the Scan flow's confirm screen, and is returned to the merchant's redirectUrl with the
 * order paid (read back over the merchant's payment details API). A signed-in customer pays a large order
 * with the charge PIN the same way, and a paid order's url then says so plainly.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, overflowsHorizontally, screenshot } from '../support/browser.ts';
import { signedHeaders } from '../payments/support.ts';
import { fundWallet } from './a11y-support.ts';
import { codeFor, ja, PASSWORD, PIN, signUpInBrowser, startMoneyEnv, type BrowserCustomer, type MoneyEnv } from './wallet-money-support.ts';

let env: MoneyEnv;
let browser: Browser;
let customer: BrowserCustomer;
let signedUp: { context: BrowserContext; page: Page };
let shop: Server;
let shopBase: string;
/** The order QR url the merchant's page links to (set per test). */
let orderUrl = '';
const pageErrors: string[] = [];

beforeAll(async () => {
  env = await startMoneyEnv();
  browser = await launchBrowser();
  signedUp = await phone();
  customer = await signUpInBrowser(env, signedUp.page);
  await fundWallet(env.koban, customer.customerId, 20_000n);
  // The merchant's own site: a checkout page linking to the order QR, and the page Koban returns to.
  shop = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://shop').pathname;
    response.setHeader('content-type', 'text/html; charset=utf-8');
    if (path === '/checkout') response.end(`<!doctype html><title>Tiny Shop</title><h1>Tiny Shop</h1><a id="pay" href="${orderUrl}">Pay with Koban</a>`);
    else if (path === '/thanks') response.end('<!doctype html><title>Thanks</title><h1>Thank you for your order</h1>');
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => shop.listen(0, '127.0.0.1', resolve));
  shopBase = `http://127.0.0.1:${(shop.address() as AddressInfo).port}`;
}, 120_000);
afterEach(() => {
  expect(pageErrors.splice(0)).toEqual([]);
});
afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => shop?.close(resolve));
  await env?.close();
});

async function phone(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 360, height: 780 } });
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  return { context, page };
}

async function merchantApi(method: 'GET' | 'POST', url: string, body?: unknown): Promise<{ resultInfo: { code: string }; data: Record<string, unknown> | null }> {
  const { headers, payload } = signedHeaders({ method, url, body }, env.credential);
  const response = await env.koban.payments.opa.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload }) });
  return response.json();
}

async function createOrder(amount: number): Promise<{ merchantPaymentId: string; url: string }> {
  const merchantPaymentId = `web-${randomBytes(6).toString('hex')}`;
  const created = await merchantApi('POST', '/v2/codes', {
    merchantPaymentId, amount: { amount, currency: 'JPY' }, codeType: 'ORDER_QR', storeId: env.merchant.storeId,
    redirectUrl: `${shopBase}/thanks?order=${merchantPaymentId}`, redirectType: 'WEB_LINK',
  });
  expect(created.resultInfo.code).toBe('SUCCESS');
  return { merchantPaymentId, url: String(created.data?.['url']) };
}

async function paymentStatus(merchantPaymentId: string): Promise<unknown> {
  return (await merchantApi('GET', `/v2/codes/payments/${merchantPaymentId}`)).data?.['status'];
}

describe('an order QR opened from a merchant\'s web page', () => {
  // First: once the account signs in on another (new) browser, risk rightly asks a large payment for a
  // device known for a day, which no test browser is.
  it('asks a signed-in customer for the charge PIN on a large order (as the Scan flow does), returns to the store, and a paid order\'s url then says so', async () => {
    const order = await createOrder(12_000);
    orderUrl = order.url;
    const { page } = signedUp;
    await page.goto(`${shopBase}/checkout`);
    await page.getByRole('link', { name: 'Pay with Koban' }).click();
    await page.waitForURL(/\/wallet\/checkout\/kq_/);
    const pay = page.getByRole('button', { name: ja('money.scan.confirm', { amount: '12,000円' }) });
    await pay.click();
    await page.getByText(ja('money.scan.strongConfirmation')).waitFor();
    expect(await paymentStatus(order.merchantPaymentId)).toBe('CREATED');
    await page.getByLabel(ja('money.scan.pinLabel')).fill(PIN);
    await pay.click();
    const back = page.getByRole('link', { name: ja('money.checkout.return') });
    await back.waitFor();
    expect(await back.getAttribute('href')).toBe(`${shopBase}/thanks?order=${order.merchantPaymentId}`);
    await page.waitForURL(`${shopBase}/thanks?order=${order.merchantPaymentId}`, { timeout: 15_000 });
    expect(await paymentStatus(order.merchantPaymentId)).toBe('COMPLETED');
    await page.goto(order.url);
    await page.getByText(ja('money.checkout.state.PAID')).waitFor();
    expect(await page.getByRole('button', { name: ja('money.scan.confirm', { amount: '12,000円' }) }).count()).toBe(0);
  }, 90_000);

  it('shows the order, sends a signed-out visitor to sign in and back, pays, and returns to the merchant\'s page with the order paid', async () => {
    // A customer of its own (signed up in another browser), so the other test's payments do not colour risk's view.
    const visitor = await signUpInBrowser(env, (await phone()).page);
    await fundWallet(env.koban, visitor.customerId, 5_000n);
    const order = await createOrder(1_200);
    orderUrl = order.url;
    const { page } = await phone();
    await page.goto(`${shopBase}/checkout`);
    await page.getByRole('link', { name: 'Pay with Koban' }).click();
    await page.waitForURL(/\/wallet\/checkout\/kq_/);
    const summary = page.getByTestId('checkout-summary');
    await summary.waitFor();
    expect(await summary.textContent()).toContain('Koban Mart');
    expect(await summary.textContent()).toContain('1,200円');
    expect(await summary.textContent()).toContain(ja('money.checkout.expiresAt'));
    expect(await overflowsHorizontally(page)).toBe(false);
    await screenshot(page, 'wallet-checkout-signed-out');
    await page.getByRole('button', { name: ja('money.checkout.signIn') }).click();
    await page.waitForURL(/\/wallet\/sign-in$/);
    await page.getByLabel('メールアドレスまたは電話番号').fill(visitor.email);
    await page.getByLabel('パスワード', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'ログイン', exact: true }).click();
    // A new browser: the second factor, by SMS.
    await page.getByRole('button', { name: 'コードを送信' }).click();
    await page.getByLabel('SMSで届いた6桁のコード').fill(await codeFor(env.koban, visitor.phone, visitor.seen));
    await page.getByRole('button', { name: '確認する' }).click();
    // Back on the checkout page, signed in: the Scan flow's confirm screen.
    await page.waitForURL(/\/wallet\/checkout\/kq_/);
    await page.getByTestId('scan-preview').waitFor();
    expect(await page.getByTestId('scan-preview').textContent()).toContain('1,200円');
    await page.getByTestId('checkout-expiry').waitFor();
    expect(await paymentStatus(order.merchantPaymentId)).toBe('CREATED');
    const pay = page.getByRole('button', { name: ja('money.scan.confirm', { amount: '1,200円' }) });
    await pay.click();
    // Should risk ask this fresh browser for the charge PIN, the page asks as the Scan flow does.
    const back = page.getByRole('link', { name: ja('money.checkout.return') });
    const pin = page.getByLabel(ja('money.scan.pinLabel'));
    await back.or(pin).waitFor();
    if (await pin.isVisible()) {
      await pin.fill(PIN);
      await pay.click();
    }
    await back.waitFor();
    await screenshot(page, 'wallet-checkout-paid');
    // And on to the merchant's page by itself.
    await page.waitForURL(`${shopBase}/thanks?order=${order.merchantPaymentId}`, { timeout: 15_000 });
    await page.getByRole('heading', { name: 'Thank you for your order' }).waitFor();
    expect(await paymentStatus(order.merchantPaymentId)).toBe('COMPLETED');
  }, 90_000);
});
