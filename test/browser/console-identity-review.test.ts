/**
 * The console's identity review screen in Chromium (issue 19): a risk analyst sees an application the eKYC
 * provider sent to review and approves it with a reason; the customer becomes verified with a funds-transfer
 * balance, and the decision is in the audit log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { uuidv7 } from '../../src/platform/ids.ts';
import { fundsTransferAccountId } from '../../src/wallet/balance-kinds.ts';
import { isCustomerVerified } from '../../src/wallet/balances.ts';
import { confirmWithReason, newOperator, signInThroughForm, startConsoleEnv, type ConsoleEnv } from './console-support.ts';

let env: ConsoleEnv;
let page: Page;

beforeAll(async () => {
  env = await startConsoleEnv();
  const analyst = await newOperator(env.koban, 'risk_analyst');
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(10_000);
  page = await context.newPage();
  await signInThroughForm(page, env.base, analyst, '/console/identity-reviews');
}, 120_000);
afterAll(async () => {
  await env?.close();
});

describe('console: identity reviews', () => {
  it('approves an application the provider could not decide, with a reason; the customer is then verified', async () => {
    const customerId = uuidv7();
    const applicationId = uuidv7();
    // The state the provider's `needs_review` webhook leaves (test/wallet/ekyc.test.ts drives that path over HTTP).
    await env.koban.db.pool.query(
      `insert into kyc_applications (id, customer_id, full_name, date_of_birth, address, document_ref, selfie_ref, status, provider_ref, reason)
       values ($1, $2, '小判 花子', '1985-07-07', '大阪府大阪市北区1-1', 'doc_review_glare', 'selfie_0042', 'needs_review', 'kyc_browser_0001', 'document_unclear')`,
      [applicationId, customerId]);
    await page.reload();
    const row = page.locator(`[data-application="${applicationId}"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain('小判 花子');
    expect(await row.textContent()).toContain('doc_review_glare');
    await row.getByRole('button', { name: 'Approve' }).click();
    await confirmWithReason(page, 'document checked against the selfie by hand');
    await expect.poll(() => isCustomerVerified(env.koban.db.pool, customerId)).toBe(true);
    expect(await env.koban.ledger.getAccount(fundsTransferAccountId(customerId))).not.toBeNull();
    await row.waitFor({ state: 'detached' });
    const audit = await env.koban.db.pool.query<{ reason: string | null }>(`select details->>'reason' as reason from audit_events where action = 'identity_verification.approved' and target_id = $1`, [customerId]);
    expect(audit.rows[0]?.reason).toBe('document checked against the selfie by hand');
  });
});
