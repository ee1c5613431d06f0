// Identity verification (eKYC, issue 19) end to end: Koban's HTTP API, the sandbox eKYC provider over HTTP on
// port 0, its signed webhooks forwarded by the test (raw body and signature untouched), PostgreSQL. Only the
// provider's word, read back from the provider, or an operator's review makes a customer verified.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEkyc } from '../../sandbox/ekyc/app.ts';
import type { SandboxApp } from '../../sandbox/shared/server.ts';
import { startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from '../../sandbox/shared/test-receiver.ts';
import { signWebhook, WEBHOOK_SIGNATURE_HEADER } from '../../src/wallet/funding/webhook-signature.ts';
import { fundsTransferAccountId } from '../../src/wallet/balance-kinds.ts';
import type { Customer } from '../identity/support.ts';
import { opsRequest, signInAs } from '../operations/support.ts';
import { customerWithPin, expectLedgerVerifies, startWalletEnv, type WalletEnv } from './support.ts';

const EKYC = { apiKey: 'sk_test_ekyc_wallet_00000001', webhookSecret: 'whsec_test_ekyc_wallet_00001' } as const;
let w: WalletEnv;
let ekyc: SandboxApp;
let hooks: WebhookReceiver;

beforeAll(async () => {
  hooks = await startWebhookReceiver();
  ekyc = buildEkyc({ apiKey: EKYC.apiKey, webhookSecret: EKYC.webhookSecret, webhookUrl: hooks.url });
  const url = await ekyc.listen({ port: 0, host: '127.0.0.1' });
  w = await startWalletEnv({ KOBAN_EKYC_URL: url, KOBAN_EKYC_API_KEY: EKYC.apiKey, KOBAN_EKYC_WEBHOOK_SECRET: EKYC.webhookSecret });
});
afterAll(async () => {
  if (w !== undefined) await expectLedgerVerifies(w.db);
  await w?.close();
  await ekyc?.close();
  await hooks?.close();
});

function submission(documentRef: string) {
  return { fullName: '小判 太郎', dateOfBirth: '1990-04-01', address: '東京都千代田区千代田1-1', documentRef, selfieRef: 'selfie_0001' };
}

async function submit(customer: Customer, documentRef: string) {
  return customer.client.request({ method: 'POST', url: '/v1/customer/identity-verification', body: submission(documentRef) });
}

/** The provider's webhook for this application, as it sent it. */
async function webhookFor(applicationId: string): Promise<ReceivedWebhook> {
  const providerRef = (await w.db.pool.query<{ provider_ref: string }>('select provider_ref from kyc_applications where id = $1', [applicationId])).rows[0]?.provider_ref;
  const match = (r: ReceivedWebhook): boolean => r.event.data['id'] === providerRef;
  await hooks.waitFor((received) => received.some(match));
  const found = hooks.received.find(match);
  if (found === undefined) throw new Error('unreachable');
  return found;
}

async function deliver(rawBody: string, signature: string | undefined) {
  return w.koban.app.inject({ method: 'POST', url: '/v1/webhooks/ekyc', payload: rawBody,
    headers: { 'content-type': 'application/json', ...(signature === undefined ? {} : { [WEBHOOK_SIGNATURE_HEADER]: signature }) } });
}

async function state(customer: Customer) {
  return (await customer.client.request({ method: 'GET', url: '/v1/customer/identity-verification' })).json();
}

describe('the provider decides, by signed webhook', () => {
  it('approved: the customer becomes verified and gets a funds-transfer balance; the same event again changes nothing', async () => {
    const customer = await customerWithPin(w.koban);
    const submitted = await submit(customer, 'doc_passport_0001');
    expect(submitted.statusCode).toBe(202);
    expect(submitted.json()).toMatchObject({ status: 'submitted', reason: null });
    expect(await state(customer)).toMatchObject({ verified: false, latest: { status: 'submitted' } });
    const webhook = await webhookFor(submitted.json().applicationId);
    const first = await deliver(webhook.rawBody, webhook.signature);
    expect(first.json()).toEqual({ status: 'processed' });
    expect(await state(customer)).toMatchObject({ verified: true, latest: { status: 'approved' } });
    expect(await w.koban.ledger.getAccount(fundsTransferAccountId(customer.customerId))).not.toBeNull();
    expect((await customer.client.request({ method: 'GET', url: '/v1/wallet/balances' })).json()).toMatchObject({ identityVerified: true, fundsTransfer: { balance: '0' } });
    expect((await deliver(webhook.rawBody, webhook.signature)).json()).toEqual({ status: 'duplicate' });
    const again = await submit(customer, 'doc_passport_0002');
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'identity_already_verified' });
  });

  it('a webhook that overtakes the provider\'s answer to the submission still finds its application (by Koban\'s reference)', async () => {
    const customer = await customerWithPin(w.koban);
    const submitted = await submit(customer, 'doc_passport_0006');
    const webhook = await webhookFor(submitted.json().applicationId);
    await w.db.pool.query('update kyc_applications set provider_ref = null where id = $1', [submitted.json().applicationId]);
    expect((await deliver(webhook.rawBody, webhook.signature)).json()).toEqual({ status: 'processed' });
    expect(await state(customer)).toMatchObject({ verified: true, latest: { status: 'approved' } });
  });

  it('rejected with the provider\'s reason: not verified, no funds-transfer balance, and the customer may try again', async () => {
    const customer = await customerWithPin(w.koban);
    const submitted = await submit(customer, 'doc_reject_blurred');
    const webhook = await webhookFor(submitted.json().applicationId);
    expect((await deliver(webhook.rawBody, webhook.signature)).json()).toEqual({ status: 'processed' });
    expect(await state(customer)).toMatchObject({ verified: false, latest: { status: 'rejected', reason: 'face_mismatch' } });
    expect(await w.koban.ledger.getAccount(fundsTransferAccountId(customer.customerId))).toBeNull();
    expect((await submit(customer, 'doc_passport_0003')).statusCode).toBe(202);
  });

  it('one application at a time: a second submission while the first is with the provider is refused', async () => {
    const customer = await customerWithPin(w.koban);
    expect((await submit(customer, 'doc_passport_0004')).statusCode).toBe(202);
    const second = await submit(customer, 'doc_passport_0005');
    expect(second.statusCode).toBe(409);
    expect(second.json()).toMatchObject({ code: 'identity_verification_in_progress' });
  });

  it('refuses an impossible date of birth and unknown fields with a 400 that stores nothing', async () => {
    const customer = await customerWithPin(w.koban);
    const badDate = await customer.client.request({ method: 'POST', url: '/v1/customer/identity-verification', body: { ...submission('doc_x'), dateOfBirth: '1990-02-31' } });
    expect(badDate.statusCode).toBe(400);
    const extra = await customer.client.request({ method: 'POST', url: '/v1/customer/identity-verification', body: { ...submission('doc_x'), verified: true } });
    expect(extra.statusCode).toBe(400);
    expect((await w.db.pool.query('select 1 from kyc_applications where customer_id = $1', [customer.customerId])).rowCount).toBe(0);
  });
});

