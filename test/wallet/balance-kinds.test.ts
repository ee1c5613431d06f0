// Two kinds of balance (issue 19) end to end: which top-up fills which balance, the balances as the wallet
// shows them, and the customer's spend order — Koban's HTTP API, the real sandbox acquirer and bank, PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fundsTransferAccountId } from '../../src/wallet/balance-kinds.ts';
import { markCustomerVerified } from '../../src/wallet/balances.ts';
import { balanceOf, bankSource, CARDS, cardSource, customerWithPin, expectLedgerVerifies, startWalletEnv, topUp, type WalletEnv } from './support.ts';

let w: WalletEnv;
beforeAll(async () => { w = await startWalletEnv(); });
afterAll(async () => {
  if (w !== undefined) await expectLedgerVerifies(w.db);
  await w?.close();
});

async function fundsTransferBalance(customerId: string): Promise<bigint | null> {
  const account = await w.koban.ledger.getAccount(fundsTransferAccountId(customerId));
  return account === null ? null : account.creditsPosted - account.debitsPosted;
}

describe('which top-up fills which balance', () => {
  it('an unverified customer\'s card and bank top-ups are prepaid, and they have no funds-transfer balance', async () => {
    const customer = await customerWithPin(w.koban);
    expect((await topUp(w.koban, customer, await cardSource(w.koban, customer, CARDS.visa), 3_000)).json()).toMatchObject({ status: 'completed' });
    expect((await topUp(w.koban, customer, await bankSource(w, customer), 4_000)).json()).toMatchObject({ status: 'completed' });
    expect(await balanceOf(w, customer.customerId)).toBe(7_000n);
    expect(await fundsTransferBalance(customer.customerId)).toBeNull();
    const balances = await customer.client.request({ method: 'GET', url: '/v1/wallet/balances' });
    expect(balances.statusCode).toBe(200);
    expect(balances.json()).toEqual({
      total: '7000', identityVerified: false, spendOrder: 'prepaid_first', fundsTransferPerTransferMax: '1000000', fundsTransfer: null,
      prepaid: { kind: 'prepaid', balance: '7000', available: '7000', status: 'active', canPay: true, canSend: false, canWithdraw: false },
    });
  });

  it('a verified customer\'s bank top-up lands in the funds-transfer balance; card money stays prepaid', async () => {
    const customer = await customerWithPin(w.koban);
    await markCustomerVerified(w.db, w.koban.ledger, customer.customerId, 'test:ekyc', new Date());
    expect((await topUp(w.koban, customer, await cardSource(w.koban, customer, CARDS.visa), 2_000)).json()).toMatchObject({ status: 'completed' });
    expect((await topUp(w.koban, customer, await bankSource(w, customer), 5_000)).json()).toMatchObject({ status: 'completed' });
    expect(await balanceOf(w, customer.customerId)).toBe(2_000n);
    expect(await fundsTransferBalance(customer.customerId)).toBe(5_000n);
    const balances = (await customer.client.request({ method: 'GET', url: '/v1/wallet/balances' })).json();
    expect(balances).toMatchObject({
      total: '7000', identityVerified: true,
      prepaid: { balance: '2000', canSend: false, canWithdraw: false },
      fundsTransfer: { kind: 'funds_transfer', balance: '5000', available: '5000', canPay: true, canSend: true, canWithdraw: true },
    });
  });
});

describe('limits per tier', () => {
  it('a verified customer may top up more than a basic one; both see what is left', async () => {
    const basic = await customerWithPin(w.koban);
    const basicBank = await bankSource(w, basic, '1234501');
    const refused = await topUp(w.koban, basic, basicBank, 60_000);
    expect(refused.statusCode).toBe(422);
    expect(refused.json()).toMatchObject({ code: 'top_up_limit_exceeded', limit: 'per_top_up' });
    expect((await topUp(w.koban, basic, basicBank, 30_000)).json()).toMatchObject({ status: 'completed' });
    expect((await basic.client.request({ method: 'GET', url: '/v1/customer/limits' })).json()).toMatchObject({
      tier: 'basic', topUp: { perTopUpMax: '50000', daily: { limit: '100000', used: '30000', remaining: '70000' }, monthly: { limit: '300000', used: '30000', remaining: '270000' } },
      // A basic customer holds no funds-transfer balance: nothing to send or withdraw (issue 19, transfers/).
      send: { daily: { limit: '0', remaining: '0' } }, withdrawal: { monthly: { limit: '0', remaining: '0' } }, payment: { daily: { limit: '500000' } },
    });

    const verified = await customerWithPin(w.koban);
    await markCustomerVerified(w.db, w.koban.ledger, verified.customerId, 'test:ekyc', new Date());
    expect((await topUp(w.koban, verified, await bankSource(w, verified, '1234502'), 60_000)).json()).toMatchObject({ status: 'completed' });
    expect(await fundsTransferBalance(verified.customerId)).toBe(60_000n);
    expect((await verified.client.request({ method: 'GET', url: '/v1/customer/limits' })).json()).toMatchObject({
      tier: 'verified', topUp: { perTopUpMax: '500000', daily: { limit: '500000', used: '60000', remaining: '440000' } },
    });
  });
});

describe('freezing', () => {
  it('"this wasn\'t me" freezes the funds-transfer balance with the wallet, so neither can pay', async () => {
    const customer = await customerWithPin(w.koban);
    await markCustomerVerified(w.db, w.koban.ledger, customer.customerId, 'test:ekyc', new Date());
    expect((await topUp(w.koban, customer, await bankSource(w, customer), 5_000)).json()).toMatchObject({ status: 'completed' });
    await w.koban.operations.cases.reportNotMe(customer.customerId, 'test:not-me');
    const balances = (await customer.client.request({ method: 'GET', url: '/v1/wallet/balances' })).json();
    expect(balances).toMatchObject({ prepaid: { status: 'frozen' }, fundsTransfer: { status: 'frozen', balance: '5000' } });
  });
});

describe('the spend order', () => {
  it('is the customer\'s to choose, and anything else is refused as a 400 that changes nothing', async () => {
    const customer = await customerWithPin(w.koban);
    const chosen = await customer.client.request({ method: 'PUT', url: '/v1/wallet/spend-order', body: { spendOrder: 'funds_transfer_first' } });
    expect(chosen.statusCode).toBe(200);
    expect(chosen.json()).toMatchObject({ spendOrder: 'funds_transfer_first' });
    const refused = await customer.client.request({ method: 'PUT', url: '/v1/wallet/spend-order', body: { spendOrder: 'points_first' } });
    expect(refused.statusCode).toBe(400);
    expect((await customer.client.request({ method: 'GET', url: '/v1/wallet/balances' })).json()).toMatchObject({ spendOrder: 'funds_transfer_first' });
  });

  it('needs a signed-in customer', async () => {
    const anonymous = await w.koban.app.inject({ method: 'GET', url: '/v1/wallet/balances' });
    expect(anonymous.statusCode).toBe(401);
  });
});
