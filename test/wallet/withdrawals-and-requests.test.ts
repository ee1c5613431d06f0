// Withdrawals to the customer's own bank account through the real sandbox bank, money requests by link and bill
// splits (issue 19), on PostgreSQL through Koban's HTTP API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fundsTransferAccountId } from '../../src/wallet/balance-kinds.ts';
import { markCustomerVerified } from '../../src/wallet/balances.ts';
import { TransferCodes } from '../../src/ledger/types.ts';
import { signWebhook } from '../../src/wallet/funding/webhook-signature.ts';
import { stepUpBySms, type Customer } from '../identity/support.ts';
import { bankSource, CARDS, cardSource, customerWithPin, deliver, expectLedgerVerifies, feedKinds, PIN, startWalletEnv, topUp, waitForEvent, type WalletEnv } from './support.ts';
import { splitShares } from '../../src/wallet/transfers/requests.ts';

let w: WalletEnv;
const FEE = 100;
beforeAll(async () => { w = await startWalletEnv({ KOBAN_WITHDRAWAL_FEE: String(FEE) }); });
afterAll(async () => {
  if (w !== undefined) await expectLedgerVerifies(w.db);
  await w?.close();
});

async function fundsTransferBalance(customerId: string): Promise<bigint> {
  const account = await w.koban.ledger.getAccount(fundsTransferAccountId(customerId));
  return account === null ? 0n : account.creditsPosted - account.debitsPosted;
}

let accountNumbers = 3_000_000;
async function verifiedWith(amount: number, accountNumber = String(++accountNumbers)): Promise<{ customer: Customer; bank: string }> {
  const customer = await customerWithPin(w.koban);
  await markCustomerVerified(w.db, w.koban.ledger, customer.customerId, 'test:ekyc', new Date());
  const bank = await bankSource(w, customer, accountNumber);
  if (amount > 0) expect((await topUp(w.koban, customer, bank, amount)).json()).toMatchObject({ status: 'completed' });
  return { customer, bank };
}

let keys = 0;
async function withdraw(customer: Customer, fundingSourceId: string, amount: number, options: { key?: string; grant?: string } = {}) {
  const grant = options.grant ?? await stepUpBySms(w.koban, customer, 'withdraw', { amountMinor: amount, fundingSourceId });
  return customer.client.request({
    method: 'POST', url: '/v1/customer/withdrawals', headers: { 'idempotency-key': options.key ?? `wd-${process.pid}-${++keys}`, 'x-step-up-grant': grant },
    body: { fundingSourceId, amount: String(amount), pin: PIN },
  });
}

async function withdrawalStatus(id: string): Promise<string | undefined> {
  return (await w.db.pool.query<{ status: string }>('select status from withdrawals where id = $1', [id])).rows[0]?.status;
}

