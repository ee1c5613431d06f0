/**
 * The portal's management surfaces over HTTP (issue 16): applicant resubmission after an operator asks for more,
 * staff role changes, and webhook endpoint edits — each rule named by what it stops.
 */
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '../identity/support.ts';
import { signInAs, type SignedInOperator } from '../operations/support.ts';
import { startTestKoban } from '../support/koban.ts';
import { addStaff, applyAsMerchant, approvedMerchant, freshClient, review, STAFF_PASSWORD, type AppliedMerchant } from './portal-support.ts';

let env: Awaited<ReturnType<typeof startTestKoban>>;
let reviewer: SignedInOperator;
beforeAll(async () => {
  env = await startTestKoban();
  reviewer = await signInAs(env.koban, 'support');
});
afterAll(async () => {
  await env?.close();
});

async function signInApplicant(applied: AppliedMerchant): Promise<{ client: Client; response: Awaited<ReturnType<Client['request']>> }> {
  const client = freshClient(env.koban);
  const response = await client.request({ method: 'POST', url: '/v1/merchant/session', body: { email: applied.email, password: STAFF_PASSWORD, totpCode: await generate({ secret: applied.totpSecret }) } });
  return { client, response };
}

function correction(applied: AppliedMerchant) {
  const { owner: _owner, bank: _bank, ...fields } = applied.body;
  return { ...fields, corporateNumber: '9876543210987', representative: '山田 花子', note: '登記簿のとおり法人番号と代表者を訂正しました' };
}

