/**
 * The console's campaigns screen in Chromium (issue 19): finance sees a campaign with what is left of its budget
 * and ends it with a reason; the campaign is ended and the decision is in the audit log. Finance defines a campaign
 * through the form; a large budget waits for a second operator, who approves it on the same screen.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { uuidv7 } from '../../src/platform/ids.ts';
import { confirmWithReason, newOperator, signInThroughForm, startConsoleEnv, type ConsoleEnv } from './console-support.ts';

let env: ConsoleEnv;
let page: Page;

beforeAll(async () => {
  env = await startConsoleEnv();
  const finance = await newOperator(env.koban, 'finance');
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(10_000);
  page = await context.newPage();
  await signInThroughForm(page, env.base, finance, '/console/campaigns');
}, 120_000);
afterAll(async () => {
  await env?.close();
});

describe('console: campaigns', () => {
  it('shows a campaign with its budget left and ends it with a reason', async () => {
    const now = Date.now();
    const campaign = await env.koban.promotions.createCampaign({ name: 'Browser autumn 3%', merchantId: uuidv7(), categoryCode: null, rateBps: 300, capPerCustomerMinor: 500n,
      budgetMinor: 12_000n, startsAt: new Date(now - 86_400_000), endsAt: new Date(now + 86_400_000), pointsValidDays: 30 }, 'operator:test');
    await page.reload();
    const row = page.locator(`[data-campaign="${campaign.id}"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain('Browser autumn 3%');
    expect(await row.textContent()).toContain('¥12000 / ¥12000');
    await row.getByRole('button', { name: 'End' }).click();
    await confirmWithReason(page, 'merchant asked to stop the promotion');
    await expect.poll(async () => (await env.koban.promotions.listCampaigns()).campaigns.find((c) => c.id === campaign.id)?.status).toBe('ended');
    const audit = await env.koban.db.pool.query<{ reason: string | null }>(`select details->>'reason' as reason from audit_events where action = 'campaign.ended' and target_id = $1`, [campaign.id]);
    expect(audit.rows[0]?.reason).toBe('merchant asked to stop the promotion');
  });

  it('defines a campaign through the form; a large budget waits until a second finance operator approves it', async () => {
    const merchantId = uuidv7();
    await page.getByRole('button', { name: 'New campaign' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name').fill('Form winter 10%');
    await dialog.getByLabel('Merchant id').fill(merchantId);
    await dialog.getByLabel('Rate (%)').fill('10');
    await dialog.getByLabel('Budget (¥)').fill('1500000');
    await confirmWithReason(page, 'winter campaign agreed with the merchant', 'Create');
    const stored = async () => (await env.koban.promotions.listCampaigns()).campaigns.find((c) => c.merchantId === merchantId);
    await expect.poll(async () => (await stored())?.status).toBe('proposed');
    const campaign = await stored();
    expect(campaign).toMatchObject({ name: 'Form winter 10%', rateBps: 1000, budgetMinor: 1_500_000n });

    const second = await newOperator(env.koban, 'finance');
    const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(10_000);
    const approverPage = await context.newPage();
    await signInThroughForm(approverPage, env.base, second, '/console/campaigns');
    const row = approverPage.locator(`[data-campaign="${campaign?.id}"]`);
    await row.waitFor();
    await row.getByRole('button', { name: 'Approve' }).click();
    await confirmWithReason(approverPage, 'budget signed off');
    await expect.poll(async () => (await stored())?.status).toBe('active');
    await context.close();
  });
});