describe('withdrawal', () => {
  it('a prepaid balance can never be withdrawn: an unverified customer is refused and nothing moves', async () => {
    const customer = await customerWithPin(w.koban);
    const bank = await bankSource(w, customer, String(++accountNumbers));
    expect((await topUp(w.koban, customer, bank, 5_000)).json()).toMatchObject({ status: 'completed' });
    const refused = await withdraw(customer, bank, 1_000);
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ code: 'funds_transfer_not_verified' });
    expect((await w.db.pool.query('select 1 from withdrawals where customer_id = $1', [customer.customerId])).rowCount).toBe(0);
  });

  it('pays to the customer\'s own bank account with the fee, once the bank says paid', async () => {
    const { customer, bank } = await verifiedWith(10_000);
    const started = await withdraw(customer, bank, 4_000);
    expect(started.statusCode).toBe(201);
    const withdrawal = started.json() as { withdrawalId: string; status: string };
    expect(withdrawal).toMatchObject({ status: 'processing', amount: '4000', fee: String(FEE) });
    expect(await fundsTransferBalance(customer.customerId)).toBe(BigInt(10_000 - 4_000 - FEE));
    const paid = await waitForEvent(w.bankHooks, 'payout_paid', `wd-${withdrawal.withdrawalId}`);
    expect((await deliver(w.koban, 'bank', paid)).statusCode).toBe(200);
    expect(await withdrawalStatus(withdrawal.withdrawalId)).toBe('completed');
    expect(await fundsTransferBalance(customer.customerId)).toBe(BigInt(10_000 - 4_000 - FEE));
    expect(await feedKinds(w, customer.customerId)).toEqual(expect.arrayContaining(['transfer_withdrawal_started', 'transfer_withdrawal_completed']));
  });

  it('a failed withdrawal returns the money once, however often the bank\'s word arrives', async () => {
    const { customer, bank } = await verifiedWith(10_000, '7778888');
    const withdrawal = (await withdraw(customer, bank, 5_000)).json() as { withdrawalId: string };
    expect(await fundsTransferBalance(customer.customerId)).toBe(BigInt(10_000 - 5_000 - FEE));
    const failed = await waitForEvent(w.bankHooks, 'payout_failed', `wd-${withdrawal.withdrawalId}`);
    const deliveries = await Promise.all([deliver(w.koban, 'bank', failed), w.koban.wallet.transfers.reconcileWithdrawals(), w.koban.wallet.transfers.reconcileWithdrawals()]);
    expect(deliveries[0].statusCode).toBe(200);
    expect((await deliver(w.koban, 'bank', failed)).statusCode).toBe(200);
    await w.db.pool.query(`update withdrawals set next_check_at = now() - interval '1 minute' where id = $1`, [withdrawal.withdrawalId]);
    await w.koban.wallet.transfers.reconcileWithdrawals();
    expect(await withdrawalStatus(withdrawal.withdrawalId)).toBe('failed');
    expect(await fundsTransferBalance(customer.customerId)).toBe(10_000n);
    const returns = await w.db.pool.query<{ n: string }>('select count(*) as n from transfers where reference = $1 and code = $2', [`withdrawal:${withdrawal.withdrawalId}`, TransferCodes.withdrawalReturn]);
    expect(Number(returns.rows[0]?.n)).toBe(2);
    expect((await feedKinds(w, customer.customerId)).filter((k) => k === 'transfer_withdrawal_failed')).toHaveLength(1);
  });

  it('refuses a card as the destination, a withdrawal over the balance, and one without the right step-up, moving nothing', async () => {
    const { customer, bank } = await verifiedWith(3_000);
    const card = await cardSource(w.koban, customer, CARDS.visa);
    expect((await withdraw(customer, card, 1_000)).json()).toMatchObject({ code: 'bank_account_required' });
    expect((await withdraw(customer, bank, 3_000)).json()).toMatchObject({ code: 'insufficient_funds' });
    const wrongGrant = await stepUpBySms(w.koban, customer, 'withdraw', { amountMinor: 10, fundingSourceId: bank });
    expect((await withdraw(customer, bank, 1_000, { grant: wrongGrant })).json()).toMatchObject({ code: 'step_up_required' });
    expect(await fundsTransferBalance(customer.customerId)).toBe(3_000n);
    expect((await w.db.pool.query('select 1 from withdrawals where customer_id = $1', [customer.customerId])).rowCount).toBe(0);
  });

  it('a bank webhook with a forged signature is refused and changes nothing', async () => {
    const { customer, bank } = await verifiedWith(6_000, '7788888');
    const withdrawal = (await withdraw(customer, bank, 2_000)).json() as { withdrawalId: string };
    const failed = await waitForEvent(w.bankHooks, 'payout_failed', `wd-${withdrawal.withdrawalId}`);
    const forged = signWebhook('whsec_not_the_banks_secret_01', Math.floor(Date.now() / 1000), failed.rawBody);
    const refused = await deliver(w.koban, 'bank', { rawBody: failed.rawBody, signature: forged });
    expect(refused.statusCode).toBe(401);
    expect(await withdrawalStatus(withdrawal.withdrawalId)).toBe('processing');
    expect(await fundsTransferBalance(customer.customerId)).toBe(BigInt(6_000 - 2_000 - FEE));
  });
});

