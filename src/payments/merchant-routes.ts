/**
 * The merchant API on the OPA listener: the OPA-compatible endpoints and Koban's own till API in the
 * same conventions. Routes parse, call the payments module and map; they hold no business rule.
 */
import { Type } from 'typebox';
import { Compile } from 'typebox/compile';
import { EXTERNAL_ID_MAX } from '../merchants/external-ids.ts';
import { checkBody, checkTolerantBody, type OpaServer } from '../merchants/opa/server.ts';
import { opaReply } from '../merchants/opa/result-info.ts';
import { KobanError } from '../platform/errors.ts';
import { UUID_PATTERN } from '../platform/ids.ts';
import { readRefunds } from './model.ts';
import { paymentAnswer, refundFailure } from './outcomes.ts';
import { awaitingCustomer } from './customer-confirmation.ts';
import type { Payments } from './service.ts';
import { epochSec, paymentView, refundView, wireInteger } from './views.ts';
import { REDIRECT_URL_MAX, type DynamicQr } from './dynamic-qr.ts';
import { refToKeep } from './merchant-orders.ts';
import { PAYMENTS_PAGE_DEFAULT, type SearchStatus } from './payment-search.ts';
import { NO_ORDER_DETAILS, type OrderDetails, type OrderItem } from './order-details.ts';

export const MERCHANT_ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$';
const MerchantScopedId = Type.String({ pattern: MERCHANT_ID_PATTERN });
/**
 * OPA amounts: integer JPY, up to 11 digits. The strict JSON parser has already refused fractions and
 * exponents. The currency is any short string here so that one PayPay does not take answers its own code
 * (INVALID_REQUEST_PARAMS, "unsupported currency"), not a schema refusal: `requireJpy`.
 */
const OpaAmount = Type.Object({
  amount: Type.Integer({ minimum: 1, maximum: 99_999_999_999 }),
  currency: Type.String({ minLength: 1, maxLength: 8 }),
}, { additionalProperties: false });
const Uuid = Type.String({ pattern: UUID_PATTERN });
const EpochSec = Type.Integer({ minimum: 0, maximum: 99_999_999_999 });
/** PayPay's storeId/terminalId: the merchant's own strings (or Koban's ids), up to 255. */
const MerchantRef = Type.String({ minLength: 1, maxLength: EXTERNAL_ID_MAX });
/** PayPay's MerchantOrderItem; `unitPrice` is optional in its payment-details shape. */
const OrderItemSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 255 }),
  category: Type.Optional(Type.String({ maxLength: 255 })),
  quantity: Type.Integer({ minimum: 1, maximum: 99_999_999_999 }),
  productId: Type.Optional(Type.String({ maxLength: 255 })),
  unitPrice: Type.Optional(OpaAmount),
}, { additionalProperties: false });

const TillPaymentBody = Compile(Type.Object({
  merchantPaymentId: MerchantScopedId,
  code: Type.String({ minLength: 1, maxLength: 64 }),
  amount: OpaAmount,
  storeId: MerchantRef,
  terminalId: MerchantRef,
  orderDescription: Type.Optional(Type.String({ maxLength: 255 })),
  requestedAt: Type.Optional(EpochSec),
}, { additionalProperties: false }));

const CreateQrBody = Compile(Type.Object({
  merchantPaymentId: MerchantScopedId,
  amount: OpaAmount,
  codeType: Type.Literal('ORDER_QR'),
  orderDescription: Type.Optional(Type.String({ maxLength: 255 })),
  orderItems: Type.Optional(Type.Array(OrderItemSchema, { maxItems: 100 })),
  // Obsolete in PayPay's reference (deleted 2025-03); still sent by older SDKs: accepted, not kept.
  metadata: Type.Optional(Type.Unknown()),
  storeId: Type.Optional(MerchantRef),
  storeInfo: Type.Optional(Type.String({ maxLength: 255 })),
  terminalId: Type.Optional(MerchantRef),
  requestedAt: Type.Optional(EpochSec),
  redirectUrl: Type.Optional(Type.String({ minLength: 1, maxLength: REDIRECT_URL_MAX })),
  redirectType: Type.Optional(Type.Union([Type.Literal('WEB_LINK'), Type.Literal('APP_DEEP_LINK'), Type.Literal('WEBVIEW_IN_PAYPAY')])),
  userAgent: Type.Optional(Type.String({ maxLength: 512 })),
  isAuthorization: Type.Optional(Type.Boolean()),
  authorizationExpiry: Type.Optional(EpochSec),
  productType: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  ipAddress: Type.Optional(Type.String({ maxLength: 64 })),
}, { additionalProperties: false }));

