/**
 * The console's read endpoints against a real Koban and PostgreSQL: what each role may read, what the
 * support role sees masked, and that the numbers come from what really happened (a payment made by a
 * till, a freeze made through a case, a rule changed, the audit chain sealed or tampered with).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Koban } from '../../src/koban.ts';
import { sealPending } from '../../src/operations/audit/sealer.ts';
import { PUBLIC_URL, type Customer } from '../identity/support.ts';
import { startTestKoban } from '../support/koban.ts';
import { charge, createShop, fundedCustomer, mintCode, pay, type ShopFixture } from './console-support.ts';
import { opsRequest, signInAs, type SignedInOperator } from './support.ts';

let env: Awaited<ReturnType<typeof startTestKoban>>;
let koban: Koban;
let shop: ShopFixture;
let customer: Customer & { wallet: string; topUpTransferId: string };
let support: SignedInOperator;
let risk: SignedInOperator;
let finance: SignedInOperator;
let admin: SignedInOperator;
let paid: { paymentId: string; merchantPaymentId: string; transferId: string };

beforeAll(async () => {
  env = await startTestKoban({ env: { KOBAN_PUBLIC_URL: PUBLIC_URL, KOBAN_OPA_PORT: '0' } });
  koban = env.koban;
  shop = await createShop(koban, 'Kissa Tsubame');
  customer = await fundedCustomer(koban, 10_000n);
  [support, risk, finance, admin] = [await signInAs(koban, 'support'), await signInAs(koban, 'risk_analyst'), await signInAs(koban, 'finance'), await signInAs(koban, 'administrator')];
  const result = await pay(koban, shop, customer, 1_500);
  expect(result.resultInfo.code).toBe('SUCCESS');
  const row = await koban.db.pool.query<{ id: string; payment_transfer_id: string }>('select id, payment_transfer_id from payments where merchant_payment_id = $1', [result.merchantPaymentId]);
  paid = { paymentId: row.rows[0]!.id, transferId: row.rows[0]!.payment_transfer_id, merchantPaymentId: result.merchantPaymentId };
}, 60_000);
afterAll(async () => {
  await env.close();
});

const as = (operator: SignedInOperator | null) => opsRequest(koban, operator);

describe('who may read what', () => {
  it('every console read refuses a caller without an operator session', async () => {
    for (const url of ['/v1/ops/dashboard', '/v1/ops/search?q=x', `/v1/ops/customers/${customer.customerId}`, `/v1/ops/merchants/${shop.merchant.merchantId}`,
      '/v1/ops/case-queue', '/v1/ops/audit/verification', '/v1/ops/compensation/batches', '/v1/ops/me', '/v1/ops/operators/directory']) {
      expect((await as(null)('GET', url)).statusCode, url).toBe(401);
    }
  });

  it('the role table decides: support cannot verify the audit chain, open the compensation lists, or see a rule history it may read', async () => {
    expect((await as(support)('GET', '/v1/ops/audit/verification')).statusCode).toBe(403);
    expect((await as(support)('GET', '/v1/ops/compensation/batches')).statusCode).toBe(403);
    expect((await as(support)('GET', '/v1/ops/compensation/flags')).statusCode).toBe(403);
    expect((await as(finance)('GET', '/v1/ops/risk/rules/account_velocity/history')).statusCode).toBe(403);
    expect((await as(support)('GET', '/v1/ops/risk/rules/account_velocity/history')).statusCode).toBe(200);
    expect((await as(finance)('POST', `/v1/ops/customers/${customer.customerId}/case`, { reason: 'finance cannot open cases' })).statusCode).toBe(403);
    // Refusals are audited, as for every operator route.
    const denied = await koban.db.pool.query(`select 1 from audit_events where action = 'operator.request_denied' and actor_id = $1`, [support.id]);
    expect(denied.rowCount).toBeGreaterThanOrEqual(3);
  });

  it('/v1/ops/me lists exactly the permissions of the role, so the console can hide what the role lacks', async () => {
    const me = (await as(support)('GET', '/v1/ops/me')).json() as { role: string; permissions: string[]; displayName: string };
    expect(me.role).toBe('support');
    expect(me.displayName).toBe('support operator');
    expect(me.permissions).toContain('accounts.freeze');
    expect(me.permissions).not.toContain('accounts.unfreeze');
    expect(me.permissions).not.toContain('switches.change');
    expect(me.permissions).not.toContain('customers.read_unmasked');
    const adminMe = (await as(admin)('GET', '/v1/ops/me')).json() as { permissions: string[] };
    expect(adminMe.permissions).toEqual(expect.arrayContaining(['switches.change', 'customers.read_unmasked', 'incident.approve']));
  });

  it('the operator directory names colleagues without their e-mail addresses', async () => {
    const body = (await as(support)('GET', '/v1/ops/operators/directory')).json() as { operators: Array<Record<string, string>> };
    const entry = body.operators.find((o) => o.id === finance.id);
    expect(entry).toEqual({ id: finance.id, displayName: 'finance operator', role: 'finance', status: 'active' });
    expect(JSON.stringify(body)).not.toContain('@ops.koban.test');
  });
});

describe('dashboard', () => {
  it('counts the payment a till just made in the current minute, and risk decisions in the hour', async () => {
    const before = (await as(support)('GET', '/v1/ops/dashboard')).json() as { totals: { payments: number; paymentsAmountMinor: string }; minutes: Array<{ payments: number }> };
    expect(before.minutes).toHaveLength(60);
    expect((await pay(koban, shop, customer, 700)).resultInfo.code).toBe('SUCCESS');
    await expect.poll(async () => ((await as(support)('GET', '/v1/ops/dashboard')).json() as { totals: { payments: number } }).totals.payments, { timeout: 6_000, interval: 500 })
      .toBe(before.totals.payments + 1);
    const after = (await as(support)('GET', '/v1/ops/dashboard')).json() as { totals: { paymentsAmountMinor: string }; minutes: Array<{ payments: number }>; risk: { decisions: number; allow: number; declineRate: number } };
    expect(BigInt(after.totals.paymentsAmountMinor) - BigInt(before.totals.paymentsAmountMinor)).toBe(700n);
    expect(after.minutes.at(-1)!.payments + after.minutes.at(-2)!.payments).toBeGreaterThanOrEqual(1);
    expect(after.risk.decisions).toBeGreaterThanOrEqual(after.risk.allow);
    expect(after.risk.allow).toBeGreaterThanOrEqual(2); // two payments (and code mints) were assessed and allowed
  });

  it('lists a switch while it is off', async () => {
    expect((await as(risk)('PUT', '/v1/ops/switches/top_ups', { state: 'off', reason: 'console dashboard test' })).statusCode).toBe(200);
    await expect.poll(async () => ((await as(support)('GET', '/v1/ops/dashboard')).json() as { switchesOff: Array<{ name: string }> }).switchesOff.map((s) => s.name), { timeout: 6_000, interval: 500 })
      .toContain('top_ups');
    expect((await as(risk)('PUT', '/v1/ops/switches/top_ups', { state: 'on', reason: 'console dashboard test done' })).statusCode).toBe(200);
  });
});

describe('search', () => {
  it('finds a customer by e-mail or phone; support sees the contact masked, a risk analyst in full', async () => {
    const bySupport = (await as(support)('GET', `/v1/ops/search?q=${encodeURIComponent(customer.email.toUpperCase())}`)).json() as { results: Array<{ kind: string; id: string; title: string }> };
    expect(bySupport.results).toEqual([expect.objectContaining({ kind: 'customer', id: customer.customerId })]);
    expect(bySupport.results[0]!.title).not.toBe(customer.email);
    expect(bySupport.results[0]!.title).toContain('•');
    const byRisk = (await as(risk)('GET', `/v1/ops/search?q=${encodeURIComponent(customer.phone)}`)).json() as { results: Array<{ kind: string; id: string; title: string }> };
    expect(byRisk.results).toEqual([expect.objectContaining({ kind: 'customer', id: customer.customerId, title: customer.phone })]);
    // Searching is reading personal data: it is audited.
    const audited = await koban.db.pool.query(`select 1 from audit_events where action = 'console.searched' and actor_id = $1`, [support.id]);
    expect(audited.rowCount).toBe(1);
  });

  it('finds transactions by payment id, merchant payment id and ledger transfer id, and merchants by name', async () => {
    const find = async (q: string) => ((await as(support)('GET', `/v1/ops/search?q=${encodeURIComponent(q)}`)).json() as { results: Array<{ kind: string; id: string; customerId: string | null; merchantId: string | null }> }).results;
    expect(await find(paid.paymentId)).toContainEqual(expect.objectContaining({ kind: 'payment', id: paid.paymentId, customerId: customer.customerId, merchantId: shop.merchant.merchantId }));
    expect(await find(paid.merchantPaymentId)).toContainEqual(expect.objectContaining({ kind: 'payment', id: paid.paymentId }));
    const byTransfer = await find(paid.transferId);
    expect(byTransfer).toContainEqual(expect.objectContaining({ kind: 'payment', id: paid.paymentId }));
    expect(byTransfer).toContainEqual(expect.objectContaining({ kind: 'transfer', id: paid.transferId, customerId: customer.customerId }));
    expect(await find('tsubame')).toContainEqual(expect.objectContaining({ kind: 'merchant', id: shop.merchant.merchantId }));
    expect(await find('no such thing at all')).toEqual([]);
    // A LIKE wildcard typed into the box is a literal, not "every merchant".
    expect(await find('%')).toEqual([]);
  });

  it('finds by prefix and fragment: e-mail prefix, the phone\'s last digits, an amount on a day or in a range, a receipt number', async () => {
    const find = async (q: string) => ((await as(risk)('GET', `/v1/ops/search?q=${encodeURIComponent(q)}`)).json() as { results: Array<{ kind: string; id: string; customerId: string | null }> }).results;
    expect(await find(customer.email.slice(0, customer.email.indexOf('@') + 1))).toContainEqual(expect.objectContaining({ kind: 'customer', id: customer.customerId }));
    expect(await find(customer.email.slice(0, 5).toUpperCase())).toContainEqual(expect.objectContaining({ kind: 'customer', id: customer.customerId }));
    expect(await find(customer.phone.slice(-6))).toContainEqual(expect.objectContaining({ kind: 'customer', id: customer.customerId }));
    const today = new Date(Date.now() + 9 * 3600_000).toISOString().slice(0, 10);
    expect(await find('¥1,500')).toContainEqual(expect.objectContaining({ kind: 'payment', id: paid.paymentId }));
    expect(await find(`1500円 ${today}`)).toContainEqual(expect.objectContaining({ kind: 'payment', id: paid.paymentId }));
    expect(await find(`¥1500 2001-01-01..2001-01-31`)).toEqual([]);
    expect(await find('¥1,501')).toEqual([]);
    const receipt = paid.paymentId.slice(-8).toUpperCase();
    expect(await find(`${receipt.slice(0, 4)}-${receipt.slice(4)}`)).toEqual([expect.objectContaining({ kind: 'payment', id: paid.paymentId })]);
    expect(await find('zz-no-such-prefix')).toEqual([]);
  });
});

describe('account pages', () => {
  it('support sees the customer with contacts and IP addresses masked; a risk analyst sees them in full; both are audited', async () => {
    const masked = (await as(support)('GET', `/v1/ops/customers/${customer.customerId}`)).json() as { masked: boolean; contacts: Array<{ kind: string; value: string }>; sessions: Array<{ ip: string | null }>; wallet: { balanceMinor: string; status: string } };
    expect(masked.masked).toBe(true);
    expect(masked.contacts.map((c) => c.value)).not.toContain(customer.email);
    expect(masked.contacts.map((c) => c.value)).not.toContain(customer.phone);
    expect(masked.contacts.find((c) => c.kind === 'phone')?.value).toBe(`+81•••••${customer.phone.slice(-4)}`);
    expect(masked.sessions.length).toBeGreaterThan(0);
    for (const session of masked.sessions) expect(session.ip ?? '').toMatch(/•$/);
    expect(masked.wallet.status).toBe('active');
    const full = (await as(risk)('GET', `/v1/ops/customers/${customer.customerId}`)).json() as { masked: boolean; contacts: Array<{ value: string }>; riskEvents: Array<{ kind: string; reasons: unknown }>; riskLinks: Array<{ kind: string }> };
    expect(full.masked).toBe(false);
    expect(full.contacts.map((c) => c.value).sort()).toEqual([customer.email, customer.phone].sort());
    expect(full.riskEvents.map((e) => e.kind)).toContain('payment');
    expect(full.riskLinks.map((l) => l.kind)).toContain('device');
    const viewed = await koban.db.pool.query<{ details: { masked: boolean } }>(`select details from audit_events where action = 'customer.viewed' and target_id = $1 order by id`, [customer.customerId]);
    expect(viewed.rows.map((r) => r.details.masked)).toEqual([true, false]);
  });

  it('the wallet statement pages through the ledger, newest first', async () => {
    const first = (await as(support)('GET', `/v1/ops/customers/${customer.customerId}/statement?limit=1`)).json() as { entries: Array<{ transferId: string; direction: string; code: string }>; nextCursor: string | null };
    expect(first.entries).toHaveLength(1);
    expect(first.entries[0]).toMatchObject({ direction: 'out', code: 'payment' });
    expect(first.nextCursor).not.toBeNull();
    const all = (await as(support)('GET', `/v1/ops/customers/${customer.customerId}/statement?limit=50`)).json() as { entries: Array<{ transferId: string; direction: string; code: string }>; nextCursor: string | null };
    expect(all.nextCursor).toBeNull();
    expect(all.entries.at(-1)).toMatchObject({ transferId: customer.topUpTransferId, direction: 'in', code: 'topUp' });
    const second = (await as(support)('GET', `/v1/ops/customers/${customer.customerId}/statement?limit=1&cursor=${first.nextCursor}`)).json() as { entries: Array<{ transferId: string }> };
    expect(second.entries[0]!.transferId).toBe(all.entries[1]!.transferId);
    expect((await as(support)('GET', `/v1/ops/customers/${customer.customerId}/statement?cursor=forged`)).statusCode).toBe(400);
  });

  it('an unknown customer or merchant is a 404, not an empty page', async () => {
    expect((await as(support)('GET', '/v1/ops/customers/01890000-0000-7000-8000-000000000000')).statusCode).toBe(404);
    expect((await as(support)('GET', '/v1/ops/merchants/01890000-0000-7000-8000-000000000000')).statusCode).toBe(404);
  });

  it('a merchant page shows its stores, terminals and the payment its till made', async () => {
    const view = (await as(support)('GET', `/v1/ops/merchants/${shop.merchant.merchantId}`)).json() as { name: string; stores: Array<{ id: string; terminals: Array<{ id: string }> }>; recentPayments: Array<{ id: string; customerId: string }> };
    expect(view.name).toBe('Kissa Tsubame');
    expect(view.stores.find((s) => s.id === shop.merchant.storeId)?.terminals.map((t) => t.id).sort()).toEqual([...shop.merchant.terminalIds].sort());
    expect(view.recentPayments).toContainEqual(expect.objectContaining({ id: paid.paymentId, customerId: customer.customerId }));
  });
});

describe('cases from the account page', () => {
  it('support opens a case on a customer, freezes the wallet through it, and the next payment fails; the queue filters by assignee', async () => {
    const other = await fundedCustomer(koban, 3_000n);
    const opened = await as(support)('POST', `/v1/ops/customers/${other.customerId}/case`, { reason: 'customer called: lost phone' });
    expect(opened.statusCode, opened.body).toBe(200);
    const { caseId, created } = opened.json() as { caseId: string; created: boolean };
    expect(created).toBe(true);
    const codeShownBeforeTheFreeze = await mintCode(other);
    // One open case per account: asking again answers the same case.
    expect((await as(support)('POST', `/v1/ops/customers/${other.customerId}/case`, { reason: 'again' })).json()).toEqual({ caseId, created: false });
    expect((await as(support)('POST', `/v1/ops/cases/${caseId}/freeze`, { reason: 'lost phone, contain first' })).statusCode).toBe(200);
    const view = (await as(support)('GET', `/v1/ops/customers/${other.customerId}`)).json() as { wallet: { status: string }; cases: Array<{ id: string; source: string }> };
    expect(view.wallet.status).toBe('frozen');
    expect(view.cases).toEqual([expect.objectContaining({ id: caseId, source: 'operator' })]);
    expect((await charge(koban, shop, codeShownBeforeTheFreeze, 100)).resultInfo).toMatchObject({ code: 'WALLET_FROZEN' });
    expect(await koban.ledger.getAccount(other.wallet)).toMatchObject({ debitsPosted: 0n, debitsPending: 0n });

    expect((await as(support)('POST', `/v1/ops/cases/${caseId}/assign`, { operatorId: support.id, reason: 'mine' })).statusCode).toBe(200);
    const mine = (await as(support)('GET', '/v1/ops/case-queue?status=open&assignee=me')).json() as { cases: Array<{ id: string; customerLabel: string; walletStatus: string }> };
    expect(mine.cases.map((c) => c.id)).toEqual([caseId]);
    expect(mine.cases[0]!.walletStatus).toBe('frozen');
    expect(mine.cases[0]!.customerLabel).not.toBe(other.email);
    const unassigned = (await as(risk)('GET', '/v1/ops/case-queue?assignee=none')).json() as { cases: Array<{ id: string }> };
    expect(unassigned.cases.map((c) => c.id)).not.toContain(caseId);
    const opening = await koban.db.pool.query(`select 1 from audit_events where action = 'case.opened' and target_id = $1`, [caseId]);
    expect(opening.rowCount).toBe(1);
  });
});

describe('rules, compensation lists, audit', () => {
  it('a rule threshold change appears in the rule history with who and why', async () => {
    const rules = (await as(risk)('GET', '/v1/ops/risk/rules')).json() as { rules: Array<{ id: string; params: Record<string, unknown> }> };
    const rule = rules.rules.find((r) => r.id === 'account_velocity')!;
    const changed = await as(risk)('PATCH' as 'PUT', `/v1/ops/risk/rules/${rule.id}`, { params: rule.params, reason: 'history test' });
    expect(changed.statusCode, changed.body).toBe(200);
    const history = (await as(support)('GET', `/v1/ops/risk/rules/${rule.id}/history`)).json() as { versions: Array<{ version: number; reason: string; changedBy: string }> };
    expect(history.versions[0]).toMatchObject({ version: 1, reason: 'history test' });
    expect(history.versions[0]!.changedBy).toContain(risk.id);
  });

  it('flagged transfers wait in the flags list until a batch takes them; the batch list shows it', async () => {
    const flagged = await as(risk)('POST', '/v1/ops/compensation/flags', { transferIds: [paid.transferId], reason: 'account takeover payment' });
    expect(flagged.statusCode, flagged.body).toBe(200);
    const flags = (await as(finance)('GET', '/v1/ops/compensation/flags')).json() as { flags: Array<{ transferId: string; amountMinor: string; code: string }> };
    expect(flags.flags).toContainEqual(expect.objectContaining({ transferId: paid.transferId, amountMinor: '1500', code: 'payment' }));
    const batch = await as(finance)('POST', '/v1/ops/compensation/batches', { title: 'console list test' });
    expect(batch.statusCode, batch.body).toBe(201);
    const batches = (await as(risk)('GET', '/v1/ops/compensation/batches')).json() as { batches: Array<{ id: string; totalMinor: string; victims: number; createdBy: string }> };
    expect(batches.batches[0]).toMatchObject({ id: (batch.json() as { id: string }).id, totalMinor: '1500', victims: 1, createdBy: finance.id });
    expect(((await as(finance)('GET', '/v1/ops/compensation/flags')).json() as { flags: unknown[] }).flags).toEqual([]);
  });

  it('audit verification reports ok with the head hash, then the first broken place after tampering', async () => {
    await sealPending(koban.db);
    const ok = (await as(admin)('GET', '/v1/ops/audit/verification')).json() as { ok: boolean; blocks: number; headHash: string; firstProblem: string | null };
    expect(ok).toMatchObject({ ok: true, firstProblem: null });
    expect(ok.blocks).toBeGreaterThan(0);
    expect(ok.headHash).toMatch(/^[0-9a-f]{64}$/);
    const client = await koban.db.pool.connect();
    try {
      await client.query('begin');
      await client.query('set local session_replication_role = replica');
      await client.query(`update audit_events set reason = 'rewritten' where id = (select min(id) from audit_events)`);
      await client.query('commit');
    } finally {
      client.release();
    }
    const broken = (await as(risk)('GET', '/v1/ops/audit/verification')).json() as { ok: boolean; firstProblem: string | null };
    expect(broken.ok).toBe(false);
    expect(broken.firstProblem).toMatch(/^block 1: hash mismatch/);
  });

  it('the audit list filters by action prefix and actor', async () => {
    const body = (await as(admin)('GET', `/v1/ops/audit?action=case.&actorId=${support.id}`)).json() as { events: Array<{ action: string; actorId: string }> };
    expect(body.events.length).toBeGreaterThanOrEqual(3);
    for (const event of body.events) {
      expect(event.action.startsWith('case.')).toBe(true);
      expect(event.actorId).toBe(support.id);
    }
    const exact = (await as(admin)('GET', '/v1/ops/audit?action=case')).json() as { events: unknown[] };
    expect(exact.events).toEqual([]);
  });

  it('reads of personal data are audited in their own category, kept out of the actions list', async () => {
    expect((await as(support)('GET', `/v1/ops/customers/${customer.customerId}`)).statusCode).toBe(200);
    const list = async (query: string) => ((await as(admin)('GET', `/v1/ops/audit?limit=200${query}`)).json() as { events: Array<{ action: string; actorId: string; targetId: string | null }> }).events;
    const dataAccess = await list('&category=data_access');
    expect(dataAccess.find((event) => event.action === 'customer.viewed' && event.actorId === support.id && event.targetId === customer.customerId)).toBeDefined();
    expect(dataAccess.every((event) => ['customer.viewed', 'console.searched', 'security_events.read', 'audit.read'].includes(event.action))).toBe(true);
    const actions = await list('');
    expect(actions.length).toBeGreaterThan(0);
    expect(actions.some((event) => event.action === 'customer.viewed' || event.action === 'console.searched')).toBe(false);
    expect((await list('&category=all')).length).toBeGreaterThanOrEqual(actions.length + 1);
    expect((await as(admin)('GET', '/v1/ops/audit?category=everything')).statusCode).toBe(400);
  });

  it('blocks a network from the account page and takes it off the list again (a value with a slash, through the URL)', async () => {
    const request = opsRequest(koban, risk);
    const network = '203.0.113.0/24';
    expect((await request('POST', '/v1/ops/risk/lists/blocked_network', { value: network, reason: 'stuffing from this block' })).statusCode).toBe(201);
    const listed = async () => ((await request('GET', '/v1/ops/risk/lists')).json() as { entries: Array<{ list: string; value: string }> }).entries
      .filter((entry) => entry.list === 'blocked_network' && entry.value === network).length;
    expect(await listed()).toBe(1);
    const removed = await request('DELETE', `/v1/ops/risk/lists/blocked_network/${encodeURIComponent(network)}?reason=${encodeURIComponent('the block was a shared office')}`);
    expect(removed.statusCode, removed.body).toBe(204);
    expect(await listed()).toBe(0);
    // Support may look but not change the lists.
    expect((await opsRequest(koban, support)('DELETE', `/v1/ops/risk/lists/blocked_network/${encodeURIComponent(network)}?reason=nope-nope`)).statusCode).toBe(403);
  });
});
