// Sending money between customers (issue 19) on PostgreSQL through Koban's HTTP API, with the real sandbox bank
// funding the funds-transfer balances: who may send what, limits per tier, races on one balance, acceptance,
// auto-acceptance, the claim deadline's return (exactly once), and both parties' feeds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fundsTransferAccountId } from '../../src/wallet/balance-kinds.ts';
import { markCustomerVerified } from '../../src/wallet/balances.ts';
import { TransferCodes } from '../../src/ledger/types.ts';
import { stepUpBySms, type Customer } from '../identity/support.ts';
import { balanceOf, bankSource, CARDS, cardSource, customerWithPin, expectLedgerVerifies, feedKinds, PIN, startWalletEnv, topUp, type WalletEnv } from './support.ts';

let w: WalletEnv;
let offsetMs = 0;
const clock = () => new Date(Date.now() + offsetMs);
const SEND_DAILY_MAX = 50_000;

beforeAll(async () => {
  w = await startWalletEnv({ KOBAN_VERIFIED_SEND_DAILY_MAX: String(SEND_DAILY_MAX) }, { clock });
});
afterAll(async () => {
  if (w !== undefined) await expectLedgerVerifies(w.db);
  await w?.close();
});

async function fundsTransferBalance(customerId: string): Promise<bigint> {
  const account = await w.koban.ledger.getAccount(fundsTransferAccountId(customerId));
  return account === null ? 0n : account.creditsPosted - account.debitsPosted;
}

let accountNumbers = 2_000_000;
/** A verified customer whose funds-transfer balance holds `amount` (a bank top-up through the sandbox). */
async function verifiedWith(amount: number): Promise<Customer> {
  const customer = await customerWithPin(w.koban);
  await markCustomerVerified(w.db, w.koban.ledger, customer.customerId, 'test:ekyc', new Date());
  if (amount > 0) {
    accountNumbers++;
    const response = await topUp(w.koban, customer, await bankSource(w, customer, String(accountNumbers)), amount);
    expect(response.json()).toMatchObject({ status: 'completed' });
  }
  expect(await fundsTransferBalance(customer.customerId)).toBe(BigInt(amount));
  return customer;
}

async function kobanIdOf(customer: Customer): Promise<string> {
  return ((await customer.client.request({ method: 'GET', url: '/v1/customer/koban-id' })).json() as { kobanId: string }).kobanId;
}

let keys = 0;
async function send(from: Customer, to: string, amount: number, options: { key?: string; grant?: string; recipient?: string; message?: string } = {}) {
  const recipient = options.recipient ?? ((await from.client.request({ method: 'GET', url: `/v1/customer/recipients?to=${encodeURIComponent(to)}` })).json() as { kobanId: string }).kobanId;
  const grant = options.grant ?? await stepUpBySms(w.koban, from, 'send', { amountMinor: amount, recipient });
  keys++;
  return from.client.request({
    method: 'POST', url: '/v1/customer/transfers', headers: { 'idempotency-key': options.key ?? `send-${process.pid}-${keys}`, 'x-step-up-grant': grant },
    body: { to, amount: String(amount), pin: PIN, ...(options.message === undefined ? {} : { message: options.message }) },
  });
}

async function transferRows(senderId: string): Promise<number> {
  return Number((await w.db.pool.query<{ n: string }>('select count(*) as n from p2p_transfers where sender_id = $1', [senderId])).rows[0]?.n);
}

