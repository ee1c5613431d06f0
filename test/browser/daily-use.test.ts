/**
 * What a customer, a clerk and an operator see in their first ten minutes, in a real Chromium: the
 * payment moment (full-screen success with amount, store, time and new balance; chime and vibration only
 * when the device allows motion), the balance and a ¥0 warning under the pay code, an empty home that
 * invites a top-up, preset top-up amounts, a quiet 「心当たりがない」; and no spinner that never ends —
 * a failed refresh says "connection lost — last updated …", the wallet opened offline says so, and with
 * the server down the till reloads to Koban's own page and the console dashboard says its numbers are
 * stale. No screen leaves an unhandled rejection behind.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot } from '../support/browser.ts';
import { CARDS } from '../wallet/support.ts';
import { fundWallet, scanningContext, seriousViolations, watchPageErrors } from './a11y-support.ts';
import { newOperator, signInOnPage, virtualAuthenticator } from './console-support.ts';
import { chargeAtTill, completeStepUpDialog, ja, signUpInBrowser, startMoneyEnv, type BrowserCustomer, type MoneyEnv } from './wallet-money-support.ts';

let env: MoneyEnv;
let serverUp = true;
let browser: Browser;
let wallet: { context: BrowserContext; page: Page; pageErrors: () => Promise<string[]> };
let customer: BrowserCustomer;

beforeAll(async () => {
  env = await startMoneyEnv();
  browser = await launchBrowser();
  const context = await scanningContext(browser, { width: 390, height: 844 });
  const page = await context.newPage();
  wallet = { context, page, pageErrors: watchPageErrors(page) };
  customer = await signUpInBrowser(env, page);
}, 120_000);
afterAll(async () => {
  await browser?.close();
  if (serverUp) await env?.close();
});

async function shownCode(page: Page): Promise<string> {
  const code = await page.locator('.pay-barcode').getAttribute('data-code');
  if (code === null) throw new Error('no code on screen');
  return code;
}

describe('the payment moment in the wallet', () => {
  it('an empty wallet invites a top-up, and its pay code warns that ¥0 cannot pay', async () => {
    const { page } = wallet;
    await page.goto(`${env.base}/wallet/`);
    await page.getByRole('heading', { name: ja('money.home.emptyTitle') }).waitFor();
    await page.getByRole('link', { name: ja('money.home.emptyAction') }).first().waitFor();
    await page.goto(`${env.base}/wallet/pay`);
    await expect.poll(() => page.getByRole('alert').filter({ hasText: ja('money.pay.emptyWarning') }).count()).toBe(1);
    expect(await page.getByTestId('pay-balance').textContent()).toBe('0円');
    // Without a passkey the pay screen offers one, linking to where it is added.
    await page.getByRole('link', { name: ja('money.pay.passkeyOfferLink') }).click();
    await page.waitForURL(`${env.base}/wallet/settings/passkeys`);
    expect(await wallet.pageErrors()).toEqual([]);
  });

  it('paid: full screen with amount, store, time and new balance, a chime; silent when reduced motion is asked', async () => {
    const { page } = wallet;
    await fundWallet(env.koban, customer.customerId, 5_000n);
    await page.goto(`${env.base}/wallet/pay`);
    await expect.poll(() => page.getByTestId('pay-balance').textContent()).toBe('5,000円');
    expect(await page.getByText(ja('money.pay.emptyWarning')).count()).toBe(0);
    await screenshot(page, 'wallet-pay-code');
    expect((await chargeAtTill(env, await shownCode(page), 1_200)).resultInfo.code).toBe('SUCCESS');
    const paid = page.getByTestId('paid-screen');
    await paid.waitFor();
    expect(await page.getByTestId('paid-amount').textContent()).toBe('1,200円');
    await expect.poll(() => page.getByTestId('paid-balance').textContent()).toBe('3,800円');
    expect(await paid.textContent()).toContain('Koban Mart');
    expect(await paid.textContent()).toMatch(/\d{1,2}:\d{2}/);
    expect(await page.evaluate<string>('document.activeElement && document.activeElement.id')).toBe('paid-heading');
    expect(await page.evaluate<string>('document.documentElement.dataset.paymentFeedback')).toContain('chimed');
    await screenshot(page, 'wallet-paid');
    expect(await seriousViolations(page)).toEqual([]);

    await page.emulateMedia({ reducedMotion: 'reduce' });
    await page.getByRole('button', { name: ja('money.pay.again') }).click();
    await page.locator('.pay-barcode').waitFor();
    expect((await chargeAtTill(env, await shownCode(page), 300)).resultInfo.code).toBe('SUCCESS');
    await page.getByTestId('paid-screen').waitFor();
    expect(await page.evaluate<string>('document.documentElement.dataset.paymentFeedback')).toBe('still silent');
    await page.emulateMedia({ reducedMotion: 'no-preference' });
    expect(await wallet.pageErrors()).toEqual([]);
  }, 60_000);

  it('a payment row offers a quiet 「心当たりがない」', async () => {
    const { page } = wallet;
    await page.goto(`${env.base}/wallet/notifications`);
    const notMe = page.getByRole('button', { name: ja('money.notMe.button') }).first();
    await notMe.waitFor();
    expect(await notMe.getAttribute('class')).toContain('not-me-quiet');
    expect(await notMe.getAttribute('class')).not.toContain('danger');
  });

  it('history is grouped under its month', async () => {
    const { page } = wallet;
    await page.goto(`${env.base}/wallet/history`);
    const month = new Intl.DateTimeFormat('ja-JP', { year: 'numeric', month: 'long', timeZone: 'Asia/Tokyo' }).format(new Date());
    const group = page.getByRole('region', { name: month });
    await group.getByRole('heading', { name: month }).waitFor();
    expect(await group.getByRole('listitem').count()).toBe(3);
  });

  it('top-up offers ¥1,000 / ¥3,000 / ¥5,000 / ¥10,000 in one tap', async () => {
    const { page } = wallet;
    await page.goto(`${env.base}/wallet/top-up`);
    await page.getByRole('button', { name: ja('money.topUp.addCard') }).click();
    await page.getByLabel(ja('money.card.number')).fill(CARDS.visa);
    await page.getByLabel(ja('money.card.exp')).fill('12/31');
    await page.getByLabel(ja('money.card.cvv')).fill('123');
    await page.getByLabel(ja('money.card.holder')).fill('HANAKO KOBAN');
    await page.getByRole('button', { name: ja('money.card.add') }).click();
    await completeStepUpDialog(env, page, customer);
    const presets = page.getByRole('group', { name: ja('money.topUp.presets') });
    await presets.waitFor();
    expect(await presets.getByRole('button').allTextContents()).toEqual(['1,000円', '3,000円', '5,000円', '10,000円']);
    await presets.getByRole('button', { name: '3,000円' }).click();
    expect(await page.getByLabel(ja('money.topUp.amount')).inputValue()).toBe('3000');
    await page.getByRole('button', { name: ja('money.topUp.submit', { amount: '3,000円' }) }).waitFor();
    await screenshot(page, 'wallet-top-up-presets');
  }, 60_000);
});

describe('no spinner that never ends', () => {
  it('a failed balance refresh keeps the balance and says "connection lost — last updated …"; retry clears it', async () => {
    const { page } = wallet;
    await page.goto(`${env.base}/wallet/`);
    await expect.poll(() => page.getByTestId('balance').textContent()).toBe('3,500円');
    await page.route('**/v1/wallet/summary', (route) => route.abort('connectionrefused'));
    await page.evaluate('dispatchEvent(new Event("online"))');
    const lost = page.getByTestId('connection-lost');
    await lost.waitFor();
    expect(await lost.textContent()).toContain('接続が切れています');
    expect(await lost.textContent()).toContain('最終更新');
    expect(await page.getByTestId('balance').textContent()).toBe('3,500円');
    await page.unroute('**/v1/wallet/summary');
    await lost.getByRole('button', { name: '再読み込み' }).click();
    await lost.waitFor({ state: 'detached' });
    expect(await wallet.pageErrors()).toEqual([]);
  });

  it('the wallet opened without a connection says so and offers a retry, with no unhandled rejection', async () => {
    const { page, context } = wallet;
    await page.goto(`${env.base}/wallet/`);
    await page.evaluate('navigator.serviceWorker.ready.then(() => true)');
    await context.setOffline(true);
    await page.reload().catch(() => undefined);
    await page.getByRole('heading', { name: /オフラインです|Koban に接続できません/ }).waitFor();
    expect(await page.getByText('サービスの状態を確認しています…').count()).toBe(0);
    await page.getByRole('button', { name: '再読み込み' }).waitFor();
    await screenshot(page, 'wallet-offline');
    expect(await seriousViolations(page)).toEqual([]);
    expect(await wallet.pageErrors()).toEqual([]);
    await context.setOffline(false);
    await page.getByRole('button', { name: '再読み込み' }).click();
    await page.getByTestId('balance').waitFor();
  });

  it('with the server down, the till reloads to Koban\'s own page and the console dashboard says its numbers are stale', async () => {
    const tillContext = await scanningContext(browser, { width: 1024, height: 768 });
    const till = await tillContext.newPage();
    const tillErrors = watchPageErrors(till);
    await till.goto(`${env.base}/till/`);
    const manifest = await till.locator('link[rel="manifest"]').getAttribute('href');
    expect((await till.request.get(`${env.base}${manifest}`)).ok()).toBe(true);
    expect((await till.request.get(`${env.base}${await till.locator('link[rel="icon"]').getAttribute('href')}`)).ok()).toBe(true);
    const { code } = await env.koban.payments.terminals.issueActivationCode(env.merchant.terminalIds[0]!, 'daily-use');
    await till.getByLabel('有効化コード').fill(code);
    await till.getByRole('button', { name: '有効化する' }).click();
    await till.getByRole('button', { name: '1文字消す' }).waitFor();
    await till.evaluate('navigator.serviceWorker.ready.then(() => true)');
    await till.goto(`${env.base}/till/sales`);
    await till.locator('.till-totals').waitFor();

    const consoleContext = await scanningContext(browser, { width: 1280, height: 800 });
    const ops = await consoleContext.newPage();
    const opsErrors = watchPageErrors(ops);
    const operator = await newOperator(env.koban, 'administrator');
    const authenticator = await virtualAuthenticator(ops, operator);
    await ops.goto(`${env.base}/console/`);
    await signInOnPage(ops, operator, authenticator);
    await ops.getByTestId('payments-hour').waitFor();
    // Unambiguous dates: 2026-12-03 14:05:09 JST, never 03/12/2026.
    expect(await ops.locator('.screen-head time').textContent()).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})? JST$/);

    // The customer's ledger: newest first, references and ids short and readable (no raw UUIDs).
    await ops.goto(`${env.base}/console/customers/${customer.customerId}`);
    const statement = ops.locator('table', { has: ops.locator('caption', { hasText: 'Wallet history (ledger)' }) });
    await statement.locator('tbody tr time').first().waitFor();
    const times = await statement.locator('tbody tr td:first-child time').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('datetime') ?? ''));
    expect(times.length).toBeGreaterThanOrEqual(3);
    expect([...times].sort((a, b) => Date.parse(b) - Date.parse(a))).toEqual(times);
    expect(await statement.locator('tbody').textContent()).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/);
    await screenshot(ops, 'console-customer-statement');
    await ops.goto(`${env.base}/console/`);
    await ops.getByTestId('payments-hour').waitFor();

    await wallet.context.close(); // its live stream would hold the server open
    serverUp = false;
    await env.close();

    // The till's sales screen notices on its next refresh; a reload shows Koban's page, not the browser's.
    await till.getByTestId('connection-lost').waitFor({ timeout: 45_000 });
    await till.reload();
    await till.getByRole('heading', { name: 'Koban に接続できません' }).waitFor();
    await screenshot(till, 'till-server-down');
    expect(await seriousViolations(till)).toEqual([]);
    await ops.getByTestId('connection-lost').waitFor({ timeout: 30_000 });
    expect(await ops.getByTestId('connection-lost').textContent()).toContain('Connection lost');
    expect(await ops.getByText('refreshes every', { exact: false }).count()).toBe(0);
    await screenshot(ops, 'console-dashboard-stale');
    expect(await seriousViolations(ops)).toEqual([]);
    expect(await tillErrors()).toEqual([]);
    expect(await opsErrors()).toEqual([]);
  }, 120_000);
});
