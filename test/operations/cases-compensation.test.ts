/**
 * Cases and account actions, four eyes, compensation and the incident action, through the operator API
 * against the real PostgreSQL. Identity and the wallet directory are test implementations of the
 * interfaces operations defines (src/operations/adapters.ts).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKoban, type Koban } from '../../src/koban.ts';
import { requireTransferCreated } from '../../src/ledger/ledger.ts';
import { AccountCodes, AccountFlags, Ledgers, TransferCodes } from '../../src/ledger/types.ts';
import type { CustomerWallets, IdentityControl } from '../../src/operations/adapters.ts';
import { compensationTransferId } from '../../src/operations/compensation/compensation.ts';
import { expectLedgerConsistent } from '../ledger/fixtures.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { testConfig } from '../support/koban.ts';
import { opsRequest, signInAs, type SignedInOperator } from './support.ts';

/** Identity's side, kept in memory: who was forced to reset, how many sessions each customer has. */
class RecordingIdentity implements IdentityControl {
  readonly resets: string[] = [];
  readonly sessions = new Map<string, number>();
  resetAllCalls = 0;
  async forcePasswordAndPinReset(customerId: string): Promise<void> {
    this.resets.push(customerId);
  }
  async revokeSessions(customerId: string): Promise<number> {
    const count = this.sessions.get(customerId) ?? 0;
    this.sessions.set(customerId, 0);
    return count;
  }
  async forceResetAllCustomers(): Promise<{ customers: number; sessions: number }> {
    this.resetAllCalls += 1;
    const sessions = [...this.sessions.values()].reduce((a, b) => a + b, 0);
    this.sessions.clear();
    return { customers: 3, sessions };
  }
}

class MapWallets implements CustomerWallets {
  readonly byCustomer = new Map<string, string>();
  async walletAccountIdOf(customerId: string) { return this.byCustomer.get(customerId) ?? null; }
  async customerIdOf(walletAccountId: string) { return [...this.byCustomer].find(([, wallet]) => wallet === walletAccountId)?.[0] ?? null; }
}

let db: TestDatabase;
let koban: Koban;
const identity = new RecordingIdentity();
const wallets = new MapWallets();
const platform = { card: randomUUID(), bank: randomUUID(), merchant: randomUUID(), compensation: randomUUID() };

beforeAll(async () => {
  db = await createTestDatabase();
  koban = await createKoban(testConfig(), db, { operations: { identity, wallets } });
  await koban.app.ready();
  await koban.ledger.createAccounts([
    { id: platform.card, ledger: Ledgers.JPY, code: AccountCodes.fundingClearingCard, flags: 0, reference: 'card' },
    { id: platform.bank, ledger: Ledgers.JPY, code: AccountCodes.fundingClearingBank, flags: 0, reference: 'bank' },
    { id: platform.merchant, ledger: Ledgers.JPY, code: AccountCodes.merchantReceivable, flags: 0, reference: 'tobacco-shop' },
    { id: platform.compensation, ledger: Ledgers.JPY, code: AccountCodes.compensation, flags: 0, reference: 'compensation' },
  ]);
});
afterAll(async () => {
  await expectLedgerConsistent(db);
  await koban.close();
  await db.close();
});

async function customerWithBalance(balance: bigint): Promise<{ customerId: string; wallet: string }> {
  const customerId = `cust-${randomUUID()}`;
  const wallet = randomUUID();
  await koban.ledger.createAccounts([{ id: wallet, ledger: Ledgers.JPY, code: AccountCodes.customerWallet, flags: AccountFlags.debitsMustNotExceedCredits, reference: customerId }]);
  wallets.byCustomer.set(customerId, wallet);
  if (balance > 0n) await move(platform.card, wallet, balance, TransferCodes.topUp);
  return { customerId, wallet };
}

