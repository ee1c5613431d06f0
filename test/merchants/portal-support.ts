/**
 * Merchant portal test helpers over HTTP on a real Koban: an application, its approval by an operator, and
 * staff signed in with password + TOTP (each client from its own address, so per-address limits stay apart).
 */
import { randomBytes } from 'node:crypto';
import { generate } from 'otplib';
import { expect } from 'vitest';
import type { Koban } from '../../src/koban.ts';
import { newClient, type Client } from '../identity/support.ts';
import type { SignedInOperator } from '../operations/support.ts';

export const STAFF_PASSWORD = 'correct horse battery staple 16';
let ipCounter = 0;

export function freshClient(koban: Koban): Client {
  ipCounter += 1;
  return newClient(koban, `198.18.${Math.floor(ipCounter / 250)}.${(ipCounter % 250) + 1}`);
}

export function applicationBody(volume = 1_000_000) {
  const tag = randomBytes(4).toString('hex');
  return {
    nameJa: `こばん商店 ${tag}`, nameLatin: `Koban Shoten ${tag}`, corporateNumber: '1234567890123', representative: '山田 太郎', address: '東京都千代田区1-1',
    contactEmail: `contact-${tag}@example.jp`, contactPhone: '03-1234-5678', categoryCode: '5411', expectedMonthlyVolume: volume,
    bank: { bankCode: '0001', branchCode: '001', accountType: 'ordinary', accountNumber: '7654321', holderNameKana: 'ｺﾊﾞﾝｼｮｳﾃﾝ' },
    owner: { email: `owner-${tag}@example.jp`, displayName: 'オーナー', password: STAFF_PASSWORD },
  };
}

export async function signInStaff(koban: Koban, email: string, password: string, totpSecret: string): Promise<Client> {
  const client = freshClient(koban);
  const response = await client.request({ method: 'POST', url: '/v1/merchant/session', body: { email, password, totpCode: await generate({ secret: totpSecret }) } });
  expect(response.statusCode, response.body).toBe(200);
  return client;
}

export interface AppliedMerchant { merchantId: string; email: string; totpSecret: string; body: ReturnType<typeof applicationBody> }

export async function applyAsMerchant(koban: Koban): Promise<AppliedMerchant> {
  const body = applicationBody();
  const applied = await freshClient(koban).request({ method: 'POST', url: '/v1/merchant/applications', body });
  expect(applied.statusCode, applied.body).toBe(201);
  const { merchantId, owner } = applied.json() as { merchantId: string; owner: { totpSecret: string } };
  return { merchantId, email: body.owner.email, totpSecret: owner.totpSecret, body };
}

export async function review(koban: Koban, reviewer: SignedInOperator, merchantId: string, decision: 'approve' | 'reject' | 'ask_for_more', reason: string) {
  return koban.app.inject({ method: 'POST', url: `/v1/ops/merchants/${merchantId}/review`, headers: reviewer.headers, payload: { decision, reason } });
}

/** Applied and approved; the owner signed in with password + TOTP. */
export async function approvedMerchant(koban: Koban, reviewer: SignedInOperator): Promise<{ merchantId: string; owner: Client; ownerEmail: string; ownerTotpSecret: string }> {
  const applied = await applyAsMerchant(koban);
  const approved = await review(koban, reviewer, applied.merchantId, 'approve', 'documents checked');
  expect(approved.statusCode, approved.body).toBe(200);
  return { merchantId: applied.merchantId, owner: await signInStaff(koban, applied.email, STAFF_PASSWORD, applied.totpSecret), ownerEmail: applied.email, ownerTotpSecret: applied.totpSecret };
}

export async function addStaff(koban: Koban, owner: Client, role: 'owner' | 'manager' | 'clerk' | 'developer'): Promise<{ id: string; client: Client }> {
  const created = await owner.request({ method: 'POST', url: '/v1/merchant/users', body: { email: `${role}-${randomBytes(4).toString('hex')}@example.jp`, displayName: role, role } });
  expect(created.statusCode, created.body).toBe(201);
  const { user, password, totpSecret } = created.json() as { user: { id: string; email: string }; password: string; totpSecret: string };
  return { id: user.id, client: await signInStaff(koban, user.email, password, totpSecret) };
}
