/**
 * The colluding merchant of the `colluding-merchant` drill (issue 13): a shop that applies through the public
 * onboarding API like any other, is approved by an operator, makes itself a live API key in the portal, and
 * mints order QRs (OPA `POST /v2/codes`, `ORDER_QR`) for stolen sessions to pay. Nothing here reaches past the
 * APIs a real merchant has.
 */
import { randomBytes } from 'node:crypto';
import { generate } from 'otplib';
import { computeOpaAuthHeader } from '../merchants/opa/signature.ts';
import { problemCode, type Browser, type Transport } from './http.ts';
import type { Ops } from './ops.ts';

export interface ColludingMerchant {
  readonly merchantId: string;
  readonly apiKey: string;
  readonly apiSecret: string;
}

function must(what: string, response: { status: number; body: unknown; text: string }, expected: number): unknown {
  if (response.status !== expected) throw new Error(`colluding merchant set-up: ${what} answered ${response.status} ${problemCode(response as Parameters<typeof problemCode>[0])}`);
  return response.body;
}

/** Applies, is approved by the drill's operator (audited with the drill's reason), signs in, makes a live key. */
export async function onboardColludingMerchant(portal: Browser, ops: Ops, runTag: string): Promise<ColludingMerchant> {
  const tag = `${runTag}${randomBytes(3).toString('hex')}`;
  const password = `colluding ${tag} merchant pass`;
  const owner = `owner-${tag}@drill.koban.example`;
  const applied = must('the application', await portal.request('POST', '/v1/merchant/applications', {
    nameJa: `ドリル商店 ${tag}`, nameLatin: `Drill Shoten ${tag}`, corporateNumber: '1234567890123', representative: '山田 太郎', address: '東京都千代田区1-1',
    contactEmail: `contact-${tag}@drill.koban.example`, contactPhone: '03-1234-5678', categoryCode: '5411', expectedMonthlyVolume: 500_000,
    bank: { bankCode: '0001', branchCode: '001', accountType: 'ordinary', accountNumber: '7654321', holderNameKana: 'ﾄﾞﾘﾙｼｮｳﾃﾝ' },
    owner: { email: owner, displayName: 'オーナー', password },
  }), 201) as { merchantId: string; owner: { totpSecret: string } };
  await ops.approveMerchant(applied.merchantId, `koban drill ${runTag}: the colluding merchant of the colluding-merchant attack class`);
  must('the owner\'s sign-in', await portal.request('POST', '/v1/merchant/session', { email: owner, password, totpCode: await generate({ secret: applied.owner.totpSecret }) }), 200);
  const key = must('the API key', await portal.request('POST', '/v1/merchant/api-keys', { mode: 'live', name: 'drill' }), 201) as { apiKey: string; apiSecret: string };
  return { merchantId: applied.merchantId, apiKey: key.apiKey, apiSecret: key.apiSecret };
}

/** An order QR for `amountMinor` (the codeId a customer pays with `POST /v1/wallet/qr/:codeId/pay`), or the OPA code it was refused with. */
export async function orderQr(transport: Transport, opaUrl: string, merchant: ColludingMerchant, amountMinor: number, address: string | null): Promise<{ ok: true; codeId: string } | { ok: false; code: string }> {
  const path = '/v2/codes';
  const body = JSON.stringify({ merchantPaymentId: `drill-${randomBytes(8).toString('hex')}`, amount: { amount: amountMinor, currency: 'JPY' }, codeType: 'ORDER_QR', orderDescription: 'drill order' });
  const authorization = computeOpaAuthHeader({
    apiKey: merchant.apiKey, apiSecret: merchant.apiSecret, method: 'POST', path, nonce: randomBytes(8).toString('hex'),
    epochSec: Math.floor(Date.now() / 1000), contentType: 'application/json', body,
  });
  const response = await transport.send({ method: 'POST', url: new URL(path, opaUrl).toString(), rawBody: body, headers: { authorization }, localAddress: address });
  const answer = response.body as { resultInfo?: { code?: string }; data?: { codeId?: string } } | null;
  const codeId = answer?.data?.codeId;
  return typeof codeId === 'string' ? { ok: true, codeId } : { ok: false, code: answer?.resultInfo?.code ?? `http_${response.status}` };
}
