// Paging on every operator list (issue 13): `/v1/ops/cases` showed only the latest 50 cases, and risk events
// only the newest 200, so an attack with more victims than that hid its oldest cases from operators. Each list
// now pages newest first with a keyset cursor (`before` = the previous page's `nextBefore`): every item once,
// none skipped, and a cursor that is not one the list answered is a 400 that changes nothing.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from '../../src/platform/ids.ts';
import { withTransaction } from '../../src/platform/db/database.ts';
import { startTestKoban } from '../support/koban.ts';
import { createShop, fundedCustomer, pay } from './console-support.ts';
import { opsRequest, signInAs, type SignedInOperator } from './support.ts';

let env: Awaited<ReturnType<typeof startTestKoban>>;
let analyst: SignedInOperator;
let pagedShop: Awaited<ReturnType<typeof createShop>>;
const accounts = Array.from({ length: 7 }, () => randomUUID());
beforeAll(async () => {
  env = await startTestKoban();
  analyst = await signInAs(env.koban, 'risk_analyst');
  pagedShop = await createShop(env.koban, 'Paged Shop');
  for (const accountId of accounts) {
    await env.koban.operations.cases.openFromAlert({ accountId }, { id: uuidv7(), decision: 'review', reasons: [] });
    await env.koban.risk.recordSignal({ signal: 'terminal_code_guessing', accountId: null, ref: accountId, message: `paging test ${accountId}` });
  }
});
afterAll(async () => {
  await env?.close();
});

async function readAll<T>(path: string, key: string, idOf: (item: T) => string): Promise<string[]> {
  const seen: string[] = [];
  let before: string | null = null;
  for (let page = 0; page < 20; page++) {
    const response = await opsRequest(env.koban, analyst)('GET', `${path}${path.includes('?') ? '&' : '?'}limit=3${before === null ? '' : `&before=${before}`}`);
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json() as Record<string, unknown> & { nextBefore: string | null };
    const items = body[key] as T[];
    expect(items.length).toBeLessThanOrEqual(3);
    seen.push(...items.map(idOf));
    before = body.nextBefore;
    if (before === null) return seen;
  }
  throw new Error('paging did not end');
}