describe('who may send what', () => {
  it('a prepaid balance can never be sent: an unverified customer is refused and nothing moves', async () => {
    const payer = await customerWithPin(w.koban);
    expect((await topUp(w.koban, payer, await cardSource(w.koban, payer, CARDS.visa), 5_000)).json()).toMatchObject({ status: 'completed' });
    const friend = await verifiedWith(0);
    const refused = await send(payer, friend.phone, 1_000, { recipient: await kobanIdOf(friend) });
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ code: 'funds_transfer_not_verified' });
    expect(await balanceOf(w, payer.customerId)).toBe(5_000n);
    expect(await transferRows(payer.customerId)).toBe(0);
  });

  it('a prepaid balance can never be sent: a verified customer\'s card money stays put even when the funds-transfer balance is empty', async () => {
    const payer = await verifiedWith(0);
    expect((await topUp(w.koban, payer, await cardSource(w.koban, payer, CARDS.mastercard), 5_000)).json()).toMatchObject({ status: 'completed' });
    const friend = await verifiedWith(0);
    // A send right after topping up from a card added today is held for review (risk, below); here the card is old.
    await w.db.pool.query(`update funding_sources set created_at = created_at - interval '2 days' where customer_id = $1`, [payer.customerId]);
    const refused = await send(payer, await kobanIdOf(friend), 1_000);
    expect(refused.statusCode).toBe(422);
    expect(refused.json()).toMatchObject({ code: 'insufficient_funds' });
    expect(await balanceOf(w, payer.customerId)).toBe(5_000n);
    expect(await fundsTransferBalance(friend.customerId)).toBe(0n);
    expect(await transferRows(payer.customerId)).toBe(0);
  });

  it('refuses sending to yourself, to nobody, and bad amounts with a 4xx that changes nothing', async () => {
    const payer = await verifiedWith(3_000);
    const self = await kobanIdOf(payer);
    expect((await send(payer, self, 1_000, { recipient: self })).json()).toMatchObject({ code: 'recipient_is_sender' });
    const nobody = await payer.client.request({ method: 'GET', url: '/v1/customer/recipients?to=%2B819099999999' });
    expect(nobody.statusCode).toBe(404);
    const tooMuch = await send(payer, (await verifiedWith(0)).phone, 1_000_001, { recipient: 'AAAAAAAA', grant: 'x' });
    expect(tooMuch.statusCode).toBe(422);
    expect(tooMuch.json()).toMatchObject({ code: 'send_limit_exceeded', limit: 'per_transfer' });
    expect(await fundsTransferBalance(payer.customerId)).toBe(3_000n);
  });
});

