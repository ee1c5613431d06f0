/**
 * The merchant portal's API (/v1/merchant) and the console's merchant routes, over HTTP on a real Koban:
 * the onboarding journey (apply → operator approves → owner signs in with password + TOTP → store → till
 * → activation code → payment → sale found → partial refund → statement CSV), and every state and role
 * rule, each named by the threat it stops.
 */
import { randomBytes } from 'node:crypto';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Koban } from '../../src/koban.ts';
import { businessDate } from '../../src/payments/time.ts';
import { expectLedgerConsistent } from '../ledger/fixtures.ts';
import { newClient, type Client } from '../identity/support.ts';
import { signInAs, type SignedInOperator } from '../operations/support.ts';
import { balanceOf, createCustomer } from '../payments/customer-fixtures.ts';
import { startTestKoban } from '../support/koban.ts';
import { applicationBody } from './portal-support.ts';

let env: Awaited<ReturnType<typeof startTestKoban>>;
let koban: Koban;
let reviewer: SignedInOperator;
let analyst: SignedInOperator;
let ipCounter = 0;
const PASSWORD = 'correct horse battery staple 16';

beforeAll(async () => {
  env = await startTestKoban();
  koban = env.koban;
  reviewer = await signInAs(koban, 'support');
  analyst = await signInAs(koban, 'risk_analyst');
});
afterAll(async () => {
  await expectLedgerConsistent(koban.db);
  await env.close();
});

function freshClient(): Client {
  ipCounter += 1;
  return newClient(koban, `203.0.113.${ipCounter}`);
}

const ops = (operator: SignedInOperator, method: 'GET' | 'POST', url: string, payload?: object) =>
  koban.app.inject({ method, url, headers: operator.headers, ...(payload === undefined ? {} : { payload }) });

async function signIn(email: string, password: string, totpSecret: string): Promise<Client> {
  const client = freshClient();
  const response = await client.request({ method: 'POST', url: '/v1/merchant/session', body: { email, password, totpCode: await generate({ secret: totpSecret }) } });
  expect(response.statusCode, response.body).toBe(200);
  return client;
}

interface Merchant { merchantId: string; owner: Client; storeId: string; terminalId: string }

/** A merchant through the whole onboarding: applied, approved by an operator, owner signed in, one store, one till. */
async function onboardedMerchant(): Promise<Merchant> {
  const body = applicationBody();
  const applied = await freshClient().request({ method: 'POST', url: '/v1/merchant/applications', body });
  expect(applied.statusCode, applied.body).toBe(201);
  const { merchantId, owner } = applied.json() as { merchantId: string; owner: { totpSecret: string } };
  expect((await ops(reviewer, 'POST', `/v1/ops/merchants/${merchantId}/review`, { decision: 'approve', reason: 'documents checked' })).statusCode).toBe(200);
  const client = await signIn(body.owner.email, PASSWORD, owner.totpSecret);
  const store = await client.request({ method: 'POST', url: '/v1/merchant/stores', body: { name: '渋谷店', address: '渋谷1-1', city: 'Shibuya-ku', cityLocal: '渋谷区', postalCode: '150-0002' } });
  expect(store.statusCode, store.body).toBe(201);
  const terminal = await client.request({ method: 'POST', url: '/v1/merchant/terminals', body: { storeId: store.json().id, name: 'レジ 1' } });
  expect(terminal.statusCode, terminal.body).toBe(201);
  return { merchantId, owner: client, storeId: store.json().id, terminalId: terminal.json().id };
}

async function activatedTill(merchant: Merchant): Promise<Client> {
  const issued = await merchant.owner.request({ method: 'POST', url: `/v1/merchant/terminals/${merchant.terminalId}/activation-code` });
  expect(issued.statusCode, issued.body).toBe(200);
  const till = freshClient();
  const activated = await till.request({ method: 'POST', url: '/v1/till/activate', body: { code: issued.json().code } });
  expect(activated.statusCode, activated.body).toBe(200);
  return till;
}

async function chargeAtTill(till: Client, amount: number) {
  const customer = await createCustomer(koban.db, koban.ledger, 20_000n);
  const code = (await koban.payments.payments.mintPaymentCode(customer)).code;
  const response = await till.request({ method: 'POST', url: '/v1/till/charges', body: { merchantPaymentId: `pt-${randomBytes(6).toString('hex')}`, code, amount: String(amount) } });
  return { response, customer };
}

