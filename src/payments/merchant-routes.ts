/**
 * The merchant API on the OPA listener: the OPA-compatible endpoints and Koban's own till API in the
 * same conventions. Routes parse, call the payments module and map; they hold no business rule.
 */
import { Type } from 'typebox';
import { Compile } from 'typebox/compile';
import { checkBody, type OpaServer } from '../merchants/opa/server.ts';
import { opaReply } from '../merchants/opa/result-info.ts';
import { KobanError } from '../platform/errors.ts';
import { UUID_PATTERN } from '../platform/ids.ts';
import { readRefunds } from './model.ts';
import { paymentAnswer, refundFailure } from './outcomes.ts';
import { awaitingCustomer } from './customer-confirmation.ts';
import type { Payments } from './service.ts';
import { epochSec, paymentView, refundView, wireInteger } from './views.ts';
import type { DynamicQr } from './dynamic-qr.ts';

export const MERCHANT_ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$';
const MerchantScopedId = Type.String({ pattern: MERCHANT_ID_PATTERN });
/** OPA amounts: integer JPY, up to 11 digits. The strict JSON parser has already refused fractions and exponents. */
const OpaAmount = Type.Object({
  amount: Type.Integer({ minimum: 1, maximum: 99_999_999_999 }),
  currency: Type.Literal('JPY'),
}, { additionalProperties: false });
const Uuid = Type.String({ pattern: UUID_PATTERN });
const EpochSec = Type.Integer({ minimum: 0, maximum: 99_999_999_999 });

const TillPaymentBody = Compile(Type.Object({
  merchantPaymentId: MerchantScopedId,
  code: Type.String({ minLength: 1, maxLength: 64 }),
  amount: OpaAmount,
  storeId: Uuid,
  terminalId: Uuid,
  orderDescription: Type.Optional(Type.String({ maxLength: 255 })),
  requestedAt: Type.Optional(EpochSec),
}, { additionalProperties: false }));

const CreateQrBody = Compile(Type.Object({
  merchantPaymentId: MerchantScopedId,
  amount: OpaAmount,
  codeType: Type.Literal('ORDER_QR'),
  orderDescription: Type.Optional(Type.String({ maxLength: 255 })),
  orderItems: Type.Optional(Type.Array(Type.Unknown(), { maxItems: 100 })),
  metadata: Type.Optional(Type.Unknown()),
  // PayPay's storeId/terminalId are free text; Koban's are the ids of its stores and terminals.
  storeId: Type.Optional(Uuid),
  storeInfo: Type.Optional(Type.String({ maxLength: 255 })),
  terminalId: Type.Optional(Uuid),
  requestedAt: Type.Optional(EpochSec),
  redirectUrl: Type.Optional(Type.String({ maxLength: 2048 })),
  redirectType: Type.Optional(Type.Union([Type.Literal('WEB_LINK'), Type.Literal('APP_DEEP_LINK'), Type.Literal('WEBVIEW_IN_PAYPAY')])),
  userAgent: Type.Optional(Type.String({ maxLength: 512 })),
  isAuthorization: Type.Optional(Type.Boolean()),
  authorizationExpiry: Type.Optional(EpochSec),
  productType: Type.Optional(Type.String({ maxLength: 64 })),
  ipAddress: Type.Optional(Type.String({ maxLength: 64 })),
}, { additionalProperties: false }));

const RefundBody = Compile(Type.Object({
  merchantRefundId: MerchantScopedId,
  paymentId: Uuid,
  amount: OpaAmount,
  requestedAt: Type.Optional(EpochSec),
  reason: Type.Optional(Type.String({ maxLength: 255 })),
}, { additionalProperties: false }));

function qrView(qr: DynamicQr, publicUrl: string, redirect: { redirectUrl?: string; redirectType?: string }) {
  const p = qr.payment;
  return {
    codeId: qr.codeId,
    url: `${publicUrl}/qr/${qr.codeId}`,
    deeplink: `koban://qr/${qr.codeId}`,
    expiryDate: epochSec(qr.expiresAt),
    merchantPaymentId: p.merchantPaymentId,
    amount: { amount: wireInteger(p.amountMinor), currency: 'JPY' },
    orderDescription: p.orderDescription ?? undefined,
    storeId: p.storeId ?? undefined,
    terminalId: p.terminalId ?? undefined,
    requestedAt: epochSec(p.requestedAt ?? p.createdAt),
    codeType: 'ORDER_QR',
    isAuthorization: false,
    ...redirect,
  };
}