describe('sending and accepting', () => {
  it('a send to a phone number waits for the recipient, who accepts it; both feeds say so and the sender may contest it', async () => {
    const payer = await verifiedWith(10_000);
    const friend = await verifiedWith(0);
    const sent = await send(payer, friend.phone, 3_000, { message: 'lunch' });
    expect(sent.statusCode).toBe(201);
    const transfer = sent.json() as { transferId: string; status: string; counterparty: string };
    expect(transfer).toMatchObject({ status: 'pending', direction: 'sent', amount: '3000', message: 'lunch', counterparty: await kobanIdOf(friend) });
    expect(await fundsTransferBalance(payer.customerId)).toBe(7_000n);
    expect(await fundsTransferBalance(friend.customerId)).toBe(0n);

    const incoming = (await friend.client.request({ method: 'GET', url: '/v1/customer/transfers' })).json() as { transfers: Array<{ transferId: string; direction: string; status: string }> };
    expect(incoming.transfers).toEqual([expect.objectContaining({ transferId: transfer.transferId, direction: 'received', status: 'pending' })]);
    const stranger = await verifiedWith(0);
    expect((await stranger.client.request({ method: 'POST', url: `/v1/customer/transfers/${transfer.transferId}/accept` })).statusCode).toBe(404);
    const accepted = await friend.client.request({ method: 'POST', url: `/v1/customer/transfers/${transfer.transferId}/accept` });
    expect(accepted.json()).toMatchObject({ status: 'completed' });
    const again = await friend.client.request({ method: 'POST', url: `/v1/customer/transfers/${transfer.transferId}/accept` });
    expect(again.json()).toMatchObject({ status: 'completed' });
    expect((await friend.client.request({ method: 'POST', url: `/v1/customer/transfers/${transfer.transferId}/decline` })).json()).toMatchObject({ code: 'transfer_not_pending' });
    expect(await fundsTransferBalance(friend.customerId)).toBe(3_000n);
    expect(await fundsTransferBalance(payer.customerId)).toBe(7_000n);

    expect(await feedKinds(w, payer.customerId)).toEqual(expect.arrayContaining(['transfer_sent', 'transfer_accepted']));
    expect(await feedKinds(w, friend.customerId)).toEqual(expect.arrayContaining(['transfer_incoming', 'transfer_received']));
    const contestable = await w.db.pool.query<{ contestable: boolean }>(`select contestable from customer_notifications where customer_id = $1 and kind = 'transfer_sent'`, [payer.customerId]);
    expect(contestable.rows).toEqual([{ contestable: true }]);
  });

  it('a sender who was accepted before is accepted at once; a decline returns the money', async () => {
    const payer = await verifiedWith(10_000);
    const friend = await verifiedWith(0);
    const handle = await kobanIdOf(friend);
    const first = (await send(payer, handle, 1_000)).json() as { transferId: string };
    expect((await friend.client.request({ method: 'POST', url: `/v1/customer/transfers/${first.transferId}/accept` })).json()).toMatchObject({ status: 'completed' });
    expect((await send(payer, handle, 2_000)).json()).toMatchObject({ status: 'completed', autoAccepted: true });
    expect(await fundsTransferBalance(friend.customerId)).toBe(3_000n);

    const other = await verifiedWith(0);
    const pending = (await send(payer, await kobanIdOf(other), 4_000)).json() as { transferId: string };
    expect((await other.client.request({ method: 'POST', url: `/v1/customer/transfers/${pending.transferId}/decline` })).json()).toMatchObject({ status: 'declined' });
    expect(await fundsTransferBalance(payer.customerId)).toBe(7_000n);
    expect(await feedKinds(w, payer.customerId)).toContain('transfer_declined');
  });

  it('an unverified recipient cannot accept until verified', async () => {
    const payer = await verifiedWith(5_000);
    const newcomer = await customerWithPin(w.koban);
    const pending = (await send(payer, newcomer.phone, 1_000)).json() as { transferId: string; status: string };
    expect(pending.status).toBe('pending');
    const refused = await newcomer.client.request({ method: 'POST', url: `/v1/customer/transfers/${pending.transferId}/accept` });
    expect(refused.json()).toMatchObject({ code: 'recipient_not_verified' });
    await markCustomerVerified(w.db, w.koban.ledger, newcomer.customerId, 'test:ekyc', new Date());
    expect((await newcomer.client.request({ method: 'POST', url: `/v1/customer/transfers/${pending.transferId}/accept` })).json()).toMatchObject({ status: 'completed' });
    expect(await fundsTransferBalance(newcomer.customerId)).toBe(1_000n);
  });

  it('a retry with the same Idempotency-Key answers the original send; another body under it is refused', async () => {
    const payer = await verifiedWith(5_000);
    const friend = await verifiedWith(0);
    const handle = await kobanIdOf(friend);
    const key = `send-retry-${process.pid}`;
    const first = await send(payer, handle, 1_000, { key });
    expect(first.statusCode).toBe(201);
    const retry = await send(payer, handle, 1_000, { key, grant: 'already-used' });
    expect(retry.statusCode).toBe(200);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.json()).toMatchObject({ transferId: (first.json() as { transferId: string }).transferId });
    expect((await send(payer, handle, 2_000, { key, grant: 'x' })).json()).toMatchObject({ code: 'idempotency_key_reused' });
    expect(await fundsTransferBalance(payer.customerId)).toBe(4_000n);
  });

  it('a send needs a step-up for exactly this amount and recipient', async () => {
    const payer = await verifiedWith(5_000);
    const friend = await verifiedWith(0);
    const handle = await kobanIdOf(friend);
    const grant = await stepUpBySms(w.koban, payer, 'send', { amountMinor: 100, recipient: handle });
    const refused = await send(payer, handle, 4_000, { grant });
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ code: 'step_up_required' });
    expect(await fundsTransferBalance(payer.customerId)).toBe(5_000n);
  });
});