async function staffMember(merchant: Merchant, role: 'manager' | 'clerk' | 'developer'): Promise<Client> {
  const created = await merchant.owner.request({ method: 'POST', url: '/v1/merchant/users', body: { email: `${role}-${randomBytes(4).toString('hex')}@example.jp`, displayName: role, role } });
  expect(created.statusCode, created.body).toBe(201);
  const { user, password, totpSecret } = created.json() as { user: { email: string }; password: string; totpSecret: string };
  return signIn(user.email, password, totpSecret);
}

describe('onboarding to the first refund, over the API', () => {
  it('a new merchant applies, an operator approves, the owner sets up a till, takes a payment, finds it, refunds part of it and downloads the statement', async () => {
    const merchant = await onboardedMerchant();
    const till = await activatedTill(merchant);
    const { response: paid, customer } = await chargeAtTill(till, 1_800);
    expect(paid.statusCode, paid.body).toBe(200);
    const paymentId = paid.json().paymentId as string;

    const sales = await merchant.owner.request({ method: 'GET', url: '/v1/merchant/payments?q=1800' });
    expect(sales.statusCode, sales.body).toBe(200);
    expect(sales.json().payments).toEqual([expect.objectContaining({ id: paymentId, amount: 1_800, status: 'COMPLETED', storeName: '渋谷店', terminalName: 'レジ 1' })]);

    const refunded = await merchant.owner.request({ method: 'POST', url: `/v1/merchant/payments/${paymentId}/refunds`, body: { amount: 500, reason: '商品の返品' } });
    expect(refunded.statusCode, refunded.body).toBe(201);
    expect(refunded.json()).toMatchObject({ status: 'REFUNDED', amount: 500, reason: '商品の返品' });
    expect(await balanceOf(koban.ledger, customer.walletAccountId)).toBe(20_000n - 1_800n + 500n);

    const detail = await merchant.owner.request({ method: 'GET', url: `/v1/merchant/payments/${paymentId}` });
    expect(detail.json().timeline.map((t: { kind: string }) => t.kind)).toEqual(expect.arrayContaining(['created', 'paid', 'refunded']));

    const csv = await merchant.owner.request({ method: 'GET', url: `/v1/merchant/statements/${businessDate(new Date())}/csv` });
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const lines = csv.body.trim().split('\n');
    expect(lines[0]).toBe('type,payment_id,merchant_payment_id,merchant_refund_id,store_id,terminal_id,at,amount,fee');
    expect(lines.filter((l) => l.startsWith(`payment,${paymentId},`))).toHaveLength(1);
    expect(lines.filter((l) => l.startsWith(`refund,${paymentId},`) && l.includes(',-500,'))).toHaveLength(1);

    const audit = await koban.db.pool.query<{ action: string }>(`select action from audit_events where actor_kind = 'merchant_user' and details->>'merchantId' = $1 order by id`, [merchant.merchantId]);
    expect(audit.rows.map((r) => r.action)).toEqual(expect.arrayContaining(['merchant_user.sign_in', 'store.created', 'terminal.created', 'terminal.activation_code_issued', 'payment.refunded_by_merchant']));
  });

  it('the store\'s static QR comes as PNG and as a printable poster with its Japanese name', async () => {
    const merchant = await onboardedMerchant();
    const png = await merchant.owner.request({ method: 'GET', url: `/v1/merchant/stores/${merchant.storeId}/qr.png` });
    expect(png.statusCode).toBe(200);
    expect(png.rawPayload.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const poster = await merchant.owner.request({ method: 'GET', url: `/v1/merchant/stores/${merchant.storeId}/poster.svg?size=A4` });
    expect(poster.statusCode).toBe(200);
    expect(poster.body).toContain('width="210mm"');
    expect(poster.body).toContain('渋谷店');
    expect(poster.body).toContain('金額を入力');
  });
});

describe('states', () => {
  it('an applicant cannot sign in before approval, even with the right password and code', async () => {
    const body = applicationBody();
    const applied = await freshClient().request({ method: 'POST', url: '/v1/merchant/applications', body });
    const response = await freshClient().request({ method: 'POST', url: '/v1/merchant/session', body: { email: body.owner.email, password: PASSWORD, totpCode: await generate({ secret: applied.json().owner.totpSecret }) } });
    expect(response.statusCode).toBe(403);
    expect(response.json()).toMatchObject({ code: 'merchant_not_active' });
    expect(response.headers['set-cookie']).toBeUndefined();
    const queue = await ops(reviewer, 'GET', '/v1/ops/merchant-applications');
    expect(queue.json().applications.map((a: { id: string }) => a.id)).toContain(applied.json().merchantId);
  });

  it('a suspended merchant takes no payment at its till; its staff can still look and refund; reactivation restores it; both are audited', async () => {
    const merchant = await onboardedMerchant();
    const till = await activatedTill(merchant);
    const { response: paid } = await chargeAtTill(till, 1_000);
    expect(paid.statusCode, paid.body).toBe(200);
    // Support may review but not contain: suspension needs a risk analyst.
    expect((await ops(reviewer, 'POST', `/v1/ops/merchants/${merchant.merchantId}/status`, { status: 'suspended', reason: 'converging payments' })).statusCode).toBe(403);
    const suspended = await ops(analyst, 'POST', `/v1/ops/merchants/${merchant.merchantId}/status`, { status: 'suspended', reason: 'converging payments' });
    expect(suspended.statusCode, suspended.body).toBe(200);
    const refused = await chargeAtTill(till, 1_000);
    expect(refused.response.statusCode).toBeGreaterThanOrEqual(400);
    expect(await balanceOf(koban.ledger, refused.customer.walletAccountId)).toBe(20_000n);
    const refund = await merchant.owner.request({ method: 'POST', url: `/v1/merchant/payments/${paid.json().paymentId}/refunds`, body: { amount: 1_000, reason: 'returned after suspension' } });
    expect(refund.statusCode, refund.body).toBe(201);
    expect((await ops(analyst, 'POST', `/v1/ops/merchants/${merchant.merchantId}/status`, { status: 'active', reason: 'cleared' })).statusCode).toBe(200);
    const again = await activatedTill(merchant);
    expect((await chargeAtTill(again, 300)).response.statusCode).toBe(200);
    const audit = await koban.db.pool.query<{ action: string; actor_id: string }>(`select action, actor_id from audit_events where target_id = $1 and action in ('merchant.suspended', 'merchant.reactivated') order by id`, [merchant.merchantId]);
    expect(audit.rows).toEqual([{ action: 'merchant.suspended', actor_id: analyst.id }, { action: 'merchant.reactivated', actor_id: analyst.id }]);
  });

  it('a revoked terminal\'s till session is refused at once', async () => {
    const merchant = await onboardedMerchant();
    const till = await activatedTill(merchant);
    expect((await till.request({ method: 'GET', url: '/v1/till/session' })).statusCode).toBe(200);
    const revoked = await merchant.owner.request({ method: 'POST', url: `/v1/merchant/terminals/${merchant.terminalId}/revoke` });
    expect(revoked.json()).toMatchObject({ status: 'disabled' });
    expect((await till.request({ method: 'GET', url: '/v1/till/session' })).statusCode).toBe(401);
    const charge = await chargeAtTill(till, 100);
    expect(charge.response.statusCode).toBe(401);
    expect(await balanceOf(koban.ledger, charge.customer.walletAccountId)).toBe(20_000n);
    // And no new activation code for it.
    expect((await merchant.owner.request({ method: 'POST', url: `/v1/merchant/terminals/${merchant.terminalId}/activation-code` })).statusCode).toBe(404);
  });
});

describe('roles, enforced on the server', () => {
  let merchant: Merchant;
  beforeAll(async () => { merchant = await onboardedMerchant(); });

  it('a clerk sees sales but cannot create API keys, refund, open stores or add staff', async () => {
    const clerk = await staffMember(merchant, 'clerk');
    expect((await clerk.request({ method: 'GET', url: '/v1/merchant/payments' })).statusCode).toBe(200);
    for (const [url, body] of [['/v1/merchant/api-keys', undefined], ['/v1/merchant/stores', { name: 'x', address: '', city: 'Chiyoda-ku', cityLocal: null, postalCode: '100-0001' }],
      ['/v1/merchant/users', { email: 'x@example.jp', displayName: 'x', role: 'owner' }]] as const) {
      const response = await clerk.request({ method: 'POST', url, ...(body === undefined ? {} : { body }) });
      expect(response.statusCode, url).toBe(403);
      expect(response.json()).toMatchObject({ code: 'merchant_permission_denied' });
    }
    const keys = await koban.db.pool.query('select 1 from merchant_api_credentials where merchant_id = $1', [merchant.merchantId]);
    expect(keys.rowCount).toBe(0);
    const denied = await koban.db.pool.query(`select 1 from audit_events where action = 'merchant_user.request_denied' and details->>'merchantId' = $1`, [merchant.merchantId]);
    expect(denied.rowCount).toBe(3);
  });

  it('a developer creates and revokes keys and webhook endpoints but cannot refund; a manager refunds but cannot create keys', async () => {
    const developer = await staffMember(merchant, 'developer');
    const key = await developer.request({ method: 'POST', url: '/v1/merchant/api-keys' });
    expect(key.statusCode, key.body).toBe(201);
    expect(key.json().apiSecret).toHaveLength(43);
    const listed = await developer.request({ method: 'GET', url: '/v1/merchant/api-keys' });
    expect(JSON.stringify(listed.json())).not.toContain(key.json().apiSecret);
    expect((await developer.request({ method: 'POST', url: `/v1/merchant/api-keys/${key.json().credentialId}/revoke` })).statusCode).toBe(204);
    // A named test key: listed with its mode and name; it belongs to the merchant's test twin, not the merchant.
    const testKey = await developer.request({ method: 'POST', url: '/v1/merchant/api-keys', body: { mode: 'test', name: 'CI sandbox' } });
    expect(testKey.statusCode, testKey.body).toBe(201);
    expect(testKey.json()).toMatchObject({ mode: 'test', name: 'CI sandbox' });
    const withTest = await developer.request({ method: 'GET', url: '/v1/merchant/api-keys' });
    expect(withTest.json().keys).toEqual(expect.arrayContaining([
      expect.objectContaining({ credentialId: testKey.json().credentialId, mode: 'test', name: 'CI sandbox', status: 'active' }),
      expect.objectContaining({ credentialId: key.json().credentialId, mode: 'live', name: null, status: 'revoked' }),
    ]));
    const owner = await koban.db.pool.query<{ test_twin_of: string | null }>('select m.test_twin_of from merchant_api_credentials c join merchants m on m.id = c.merchant_id where c.id = $1', [testKey.json().credentialId]);
    expect(owner.rows[0]?.test_twin_of).toBe(merchant.merchantId);
    const badMode = await developer.request({ method: 'POST', url: '/v1/merchant/api-keys', body: { mode: 'sandbox' } });
    expect(badMode.statusCode).toBe(400);
    expect((await developer.request({ method: 'POST', url: `/v1/merchant/api-keys/${testKey.json().credentialId}/revoke` })).statusCode).toBe(204);
    const endpoint = await developer.request({ method: 'POST', url: '/v1/merchant/webhook-endpoints', body: { url: 'https://hooks.example.jp/koban' } });
    expect(endpoint.statusCode, endpoint.body).toBe(201);
    expect((await developer.request({ method: 'POST', url: '/v1/merchant/webhook-test' })).statusCode).toBe(202);
    const log = await developer.request({ method: 'GET', url: '/v1/merchant/webhook-deliveries' });
    expect(log.json().deliveries).toEqual([expect.objectContaining({ eventType: 'test.ping' })]);
    expect((await developer.request({ method: 'POST', url: `/v1/merchant/payments/${crypto.randomUUID()}/refunds`, body: { amount: 1, reason: 'x' } })).statusCode).toBe(403);

    const manager = await staffMember(merchant, 'manager');
    expect((await manager.request({ method: 'POST', url: '/v1/merchant/api-keys' })).statusCode).toBe(403);
    const till = await activatedTill(merchant);
    const { response: paid } = await chargeAtTill(till, 700);
    expect((await manager.request({ method: 'POST', url: `/v1/merchant/payments/${paid.json().paymentId}/refunds`, body: { amount: 200, reason: 'damaged' } })).statusCode).toBe(201);
  });

  it('a state change without the CSRF header is refused, and without a session nothing is shown', async () => {
    const owner = merchant.owner;
    const csrf = owner.csrf;
    owner.csrf = null;
    const noCsrf = await owner.request({ method: 'POST', url: '/v1/merchant/api-keys' });
    owner.csrf = csrf;
    expect(noCsrf.statusCode).toBe(403);
    expect(noCsrf.json()).toMatchObject({ code: 'csrf_failed' });
    expect((await freshClient().request({ method: 'GET', url: '/v1/merchant/payments' })).statusCode).toBe(401);
    // An operator's cookie is not a merchant session.
    expect((await koban.app.inject({ method: 'GET', url: '/v1/merchant/stores', headers: reviewer.headers })).statusCode).toBe(401);
  });
});

describe('merchants are isolated from each other', () => {
  it('a store, terminal or payment of merchant A is invisible to merchant B', async () => {
    const a = await onboardedMerchant();
    const b = await onboardedMerchant();
    const till = await activatedTill(a);
    const { response: paid } = await chargeAtTill(till, 900);
    const paymentId = paid.json().paymentId as string;
    const probes = [
      { method: 'GET', url: `/v1/merchant/payments/${paymentId}` },
      { method: 'POST', url: `/v1/merchant/payments/${paymentId}/refunds`, body: { amount: 900, reason: 'steal it back' } },
      { method: 'POST', url: `/v1/merchant/stores/${a.storeId}`, body: { name: 'taken over' } },
      { method: 'GET', url: `/v1/merchant/stores/${a.storeId}/qr.png` },
      { method: 'POST', url: `/v1/merchant/terminals/${a.terminalId}/activation-code` },
      { method: 'POST', url: `/v1/merchant/terminals/${a.terminalId}/revoke` },
      { method: 'POST', url: '/v1/merchant/terminals', body: { storeId: a.storeId, name: 'mine now' } },
    ] as const;
    for (const probe of probes) {
      const response = await b.owner.request(probe);
      expect(response.statusCode, `${probe.method} ${probe.url}`).toBe(404);
    }
    expect((await b.owner.request({ method: 'GET', url: '/v1/merchant/stores' })).json().stores.map((s: { id: string }) => s.id)).toEqual([b.storeId]);
    expect((await b.owner.request({ method: 'GET', url: '/v1/merchant/payments?q=900' })).json().payments).toEqual([]);
    const sale = await a.owner.request({ method: 'GET', url: `/v1/merchant/payments/${paymentId}` });
    expect(sale.json().payment).toMatchObject({ status: 'COMPLETED', refunded: 0 });
  });
});

describe('reversing a merchant\'s payments from compromised wallets, four eyes (issue 13)', () => {
  it('one operator proposes, the proposer cannot approve, another approves and the money goes back to the wallets that paid — once', async () => {
    const merchant = await onboardedMerchant();
    const till = await activatedTill(merchant);
    const first = await chargeAtTill(till, 4_000);
    const second = await chargeAtTill(till, 2_500);
    const untouched = await chargeAtTill(till, 1_000);
    const ids = [first.response.json().paymentId as string, second.response.json().paymentId as string];
    await merchant.owner.request({ method: 'POST', url: `/v1/merchant/payments/${ids[1]}/refunds`, body: { amount: 500, reason: 'already returned by the shop' } });
    expect((await ops(analyst, 'POST', `/v1/ops/merchants/${merchant.merchantId}/status`, { status: 'suspended', reason: 'collusion with stolen sessions' })).statusCode).toBe(200);

    // Another merchant's payment cannot be slipped into the list.
    const other = await onboardedMerchant();
    const foreign = await chargeAtTill(await activatedTill(other), 700);
    const smuggled = await ops(analyst, 'POST', `/v1/ops/merchants/${merchant.merchantId}/reversals`, { paymentIds: [...ids, foreign.response.json().paymentId], reason: 'stolen sessions' });
    expect(smuggled.statusCode).toBe(404);

    const proposed = await ops(analyst, 'POST', `/v1/ops/merchants/${merchant.merchantId}/reversals`, { paymentIds: ids, reason: 'payments from taken-over wallets' });
    expect(proposed.statusCode, proposed.body).toBe(201);
    expect(proposed.json().summary).toMatchObject({ totalMinor: String(4_000 + 2_000) });
    const proposalId = proposed.json().id as string;
    expect(await balanceOf(koban.ledger, first.customer.walletAccountId)).toBe(16_000n);

    // The proposer's role cannot approve, and an approver who proposed could not either.
    expect((await ops(analyst, 'POST', `/v1/ops/merchant-reversals/${proposalId}/decision`, { approve: true, reason: 'me again' })).statusCode).toBe(403);
    const finance = await signInAs(koban, 'finance');
    const approved = await ops(finance, 'POST', `/v1/ops/merchant-reversals/${proposalId}/decision`, { approve: true, reason: 'checked the cases' });
    expect(approved.statusCode, approved.body).toBe(200);
    expect(approved.json().outcomes.map((o: { outcome: string }) => o.outcome)).toEqual(['refunded', 'refunded']);
    expect(await balanceOf(koban.ledger, first.customer.walletAccountId)).toBe(20_000n);
    expect(await balanceOf(koban.ledger, second.customer.walletAccountId)).toBe(20_000n);
    expect(await balanceOf(koban.ledger, untouched.customer.walletAccountId)).toBe(19_000n);

    // Running it again refunds nothing twice.
    const again = await ops(finance, 'POST', `/v1/ops/merchant-reversals/${proposalId}/execute`, { reason: 'make sure' });
    expect(again.statusCode, again.body).toBe(200);
    expect(await balanceOf(koban.ledger, first.customer.walletAccountId)).toBe(20_000n);
    const audit = await koban.db.pool.query<{ action: string }>(`select action from audit_events where (target_id = $1 or target_id = $2) and action in ('proposal.proposed', 'proposal.approved', 'merchant.reversal_executed') order by id`, [proposalId, merchant.merchantId]);
    expect(audit.rows.map((r) => r.action)).toEqual(['proposal.proposed', 'proposal.approved', 'merchant.reversal_executed', 'merchant.reversal_executed']);
  });
});

describe('public doors are throttled per address', () => {
  it('password spraying: one address failing 20 sign-ins across users is refused before any check, others are not', async () => {
    const body = applicationBody();
    const applied = await freshClient().request({ method: 'POST', url: '/v1/merchant/applications', body });
    const { merchantId, owner } = applied.json() as { merchantId: string; owner: { totpSecret: string } };
    expect((await ops(reviewer, 'POST', `/v1/ops/merchants/${merchantId}/review`, { decision: 'approve' })).statusCode).toBe(200);
    const sprayer = freshClient();
    for (let i = 0; i < 20; i++) {
      const failed = await sprayer.request({ method: 'POST', url: '/v1/merchant/session', body: { email: `victim-${i}@example.jp`, password: 'Summer2026!Summer', totpCode: '123456' } });
      expect(failed.statusCode).toBe(401);
    }
    const code = await generate({ secret: owner.totpSecret });
    const refused = await sprayer.request({ method: 'POST', url: '/v1/merchant/session', body: { email: body.owner.email, password: PASSWORD, totpCode: code } });
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toMatchObject({ code: 'rate_limited' });
    expect(refused.headers['set-cookie']).toBeUndefined();
    const elsewhere = await freshClient().request({ method: 'POST', url: '/v1/merchant/session', body: { email: body.owner.email, password: PASSWORD, totpCode: code } });
    expect(elsewhere.statusCode, elsewhere.body).toBe(200);
  });

  it('one address files at most 5 applications an hour; the 6th creates nothing', async () => {
    const client = freshClient();
    for (let i = 0; i < 5; i++) expect((await client.request({ method: 'POST', url: '/v1/merchant/applications', body: applicationBody() })).statusCode).toBe(201);
    const before = await koban.db.pool.query<{ n: number }>('select count(*)::int as n from merchants');
    const sixth = await client.request({ method: 'POST', url: '/v1/merchant/applications', body: applicationBody() });
    expect(sixth.statusCode).toBe(429);
    const after = await koban.db.pool.query<{ n: number }>('select count(*)::int as n from merchants');
    expect(after.rows[0]?.n).toBe(before.rows[0]?.n);
  });
});
