/**
 * 残高の払い戻し in a real Chromium (issue 19): once two administrators have started the abolition procedure, a
 * customer follows the home screen's banner to the refund screen, enters their own bank account, confirms with a fresh SMS step-up, and sees the
 * claim received and then paid through the sandbox bank; their prepaid balance is then zero.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../support/browser.ts';
import { opsRequest, signInAs } from '../operations/support.ts';
import { fundWallet, scanningContext, watchPageErrors } from './a11y-support.ts';
import { completeStepUpDialog, ja, signUpInBrowser, startMoneyEnv, type BrowserCustomer, type MoneyEnv } from './wallet-money-support.ts';

let env: MoneyEnv;
let browser: Browser;
let page: Page;
let pageErrors: () => Promise<string[]>;
let customer: BrowserCustomer;

beforeAll(async () => {
  env = await startMoneyEnv();
  browser = await launchBrowser();
  const context = await scanningContext(browser, { width: 390, height: 844 });
  page = await context.newPage();
  pageErrors = watchPageErrors(page);
  customer = await signUpInBrowser(env, page);
  await fundWallet(env.koban, customer.customerId, 6_600n);
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await env?.close();
});

describe('claiming the balance in abolition mode', () => {
  it('says nothing is under way before the procedure, then takes a stepped-up claim and shows it paid', async () => {
    await page.goto(`${env.base}/wallet/refund`);
    await page.getByText(ja('money.refund.none')).waitFor();

    const first = opsRequest(env.koban, await signInAs(env.koban, 'administrator'));
    const second = opsRequest(env.koban, await signInAs(env.koban, 'administrator'));
    const { proposalId } = (await first('POST', '/v1/ops/abolition/proposals', { claimDays: 90, reason: 'the board decided to abolish' })).json() as { proposalId: string };
    expect((await second('POST', `/v1/ops/abolition/proposals/${proposalId}/approve`, { reason: 'board minutes checked' })).statusCode).toBe(200);

    // The home screen says so first and links to the claim.
    await page.goto(`${env.base}/wallet/`);
    const banner = page.getByTestId('abolition-banner');
    await banner.waitFor();
    await banner.getByRole('link', { name: ja('money.refund.claim') }).click();
    await page.waitForURL(/\/wallet\/refund$/);
    const form = page.getByRole('form', { name: ja('money.refund.title') });
    await form.waitFor();
    await form.getByLabel(ja('money.bank.code')).fill('0005');
    await form.getByLabel(ja('money.bank.branch')).fill('001');
    await form.getByLabel(ja('money.bank.account')).fill('7654321');
    await form.getByLabel(ja('money.bank.holder')).fill('コバン　タロウ');
    await form.getByRole('button', { name: ja('money.refund.claim') }).click();
    await completeStepUpDialog(env, page, customer);
    await page.locator('[data-claim-status="pending"]').waitFor();
    expect(await form.count()).toBe(0);

    // The payout batch (a leased job every minute in production) runs until the bank says paid; the bound only stops a broken run.
    await expect.poll(async () => {
      await env.koban.abolition.payoutBatch();
      return (await env.koban.abolition.claims(customer.customerId))[0]?.status;
    }, { timeout: 60_000, interval: 200 }).toBe('paid');
    await page.reload();
    await page.locator('[data-claim-status="paid"]').waitFor();
    const wallet = await env.koban.db.pool.query<{ balance: string }>(
      `select (a.credits_posted - a.debits_posted)::text as balance from customer_wallets w join accounts a on a.id = w.account_id where w.customer_id = $1`, [customer.customerId]);
    expect(wallet.rows[0]?.balance).toBe('0');
    expect(await pageErrors()).toEqual([]);
  });
});