describe('the withdrawals switch', () => {
  it('stops new withdrawals and moves nothing, while a retry of one asked before still hears what happened', async () => {
    const { customer, bank } = await verifiedWith(10_000);
    const key = `wd-switch-${process.pid}`;
    const started = await withdraw(customer, bank, 3_000, { key });
    expect(started.statusCode).toBe(201);
    const withdrawal = started.json() as { withdrawalId: string };
    const actor = { kind: 'operator' as const, id: 'op-withdrawal-tests' };
    await w.koban.operations.switches.set({ name: 'withdrawals', state: 'off', reason: 'bank rail abuse', actor });
    try {
      const refused = await withdraw(customer, bank, 1_000);
      expect(refused.statusCode).toBe(503);
      expect(refused.json()).toMatchObject({ code: 'service_switched_off' });
      const retry = await withdraw(customer, bank, 3_000, { key });
      expect(retry.json()).toMatchObject({ withdrawalId: withdrawal.withdrawalId, amount: '3000' });
      expect(await fundsTransferBalance(customer.customerId)).toBe(BigInt(10_000 - 3_000 - FEE));
      const rows = await w.db.pool.query('select 1 from withdrawals where customer_id = $1', [customer.customerId]);
      expect(rows.rowCount).toBe(1);
    } finally {
      await w.koban.operations.switches.set({ name: 'withdrawals', state: 'on', reason: 'contained', actor });
    }
  });
});

async function kobanIdOf(customer: Customer): Promise<string> {
  return ((await customer.client.request({ method: 'GET', url: '/v1/customer/koban-id' })).json() as { kobanId: string }).kobanId;
}

async function pay(payer: Customer, token: string, requester: Customer, amount: number, key = `pay-${process.pid}-${++keys}`) {
  const grant = await stepUpBySms(w.koban, payer, 'send', { amountMinor: amount, recipient: await kobanIdOf(requester) });
  return payer.client.request({ method: 'POST', url: `/v1/customer/money-requests/${token}/pay`, headers: { 'idempotency-key': key, 'x-step-up-grant': grant }, body: { pin: PIN } });
}

describe('requesting money', () => {
  it('a request link is paid once, straight into the requester\'s balance', async () => {
    const { customer: requester } = await verifiedWith(0);
    const created = await requester.client.request({ method: 'POST', url: '/v1/customer/money-requests', body: { amount: '1200', message: 'concert ticket' } });
    expect(created.statusCode).toBe(201);
    const request = created.json() as { token: string; link: string; status: string };
    expect(request.link).toMatch(/\/wallet\/pay\/[A-Za-z0-9_-]{22}$/);
    const { customer: payer } = await verifiedWith(5_000);
    expect((await payer.client.request({ method: 'GET', url: `/v1/customer/money-requests/${request.token}` })).json()).toMatchObject({ amount: '1200', message: 'concert ticket', status: 'open' });
    expect((await pay(payer, request.token, requester, 1_200)).json()).toMatchObject({ status: 'completed', amount: '1200' });
    expect(await fundsTransferBalance(requester.customerId)).toBe(1_200n);
    const again = await pay(payer, request.token, requester, 1_200);
    expect(again.json()).toMatchObject({ code: 'money_request_not_open' });
    expect(await fundsTransferBalance(payer.customerId)).toBe(3_800n);
  });
});

