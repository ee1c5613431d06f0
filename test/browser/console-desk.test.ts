/**
 * The console's support desk in Chromium: sign in with a TOTP code, watch the dashboard count a payment
 * a till just made, find a customer by e-mail, open their account (personal data masked for support),
 * freeze the wallet from a case and see the next payment refused; an expired session returns to the
 * sign-in form with a message; the screens fit a 360 px phone.
 */
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { newClient, type Customer } from '../identity/support.ts';
import { overflowsHorizontally, screenshot } from '../support/browser.ts';
import { charge, createShop, fundedCustomer, mintCode, pay, type ShopFixture } from '../operations/console-support.ts';
import { confirmWithReason, newOperator, signInThroughForm, startConsoleEnv, type BrowserOperator, type ConsoleEnv } from './console-support.ts';

let env: ConsoleEnv;
let shop: ShopFixture;
let customer: Customer & { wallet: string };
let support: BrowserOperator;
let page: Page;

beforeAll(async () => {
  env = await startConsoleEnv();
  shop = await createShop(env.koban, 'Desk Test Mart');
  customer = await fundedCustomer(env.koban, 8_000n);
  support = await newOperator(env.koban, 'support');
  page = await env.browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(10_000);
}, 120_000);
afterAll(async () => {
  await env?.close();
});

const paymentsThisHour = async () => Number(await page.getByTestId('payments-hour').textContent());

