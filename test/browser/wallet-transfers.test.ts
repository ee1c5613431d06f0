/**
 * Sending money and splitting a bill in a real Chromium at 360 px against a real Koban (issue 19): one customer
 * sends to another's Koban ID (PIN, step-up bound to amount and recipient), the other accepts it on their
 * transfers screen; a bill is split between them, the participant pays their share from the request link, and the
 * organiser sees who has paid. Each customer has their own browser context (their own session).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { PLATFORM_ACCOUNTS } from '../../src/ledger/platform-accounts.ts';
import { Ledgers, TransferCodes } from '../../src/ledger/types.ts';
import { uuidv7 } from '../../src/platform/ids.ts';
import { fundsTransferAccountId } from '../../src/wallet/balance-kinds.ts';
import { markCustomerVerified } from '../../src/wallet/balances.ts';
import { launchBrowser, overflowsHorizontally } from '../support/browser.ts';
import { completeStepUpDialog, ja, pageApi, PIN, signUpInBrowser, startMoneyEnv, type BrowserCustomer, type MoneyEnv } from './wallet-money-support.ts';

let env: MoneyEnv;
let browser: Browser;
const contexts: BrowserContext[] = [];
let alicePage: Page;
let bobPage: Page;
let alice: BrowserCustomer;
let bob: BrowserCustomer;
const pageErrors: string[] = [];

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 360, height: 780 } });
  contexts.push(context);
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  return page;
}

async function balance(customerId: string): Promise<bigint> {
  const account = await env.koban.ledger.getAccount(fundsTransferAccountId(customerId));
  return account === null ? 0n : account.creditsPosted - account.debitsPosted;
}

beforeAll(async () => {
  env = await startMoneyEnv();
  browser = await launchBrowser();
  alicePage = await newPage();
  bobPage = await newPage();
  alice = await signUpInBrowser(env, alicePage);
  bob = await signUpInBrowser(env, bobPage);
  for (const customer of [alice, bob]) await markCustomerVerified(env.koban.db, env.koban.ledger, customer.customerId, 'test:ekyc', new Date());
  // Alice's funds-transfer balance, as a verified bank top-up would leave it (the top-up screens have their own tests).
  const [funded] = await env.koban.ledger.createTransfers([{ id: uuidv7(), debitAccountId: PLATFORM_ACCOUNTS.bankClearing, creditAccountId: fundsTransferAccountId(alice.customerId),
    amount: 20_000n, pendingId: null, ledger: Ledgers.JPY, code: TransferCodes.topUp, flags: 0, timeoutSeconds: 0, reference: 'browser-test-funding' }]);
  expect(funded?.result).toBe('created');
}, 180_000);
afterEach(() => {
  expect(pageErrors.splice(0)).toEqual([]);
});
afterAll(async () => {
  await browser?.close();
  await env?.close();
});

describe('sending money and splitting a bill in the wallet', () => {
  it('sends to a Koban ID with PIN and step-up; the recipient accepts it on their transfers screen', async () => {
    const bobId = (await pageApi<{ kobanId: string }>(bobPage, 'GET', '/v1/customer/koban-id')).json.kobanId;
    await alicePage.goto(`${env.base}/wallet/send?to=${bobId}`);
    await alicePage.getByRole('img', { name: ja('money.send.qrAlt') }).waitFor();
    await alicePage.getByLabel(ja('money.send.amount')).fill('2500');
    await alicePage.getByLabel(ja('money.send.message')).fill('ramen');
    await alicePage.getByLabel(ja('money.topUp.pin')).fill(PIN);
    await alicePage.getByRole('button', { name: ja('money.send.submit') }).click();
    await completeStepUpDialog(env, alicePage, alice);
    await alicePage.getByText(ja('money.send.waiting', { to: bobId, amount: '2,500円' })).waitFor();
    expect(await overflowsHorizontally(alicePage)).toBe(false);
    expect(await balance(alice.customerId)).toBe(17_500n);

    await bobPage.goto(`${env.base}/wallet/transfers`);
    const incoming = bobPage.getByRole('listitem').filter({ hasText: ja('money.transfers.status.pending') });
    await incoming.getByRole('button', { name: ja('money.transfers.accept') }).click();
    await bobPage.getByText(ja('money.transfers.status.completed')).waitFor();
    expect(await balance(bob.customerId)).toBe(2_500n);
  });

  it('splits a bill: the participant pays their share from the link and the organiser sees it paid', async () => {
    await alicePage.goto(`${env.base}/wallet/split`);
    await alicePage.getByLabel(ja('money.split.total')).fill('3001');
    await alicePage.getByLabel(ja('money.split.people')).fill(bob.phone);
    await alicePage.getByRole('button', { name: ja('money.split.submit') }).click();
    const bobId = (await pageApi<{ kobanId: string }>(bobPage, 'GET', '/v1/customer/koban-id')).json.kobanId;
    await alicePage.getByText(ja('money.split.share', { who: bobId, amount: '1,500円', status: ja('money.request.status.open') })).waitFor();

    const toPay = (await pageApi<{ toPay: Array<{ link: string; amount: string }> }>(bobPage, 'GET', '/v1/customer/money-requests')).json.toPay;
    expect(toPay).toHaveLength(1);
    await bobPage.goto(toPay[0]!.link.replace(/^https?:\/\/[^/]+/, env.base));
    await bobPage.getByLabel(ja('money.topUp.pin')).fill(PIN);
    await bobPage.getByRole('button', { name: ja('money.request.pay', { amount: '1,500円' }) }).click();
    await completeStepUpDialog(env, bobPage, bob);
    await bobPage.getByText(ja('money.request.status.paid')).waitFor();

    await alicePage.getByRole('button', { name: ja('money.split.refresh') }).click();
    await alicePage.getByText(ja('money.split.share', { who: bobId, amount: '1,500円', status: ja('money.request.status.paid') })).waitFor();
    expect(await balance(alice.customerId)).toBe(17_500n + 1_500n);
    expect(await balance(bob.customerId)).toBe(1_000n);
    expect(await overflowsHorizontally(alicePage)).toBe(false);
  });
});