export function registerOpaRoutes(server: OpaServer, payments: Payments, publicUrl: string): void {
  const db = payments.deps.db.pool;
  server.route('POST', '/v2/codes', async (call) => {
    const body = checkBody(CreateQrBody, call.body);
    if (body.isAuthorization === true) return opaReply('PRE_AUTH_CAPTURE_UNSUPPORTED_MERCHANT');
    const qr = await payments.createDynamicQr({
      merchantId: call.merchantId, merchantPaymentId: body.merchantPaymentId, amountMinor: BigInt(body.amount.amount),
      orderDescription: body.orderDescription ?? null, storeId: body.storeId ?? null, terminalId: body.terminalId ?? null, requestedAt: epochToDate(body.requestedAt),
    });
    const redirect = { ...(body.redirectUrl === undefined ? {} : { redirectUrl: body.redirectUrl }), ...(body.redirectType === undefined ? {} : { redirectType: body.redirectType }) };
    return opaReply('SUCCESS', { httpStatus: 201, data: qrView(qr, publicUrl, redirect) });
  });

  server.route('DELETE', '/v2/codes/:codeId', async (call) => {
    await payments.deleteDynamicQr(call.merchantId, requireScopedId(call.params.codeId, 'codeId'));
    return opaReply('SUCCESS', { data: { qrStatus: 'DELETED' } });
  });

  server.route('GET', '/v2/codes/payments/:merchantPaymentId', async (call) => {
    const payment = await payments.getCodePayment(call.merchantId, requireScopedId(call.params.merchantPaymentId));
    return opaReply('SUCCESS', { data: paymentView(payment, await readRefunds(db, payment.id)) });
  }, { payment_not_found: 'DYNAMIC_QR_PAYMENT_NOT_FOUND' });

  // Cancel is asynchronous in PayPay (202); Koban finishes it within the call, the answer is the same.
  server.route('DELETE', '/v2/payments/:merchantPaymentId', async (call) => {
    await payments.cancelPayment(call.merchantId, requireScopedId(call.params.merchantPaymentId));
    return opaReply('REQUEST_ACCEPTED');
  });

  server.route('POST', '/v2/refunds', async (call) => {
    const body = checkBody(RefundBody, call.body);
    const refund = await payments.refundPayment({
      merchantId: call.merchantId, merchantRefundId: body.merchantRefundId, paymentId: body.paymentId, amountMinor: BigInt(body.amount.amount),
      reason: body.reason ?? null, requestedAt: epochToDate(body.requestedAt),
    });
    const failure = refundFailure(refund);
    if (failure !== null) throw failure;
    return opaReply('SUCCESS', { data: refundView(refund, { id: refund.paymentId }) });
  }, { payment_not_found: 'RESOURCE_NOT_FOUND' });

  server.route('GET', '/v2/refunds/:merchantRefundId', async (call) => {
    const { refund, payment } = await payments.getRefund(call.merchantId, requireScopedId(call.params.merchantRefundId, 'merchantRefundId'));
    return opaReply('SUCCESS', { data: refundView(refund, payment) });
  });
}

export function epochToDate(sec: number | undefined): Date | null {
  return sec === undefined ? null : new Date(sec * 1000);
}

export function registerTillRoutes(server: OpaServer, payments: Payments): void {
  server.route('POST', '/v2/till/payments', async (call) => {
    const body = checkBody(TillPaymentBody, call.body);
    const { payment, refunds } = await payments.payAtTill({
      merchantId: call.merchantId, merchantPaymentId: body.merchantPaymentId, code: body.code, amountMinor: BigInt(body.amount.amount),
      storeId: body.storeId, terminalId: body.terminalId, orderDescription: body.orderDescription ?? null, requestedAt: epochToDate(body.requestedAt),
    });
    // Waiting for the customer to confirm in the wallet: accepted, not completed (PayPay answers a payment its
    // user has yet to accept with REQUEST_ACCEPTED and status CREATED). The same call answers the outcome later.
    if (awaitingCustomer(payment)) return opaReply('REQUEST_ACCEPTED', { data: paymentView(payment, refunds) });
    return opaReply('SUCCESS', { data: paymentView(paymentAnswer(payment), refunds) });
  }, { merchant_payment_id_conflict: 'DUPLICATE_PAYMENT_REQUEST' });

  server.route('GET', '/v2/payments/:merchantPaymentId', async (call) => {
    const payment = await payments.getPayment(call.merchantId, requireScopedId(call.params.merchantPaymentId));
    return opaReply('SUCCESS', { data: paymentView(payment, await readRefunds(payments.deps.db.pool, payment.id)) });
  });
}

export function requireScopedId(value: string | undefined, field = 'merchantPaymentId'): string {
  if (value === undefined || !new RegExp(MERCHANT_ID_PATTERN).test(value)) {
    throw new KobanError('validation_failed', { errors: [{ pointer: `/params/${field}`, message: 'must be 1–64 of A-Z a-z 0-9 _ -' }] });
  }
  return value;
}