describe('splitting a bill (わりかん)', () => {
  it('shares add up to the total: the organiser absorbs the leftover yen, or the first participants pay one more', () => {
    expect(splitShares(10_000n, 2, true)).toEqual([3_333n, 3_333n]);
    expect(splitShares(10_000n, 3, false)).toEqual([3_334n, 3_333n, 3_333n]);
    for (const [total, people, shares] of [[1n, 3, false], [7n, 2, true], [999_999n, 7, false], [1_000_000n, 20, true]] as const) {
      const split = splitShares(total, people, shares);
      const sum = split.reduce((a, b) => a + b, 0n);
      const base = total / BigInt(people + (shares ? 1 : 0));
      // Sharing, the organiser's own share is what is left: an even share plus fewer than n leftover yen.
      if (shares) expect(total - sum - base).toBeLessThan(BigInt(people + 1));
      else expect(sum).toBe(total);
      expect(split.every((share) => share === base || share === base + 1n)).toBe(true);
      expect(split.every((share) => share >= 0n)).toBe(true);
    }
  });

  it('each participant gets a request for their share, only they can pay it, reminders go out, and the organiser sees who paid', async () => {
    const { customer: organiser } = await verifiedWith(0);
    const { customer: alice } = await verifiedWith(10_000);
    const { customer: bob } = await verifiedWith(10_000);
    const created = await organiser.client.request({ method: 'POST', url: '/v1/customer/splits', body: { total: '9001', message: 'yakiniku', participants: [alice.phone, await kobanIdOf(bob)], includeMe: true } });
    expect(created.statusCode).toBe(201);
    const split = created.json() as { splitId: string; requests: Array<{ token: string; amount: string; payer: string }> };
    expect(split.requests.map((r) => r.amount)).toEqual(['3000', '3000']);
    expect(await feedKinds(w, alice.customerId)).toContain('transfer_money_requested');
    const aliceHandle = await kobanIdOf(alice);
    const forAlice = split.requests.find((r) => r.payer === aliceHandle);
    const forBob = split.requests.find((r) => r.payer !== aliceHandle);
    if (forAlice === undefined || forBob === undefined) throw new Error('one request each');
    // Bob cannot pay (or even see) Alice's share.
    expect((await bob.client.request({ method: 'GET', url: `/v1/customer/money-requests/${forAlice.token}` })).statusCode).toBe(404);
    expect((await pay(alice, forAlice.token, organiser, 3_000)).json()).toMatchObject({ status: 'completed' });
    const reminded = await organiser.client.request({ method: 'POST', url: `/v1/customer/splits/${split.splitId}/remind` });
    expect(reminded.json()).toEqual({ reminded: 1 });
    expect((await organiser.client.request({ method: 'POST', url: `/v1/customer/splits/${split.splitId}/remind` })).json()).toEqual({ reminded: 0 });
    expect(await feedKinds(w, bob.customerId)).toContain('transfer_money_request_reminder');
    expect(await feedKinds(w, alice.customerId)).not.toContain('transfer_money_request_reminder');
    const status = (await organiser.client.request({ method: 'GET', url: `/v1/customer/splits/${split.splitId}` })).json() as { participants: Array<{ payer: string; status: string }> };
    expect(status.participants).toEqual(expect.arrayContaining([expect.objectContaining({ payer: aliceHandle, status: 'paid' }), expect.objectContaining({ payer: forBob.payer, status: 'open' })]));
    expect(await fundsTransferBalance(organiser.customerId)).toBe(3_000n);
    expect((await bob.client.request({ method: 'GET', url: `/v1/customer/splits/${split.splitId}` })).statusCode).toBe(404);
  });

  it('refuses a split with the organiser or a repeated participant in it, creating nothing', async () => {
    const { customer: organiser } = await verifiedWith(0);
    const { customer: alice } = await verifiedWith(0);
    const refused = await organiser.client.request({ method: 'POST', url: '/v1/customer/splits', body: { total: '1000', participants: [alice.phone, await kobanIdOf(alice)] } });
    expect(refused.statusCode).toBe(400);
    expect((await w.db.pool.query('select 1 from bill_splits where owner_id = $1', [organiser.customerId])).rowCount).toBe(0);
  });
});
