// Campaigns over the operator API and points over the customer API (issue 19), on a whole Koban: operators
// with `promotions.manage` define and end campaigns (audited), others are refused, bad input changes nothing;
// the customer sees their points and when they expire.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Koban } from '../../src/koban.ts';
import { requireTransferCreated } from '../../src/ledger/ledger.ts';
import { PLATFORM_ACCOUNTS } from '../../src/ledger/platform-accounts.ts';
import { Ledgers, TransferCodes } from '../../src/ledger/types.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { uuidv7 } from '../../src/platform/ids.ts';
import { ensureCustomerWallet } from '../../src/wallet/customer-wallets.ts';
import { signUp } from '../identity/support.ts';
import { opsRequest, signInAs } from '../operations/support.ts';
import { createTestMerchant, type TestMerchant } from '../payments/merchant-fixtures.ts';
import { startTestKoban } from '../support/koban.ts';
import { expectLedgerVerifies } from './support.ts';

const DAY_MS = 86_400_000;
let koban: Koban;
let db: Database;
let close: () => Promise<void>;
let merchant: TestMerchant;

beforeAll(async () => {
  const started = await startTestKoban();
  koban = started.koban;
  db = started.db;
  close = started.close;
  merchant = await createTestMerchant(db, koban.ledger);
});
afterAll(async () => {
  if (db !== undefined) await expectLedgerVerifies(db);
  await close?.();
});

function campaignBody(overrides: Record<string, unknown> = {}) {
  const now = Date.now();
  return {
    name: 'Shibuya 5%', merchantId: merchant.merchantId, rateBps: 500, capPerCustomer: '1000', budget: '50000',
    startsAt: new Date(now - DAY_MS).toISOString(), endsAt: new Date(now + 30 * DAY_MS).toISOString(), pointsValidDays: 60, reason: 'autumn promotion', ...overrides,
  };
}

async function activeCampaigns(campaignId: string): Promise<number> {
  return (await db.pool.query(`select 1 from promo_campaigns where id = $1 and status = 'active'`, [campaignId])).rowCount ?? 0;
}