describe('risk on every send', () => {
  it('a send right after a top-up from a card added today is held for review with the reason', async () => {
    const payer = await verifiedWith(5_000);
    expect((await topUp(w.koban, payer, await cardSource(w.koban, payer, CARDS.jcb), 3_000)).json()).toMatchObject({ status: 'completed' });
    const friend = await verifiedWith(0);
    const held = await send(payer, await kobanIdOf(friend), 1_000);
    expect(held.statusCode).toBe(403);
    const { riskDecisionId } = held.json() as { code: string; riskDecisionId: string };
    expect(held.json()).toMatchObject({ code: 'risk_held_for_review' });
    const decision = await w.db.pool.query<{ kind: string; reasons: Array<{ rule: string }> }>('select kind, reasons from risk_events where id = $1', [riskDecisionId]);
    expect(decision.rows[0]).toMatchObject({ kind: 'send', reasons: [expect.objectContaining({ rule: 'send_after_new_card_top_up' })] });
    expect(await fundsTransferBalance(payer.customerId)).toBe(5_000n);
  });

  it('many first-time senders to one recipient within a day hold the next send for review (a mule)', async () => {
    await w.koban.risk.settings.updateRule('mule_new_senders', { params: { windowHours: 24, newSendersMax: 2 } }, { kind: 'operator', id: 'op-transfer-tests' }, 'small threshold for the test');
    try {
      const mule = await verifiedWith(0);
      const handle = await kobanIdOf(mule);
      const senders = [await verifiedWith(2_000), await verifiedWith(2_000), await verifiedWith(2_000)];
      expect((await send(senders[0]!, handle, 1_000)).statusCode).toBe(201);
      expect((await send(senders[1]!, handle, 1_000)).statusCode).toBe(201);
      // The same sender again is not a new sender.
      expect((await send(senders[0]!, handle, 500)).statusCode).toBe(201);
      const held = await send(senders[2]!, handle, 1_000);
      expect(held.json()).toMatchObject({ code: 'risk_held_for_review' });
      expect(await fundsTransferBalance(senders[2]!.customerId)).toBe(2_000n);
    } finally {
      await w.koban.risk.settings.updateRule('mule_new_senders', { params: { windowHours: 24, newSendersMax: 10 } }, { kind: 'operator', id: 'op-transfer-tests' }, 'back to the default');
    }
  });
});

describe('the transfers switch', () => {
  it('stops new sends while a send already made can still be accepted, and a retry of it still hears what happened', async () => {
    const payer = await verifiedWith(10_000);
    const friend = await verifiedWith(0);
    const key = `send-switch-${process.pid}`;
    const made = await send(payer, friend.phone, 2_000, { key });
    expect(made.statusCode).toBe(201);
    const transfer = made.json() as { transferId: string };
    const actor = { kind: 'operator' as const, id: 'op-transfer-tests' };
    await w.koban.operations.switches.set({ name: 'transfers', state: 'off', reason: 'mule ring sending money out', actor });
    try {
      const refused = await send(payer, friend.phone, 1_000);
      expect(refused.statusCode).toBe(503);
      expect(refused.json()).toMatchObject({ code: 'service_switched_off' });
      const retry = await send(payer, friend.phone, 2_000, { key });
      expect(retry.json()).toMatchObject({ transferId: transfer.transferId, status: 'pending' });
      const accepted = await friend.client.request({ method: 'POST', url: `/v1/customer/transfers/${transfer.transferId}/accept` });
      expect(accepted.json()).toMatchObject({ status: 'completed' });
      expect(await fundsTransferBalance(payer.customerId)).toBe(8_000n);
      expect(await fundsTransferBalance(friend.customerId)).toBe(2_000n);
      expect(await transferRows(payer.customerId)).toBe(1);
    } finally {
      await w.koban.operations.switches.set({ name: 'transfers', state: 'on', reason: 'contained', actor });
    }
  });
});

