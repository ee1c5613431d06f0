/**
 * A merchant's case in the console, in Chromium (issue 13): stolen sessions paid a colluding merchant; the risk
 * analyst opens the merchant's case, suspends the merchant from it, picks the payment from the compromised
 * wallet and proposes its reversal; the console will not let them approve it, and a finance operator approves
 * it from the same case, which refunds the wallet. The customer's account actions are not offered there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { merchantCaseSubject } from '../../src/risk/rules/merchant-convergence.ts';
import { screenshot } from '../support/browser.ts';
import { createShop, fundedCustomer, pay } from '../operations/console-support.ts';
import { confirmWithReason, newOperator, signInThroughForm, startConsoleEnv, type BrowserOperator, type ConsoleEnv } from './console-support.ts';

let env: ConsoleEnv;
let risk: BrowserOperator;
let page: Page;

beforeAll(async () => {
  env = await startConsoleEnv();
  risk = await newOperator(env.koban, 'risk_analyst');
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(10_000);
  page = await context.newPage();
  await signInThroughForm(page, env.base, risk, '/console/cases');
}, 120_000);
afterAll(async () => {
  await env?.close();
});

async function balance(wallet: string): Promise<bigint> {
  const account = await env.koban.ledger.getAccount(wallet);
  return (account?.creditsPosted ?? 0n) - (account?.debitsPosted ?? 0n);
}

describe('console: a colluding merchant contained from its case', () => {
  it('suspends the merchant and reverses the stolen payment with four eyes, all from the merchant\'s case', async () => {
    const shop = await createShop(env.koban, 'Colluding Goods');
    const victim = await fundedCustomer(env.koban, 20_000n);
    const stolen = await pay(env.koban, shop, victim, 6_000);
    expect(stolen.resultInfo.code).toBe('SUCCESS');
    const paymentId = (await env.koban.db.pool.query<{ id: string }>('select id from payments where merchant_payment_id = $1', [stolen.merchantPaymentId])).rows[0]?.id ?? '';
    // What the merchant_convergence rule does: the payment's risk event joins the merchant's case.
    const decision = await env.koban.risk.assess({ kind: 'payment', accountId: victim.customerId, deviceId: 'dev-thief', merchantId: shop.merchant.merchantId, amountMinor: 6_000n, ref: paymentId });
    await env.koban.operations.cases.openFromAlert({ accountId: merchantCaseSubject(shop.merchant.merchantId) },
      { ...decision, decision: 'challenge', reasons: [{ rule: 'merchant_convergence', message: '5 payments within 60 min from recently changed accounts' }] });
    const caseId = (await env.koban.db.pool.query<{ id: string }>(`select id from cases where account_id = $1`, [merchantCaseSubject(shop.merchant.merchantId)])).rows[0]?.id ?? '';

    await page.goto(`${env.base}/console/cases/${caseId}`);
    const merchantCard = page.getByRole('region', { name: 'The merchant of this case' });
    await merchantCard.getByRole('link', { name: 'Colluding Goods' }).waitFor();
    expect(await page.getByRole('button', { name: 'Freeze wallet' }).count()).toBe(0);

    await merchantCard.getByRole('button', { name: 'Suspend merchant' }).click();
    await confirmWithReason(page, 'money converging from taken-over wallets');
    await merchantCard.getByText('suspended', { exact: true }).waitFor();
    expect((await env.koban.db.pool.query<{ status: string }>('select status from merchants where id = $1', [shop.merchant.merchantId])).rows).toEqual([{ status: 'suspended' }]);

    const suspects = page.getByRole('region', { name: 'Payments from compromised wallets' });
    await suspects.getByRole('checkbox', { name: `Pick ${stolen.merchantPaymentId}` }).check();
    await suspects.getByRole('button', { name: 'Propose reversing 1 payment(s)' }).click();
    await confirmWithReason(page, 'paid from a taken-over wallet');
    const pending = page.getByRole('region', { name: 'Reversals waiting for approval' });
    await pending.getByText('Waiting for another operator').waitFor();
    expect(await pending.getByRole('button', { name: 'Approve and refund' }).count()).toBe(0);
    await screenshot(page, 'console-merchant-case');
    expect(await balance(victim.wallet)).toBe(14_000n);

    const finance = await newOperator(env.koban, 'finance');
    const financeContext = await env.browser.newContext({ viewport: { width: 1280, height: 900 } });
    financeContext.setDefaultTimeout(10_000);
    const financePage = await financeContext.newPage();
    await signInThroughForm(financePage, env.base, finance, `/console/cases/${caseId}`);
    const toApprove = financePage.getByRole('region', { name: 'Reversals waiting for approval' });
    await toApprove.getByRole('button', { name: 'Approve and refund' }).click();
    await confirmWithReason(financePage, 'second pair of eyes: the case shows the takeover');
    await toApprove.waitFor({ state: 'detached' });
    expect(await balance(victim.wallet)).toBe(20_000n);
    await financePage.getByText(/approved by .*: 1 refunded, 0 failed/).waitFor();

    // The merchant's page lists its payments a page at a time (issue 13: paging on every operator list).
    await page.goto(`${env.base}/console/merchants/${shop.merchant.merchantId}`);
    await page.getByRole('region', { name: 'Payments', exact: true }).getByText(stolen.merchantPaymentId).waitFor();
  });
});
