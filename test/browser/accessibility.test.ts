/**
 * Accessibility, enforced: axe-core scans every main screen of the wallet, the till and the console in a
 * real Chromium and fails on any serious or critical violation (contrast, names, labels, roles…). Also
 * what axe cannot see: after each sign-in step, focus is on the new step's heading, not on <body>.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../support/browser.ts';
import { fundWallet, scanningContext, seriousViolations, watchPageErrors } from './a11y-support.ts';
import { newOperator, signInOnPage, virtualAuthenticator } from './console-support.ts';
import { ja, PASSWORD, signUpInBrowser, startMoneyEnv, type BrowserCustomer, type MoneyEnv } from './wallet-money-support.ts';

let env: MoneyEnv;
let browser: Browser;
let customer: BrowserCustomer;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  env = await startMoneyEnv();
  browser = await launchBrowser();
}, 120_000);
afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => undefined);
  await browser?.close();
  await env?.close();
});

async function newPage(options: { width?: number } = {}): Promise<{ page: Page; pageErrors: () => Promise<string[]> }> {
  const context = await scanningContext(browser, options);
  contexts.push(context);
  const page = await context.newPage();
  return { page, pageErrors: watchPageErrors(page) };
}

/** Scans the screen once `ready` is visible; collects failures so one run reports every screen. */
async function scan(page: Page, name: string, failures: Record<string, unknown>): Promise<void> {
  const violations = await seriousViolations(page);
  if (violations.length > 0) failures[name] = violations;
}

const focusedHeading = (page: Page) => page.evaluate<string>('document.activeElement && /^H[1-3]$/.test(document.activeElement.tagName) ? document.activeElement.textContent : `not a heading: ${document.activeElement && document.activeElement.tagName}`');

describe('axe-core finds no serious or critical violation', () => {
  it('on the wallet screens, signed out and signed in, in both languages', async () => {
    const { page, pageErrors } = await newPage();
    const failures: Record<string, unknown> = {};
    await page.goto(`${env.base}/wallet/`);
    await page.getByText('サービスは正常に稼働しています').waitFor();
    await scan(page, 'wallet welcome', failures);
    await page.getByRole('button', { name: 'Switch to English' }).click();
    await page.getByRole('heading', { name: 'Koban Wallet' }).waitFor();
    await scan(page, 'wallet welcome (en)', failures);
    await page.getByRole('button', { name: '日本語に切り替え' }).click();
    for (const [path, heading] of [['/wallet/sign-in', ja('signIn.title')], ['/wallet/sign-up', ja('signUp.title')], ['/wallet/recover', null]] as const) {
      await page.goto(`${env.base}${path}`);
      await (heading === null ? page.getByRole('heading', { level: 2 }).first() : page.getByRole('heading', { name: heading })).waitFor();
      await scan(page, `wallet ${path}`, failures);
    }
    customer = await signUpInBrowser(env, page);
    const screens: Array<[string, string]> = [
      ['/wallet/', 'money.home.balance'], ['/wallet/pay', 'money.pay.source'], ['/wallet/top-up', 'money.topUp.addCard'],
      ['/wallet/history', 'money.history.title'], ['/wallet/notifications', 'money.notifications.title'], ['/wallet/scan', 'money.scan.title'], ['/wallet/settings', 'settings.title'],
    ];
    for (const [path, key] of screens) {
      await page.goto(`${env.base}${path}`);
      await page.getByText(ja(key)).first().waitFor();
      await scan(page, `wallet ${path}`, failures);
    }
    await fundWallet(env.koban, customer.customerId, 5_000n);
    await page.goto(`${env.base}/wallet/`);
    await page.getByTestId('balance').getByText('5,000円').waitFor();
    await scan(page, 'wallet home with money', failures);
    expect(failures).toEqual({});
    expect(await pageErrors()).toEqual([]);
  }, 120_000);

  it('on the till: activation, keypad, sales and close', async () => {
    const { page, pageErrors } = await newPage({ width: 1024 });
    const failures: Record<string, unknown> = {};
    await page.goto(`${env.base}/till/`);
    await page.getByRole('heading', { name: 'レジの有効化' }).waitFor();
    await scan(page, 'till activate', failures);
    const { code } = await env.koban.payments.terminals.issueActivationCode(env.merchant.terminalIds[0]!, 'a11y');
    await page.getByLabel('有効化コード').fill(code);
    await page.getByRole('button', { name: '有効化する' }).click();
    await page.getByRole('button', { name: '1文字消す' }).waitFor();
    await scan(page, 'till keypad', failures);
    for (const path of ['/till/sales', '/till/close']) {
      await page.goto(`${env.base}${path}`);
      await page.locator('.till-totals').first().waitFor();
      await scan(page, `till ${path}`, failures);
    }
    expect(failures).toEqual({});
    expect(await pageErrors()).toEqual([]);
  }, 120_000);

  it('on the console: sign-in and every screen of the navigation', async () => {
    const { page, pageErrors } = await newPage({ width: 1280 });
    const failures: Record<string, unknown> = {};
    const operator = await newOperator(env.koban, 'administrator');
    const authenticator = await virtualAuthenticator(page, operator);
    await page.goto(`${env.base}/console/`);
    await page.getByLabel('E-mail').waitFor();
    await scan(page, 'console sign-in', failures);
    await signInOnPage(page, operator, authenticator);
    const nav = page.getByRole('navigation', { name: 'Console' });
    await nav.waitFor();
    for (const link of await nav.getByRole('link').allTextContents()) {
      await nav.getByRole('link', { name: link, exact: true }).click();
      await page.getByRole('heading', { level: 2 }).first().waitFor();
      await expect.poll(() => page.getByText('Loading…').count()).toBe(0);
      await scan(page, `console ${link}`, failures);
    }
    expect(failures).toEqual({});
    expect(await pageErrors()).toEqual([]);
  }, 120_000);
});

describe('focus after each step', () => {
  it('lands on the new step\'s heading after the password and the sign-up form, never on <body>', async () => {
    const { page } = await newPage();
    await page.goto(`${env.base}/wallet/sign-in`);
    await page.getByLabel(ja('signIn.identifier')).fill(customer.email);
    await page.getByLabel(ja('signIn.password')).fill(PASSWORD);
    await page.getByLabel(ja('signIn.password')).press('Enter');
    await page.getByRole('heading', { name: ja('secondFactor.title') }).waitFor();
    await expect.poll(() => focusedHeading(page)).toBe(ja('secondFactor.title'));

    await page.goto(`${env.base}/wallet/sign-up`);
    await page.getByLabel(ja('signUp.email')).fill(`focus${Date.now() % 100000}@example.com`);
    await page.getByLabel(ja('signUp.phone')).fill(`+8190${String(Date.now()).slice(-8)}`);
    await page.getByLabel(ja('signUp.password')).fill(PASSWORD);
    await page.getByRole('button', { name: ja('signUp.submit') }).click();
    await page.getByLabel(ja('signUp.code.email')).waitFor();
    await expect.poll(() => focusedHeading(page)).toBe(ja('signUp.title'));
  }, 60_000);

  it('the language button\'s accessible name contains the text it shows', async () => {
    const { page } = await newPage({ width: 1024 });
    await page.goto(`${env.base}/till/`);
    const language = page.getByRole('button', { name: /Switch to English/ });
    const visible = (await language.textContent()) ?? '';
    expect(visible).toBe('EN');
    expect(await language.getAttribute('aria-label')).toContain(visible);
  });
});