describe('threat: forged eKYC callbacks', () => {
  it('a callback with a wrong or missing signature is refused, changes nothing and is a security event', async () => {
    const customer = await customerWithPin(w.koban);
    const submitted = await submit(customer, 'doc_reject_again');
    const webhook = await webhookFor(submitted.json().applicationId);
    const forgedBody = webhook.rawBody.replace('"verification.rejected"', '"verification.approved"').replace('"rejected"', '"approved"');
    const wrongKey = await deliver(forgedBody, signWebhook('whsec_someone_elses_secret_01', Math.floor(Date.now() / 1000), forgedBody));
    expect(wrongKey.statusCode).toBe(401);
    const unsigned = await deliver(forgedBody, undefined);
    expect(unsigned.statusCode).toBe(401);
    const tampered = await deliver(forgedBody, webhook.signature);
    expect(tampered.statusCode).toBe(401);
    expect(await state(customer)).toMatchObject({ verified: false, latest: { status: 'submitted' } });
    const events = await w.db.pool.query(`select 1 from security_events where event_type = 'callback.forged' and reasons @> array['ekyc']::text[]`);
    expect(events.rowCount).toBeGreaterThanOrEqual(3);
  });

  it('a correctly signed event is only a notification: Koban acts on what the provider says when asked, not on the body', async () => {
    const customer = await customerWithPin(w.koban);
    const submitted = await submit(customer, 'doc_reject_expired_card');
    const webhook = await webhookFor(submitted.json().applicationId);
    // Signed with the real secret (a leaked secret, or a replay with another body): claims approval.
    const event = JSON.parse(webhook.rawBody) as { id: string; type: string; data: Record<string, unknown> };
    const claimed = JSON.stringify({ ...event, id: `${event.id}x`, type: 'verification.approved', data: { ...event.data, status: 'approved', reason: null } });
    const answer = await deliver(claimed, signWebhook(EKYC.webhookSecret, Math.floor(Date.now() / 1000), claimed));
    expect(answer.statusCode).toBe(200);
    expect(await state(customer)).toMatchObject({ verified: false, latest: { status: 'rejected', reason: 'document_expired' } });
  });
});