describe('limits and races', () => {
  it('a send over the tier limit is refused before money moves, and the customer sees what is left', async () => {
    const payer = await verifiedWith(80_000);
    const friend = await verifiedWith(0);
    const handle = await kobanIdOf(friend);
    expect((await send(payer, handle, 30_000)).statusCode).toBe(201);
    const refused = await send(payer, handle, 30_000);
    expect(refused.statusCode).toBe(422);
    expect(refused.json()).toMatchObject({ code: 'send_limit_exceeded', limit: 'daily', available: '20000' });
    expect(await fundsTransferBalance(payer.customerId)).toBe(50_000n);
    expect(await transferRows(payer.customerId)).toBe(1);
    const limits = (await payer.client.request({ method: 'GET', url: '/v1/customer/limits' })).json();
    expect(limits).toMatchObject({ tier: 'verified', send: { perTransferMax: '1000000', daily: { limit: String(SEND_DAILY_MAX), used: '30000', remaining: '20000' } } });
    const basic = (await (await customerWithPin(w.koban)).client.request({ method: 'GET', url: '/v1/customer/limits' })).json();
    expect(basic).toMatchObject({ tier: 'basic', send: { daily: { limit: '0', remaining: '0' } }, withdrawal: { daily: { remaining: '0' } } });
  });

  it('two sends racing one balance never overdraw it', async () => {
    const payer = await verifiedWith(10_000);
    const friend = await verifiedWith(0);
    const handle = await kobanIdOf(friend);
    const grants: string[] = [];
    for (let i = 0; i < 4; i++) grants.push(await stepUpBySms(w.koban, payer, 'send', { amountMinor: 4_000, recipient: handle }));
    const answers = await Promise.all(grants.map((grant) => send(payer, handle, 4_000, { grant })));
    const statuses = answers.map((a) => a.statusCode).sort();
    expect(statuses).toEqual([201, 201, 422, 422]);
    for (const refused of answers.filter((a) => a.statusCode === 422)) expect(refused.json()).toMatchObject({ code: 'insufficient_funds' });
    expect(await fundsTransferBalance(payer.customerId)).toBe(2_000n);
    expect(await transferRows(payer.customerId)).toBe(2);
  });
});

describe('the claim deadline', () => {
  it('an unclaimed transfer returns exactly once even when the job runs twice and concurrently', async () => {
    const payer = await verifiedWith(6_000);
    const newcomer = await customerWithPin(w.koban);
    const pending = (await send(payer, newcomer.phone, 5_000)).json() as { transferId: string; claimDeadline: string };
    expect(await fundsTransferBalance(payer.customerId)).toBe(1_000n);
    expect(await w.koban.wallet.transfers.returnDue()).toBe(0);
    offsetMs += Date.parse(pending.claimDeadline) - Date.now() + 1_000;
    try {
      const runs = await Promise.all([w.koban.wallet.transfers.returnDue(), w.koban.wallet.transfers.returnDue(), w.koban.wallet.transfers.returnDue()]);
      expect(runs.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1);
      await w.koban.wallet.transfers.returnDue();
    } finally {
      offsetMs = 0;
    }
    expect(await fundsTransferBalance(payer.customerId)).toBe(6_000n);
    const legs = await w.db.pool.query<{ n: string }>(`select count(*) as n from transfers where reference = $1 and code = $2`, [`p2p:${pending.transferId}`, TransferCodes.p2pReturn]);
    expect(Number(legs.rows[0]?.n)).toBe(1);
    expect((await feedKinds(w, payer.customerId)).filter((k) => k === 'transfer_returned')).toHaveLength(1);
    await markCustomerVerified(w.db, w.koban.ledger, newcomer.customerId, 'test:ekyc', new Date());
    expect((await newcomer.client.request({ method: 'POST', url: `/v1/customer/transfers/${pending.transferId}/accept` })).json()).toMatchObject({ code: 'transfer_not_pending' });
    expect(await fundsTransferBalance(newcomer.customerId)).toBe(0n);
  });
});