describe('applicant resubmission', () => {
  it('the operator asks for more, the applicant sees the request, resubmits the corrected application, and the console shows the new version and what changed; audited', async () => {
    const applied = await applyAsMerchant(env.koban);
    expect((await review(env.koban, reviewer, applied.merchantId, 'ask_for_more', '法人番号が登記と一致しません')).statusCode).toBe(200);

    const { client, response } = await signInApplicant(applied);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json().sessionKind).toBe('applicant');
    const session = await client.request({ method: 'GET', url: '/v1/merchant/session' });
    expect(session.json()).toMatchObject({ sessionKind: 'applicant', merchant: { status: 'applied', reviewState: 'more_info_requested', reviewNote: '法人番号が登記と一致しません' } });

    const resubmitted = await client.request({ method: 'POST', url: '/v1/merchant/application', body: correction(applied) });
    expect(resubmitted.statusCode, resubmitted.body).toBe(200);
    expect(resubmitted.json().merchant).toMatchObject({ status: 'applied', reviewState: 'pending', corporateNumber: '9876543210987', representative: '山田 花子' });
    // The applicant session ends with the resubmission: nothing to do until the operator decides.
    expect((await client.request({ method: 'GET', url: '/v1/merchant/session' })).statusCode).toBe(401);

    const queue = await env.koban.app.inject({ method: 'GET', url: '/v1/ops/merchant-applications', headers: reviewer.headers });
    const entry = (queue.json().applications as Array<{ id: string; resubmission: unknown }>).find((a) => a.id === applied.merchantId);
    expect(entry?.resubmission).toMatchObject({
      version: 2, requestedInfo: '法人番号が登記と一致しません', applicantNote: '登記簿のとおり法人番号と代表者を訂正しました',
      changed: [{ field: 'corporateNumber', before: '1234567890123', after: '9876543210987' }, { field: 'representative', before: '山田 太郎', after: '山田 花子' }],
    });
    const versions = await env.koban.app.inject({ method: 'GET', url: `/v1/ops/merchants/${applied.merchantId}/application-versions`, headers: reviewer.headers });
    expect(versions.json().versions.map((v: { version: number; fields: { corporateNumber: string } }) => [v.version, v.fields.corporateNumber])).toEqual([[1, '1234567890123'], [2, '9876543210987']]);
    // The bank account number is never copied into a version: only its last four digits.
    expect(versions.json().versions[0].fields.bankAccountLast4).toBe('4321');
    expect(JSON.stringify(versions.json())).not.toMatch(/accountNumber|"7654321"/);

    const audit = await env.db.pool.query<{ action: string; reason: string }>(`select action, reason from audit_events where target_id = $1 and action like 'merchant.application_%' order by id`, [applied.merchantId]);
    expect(audit.rows).toEqual([
      { action: 'merchant.application_more_info_requested', reason: '法人番号が登記と一致しません' },
      { action: 'merchant.application_resubmitted', reason: '登記簿のとおり法人番号と代表者を訂正しました' },
    ]);
    expect((await review(env.koban, reviewer, applied.merchantId, 'approve', 'corrected')).statusCode).toBe(200);
  });

  it('an applicant session opens nothing but the application: no store, no till, no key, no passkey', async () => {
    const applied = await applyAsMerchant(env.koban);
    await review(env.koban, reviewer, applied.merchantId, 'ask_for_more', '営業許可証を添付してください');
    const { client } = await signInApplicant(applied);
    const attempts = [
      client.request({ method: 'POST', url: '/v1/merchant/stores', body: { name: '本店', address: '1-1', city: 'Chiyoda-ku', cityLocal: null, postalCode: '100-0001' } }),
      client.request({ method: 'POST', url: '/v1/merchant/api-keys' }),
      client.request({ method: 'GET', url: '/v1/merchant/payments' }),
      client.request({ method: 'POST', url: '/v1/merchant/passkeys/registration-options' }),
      client.request({ method: 'POST', url: '/v1/merchant/users', body: { email: 'x@example.jp', displayName: 'x', role: 'owner' } }),
    ];
    for (const attempt of await Promise.all(attempts)) {
      expect(attempt.statusCode, attempt.body).toBe(403);
      expect(attempt.json().code).toBe('merchant_not_active');
    }
    expect((await env.db.pool.query('select 1 from stores where merchant_id = $1', [applied.merchantId])).rowCount).toBe(0);
  });

  it('a pending application cannot be rewritten behind the operator\'s back, and an approved merchant cannot resubmit', async () => {
    const applied = await applyAsMerchant(env.koban);
    // Pending: no applicant session at all.
    expect((await signInApplicant(applied)).response.json().code).toBe('merchant_not_active');
    const merchant = await approvedMerchant(env.koban, reviewer);
    const late = await merchant.owner.request({ method: 'POST', url: '/v1/merchant/application', body: { ...correction(applied), note: 'change after approval' } });
    expect(late.statusCode).toBe(409);
    expect(late.json().code).toBe('merchant_resubmission_not_requested');
  });

  it('a bad resubmission is refused with a clear problem and changes nothing', async () => {
    const applied = await applyAsMerchant(env.koban);
    await review(env.koban, reviewer, applied.merchantId, 'ask_for_more', '代表者名を確認してください');
    const { client } = await signInApplicant(applied);
    const bad = await client.request({ method: 'POST', url: '/v1/merchant/application', body: { ...correction(applied), corporateNumber: '12ab' } });
    expect(bad.statusCode).toBe(400);
    const noNote = await client.request({ method: 'POST', url: '/v1/merchant/application', body: { ...correction(applied), note: '   ' } });
    expect(noNote.statusCode).toBe(400);
    const row = await env.db.pool.query<{ corporate_number: string; review_state: string }>('select corporate_number, review_state from merchants where id = $1', [applied.merchantId]);
    expect(row.rows[0]).toEqual({ corporate_number: '1234567890123', review_state: 'more_info_requested' });
    expect((await env.db.pool.query('select 1 from merchant_application_versions where merchant_id = $1', [applied.merchantId])).rowCount).toBe(0);
  });
});