describe('operator review', () => {
  it('the provider sends an application to review; a risk analyst approves it with a reason (audited); support may not', async () => {
    const customer = await customerWithPin(w.koban);
    const submitted = await submit(customer, 'doc_review_glare');
    const applicationId = submitted.json().applicationId as string;
    const webhook = await webhookFor(applicationId);
    expect((await deliver(webhook.rawBody, webhook.signature)).json()).toEqual({ status: 'processed' });
    expect(await state(customer)).toMatchObject({ verified: false, latest: { status: 'needs_review', reason: 'document_unclear' } });

    const support = opsRequest(w.koban, await signInAs(w.koban, 'support'));
    expect((await support('GET', '/v1/ops/identity-verifications')).statusCode).toBe(403);
    expect((await support('POST', `/v1/ops/identity-verifications/${applicationId}/review`, { decision: 'approve', reason: 'looks fine' })).statusCode).toBe(403);

    const analyst = opsRequest(w.koban, await signInAs(w.koban, 'risk_analyst'));
    const queue = await analyst('GET', '/v1/ops/identity-verifications');
    expect(queue.statusCode).toBe(200);
    expect(queue.json().items).toContainEqual(expect.objectContaining({ applicationId, customerId: customer.customerId, fullName: '小判 太郎', documentRef: 'doc_review_glare' }));
    const approved = await analyst('POST', `/v1/ops/identity-verifications/${applicationId}/review`, { decision: 'approve', reason: 'document checked by hand against the selfie' });
    expect(approved.statusCode, approved.body).toBe(200);
    expect(approved.json()).toMatchObject({ status: 'approved' });
    expect(await state(customer)).toMatchObject({ verified: true });
    const twice = await analyst('POST', `/v1/ops/identity-verifications/${applicationId}/review`, { decision: 'reject', reason: 'changed my mind' });
    expect(twice.statusCode).toBe(409);
    expect(await state(customer)).toMatchObject({ verified: true, latest: { status: 'approved' } });
    const audit = await w.db.pool.query(`select 1 from audit_events where action = 'identity_verification.approved' and target_id = $1`, [customer.customerId]);
    expect(audit.rowCount).toBe(1);
  });

  it('the review queue pages oldest first with a cursor: every waiting application once, none hidden behind the first page (issue 13)', async () => {
    const waiting: string[] = [];
    for (let i = 0; i < 5; i++) {
      const submitted = await submit(await customerWithPin(w.koban), 'doc_review_glare');
      const applicationId = submitted.json().applicationId as string;
      const webhook = await webhookFor(applicationId);
      expect((await deliver(webhook.rawBody, webhook.signature)).json()).toEqual({ status: 'processed' });
      waiting.push(applicationId);
    }
    const analyst = opsRequest(w.koban, await signInAs(w.koban, 'risk_analyst'));
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 20; page++) {
      const answer = await analyst('GET', `/v1/ops/identity-verifications?limit=2${after === null ? '' : `&after=${after}`}`);
      expect(answer.statusCode, answer.body).toBe(200);
      const body = answer.json() as { items: Array<{ applicationId: string; submittedAt: string }>; nextAfter: string | null };
      expect(body.items.length).toBeLessThanOrEqual(2);
      seen.push(...body.items.map((item) => item.applicationId));
      after = body.nextAfter;
      if (after === null) break;
    }
    expect(after).toBeNull();
    expect(seen.filter((id) => waiting.includes(id))).toEqual(waiting);
    expect(new Set(seen).size).toBe(seen.length);
    const forged = await analyst('GET', `/v1/ops/identity-verifications?after=${Buffer.from("2026-01-01T00:00:00.000Z|1' or 1=1").toString('base64url')}`);
    expect(forged.statusCode).toBeLessThan(500);
    if (forged.statusCode !== 200) expect(forged.json().code).toBe('validation_failed');
    expect((await analyst('GET', '/v1/ops/identity-verifications?after=not-a-cursor!')).json().code).toBe('validation_failed');
  });
});