describe('operator lists page with a cursor', () => {
  it('the case list and the case queue show every case once across pages, beyond one page', async () => {
    for (const path of ['/v1/ops/cases', '/v1/ops/case-queue']) {
      const ids = await readAll<{ accountId: string }>(path, 'cases', (c) => c.accountId);
      expect(ids.filter((id) => (accounts as string[]).includes(id)).sort(), path).toEqual([...accounts].sort());
      expect(new Set(ids).size, path).toBe(ids.length);
    }
  });

  it('risk events show every flagged decision once across pages, with the ref they are about', async () => {
    const refs = await readAll<{ ref: string | null }>('/v1/ops/risk/events', 'events', (e) => e.ref ?? '');
    expect(refs.filter((ref) => (accounts as string[]).includes(ref)).sort()).toEqual([...accounts].sort());
    expect(new Set(refs).size).toBe(refs.length);
  });

  it('a merchant\'s payments show every payment once across pages, not only the recent ones (a colluding merchant\'s oldest stolen payments stay in view)', async () => {
    const shop = pagedShop;
    const customer = await fundedCustomer(env.koban, 50_000n);
    const paid: string[] = [];
    for (let i = 0; i < 7; i++) {
      const result = await pay(env.koban, shop, customer, 100 + i);
      expect(result.resultInfo.code).toBe('SUCCESS');
      paid.push(result.merchantPaymentId);
    }
    const seen = await readAll<{ merchantPaymentId: string }>(`/v1/ops/merchants/${shop.merchant.merchantId}/payments`, 'payments', (p) => p.merchantPaymentId);
    expect([...seen].sort()).toEqual([...paid].sort());
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('four-eyes proposals show every proposal once across pages, even proposals made in the same millisecond (stop 22 lost one)', async () => {
    const subjects = Array.from({ length: 7 }, () => randomUUID());
    for (const [index, subjectId] of subjects.entries()) {
      await withTransaction(env.koban.db, (client) => env.koban.operations.proposals.propose(client, { kind: 'merchant_reversal', subjectId, summary: { merchantId: subjectId, payments: [], totalMinor: '0' }, by: { operatorId: analyst.id, reason: 'paging test' } }));
      // now() writes microseconds: put all seven inside one millisecond, the case a millisecond cursor skipped.
      await env.koban.db.pool.query("update proposals set proposed_at = timestamptz '2026-11-30 09:00:00.000100+00' + $2 * interval '1 microsecond' where subject_id = $1", [subjectId, index * 37]);
    }
    const seen = await readAll<{ subjectId: string }>('/v1/ops/proposals?status=pending', 'proposals', (p) => p.subjectId);
    expect(seen.filter((id) => (subjects as string[]).includes(id)).sort()).toEqual([...subjects].sort());
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('transfers flagged for compensation show every flag once across pages (they used to stop at 500 without saying so)', async () => {
    const customer = await fundedCustomer(env.koban, 50_000n);
    const flagged: string[] = [];
    for (let i = 0; i < 7; i++) {
      const result = await pay(env.koban, pagedShop, customer, 200 + i);
      expect(result.resultInfo.code).toBe('SUCCESS');
      const transfer = await env.koban.db.pool.query<{ payment_transfer_id: string }>('select payment_transfer_id from payments where merchant_payment_id = $1', [result.merchantPaymentId]);
      flagged.push(transfer.rows[0]!.payment_transfer_id);
    }
    const finance = await signInAs(env.koban, 'finance');
    const flag = await opsRequest(env.koban, finance)('POST', '/v1/ops/compensation/flags', { transferIds: flagged, customerId: customer.customerId, reason: 'paging test' });
    expect(flag.statusCode, flag.body).toBe(200);
    const seen = await readAll<{ transferId: string }>('/v1/ops/compensation/flags', 'flags', (f) => f.transferId);
    expect(seen.filter((id) => flagged.includes(id)).sort()).toEqual([...flagged].sort());
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('campaigns show every campaign once across pages', async () => {
    const created: string[] = [];
    for (let i = 0; i < 7; i++) {
      const campaign = await env.koban.promotions.createCampaign({ name: `paging ${i}`, merchantId: pagedShop.merchant.merchantId, categoryCode: null, rateBps: 100, capPerCustomerMinor: 100n,
        budgetMinor: 1_000n, startsAt: new Date(Date.now() - 60_000), endsAt: new Date(Date.now() + 3_600_000), pointsValidDays: 30 }, 'operator:paging-test');
      created.push(campaign.id);
    }
    const seen = await readAll<{ campaignId: string }>('/v1/ops/campaigns', 'items', (c) => c.campaignId);
    expect(seen.filter((id) => created.includes(id)).sort()).toEqual([...created].sort());
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('a forged cursor is a 400 naming the field, not a 500', async () => {
    for (const path of ['/v1/ops/cases', '/v1/ops/case-queue', '/v1/ops/risk/events', `/v1/ops/merchants/${pagedShop.merchant.merchantId}/payments`, '/v1/ops/proposals', '/v1/ops/compensation/batches',
      '/v1/ops/compensation/flags', '/v1/ops/campaigns']) {
      for (const before of ['not-a-cursor!', Buffer.from('yesterday|x').toString('base64url'), Buffer.from("2026-01-01T00:00:00.000Z|1' or 1=1").toString('base64url'),
        Buffer.from(`2026-02-30T00:00:00.000000Z|${randomUUID()}`).toString('base64url')]) {
        const response = await opsRequest(env.koban, analyst)('GET', `${path}?before=${encodeURIComponent(before)}`);
        expect(response.statusCode, `${path} ${before}`).toBeLessThan(500);
        if (response.statusCode !== 200) expect(response.json().code).toBe('validation_failed');
      }
    }
  });
});