describe('staff roles', () => {
  it('an owner changes a clerk to manager: the new role applies on the clerk\'s next request, audited', async () => {
    const merchant = await approvedMerchant(env.koban, reviewer);
    const clerk = await addStaff(env.koban, merchant.owner, 'clerk');
    expect((await clerk.client.request({ method: 'GET', url: '/v1/merchant/statements' })).statusCode).toBe(403);
    const changed = await merchant.owner.request({ method: 'POST', url: `/v1/merchant/users/${clerk.id}/role`, body: { role: 'manager' } });
    expect(changed.statusCode, changed.body).toBe(200);
    expect(changed.json()).toMatchObject({ id: clerk.id, role: 'manager' });
    expect((await clerk.client.request({ method: 'GET', url: '/v1/merchant/statements' })).statusCode).toBe(200);
    const audit = await env.db.pool.query<{ details: { from: string; to: string } }>(`select details from audit_events where action = 'merchant_user.role_changed' and target_id = $1`, [clerk.id]);
    expect(audit.rows.map((r) => [r.details.from, r.details.to])).toEqual([['clerk', 'manager']]);
  });

  it('a manager cannot promote themselves or anyone (staff is the owner\'s), and the last owner cannot be demoted', async () => {
    const merchant = await approvedMerchant(env.koban, reviewer);
    const manager = await addStaff(env.koban, merchant.owner, 'manager');
    const selfPromotion = await manager.client.request({ method: 'POST', url: `/v1/merchant/users/${manager.id}/role`, body: { role: 'owner' } });
    expect(selfPromotion.statusCode).toBe(403);
    expect(selfPromotion.json().code).toBe('merchant_permission_denied');
    const ownerId = (await merchant.owner.request({ method: 'GET', url: '/v1/merchant/session' })).json().user.id as string;
    expect((await merchant.owner.request({ method: 'POST', url: `/v1/merchant/users/${ownerId}/role`, body: { role: 'clerk' } })).json().code).toBe('forbidden');
    // A second owner may be demoted by the first, but not the other way round once they are the last one.
    const second = await addStaff(env.koban, merchant.owner, 'owner');
    expect((await merchant.owner.request({ method: 'POST', url: `/v1/merchant/users/${second.id}/role`, body: { role: 'developer' } })).statusCode).toBe(200);
    expect((await second.client.request({ method: 'POST', url: `/v1/merchant/users/${ownerId}/role`, body: { role: 'clerk' } })).statusCode).toBe(403);
    const other = await approvedMerchant(env.koban, reviewer);
    expect((await other.owner.request({ method: 'POST', url: `/v1/merchant/users/${manager.id}/role`, body: { role: 'clerk' } })).statusCode).toBe(404);
    expect((await merchant.owner.request({ method: 'POST', url: `/v1/merchant/users/${manager.id}/role`, body: { role: 'admin' } })).statusCode).toBe(400);
  });
});

describe('webhook endpoints from the portal', () => {
  it('a developer edits an endpoint\'s URL and format, disables and enables it; another merchant cannot touch it', async () => {
    const merchant = await approvedMerchant(env.koban, reviewer);
    const developer = await addStaff(env.koban, merchant.owner, 'developer');
    const created = await developer.client.request({ method: 'POST', url: '/v1/merchant/webhook-endpoints', body: { url: 'https://hooks.example.jp/koban' } });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().endpointId as string;
    const edited = await developer.client.request({ method: 'POST', url: `/v1/merchant/webhook-endpoints/${id}`, body: { url: 'https://hooks.example.jp/v2', format: 'paypay' } });
    expect(edited.statusCode, edited.body).toBe(200);
    expect(edited.json()).toMatchObject({ url: 'https://hooks.example.jp/v2', format: 'paypay', disabled: false });
    expect((await developer.client.request({ method: 'POST', url: `/v1/merchant/webhook-endpoints/${id}`, body: { disabled: true } })).json().disabled).toBe(true);
    const listed = await developer.client.request({ method: 'GET', url: '/v1/merchant/webhook-endpoints' });
    expect(listed.json().endpoints).toEqual([expect.objectContaining({ endpointId: id, url: 'https://hooks.example.jp/v2', format: 'paypay', disabled: true })]);
    expect((await developer.client.request({ method: 'POST', url: `/v1/merchant/webhook-endpoints/${id}`, body: { format: 'json' } })).statusCode).toBe(400);
    const stranger = await approvedMerchant(env.koban, reviewer);
    expect((await stranger.owner.request({ method: 'POST', url: `/v1/merchant/webhook-endpoints/${id}`, body: { disabled: false } })).statusCode).toBe(404);
  });
});