async function move(debit: string, credit: string, amount: bigint, code: number): Promise<string> {
  const id = randomUUID();
  requireTransferCreated(await koban.ledger.createTransfers([{ id, debitAccountId: debit, creditAccountId: credit, amount, pendingId: null, ledger: Ledgers.JPY, code, flags: 0, timeoutSeconds: 0, reference: `ref-${id.slice(0, 8)}` }]));
  return id;
}

async function tryPay(wallet: string, amount: bigint): Promise<string> {
  const [result] = await koban.ledger.createTransfers([{ id: randomUUID(), debitAccountId: wallet, creditAccountId: platform.merchant, amount, pendingId: null, ledger: Ledgers.JPY, code: TransferCodes.payment, flags: 0, timeoutSeconds: 0, reference: null }]);
  return result?.result ?? 'none';
}

const balanceOf = async (wallet: string) => {
  const account = await koban.ledger.getAccount(wallet);
  return account === null ? null : account.creditsPosted - account.debitsPosted;
};

async function caseFor(customerId: string): Promise<string> {
  const found = await db.pool.query<{ id: string }>(`select id from cases where account_id = $1 and status = 'open'`, [customerId]);
  const id = found.rows[0]?.id;
  if (id === undefined) throw new Error('no open case');
  return id;
}

describe('cases', () => {
  it('risk alerts group into one open case per account', async () => {
    const { customerId } = await customerWithBalance(0n);
    for (let i = 0; i < 4; i++) await koban.risk.assess({ kind: 'top_up', accountId: customerId, amountMinor: 1_000n });
    const cases = await db.pool.query('select id, alert_count, source from cases where account_id = $1', [customerId]);
    expect(cases.rows).toHaveLength(1);
    expect(cases.rows[0]).toMatchObject({ alert_count: 2, source: 'risk' });
  });

  it('"this wasn\'t me" freezes the wallet at once (balance kept, debits blocked, credits still land) and opens a case', async () => {
    const { customerId, wallet } = await customerWithBalance(10_000n);
    const report = await koban.operations.cases.reportNotMe(customerId, 'payment:abc');
    expect(report.walletFrozen).toBe(true);
    expect((await koban.ledger.getAccount(wallet))?.status).toBe('frozen');
    expect(await balanceOf(wallet)).toBe(10_000n);
    expect(await tryPay(wallet, 100n)).toBe('debit_account_frozen');
    await move(platform.merchant, wallet, 500n, TransferCodes.refund);
    expect(await balanceOf(wallet)).toBe(10_500n);
    const detail = await koban.operations.cases.get(report.caseId);
    expect(detail).toMatchObject({ source: 'customer', status: 'open', accountId: customerId });
    expect(detail.notes[0]?.body).toContain("this wasn't me");
  });

  it('support freezes an account; support cannot unfreeze it; a risk analyst can', async () => {
    const { customerId, wallet } = await customerWithBalance(5_000n);
    await koban.risk.assess({ kind: 'payment', accountId: customerId, deviceId: 'dev-blocked-x', amountMinor: 100n });
    await koban.risk.settings.addToList('blocked_device', 'dev-blocked-y', 'test', { kind: 'system', id: 'test' });
    await koban.risk.assess({ kind: 'payment', accountId: customerId, deviceId: 'dev-blocked-y', amountMinor: 100n });
    const caseId = await caseFor(customerId);
    const support = await signInAs(koban, 'support');
    const frozen = await opsRequest(koban, support)('POST', `/v1/ops/cases/${caseId}/freeze`, { reason: 'suspicious payments' });
    expect(frozen.statusCode).toBe(200);
    expect(await tryPay(wallet, 100n)).toBe('debit_account_frozen');
    expect((await opsRequest(koban, support)('POST', `/v1/ops/cases/${caseId}/unfreeze`, { reason: 'looks fine' })).statusCode).toBe(403);
    const analyst = await signInAs(koban, 'risk_analyst');
    expect((await opsRequest(koban, analyst)('POST', `/v1/ops/cases/${caseId}/unfreeze`, { reason: 'customer confirmed' })).statusCode).toBe(200);
    expect(await tryPay(wallet, 100n)).toBe('created');
    const audit = await db.pool.query(`select action, actor_id from audit_events where target_id = $1 order by id`, [caseId]);
    expect(audit.rows.map((r) => r.action)).toEqual(['case.account_frozen', 'case.account_unfrozen']);
  });

  it('forces a password and PIN reset and revokes sessions through identity, assigns, comments and closes', async () => {
    const { customerId } = await customerWithBalance(0n);
    identity.sessions.set(customerId, 3);
    const caseId = (await koban.operations.cases.reportNotMe(customerId, 'sign-in:new-device')).caseId;
    const analyst = await signInAs(koban, 'risk_analyst');
    const request = opsRequest(koban, analyst);
    const reset = await request('POST', `/v1/ops/cases/${caseId}/force-reset`, { reason: 'account taken over' });
    expect(reset.statusCode).toBe(200);
    expect(identity.resets).toContain(customerId);
    expect(reset.json().notes.at(-1).body).toContain('3 session(s) revoked');
    expect((await request('POST', `/v1/ops/cases/${caseId}/assign`, { operatorId: analyst.id, reason: 'mine' })).json().assigneeId).toBe(analyst.id);
    expect((await request('POST', `/v1/ops/cases/${caseId}/comments`, { body: 'called the customer' })).statusCode).toBe(200);
    const closed = await request('POST', `/v1/ops/cases/${caseId}/close`, { outcome: 'fraud_confirmed', reason: 'takeover confirmed' });
    expect(closed.json()).toMatchObject({ status: 'closed', outcome: 'fraud_confirmed' });
    const again = await request('POST', `/v1/ops/cases/${caseId}/revoke-sessions`, { reason: 'after close' });
    expect(again.json().code).toBe('case_closed');
  });

  it('a support operator cannot close a case', async () => {
    const { customerId } = await customerWithBalance(0n);
    const caseId = (await koban.operations.cases.reportNotMe(customerId, 'x')).caseId;
    const support = await signInAs(koban, 'support');
    expect((await opsRequest(koban, support)('POST', `/v1/ops/cases/${caseId}/close`, { outcome: 'false_positive', reason: 'hmm' })).statusCode).toBe(403);
  });
});