describe('console: support desk', () => {
  it('signs in the first time with e-mail, password and TOTP code, registers a passkey (virtual authenticator) and is signed in with it; the dashboard counts a payment a till just made', async () => {
    await signInThroughForm(page, env.base, support);
    const passkeys = await env.koban.db.pool.query<{ kind: string }>(
      `select s.kind from operator_sessions s where s.operator_id = $1 and s.revoked_at is null`, [support.id]);
    expect(passkeys.rows).toEqual([{ kind: 'full' }]);
    await expect.poll(() => page.getByTestId('payments-hour').count()).toBe(1);
    // Issue 13: the platform-wide sign-in health, for roles that read security events (support does).
    await expect.poll(() => page.getByTestId('sign-in-failed-rate').textContent()).toMatch(/^\d+\.\d%$/);
    expect(await page.getByTestId('sign-in-alerts').textContent()).toBe('0');
    const before = await paymentsThisHour();
    // Support cannot change switches or see the audit log: the navigation does not offer them. It does offer the merchant review queue, and
    // customers' security events (masked), to help a caller whose sign-ins fail.
    expect(await page.getByRole('navigation', { name: 'Console' }).getByRole('link').allTextContents()).toEqual(['Dashboard', 'Search', 'Merchant review', 'Cases', 'Kill switches', 'Risk rules', 'Security events', 'Campaigns']);
    expect((await pay(env.koban, shop, customer, 1_200)).resultInfo.code).toBe('SUCCESS');
    await expect.poll(paymentsThisHour, { timeout: 15_000, interval: 500 }).toBe(before + 1);
    await screenshot(page, 'console-dashboard');
  });

  it('finds the customer by e-mail and opens the account page with contacts masked for support', async () => {
    await page.getByRole('link', { name: 'Search' }).click();
    await page.getByLabel(/^E-mail, phone/).fill(customer.email);
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByRole('link', { name: 'Customer page' }).click();
    await expect.poll(() => page.getByTestId('wallet-balance').textContent()).toBe('¥6,800');
    const text = await page.locator('main').textContent() ?? '';
    expect(text).not.toContain(customer.email);
    expect(text).toContain(`+81•••••${customer.phone.slice(-4)}`);
    expect(text).toContain('Personal data is partly hidden');
    await expect.poll(() => page.getByRole('table', { name: 'Wallet history (ledger)' }).getByRole('row').count()).toBe(3); // header, payment, top-up
    await screenshot(page, 'console-account');
  });

  it('opens a case from the account page, freezes the wallet from the case, and the next payment fails', async () => {
    const codeShownBeforeTheFreeze = await mintCode(customer);
    await page.getByRole('button', { name: 'Open a case' }).click();
    await confirmWithReason(page, 'customer called: phone stolen');
    await page.getByRole('link', { name: 'Go to the open case' }).click();
    await page.getByRole('button', { name: 'Assign to me' }).click();
    await confirmWithReason(page, 'taking this call');
    await expect.poll(() => page.getByTestId('case-assignee').textContent()).toContain(support.displayName);
    // Support may freeze (containment) but not unfreeze or close: those buttons are not offered.
    expect(await page.getByRole('button', { name: 'Unfreeze wallet' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Close the case' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Freeze wallet' }).click();
    await confirmWithReason(page, 'stolen phone: contain first');
    await expect.poll(async () => (await page.locator('.timeline').textContent()) ?? '').toContain('frozen: stolen phone: contain first');
    await screenshot(page, 'console-case');
    expect((await env.koban.ledger.getAccount(customer.wallet))?.status).toBe('frozen');
    expect((await charge(env.koban, shop, codeShownBeforeTheFreeze, 300)).resultInfo).toMatchObject({ code: 'WALLET_FROZEN' });
    await page.getByRole('link', { name: /Open the account/ }).click();
    await expect.poll(() => page.getByText('Frozen', { exact: true }).count()).toBeGreaterThan(0);
  });

  it('fits a 360 px wide phone on the dashboard, the account page and the case queue', async () => {
    // The same tab: the CSRF token lives in this tab's sessionStorage, never shared with other tabs.
    await page.setViewportSize({ width: 360, height: 740 });
    for (const path of ['/console/', `/console/customers/${customer.customerId}`, '/console/cases']) {
      await page.goto(`${env.base}${path}`);
      await page.getByRole('navigation', { name: 'Console' }).waitFor();
      await page.locator('.console-screen h2').first().waitFor();
      await page.waitForLoadState('networkidle');
      const wide = await page.evaluate<string>(`[...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1 && !e.closest('.table-wrap')).slice(0, 8).map((e) => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)).join(' | ')`);
      expect(await overflowsHorizontally(page), `${path} overflows at 360 px: ${wide}`).toBe(false);
    }
    await screenshot(page, 'console-account-360');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('issues a till activation code from the merchant page while Koban runs, and the code activates that till', async () => {
    await page.goto(`${env.base}/console/merchants/${shop.merchant.merchantId}`);
    await page.getByRole('button', { name: 'Activation code' }).first().click();
    const dialog = page.getByRole('dialog', { name: /^Issue a till activation code/ });
    await dialog.getByRole('button', { name: 'Issue' }).click();
    const shown = page.locator('.activation-code code');
    await shown.waitFor();
    const code = (await shown.textContent()) ?? '';
    expect(code).toMatch(/^[A-Z0-9]{4}-[A-Z0-9]{4}$/);
    await screenshot(page, 'console-till-activation-code');
    const till = newClient(env.koban, '203.0.113.61');
    expect((await till.request({ method: 'POST', url: '/v1/till/activate', body: { code } })).statusCode).toBe(200);
    expect((await till.request({ method: 'GET', url: '/v1/till/session' })).json()).toMatchObject({ terminal: { id: shop.merchant.terminalIds[0] } });
  });

  it('an expired session returns to the sign-in form with a message', async () => {
    await page.getByRole('link', { name: 'Dashboard' }).click();
    await env.koban.db.pool.query(`update operator_sessions set last_seen_at = now() - interval '1 hour' where operator_id = $1`, [support.id]);
    await page.getByRole('heading', { name: 'Operator sign-in' }).waitFor({ timeout: 15_000 });
    expect(await page.getByRole('status').allTextContents()).toContain('Your session ended after a period of inactivity. Please sign in again.');
    // Signing in again is the passkey alone; the form's password and code would be refused now that one exists.
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.getByRole('navigation', { name: 'Console' }).waitFor();
    await page.getByRole('button', { name: /sign out/i }).click();
    await page.getByLabel('E-mail').fill(support.email);
    await page.getByLabel('Password').fill(support.password);
    await page.getByLabel('Authenticator code').fill(await generate({ secret: support.totpSecret, epoch: Math.floor(Date.now() / 1000) + 30 }));
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByText(/Operators sign in with their passkey; a password and code alone are refused/).waitFor();
  });
});
