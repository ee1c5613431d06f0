/**
 * Issue 13 in a real Chromium: the wallet binds its session to a non-extractable P-256 key it keeps in
 * IndexedDB and signs every request with it (web/wallet/device-key.ts), with binding required as in
 * production. The wallet works end to end (a pay code shown, charged at a till, the balance down); the same
 * session cookie and CSRF token copied out of the browser are refused.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../support/browser.ts';
import { fundWallet } from './a11y-support.ts';
import { chargeAtTill, pageApi, signUpInBrowser, startMoneyEnv, type BrowserCustomer, type MoneyEnv } from './wallet-money-support.ts';

let env: MoneyEnv;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let customer: BrowserCustomer;

beforeAll(async () => {
  env = await startMoneyEnv({ KOBAN_SESSION_DEVICE_BINDING: 'required' });
  browser = await launchBrowser();
  context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  page = await context.newPage();
  customer = await signUpInBrowser(env, page);
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await env?.close();
});

describe('a wallet session bound to the phone\'s key', () => {
  it('keeps a non-extractable key and its session is bound to it', async () => {
    await page.goto(`${env.base}/wallet/`);
    await page.getByTestId('balance').waitFor();
    const extractable = await page.evaluate<boolean | null>(`new Promise((resolve) => {
      const open = indexedDB.open('koban-device', 1);
      open.onsuccess = () => { const get = open.result.transaction('keys').objectStore('keys').get('device'); get.onsuccess = () => resolve(get.result ? get.result.privateKey.extractable : null); };
      open.onerror = () => resolve(null);
    })`);
    expect(extractable).toBe(false);
    const rows = await env.koban.db.pool.query<{ device_key_thumbprint: string | null }>('select device_key_thumbprint from sessions where customer_id = $1 and revoked_at is null', [customer.customerId]);
    expect(rows.rows.map((r) => r.device_key_thumbprint?.length)).toEqual([43]);
  });

  it('pays end to end: the wallet mints a code (a signed POST), a till charges it, the balance goes down', async () => {
    await fundWallet(env.koban, customer.customerId, 2_000n);
    await page.goto(`${env.base}/wallet/pay`);
    const code = await page.locator('.pay-barcode').getAttribute('data-code');
    if (code === null) throw new Error('no code on screen');
    expect((await chargeAtTill(env, code, 700)).resultInfo.code).toBe('SUCCESS');
    await page.goto(`${env.base}/wallet/`);
    await expect.poll(() => page.getByTestId('balance').textContent(), { timeout: 10_000 }).toContain('1,300');
  });

  it('refuses the session cookie and CSRF token copied out of the browser (stolen by malware or a proxy)', async () => {
    const cookies = await context.cookies();
    const cookie = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    const csrf = (await pageApi<{ csrfToken: string }>(page, 'GET', '/v1/customer/me')).json.csrfToken;
    const stolen = await env.koban.app.inject({ method: 'POST', url: '/v1/wallet/payment-codes', payload: {}, remoteAddress: '203.0.113.99',
      headers: { cookie, 'x-csrf-token': csrf, origin: env.base } });
    expect(stolen.statusCode).toBe(401);
    expect(stolen.json().code).toBe('session_proof_required');
    const read = await env.koban.app.inject({ method: 'GET', url: '/v1/customer/me', remoteAddress: '203.0.113.99', headers: { cookie } });
    expect(read.json().code).toBe('session_proof_required');
    // The phone itself goes on.
    expect((await pageApi(page, 'POST', '/v1/wallet/payment-codes', {})).status).toBe(200);
  });
});