/** A 7pay-style theft: the thief tops up from the victim's card and spends it and the old balance at a tobacco shop. */
async function theft(initial: bigint, stolenTopUp: bigint, spent: bigint[]) {
  const victim = await customerWithBalance(initial);
  const topUp = await move(platform.card, victim.wallet, stolenTopUp, TransferCodes.topUp);
  const payments = [];
  for (const amount of spent) payments.push(await move(victim.wallet, platform.merchant, amount, TransferCodes.payment));
  return { ...victim, topUp, payments };
}

async function approvedBatch(analyst: SignedInOperator, finance: SignedInOperator, body: object) {
  const created = await opsRequest(koban, analyst)('POST', '/v1/ops/compensation/batches', body);
  expect(created.statusCode, created.body).toBe(201);
  const batch = created.json();
  expect((await opsRequest(koban, analyst)('POST', `/v1/ops/compensation/batches/${batch.id}/propose`, { reason: 'victims of the July takeover' })).statusCode).toBe(200);
  const approved = await opsRequest(koban, finance)('POST', `/v1/ops/compensation/batches/${batch.id}/decision`, { approve: true, reason: 'losses checked against the ledger' });
  expect(approved.statusCode, approved.body).toBe(200);
  return batch;
}

describe('four eyes and compensation', () => {
  it('pays each victim their loss from the ledger exactly once, even when executed twice or at once', async () => {
    const first = await theft(5_000n, 30_000n, [20_000n, 14_000n]);
    const second = await theft(2_000n, 0n + 1n, [2_001n]);
    const analyst = await signInAs(koban, 'risk_analyst');
    const finance = await signInAs(koban, 'finance');
    const flag = await opsRequest(koban, analyst)('POST', '/v1/ops/compensation/flags', {
      transferIds: [first.topUp, ...first.payments, second.topUp, ...second.payments], reason: 'account takeover' });
    expect(flag.json()).toEqual({ flagged: 5 });
    const batch = await approvedBatch(analyst, finance, { title: 'July takeover victims' });
    // Loss = thief's payments minus the stolen-card top-up the issuer reverses: 34,000 - 30,000 and 2,001 - 1.
    const losses = new Map(batch.items.map((i: { walletAccountId: string; lossMinor: string }) => [i.walletAccountId, i.lossMinor]));
    expect(losses.get(first.wallet)).toBe('4000');
    expect(losses.get(second.wallet)).toBe('2000');
    const before = { first: await balanceOf(first.wallet), second: await balanceOf(second.wallet) };
    const execute = () => opsRequest(koban, finance)('POST', `/v1/ops/compensation/batches/${batch.id}/execute`, { reason: 'pay victims' });
    const [a, b] = await Promise.all([execute(), execute()]);
    expect([a.statusCode, b.statusCode]).toEqual([200, 200]);
    const again = await execute();
    expect(again.json()).toMatchObject({ status: 'executed' });
    expect(await balanceOf(first.wallet)).toBe((before.first ?? 0n) + 4_000n);
    expect(await balanceOf(second.wallet)).toBe((before.second ?? 0n) + 2_000n);
    const paid = await db.pool.query('select count(*)::int as n from transfers where id = $1', [compensationTransferId(batch.id, first.wallet)]);
    expect(paid.rows[0].n).toBe(1);
    const csv = await opsRequest(koban, finance)('GET', `/v1/ops/compensation/batches/${batch.id}/export?audience=card_issuers`);
    expect(csv.headers['content-type']).toContain('text/csv');
    expect(csv.body).toContain(first.topUp);
    expect(csv.body.split('\r\n')[0]).toBe('transfer_id,created_at,wallet_account_id,amount_minor,currency,funding_reference,reason,batch_id');
    expect((await opsRequest(koban, finance)('GET', `/v1/ops/compensation/batches/${batch.id}/export?audience=banks`)).body.trim().split('\r\n')).toHaveLength(1);
  });

  it('a flagged transfer is compensated in one batch only', async () => {
    const victim = await theft(1_000n, 1n, [1_001n]);
    const analyst = await signInAs(koban, 'risk_analyst');
    await opsRequest(koban, analyst)('POST', '/v1/ops/compensation/flags', { transferIds: [...victim.payments], reason: 'takeover' });
    expect((await opsRequest(koban, analyst)('POST', '/v1/ops/compensation/batches', { title: 'first' })).statusCode).toBe(201);
    const second = await opsRequest(koban, analyst)('POST', '/v1/ops/compensation/batches', { title: 'second' });
    expect(second.json().code).toBe('compensation_batch_state');
  });

  it('the proposer cannot approve their own proposal', async () => {
    const victim = await theft(1_000n, 1n, [1_001n]);
    const admin = await signInAs(koban, 'administrator');
    await opsRequest(koban, admin)('POST', '/v1/ops/compensation/flags', { transferIds: victim.payments, reason: 'takeover' });
    const batch = (await opsRequest(koban, admin)('POST', '/v1/ops/compensation/batches', { title: 'self approval attempt' })).json();
    expect((await opsRequest(koban, admin)('POST', `/v1/ops/compensation/batches/${batch.id}/propose`, { reason: 'pay' })).statusCode).toBe(200);
    const self = await opsRequest(koban, admin)('POST', `/v1/ops/compensation/batches/${batch.id}/decision`, { approve: true, reason: 'looks right to me' });
    expect(self.statusCode).toBe(403);
    expect(self.json().code).toBe('proposal_self_approval');
    const execute = await opsRequest(koban, admin)('POST', `/v1/ops/compensation/batches/${batch.id}/execute`, { reason: 'pay anyway' });
    expect(execute.json().code).toBe('compensation_batch_state');
    expect(await balanceOf(victim.wallet)).toBe(0n);
  });

  it('the database refuses a proposal decided by its proposer even if the application were bypassed', async () => {
    const found = await db.pool.query<{ id: string; proposed_by: string }>(`select id, proposed_by from proposals where status = 'pending' limit 1`);
    const row = found.rows[0];
    expect(row).toBeDefined();
    await expect(db.pool.query(`update proposals set status = 'approved', decided_by = proposed_by, decided_at = now() where id = $1`, [row?.id])).rejects.toThrow(/check/);
  });

  it('a support operator cannot approve a compensation batch, and nobody can execute one before approval', async () => {
    const victim = await theft(1_000n, 1n, [1_001n]);
    const analyst = await signInAs(koban, 'risk_analyst');
    await opsRequest(koban, analyst)('POST', '/v1/ops/compensation/flags', { transferIds: victim.payments, reason: 'takeover' });
    const batch = (await opsRequest(koban, analyst)('POST', '/v1/ops/compensation/batches', { title: 'needs approval' })).json();
    const finance = await signInAs(koban, 'finance');
    expect((await opsRequest(koban, finance)('POST', `/v1/ops/compensation/batches/${batch.id}/execute`, { reason: 'too early' })).json().code).toBe('compensation_batch_state');
    await opsRequest(koban, analyst)('POST', `/v1/ops/compensation/batches/${batch.id}/propose`, { reason: 'pay' });
    const support = await signInAs(koban, 'support');
    expect((await opsRequest(koban, support)('POST', `/v1/ops/compensation/batches/${batch.id}/decision`, { approve: true, reason: 'ok' })).statusCode).toBe(403);
    expect((await opsRequest(koban, analyst)('POST', `/v1/ops/compensation/batches/${batch.id}/decision`, { approve: true, reason: 'ok' })).statusCode).toBe(403);
    expect(await balanceOf(victim.wallet)).toBe(0n);
  });
});