const RefundBody = Compile(Type.Object({
  merchantRefundId: MerchantScopedId,
  // PayPay's paymentId is its own string (≤ 64); one that is not a Koban payment id is simply not found.
  paymentId: Type.String({ minLength: 1, maxLength: 64 }),
  amount: OpaAmount,
  requestedAt: Type.Optional(EpochSec),
  reason: Type.Optional(Type.String({ maxLength: 255 })),
}, { additionalProperties: false }));

/** PayPay's capture of an authorised order (`v2_captureAuthorizedOrder`). */
const CaptureBody = Compile(Type.Object({
  merchantPaymentId: MerchantScopedId,
  amount: OpaAmount,
  merchantCaptureId: MerchantScopedId,
  requestedAt: Type.Optional(EpochSec),
  orderDescription: Type.Optional(Type.String({ maxLength: 255 })),
}, { additionalProperties: false }));

/** PayPay's revert of an authorisation (`v2_revertAuthorizedOrder`). */
const RevertBody = Compile(Type.Object({
  merchantRevertId: MerchantScopedId,
  paymentId: Type.String({ minLength: 1, maxLength: 64 }),
  requestedAt: Type.Optional(EpochSec),
  reason: Type.Optional(Type.String({ maxLength: 255 })),
}, { additionalProperties: false }));

/** PayPay's "unsupported currency" answer (INVALID_REQUEST_PARAMS). */
function requireJpy(amount: { currency: string }, pointer: string): void {
  if (amount.currency !== 'JPY') throw new KobanError('unsupported_currency', { errors: [{ pointer, message: 'must be JPY' }] });
}

/** PayPay's QRCodeResponse echoes orderItems with `unit_price` (its MerchantOrderItemResponse), unlike the request. */
function orderItemsEcho(items: readonly OrderItem[] | null) {
  return items?.map(({ unitPrice, ...item }) => ({ ...item, ...(unitPrice === undefined ? {} : { unit_price: unitPrice }) }));
}

function qrView(qr: DynamicQr, publicUrl: string, details: OrderDetails) {
  const p = qr.payment;
  return {
    codeId: qr.codeId,
    url: `${publicUrl}/qr/${qr.codeId}`,
    deeplink: `koban://qr/${qr.codeId}`,
    expiryDate: epochSec(qr.expiresAt),
    merchantPaymentId: p.merchantPaymentId,
    // The order's amount (a captured pre-authorisation's payment amount is what was captured).
    amount: { amount: wireInteger(p.authorizedAmountMinor ?? p.amountMinor), currency: 'JPY' },
    orderDescription: p.orderDescription ?? undefined,
    orderItems: orderItemsEcho(details.orderItems),
    storeInfo: details.storeInfo ?? undefined,
    storeId: details.storeRef ?? p.storeId ?? undefined,
    productType: details.productType ?? undefined,
    terminalId: details.terminalRef ?? p.terminalId ?? undefined,
    requestedAt: epochSec(p.requestedAt ?? p.createdAt),
    codeType: 'ORDER_QR',
    isAuthorization: p.isAuthorization,
    ...(p.isAuthorization ? { authorizationExpiry: epochSec(p.authorizationExpiresAt) } : {}),
    // What Koban kept (a repeat of the order echoes the first request's), so the answer is what the page will do.
    ...(qr.redirect === null ? {} : { redirectUrl: qr.redirect.url, redirectType: qr.redirect.type }),
  };
}