describe('campaigns in the operator API', () => {
  it('finance defines a campaign, funded from the platform promotion account, audited with its reason', async () => {
    const finance = opsRequest(koban, await signInAs(koban, 'finance'));
    const platformBefore = (await koban.ledger.getAccount(PLATFORM_ACCOUNTS.promotionBudget))?.debitsPosted ?? 0n;
    const created = await finance('POST', '/v1/ops/campaigns', campaignBody());
    expect(created.statusCode).toBe(201);
    const campaign = created.json() as { campaignId: string; status: string };
    expect(campaign).toMatchObject({ status: 'active', rateBps: 500, budget: '50000' });
    expect(((await koban.ledger.getAccount(PLATFORM_ACCOUNTS.promotionBudget))?.debitsPosted ?? 0n) - platformBefore).toBe(50_000n);
    const listed = (await finance('GET', '/v1/ops/campaigns')).json() as { items: Array<{ campaignId: string; remaining: string; granted: string }> };
    expect(listed.items.find((c) => c.campaignId === campaign.campaignId)).toMatchObject({ remaining: '50000', granted: '0' });
    const audit = await db.pool.query<{ details: { reason: string } }>(`select details from audit_events where action = 'campaign.created' and target_id = $1`, [campaign.campaignId]);
    expect(audit.rows[0]?.details.reason).toBe('autumn promotion');
    const ended = await finance('POST', `/v1/ops/campaigns/${campaign.campaignId}/end`, { reason: 'budget moved' });
    expect(ended.json()).toMatchObject({ status: 'ended' });
  });

  it('a budget at or above the four-eyes threshold earns nothing until a second operator approves it; the proposer cannot approve it', async () => {
    const proposer = await signInAs(koban, 'finance');
    const finance = opsRequest(koban, proposer);
    const proposed = await finance('POST', '/v1/ops/campaigns', campaignBody({ name: 'Big autumn', budget: '1000000' }));
    expect(proposed.statusCode).toBe(202);
    const campaign = proposed.json() as { campaignId: string; status: string; proposalId: string };
    expect(campaign).toMatchObject({ status: 'proposed', budget: '1000000' });
    expect(await activeCampaigns(campaign.campaignId)).toBe(0);
    const listed = (await finance('GET', '/v1/ops/campaigns')).json() as { items: Array<{ campaignId: string; proposalId?: string; remaining: string }> };
    expect(listed.items.find((c) => c.campaignId === campaign.campaignId)).toMatchObject({ proposalId: campaign.proposalId, remaining: '1000000' });

    const selfApproval = await finance('POST', `/v1/ops/campaigns/proposals/${campaign.proposalId}/approve`, { reason: 'looks fine to me' });
    expect(selfApproval.statusCode).toBe(403);
    expect(await activeCampaigns(campaign.campaignId)).toBe(0);
    const support = opsRequest(koban, await signInAs(koban, 'support'));
    expect((await support('POST', `/v1/ops/campaigns/proposals/${campaign.proposalId}/approve`, { reason: 'not mine to approve' })).statusCode).toBe(403);

    const second = opsRequest(koban, await signInAs(koban, 'finance'));
    const approved = await second('POST', `/v1/ops/campaigns/proposals/${campaign.proposalId}/approve`, { reason: 'budget signed off by finance' });
    expect(approved.statusCode).toBe(200);
    expect(approved.json()).toMatchObject({ campaignId: campaign.campaignId, status: 'active' });
    expect(await activeCampaigns(campaign.campaignId)).toBe(1);
    expect((await second('POST', `/v1/ops/campaigns/proposals/${campaign.proposalId}/reject`, { reason: 'changed my mind' })).statusCode).toBe(409);
  });

  it('a rejected campaign never earns, and its reserved budget stays in its own account', async () => {
    const finance = opsRequest(koban, await signInAs(koban, 'finance'));
    const campaign = (await finance('POST', '/v1/ops/campaigns', campaignBody({ name: 'Too generous', budget: '2000000' }))).json() as { campaignId: string; proposalId: string };
    const second = opsRequest(koban, await signInAs(koban, 'finance'));
    const rejected = await second('POST', `/v1/ops/campaigns/proposals/${campaign.proposalId}/reject`, { reason: 'rate too high for this merchant' });
    expect(rejected.json()).toMatchObject({ status: 'rejected' });
    expect(await activeCampaigns(campaign.campaignId)).toBe(0);
    expect((await second('POST', `/v1/ops/campaigns/proposals/${campaign.proposalId}/approve`, { reason: 'second thoughts' })).statusCode).toBe(409);
    const listed = (await finance('GET', '/v1/ops/campaigns')).json() as { items: Array<{ campaignId: string; status: string; remaining: string }> };
    expect(listed.items.find((c) => c.campaignId === campaign.campaignId)).toMatchObject({ status: 'rejected', remaining: '2000000' });
  });

  it('refuses support (no promotions.manage) and a campaign with both a merchant and a category, creating nothing', async () => {
    const support = opsRequest(koban, await signInAs(koban, 'support'));
    const finance = opsRequest(koban, await signInAs(koban, 'finance'));
    const before = (await db.pool.query('select 1 from promo_campaigns')).rowCount;
    expect((await support('POST', '/v1/ops/campaigns', campaignBody())).statusCode).toBe(403);
    const both = await finance('POST', '/v1/ops/campaigns', campaignBody({ categoryCode: '5411' }));
    expect(both.statusCode).toBe(400);
    expect(both.json()).toMatchObject({ code: 'validation_failed' });
    expect((await finance('POST', '/v1/ops/campaigns', campaignBody({ rateBps: 0 }))).statusCode).toBe(400);
    expect((await finance('POST', `/v1/ops/campaigns/${uuidv7()}/end`, { reason: 'no such thing' })).statusCode).toBe(404);
    expect((await db.pool.query('select 1 from promo_campaigns')).rowCount).toBe(before);
  });
});

describe('points in the customer API', () => {
  it('a payment in a campaign shows as points with their expiry', async () => {
    const finance = opsRequest(koban, await signInAs(koban, 'finance'));
    const created = (await finance('POST', '/v1/ops/campaigns', campaignBody({ rateBps: 1_000 }))).json() as { campaignId: string };
    const customer = await signUp(koban);
    const walletAccountId = await ensureCustomerWallet(db, koban.ledger, customer.customerId);
    requireTransferCreated(await koban.ledger.createTransfers([{ id: uuidv7(), debitAccountId: PLATFORM_ACCOUNTS.cardClearing, creditAccountId: walletAccountId, amount: 5_000n,
      pendingId: null, ledger: Ledgers.JPY, code: TransferCodes.topUp, flags: 0, timeoutSeconds: 0, reference: 'test top-up' }]));
    const context = { customerId: customer.customerId, walletAccountId, deviceId: `device-${uuidv7()}` };
    const minted = await koban.payments.payments.mintPaymentCode(context);
    const paid = await koban.payments.payments.payWithCustomerCode({ merchantId: merchant.merchantId, merchantPaymentId: `pts-${uuidv7()}`, code: minted.code, amountMinor: 2_000n,
      storeId: merchant.storeId, terminalId: merchant.terminalIds[0] as string, orderDescription: null, requestedAt: null });
    expect(paid.status).toBe('COMPLETED');
    while (await koban.promotions.relay() > 0);
    const points = await customer.client.request({ method: 'GET', url: '/v1/wallet/points' });
    expect(points.statusCode).toBe(200);
    const body = points.json() as { balance: string; expiring: Array<{ expiresAt: string; amount: string }> };
    expect(body.balance).toBe('200');
    expect(body.expiring).toHaveLength(1);
    expect(body.expiring[0]?.amount).toBe('200');
    await finance('POST', `/v1/ops/campaigns/${created.campaignId}/end`, { reason: 'test over' });
  });
});
