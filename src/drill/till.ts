/**
 * A store's till on the merchant API (HTTPS, OPA-Auth signed, `POST /v2/till/payments`): how both the
 * ordinary customers' and the attacker's payment codes get charged. The till is the merchant's, so its
 * requests come from the store's own source address, not the customer's.
 */
import { randomBytes } from 'node:crypto';
import { computeOpaAuthHeader } from '../merchants/opa/signature.ts';
import type { Transport } from './http.ts';

export interface TillConfig {
  readonly opaUrl: string;
  readonly apiKey: string;
  readonly apiSecret: string;
  readonly address: string | null;
}

export interface Store { readonly storeId: string; readonly terminalId: string; readonly name: string }

/** `SUCCESS`, or the OPA result code (`NO_SUFFICIENT_FUND`, `UNACCEPTABLE_OP` for a risk refusal, …). */
export async function chargeAtTill(transport: Transport, till: TillConfig, store: Store, code: string, amountMinor: number): Promise<string> {
  const path = '/v2/till/payments';
  const body = JSON.stringify({ merchantPaymentId: `drill-${randomBytes(8).toString('hex')}`, code, amount: { amount: amountMinor, currency: 'JPY' }, storeId: store.storeId, terminalId: store.terminalId });
  const authorization = computeOpaAuthHeader({
    apiKey: till.apiKey, apiSecret: till.apiSecret, method: 'POST', path, nonce: randomBytes(8).toString('hex'),
    epochSec: Math.floor(Date.now() / 1000), contentType: 'application/json', body,
  });
  const response = await transport.send({ method: 'POST', url: new URL(path, till.opaUrl).toString(), rawBody: body, headers: { authorization }, localAddress: till.address });
  const resultCode = (response.body as { resultInfo?: { code?: string } } | null)?.resultInfo?.code;
  return resultCode ?? `http_${response.status}`;
}
