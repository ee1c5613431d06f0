// Abolition over HTTP on a whole Koban with the sandbox bank (issue 19): four eyes start the procedure (the
// proposer cannot approve), top-ups and sign-ups stop, a customer claims their prepaid balance to their own bank
// account only with a fresh step-up bound to that account, the payout batch pays it, and the regulator's CSV
// lists what is owed.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { requireTransferCreated } from '../../src/ledger/ledger.ts';
import { PLATFORM_ACCOUNTS } from '../../src/ledger/platform-accounts.ts';
import { Ledgers, TransferCodes } from '../../src/ledger/types.ts';
import { uuidv7 } from '../../src/platform/ids.ts';
import { ensureCustomerWallet } from '../../src/wallet/customer-wallets.ts';
import { signUp, stepUpBySms } from '../identity/support.ts';
import { opsRequest, signInAs } from '../operations/support.ts';
import { expectLedgerVerifies, startWalletEnv, type WalletEnv } from './support.ts';

const BOUND = { timeout: 60_000, interval: 100 };
const ACCOUNT = { bankCode: '0005', branchCode: '001', accountNumber: '7654321', holderNameKana: 'コバン　タロウ' };
let w: WalletEnv;

beforeAll(async () => { w = await startWalletEnv(); });
afterAll(async () => {
  if (w !== undefined) await expectLedgerVerifies(w.db);
  await w?.close();
});

describe('abolition', () => {
  it('starts with four eyes, stops top-ups and sign-ups, and pays a stepped-up claim to the customer\'s bank account', async () => {
    const customer = await signUp(w.koban);
    const wallet = await ensureCustomerWallet(w.db, w.koban.ledger, customer.customerId);
    requireTransferCreated(await w.koban.ledger.createTransfers([{ id: uuidv7(), debitAccountId: PLATFORM_ACCOUNTS.cardClearing, creditAccountId: wallet, amount: 8_800n,
      pendingId: null, ledger: Ledgers.JPY, code: TransferCodes.topUp, flags: 0, timeoutSeconds: 0, reference: 'test top-up' }]));
    const claimBody = { method: 'POST' as const, url: '/v1/wallet/abolition/claims', body: ACCOUNT };
    expect((await customer.client.request(claimBody)).json()).toMatchObject({ code: 'abolition_not_active' });

    const first = opsRequest(w.koban, await signInAs(w.koban, 'administrator'));
    const second = opsRequest(w.koban, await signInAs(w.koban, 'administrator'));
    const finance = opsRequest(w.koban, await signInAs(w.koban, 'finance'));
    expect((await first('POST', '/v1/ops/abolition/proposals', { claimDays: 59, reason: 'too short' })).statusCode).toBe(400);
    expect((await finance('POST', '/v1/ops/abolition/proposals', { claimDays: 60, reason: 'not an administrator' })).statusCode).toBe(403);
    const proposed = await first('POST', '/v1/ops/abolition/proposals', { claimDays: 60, reason: 'the board decided to abolish' });
    expect(proposed.statusCode).toBe(201);
    const { proposalId } = proposed.json() as { proposalId: string };
    const self = await first('POST', `/v1/ops/abolition/proposals/${proposalId}/approve`, { reason: 'my own' });
    expect(self.json()).toMatchObject({ code: 'proposal_self_approval' });
    expect((await first('GET', '/v1/ops/abolition')).json()).toMatchObject({ active: false });
    const approved = await second('POST', `/v1/ops/abolition/proposals/${proposalId}/approve`, { reason: 'confirmed with the board minutes' });
    expect(approved.statusCode).toBe(200);
    expect((await first('GET', '/v1/ops/abolition')).json()).toMatchObject({ active: true });
    const switches = w.koban.operations.switches.list();
    for (const name of ['top_ups', 'registrations']) expect(switches.find((s) => s.name === name)).toMatchObject({ state: 'off' });

    // Every customer is told once, in their language, in batches.
    while (await w.koban.abolition.notify() > 0);
    expect(await w.koban.abolition.notify()).toBe(0);
    const told = await w.db.pool.query<{ title: string }>(`select title from customer_notifications where customer_id = $1 and kind = 'abolition'`, [customer.customerId]);
    expect(told.rows).toHaveLength(1);
    expect(told.rows[0]?.title).toMatch(/払い戻し|Refund of your Koban balance/);
    const mailed = await w.db.pool.query(`select 1 from outbox_messages where recipient = $1 and kind = 'abolition'`, [customer.email]);
    expect(mailed.rowCount).toBe(1);

    // A session alone (a thief's) cannot send the balance anywhere: a fresh step-up bound to this account is required.
    const refused = await customer.client.request(claimBody);
    expect(refused.json()).toMatchObject({ code: 'step_up_required' });
    expect((await customer.client.request({ method: 'GET', url: '/v1/wallet/abolition' })).json()).toMatchObject({ active: true, claims: [] });
    const grant = await stepUpBySms(w.koban, customer, 'add_funding_source', { kind: 'bank', last4: '4321' });
    const claimed = await customer.client.request({ ...claimBody, headers: { 'x-step-up-grant': grant } });
    expect(claimed.statusCode).toBe(201);
    expect(claimed.json()).toMatchObject({ amount: '8800', status: 'pending', accountNumberLast4: '4321' });
    const csv = await finance('GET', '/v1/ops/abolition/outstanding.csv');
    expect(csv.headers['content-type']).toContain('text/csv');
    expect(csv.body).toContain(`${customer.customerId},8800,pending,8800`);

    await vi.waitFor(async () => {
      await w.koban.abolition.payoutBatch();
      const state = (await customer.client.request({ method: 'GET', url: '/v1/wallet/abolition' })).json() as { claims: Array<{ status: string }> };
      expect(state.claims[0]?.status).toBe('paid');
    }, BOUND);
    const after = await w.koban.ledger.getAccount(wallet);
    expect((after?.creditsPosted ?? 0n) - (after?.debitsPosted ?? 0n)).toBe(0n);
  });
});