export function registerOpaRoutes(server: OpaServer, payments: Payments, publicUrl: string): void {
  const db = payments.deps.db.pool;
  server.route('POST', '/v2/codes', async (call) => {
    const body = checkTolerantBody(CreateQrBody, call.body, call.request);
    requireJpy(body.amount, '/body/amount/currency');
    for (const [index, item] of (body.orderItems ?? []).entries()) if (item.unitPrice !== undefined) requireJpy(item.unitPrice, `/body/orderItems/${index}/unitPrice/currency`);
    // A pre-authorisation order: paying it holds the money until capture, revert or this expiry (authorizations.ts).
    const authorization = body.isAuthorization === true ? { expiresAt: payments.authorizationExpiry(epochToDate(body.authorizationExpiry)) } : undefined;
    const refs = await payments.resolveOrderRefs(call.merchantId, body.storeId ?? null, body.terminalId ?? null);
    const details: OrderDetails = {
      storeRef: refToKeep(refs.storeRef, refs.storeId), terminalRef: refToKeep(refs.terminalRef, refs.terminalId),
      storeInfo: body.storeInfo ?? null, productType: body.productType ?? null, orderItems: body.orderItems ?? null,
    };
    const qr = await payments.createDynamicQr({
      merchantId: call.merchantId, merchantPaymentId: body.merchantPaymentId, amountMinor: BigInt(body.amount.amount),
      orderDescription: body.orderDescription ?? null, storeId: refs.storeId, terminalId: refs.terminalId, requestedAt: epochToDate(body.requestedAt), details,
      ...(body.redirectUrl === undefined ? {} : { redirectUrl: body.redirectUrl }), ...(body.redirectType === undefined ? {} : { redirectType: body.redirectType }),
      ...(authorization === undefined ? {} : { authorization }),
    });
    const kept = await payments.orderDetails(call.merchantId, qr.payment.merchantPaymentId);
    return opaReply('SUCCESS', { httpStatus: 201, data: qrView(qr, publicUrl, kept) });
  });

  server.route('DELETE', '/v2/codes/:codeId', async (call) => {
    await payments.deleteDynamicQr(call.merchantId, requireScopedId(call.params.codeId, 'codeId'));
    return opaReply('SUCCESS', { data: { qrStatus: 'DELETED' } });
  });

  server.route('GET', '/v2/codes/payments/:merchantPaymentId', async (call) => {
    const payment = await payments.getCodePayment(call.merchantId, requireScopedId(call.params.merchantPaymentId));
    return opaReply('SUCCESS', { data: paymentView(payment, await readRefunds(db, payment.id), await payments.orderDetails(call.merchantId, payment.merchantPaymentId)) });
  }, { payment_not_found: 'DYNAMIC_QR_PAYMENT_NOT_FOUND' });

  // Cancel is asynchronous in PayPay (202); Koban finishes it within the call, the answer is the same. An
  // unknown merchantPaymentId is accepted too (PayPay's contract) and can never be paid afterwards.
  server.route('DELETE', '/v2/payments/:merchantPaymentId', async (call) => {
    const canceled = await payments.cancelByMerchantId(call.merchantId, requireScopedId(call.params.merchantPaymentId));
    if (canceled === null) call.request.log.info({ merchantPaymentId: call.params.merchantPaymentId }, 'cancel of an unknown merchantPaymentId: remembered as cancelled');
    return opaReply('REQUEST_ACCEPTED');
  });

  server.route('POST', '/v2/refunds', async (call) => {
    const body = checkTolerantBody(RefundBody, call.body, call.request);
    requireJpy(body.amount, '/body/amount/currency');
    const refund = await payments.refundPayment({
      merchantId: call.merchantId, merchantRefundId: body.merchantRefundId, paymentId: body.paymentId, amountMinor: BigInt(body.amount.amount),
      reason: body.reason ?? null, requestedAt: epochToDate(body.requestedAt),
    });
    const failure = refundFailure(refund);
    if (failure !== null) throw failure;
    return opaReply('SUCCESS', { data: refundView(refund, { id: refund.paymentId }) });
  }, { payment_not_found: 'RESOURCE_NOT_FOUND' });

  // Pre-authorisation (src/payments/authorizations.ts): capture, full or partial; revert. Idempotent by the merchant's ids.
  server.route('POST', '/v2/payments/capture', async (call) => {
    const body = checkTolerantBody(CaptureBody, call.body, call.request);
    requireJpy(body.amount, '/body/amount/currency');
    const payment = await payments.captureAuthorization({
      merchantId: call.merchantId, merchantPaymentId: body.merchantPaymentId, merchantCaptureId: body.merchantCaptureId, amountMinor: BigInt(body.amount.amount),
      orderDescription: body.orderDescription ?? null, requestedAt: epochToDate(body.requestedAt),
    });
    const view = paymentView(payment, await readRefunds(db, payment.id), await payments.orderDetails(call.merchantId, payment.merchantPaymentId));
    return opaReply('SUCCESS', { data: { ...view, merchantCaptureId: body.merchantCaptureId } });
  });

  server.route('POST', '/v2/payments/preauthorize/revert', async (call) => {
    const body = checkTolerantBody(RevertBody, call.body, call.request);
    const payment = await payments.revertAuthorization({
      merchantId: call.merchantId, paymentId: body.paymentId, merchantRevertId: body.merchantRevertId, reason: body.reason ?? null, requestedAt: epochToDate(body.requestedAt),
    });
    return opaReply('SUCCESS', { data: { status: 'CANCELED', acceptedAt: epochSec(payment.canceledAt), paymentId: payment.id, requestedAt: body.requestedAt ?? null, reason: body.reason ?? null } });
  });

  // Wallet-initiated pre-authorisation needs PayPay's account link (userAuthorizationId), which Koban does not
  // offer: the documented "not supported for this merchant" answer. Koban's pre-authorisation is the order QR.
  server.route('POST', '/v2/payments/preauthorize', async () => opaReply('PRE_AUTH_CAPTURE_UNSUPPORTED_MERCHANT', {
    message: 'Wallet-initiated pre-authorisation is not offered; create an order QR with isAuthorization: true',
  }));

  server.route('GET', '/v2/refunds/:merchantRefundId', async (call) => {
    const { refund, payment } = await payments.getRefund(call.merchantId, requireScopedId(call.params.merchantRefundId, 'merchantRefundId'));
    return opaReply('SUCCESS', { data: refundView(refund, payment) });
  });
}