describe('incident action', () => {
  it('forces every customer to reset and revokes all sessions only after a second operator approves', async () => {
    identity.sessions.set('someone', 2);
    const analyst = await signInAs(koban, 'risk_analyst');
    const proposed = await opsRequest(koban, analyst)('POST', '/v1/ops/incident/reset-all', { reason: 'credential stuffing confirmed' });
    expect(proposed.statusCode).toBe(200);
    const proposalId = proposed.json().id;
    expect((await opsRequest(koban, analyst)('POST', `/v1/ops/incident/reset-all/${proposalId}/decision`, { approve: true, reason: 'go' })).statusCode).toBe(403);
    const admin = await signInAs(koban, 'administrator');
    const approved = await opsRequest(koban, admin)('POST', `/v1/ops/incident/reset-all/${proposalId}/decision`, { approve: true, reason: 'approved by the incident lead' });
    expect(approved.json()).toMatchObject({ proposal: { status: 'approved' }, customers: 3, sessions: 2 });
    expect(identity.resetAllCalls).toBe(1);
    const audit = await db.pool.query(`select action from audit_events where target_id = $1 order by id`, [proposalId]);
    expect(audit.rows.map((r) => r.action)).toEqual(['proposal.proposed', 'proposal.approved', 'incident.reset_all_executed']);
  });

  it('the proposer of the incident reset cannot approve it, even as an administrator', async () => {
    const admin = await signInAs(koban, 'administrator');
    const proposed = await opsRequest(koban, admin)('POST', '/v1/ops/incident/reset-all', { reason: 'second wave' });
    const self = await opsRequest(koban, admin)('POST', `/v1/ops/incident/reset-all/${proposed.json().id}/decision`, { approve: true, reason: 'I am sure' });
    expect(self.json().code).toBe('proposal_self_approval');
    const other = await signInAs(koban, 'administrator');
    expect((await opsRequest(koban, other)('POST', `/v1/ops/incident/reset-all/${proposed.json().id}/decision`, { approve: false, reason: 'not needed' })).json().proposal.status).toBe('rejected');
  });
});
