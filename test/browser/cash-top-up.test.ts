/**
 * Cash top-up at the register in a real Chromium (issue 19): the customer opens 「現金でチャージ」 in the wallet,
 * the clerk types the code on the till's 「現金チャージ」, sees the masked customer, keys the cash and confirms;
 * the wallet's balance shows the cash. Screenshots in test-results/screens/.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot } from '../support/browser.ts';
import { pageApi, signUpInBrowser, startMoneyEnv, type MoneyEnv } from './wallet-money-support.ts';

let env: MoneyEnv;
let browser: Browser;
let walletContext: BrowserContext;
let tillContext: BrowserContext;
/** Waits are on the event itself; this bound only stops a broken run. */
const EVENT_BOUND_MS = 30_000;

beforeAll(async () => {
  env = await startMoneyEnv();
  browser = await launchBrowser();
  walletContext = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'ja-JP' });
  tillContext = await browser.newContext({ viewport: { width: 1024, height: 768 }, locale: 'ja-JP' });
  walletContext.setDefaultTimeout(EVENT_BOUND_MS);
  tillContext.setDefaultTimeout(EVENT_BOUND_MS);
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await env?.close();
});

let tillPage: Page | null = null;

/** One activated till for the file (activating again would end the first tablet's session). */
async function activatedTill(): Promise<Page> {
  if (tillPage !== null) {
    await tillPage.goto(`${env.base}/till/`);
    await tillPage.getByText('Main store / Till 1').waitFor();
    return tillPage;
  }
  const till = await tillContext.newPage();
  tillPage = till;
  await till.goto(`${env.base}/till/`);
  const { code } = await env.koban.payments.terminals.issueActivationCode(env.merchant.terminalIds[0]!, 'test');
  await till.getByLabel('有効化コード').fill(code);
  await till.getByRole('button', { name: '有効化する' }).click();
  await till.getByText('Main store / Till 1').waitFor();
  return till;
}

describe('cash top-up at the till from a wallet', () => {
  it('the wallet shows a top-up code, the till reads it, takes the cash and the balance shows it', async () => {
    // The till is ready before the customer arrives (as at a register), so the 3-minute code is read while fresh.
    const till = await activatedTill();
    const wallet = await walletContext.newPage();
    const customer = await signUpInBrowser(env, wallet);
    await wallet.goto(`${env.base}/wallet/top-up`);
    await wallet.getByRole('link', { name: '現金でチャージ' }).click();
    const digits = wallet.getByLabel('チャージ用コード');
    await digits.waitFor({ timeout: EVENT_BOUND_MS });
    const code = (await digits.textContent()) ?? '';
    expect(code).toMatch(/^81[0-9]{20}$/);
    await wallet.getByText(/チャージできる金額: 1,000円〜50,000円/).waitFor();
    await screenshot(wallet, 'wallet-cash-top-up-code');

    await till.getByRole('link', { name: '現金チャージ' }).click();
    await till.getByLabel('チャージ用コード（22桁）').fill(code);
    await till.getByRole('button', { name: 'このコードを読み取る' }).click();
    await till.getByTestId('cash-customer').or(till.getByRole('alert')).waitFor({ timeout: EVENT_BOUND_MS });
    // A refusal would otherwise surface only as a timeout: say what the till showed.
    if (await till.getByRole('alert').count() > 0) throw new Error(`the till refused the code: ${await till.getByRole('alert').first().textContent()}`);
    expect(await till.getByTestId('cash-customer').textContent()).toBe(`お客様: ${customer.email.slice(0, 1)}***@example.com`);
    await till.getByLabel('お預かりした現金（円）').fill('3000');
    await screenshot(till, 'till-cash-top-up-confirm');
    await till.getByRole('button', { name: '3,000円をチャージする' }).click();
    await till.getByRole('status').filter({ hasText: '3,000円' }).waitFor({ timeout: EVENT_BOUND_MS });
    await screenshot(till, 'till-cash-top-up-done');

    const balances = await pageApi<{ prepaid: { balance: string } }>(wallet, 'GET', '/v1/wallet/balances');
    expect(balances.json.prepaid.balance).toBe('3000');
    // The same code again at the till: used.
  }, 180_000);

  it('the till\'s 現金チャージ refuses a payment code before sending it', async () => {
    const till = await activatedTill();
    await till.getByRole('link', { name: '現金チャージ' }).click();
    await till.getByLabel('チャージ用コード（22桁）').fill('91234567890123456789');
    await till.getByText('これは支払いコードです。「お会計」で読み取ってください。').waitFor({ timeout: EVENT_BOUND_MS });
    expect(await till.getByRole('button', { name: 'このコードを読み取る' }).isDisabled()).toBe(true);
  }, 60_000);
});