const DigitString = (maxLength: number) => Type.String({ pattern: `^[0-9]{1,${maxLength}}$` });
const PaymentSearchQuery = Compile(Type.Object({
  from: Type.Optional(DigitString(11)),
  to: Type.Optional(DigitString(11)),
  status: Type.Optional(Type.Union(['CREATED', 'AUTHORIZED', 'COMPLETED', 'REFUNDED', 'FAILED', 'EXPIRED'].map((s) => Type.Literal(s as SearchStatus)))),
  storeId: Type.Optional(MerchantRef),
  minAmount: Type.Optional(DigitString(11)),
  maxAmount: Type.Optional(DigitString(11)),
  limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$' })),
  startingAfter: Type.Optional(Uuid),
}, { additionalProperties: false }));

/** Koban's payments list and search (PayPay has none): Koban's own API, so its query is read strictly. */
export function registerPaymentSearchRoute(server: OpaServer, payments: Payments): void {
  server.route('GET', '/v2/payments', async (call) => {
    // `assumeMerchant` may ride along in the query (PayPay's scoping); everything else must be known.
    const { assumeMerchant: _scoping, ...rest } = call.query;
    const query = checkBody(PaymentSearchQuery, Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)));
    const page = await payments.searchPayments(call.merchantId, {
      from: epochToDate(query.from === undefined ? undefined : Number(query.from)), to: epochToDate(query.to === undefined ? undefined : Number(query.to)),
      status: query.status ?? null, storeRef: query.storeId ?? null,
      minAmountMinor: query.minAmount === undefined ? null : BigInt(query.minAmount), maxAmountMinor: query.maxAmount === undefined ? null : BigInt(query.maxAmount),
      limit: Number(query.limit ?? PAYMENTS_PAGE_DEFAULT), startingAfter: query.startingAfter ?? null,
    });
    return opaReply('SUCCESS', { data: page });
  });
}

export function epochToDate(sec: number | undefined): Date | null {
  return sec === undefined ? null : new Date(sec * 1000);
}

export function registerTillRoutes(server: OpaServer, payments: Payments): void {
  server.route('POST', '/v2/till/payments', async (call) => {
    const body = checkBody(TillPaymentBody, call.body);
    requireJpy(body.amount, '/body/amount/currency');
    // A till payment needs a real store and terminal: the merchant's ids must name them.
    const refs = await payments.resolveOrderRefs(call.merchantId, body.storeId, body.terminalId);
    if (refs.storeId === null) throw new KobanError('store_not_found', { errors: [{ pointer: '/body/storeId', message: 'names none of your stores' }] });
    if (refs.terminalId === null) throw new KobanError('terminal_not_found', { errors: [{ pointer: '/body/terminalId', message: 'names no terminal of that store' }] });
    const details: OrderDetails = { ...NO_ORDER_DETAILS, storeRef: refToKeep(refs.storeRef, refs.storeId), terminalRef: refToKeep(refs.terminalRef, refs.terminalId) };
    const { payment, refunds, orderDetails: stored } = await payments.payAtTill({
      merchantId: call.merchantId, merchantPaymentId: body.merchantPaymentId, code: body.code, amountMinor: BigInt(body.amount.amount),
      storeId: refs.storeId, terminalId: refs.terminalId, orderDescription: body.orderDescription ?? null, requestedAt: epochToDate(body.requestedAt), details,
    });
    // Waiting for the customer to confirm in the wallet: accepted, not completed (PayPay answers a payment its
    // user has yet to accept with REQUEST_ACCEPTED and status CREATED). The same call answers the outcome later.
    if (awaitingCustomer(payment)) return opaReply('REQUEST_ACCEPTED', { data: paymentView(payment, refunds, stored) });
    return opaReply('SUCCESS', { data: paymentView(paymentAnswer(payment), refunds, stored) });
  }, { merchant_payment_id_conflict: 'DUPLICATE_PAYMENT_REQUEST' });

  server.route('GET', '/v2/payments/:merchantPaymentId', async (call) => {
    const payment = await payments.getPayment(call.merchantId, requireScopedId(call.params.merchantPaymentId));
    return opaReply('SUCCESS', { data: paymentView(payment, await readRefunds(payments.deps.db.pool, payment.id), await payments.orderDetails(call.merchantId, payment.merchantPaymentId)) });
  });
}

export function requireScopedId(value: string | undefined, field = 'merchantPaymentId'): string {
  if (value === undefined || !new RegExp(MERCHANT_ID_PATTERN).test(value)) {
    throw new KobanError('validation_failed', { errors: [{ pointer: `/params/${field}`, message: 'must be 1–64 of A-Z a-z 0-9 _ -' }] });
  }
  return value;
}
