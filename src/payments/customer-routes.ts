/**
 * The wallet app's payment routes on Koban's own API (problem+json errors, amounts as digit strings).
 * Every route needs a customer authenticated by identity's CustomerAuthenticator; without one, none of
 * them is mounted. Routes parse, call the payments module and map; no business rule lives here.
 */
import { Type } from 'typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../http/app.ts';
import { KobanError } from '../platform/errors.ts';
import { parseAmountMinor } from '../platform/money.ts';
import { UUID_PATTERN } from '../platform/ids.ts';
import type { CustomerAuthenticator, CustomerContext } from './context.ts';
import { heldForCustomer } from './customer-confirmation.ts';
import type { Payment } from './model.ts';
import type { Payments } from './service.ts';

export const CUSTOMER_HISTORY_PAGE_MAX = 50;
const CodeIdParams = Type.Object({ codeId: Type.String({ pattern: '^[A-Za-z0-9_-]{8,64}$' }) });
const AmountIn = Type.Union([Type.String({ pattern: '^[1-9][0-9]{0,18}$' }), Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })]);
const Payload = Type.String({ minLength: 16, maxLength: 512 });
const IdempotencyKey = Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{8,64}$' }));
/** The charge PIN, when the customer confirms a payment that needs strong confirmation (context.ts). */
const ConfirmationPin = Type.Optional(Type.String({ maxLength: 16 }));

function optionalPin(body: unknown): string | undefined {
  if (body === undefined || body === null) return undefined;
  const pin = typeof body === 'object' ? (body as { pin?: unknown }).pin : null;
  if (pin === undefined) return undefined;
  if (typeof pin !== 'string' || pin.length > 16) throw new KobanError('validation_failed', { errors: [{ pointer: '/body/pin', message: 'must be a string of at most 16 characters' }] });
  return pin;
}

function withPin(ctx: CustomerContext, pin: string | undefined): CustomerContext {
  return pin === undefined ? ctx : { ...ctx, confirmationPin: pin };
}

/** `x-step-up-grant`: a passkey's proof for this payment (`pay`), or for a waiting one (`confirm_payment`). */
const GrantHeader = Type.Object({ 'x-step-up-grant': Type.Optional(Type.String({ maxLength: 512 })) });

function withGrant(ctx: CustomerContext, request: FastifyRequest): CustomerContext {
  const grant = request.headers['x-step-up-grant'];
  return typeof grant === 'string' ? { ...ctx, confirmationGrant: grant } : ctx;
}

function customerPaymentView(payment: Payment, names?: { merchantName: string; storeName: string | null }) {
  return {
    paymentId: payment.id, status: payment.status, kind: payment.kind, amount: payment.amountMinor.toString(),
    refunded: payment.refundedMinor.toString(), acceptedAt: payment.acceptedAt?.toISOString() ?? null,
    ...(names === undefined ? {} : names),
  };
}

/** A QR payment waiting for the customer's strong confirmation answers 202 (status CREATED); paid ones 200. */
function heldAnswer(reply: FastifyReply, payment: Payment) {
  if (heldForCustomer(payment)) reply.code(202);
  return customerPaymentView(payment);
}

export function registerCustomerRoutes(app: App, payments: Payments, authenticator: CustomerAuthenticator): void {
  const requireCustomer = async (request: FastifyRequest): Promise<CustomerContext> => {
    const ctx = await authenticator.authenticate(request);
    if (ctx === null) throw new KobanError('unauthenticated');
    return ctx;
  };
  const tags = ['wallet payments'];

  app.post('/v1/wallet/payment-codes', {
    schema: { tags, summary: 'Mint a one-time payment code for this device (a customer who pays with a passkey sends `x-step-up-grant` for pay {method: "code"})', headers: GrantHeader },
  }, async (request) => {
    const minted = await payments.mintPaymentCode(withGrant(await requireCustomer(request), request));
    return { codeId: minted.codeId, code: minted.code, expiresAt: minted.expiresAt.toISOString() };
  });

  app.get('/v1/wallet/payment-codes/:codeId', { schema: { tags, summary: 'Whether a till took the code', params: Type.Object({ codeId: Type.String({ pattern: UUID_PATTERN }) }) } }, async (request) => {
    const status = await payments.paymentCodeStatus(await requireCustomer(request), (request.params as { codeId: string }).codeId);
    return { codeId: status.codeId, status: status.status, paymentId: status.paymentId, expiresAt: status.expiresAt.toISOString() };
  });

  app.get('/v1/wallet/qr/:codeId', { schema: { tags, summary: 'What a scanned order QR charges', params: CodeIdParams } }, async (request) => {
    await requireCustomer(request);
    const preview = await payments.previewDynamicQr((request.params as { codeId: string }).codeId);
    return { merchantName: preview.merchantName, storeName: preview.storeName, amount: preview.amountMinor?.toString() ?? null, orderDescription: preview.orderDescription, expiresAt: preview.expiresAt?.toISOString() ?? null };
  });

  // Public: the checkout page (GET /qr/{codeId}) shows the order before anyone signs in. Only the summary
  // (dynamic-qr.ts readOrderSummary); paying is the signed-in call below.
  app.get('/v1/checkout/qr/:codeId', { schema: { tags, summary: 'The order behind an order QR, for its public checkout page (merchant, store, amount, expiry, state, return address)', params: CodeIdParams } }, async (request) => {
    const summary = await payments.orderSummary((request.params as { codeId: string }).codeId);
    return {
      merchantName: summary.merchantName, storeName: summary.storeName, amount: summary.amountMinor.toString(), expiresAt: summary.expiresAt.toISOString(),
      state: summary.state, redirectUrl: summary.redirect?.url ?? null, redirectType: summary.redirect?.type ?? null,
    };
  });

  app.post('/v1/wallet/qr/:codeId/pay', {
    // No body schema: the body is optional (older clients post none); `pin` is checked by hand.
    schema: { tags, summary: 'Pay a scanned order QR (optional body `{ pin }`: the charge PIN, when the payment needs strong confirmation; a customer who pays with a passkey sends `x-step-up-grant` for pay {method: "order_qr", codeId} instead)',
      params: CodeIdParams, headers: GrantHeader },
  }, async (request, reply) => {
    const pin = optionalPin(request.body);
    const payment = await payments.payDynamicQr(withGrant(withPin(await requireCustomer(request), pin), request), (request.params as { codeId: string }).codeId);
    return heldAnswer(reply, payment);
  });

  app.post('/v1/wallet/static-qr/preview', { schema: { tags, summary: 'Which store a scanned store QR belongs to', body: Type.Object({ payload: Payload }, { additionalProperties: false }) } }, async (request) => {
    await requireCustomer(request);
    const preview = await payments.previewStaticQr((request.body as { payload: string }).payload);
    return { merchantName: preview.merchantName, storeName: preview.storeName };
  });

  app.post('/v1/wallet/static-qr/pay', {
    schema: { tags, summary: 'Pay a store QR with an amount the customer typed (`pin`: the charge PIN, when the payment needs strong confirmation; a customer who pays with a passkey sends `x-step-up-grant` for pay {method: "store_qr", amountMinor})',
      headers: GrantHeader, body: Type.Object({ payload: Payload, amount: AmountIn, idempotencyKey: IdempotencyKey, pin: ConfirmationPin }, { additionalProperties: false }) },
  }, async (request, reply) => {
    const body = request.body as { payload: string; amount: string | number; idempotencyKey?: string; pin?: string };
    const ctx = withGrant(withPin(await requireCustomer(request), body.pin), request);
    const amountMinor = parseAmountMinor(body.amount, payments.deps.config.paymentMaxAmountMinor, '/body/amount');
    return heldAnswer(reply, await payments.payStaticQr(ctx, body.payload, amountMinor, body.idempotencyKey ?? null));
  });

  const PaymentIdParams = Type.Object({ paymentId: Type.String({ pattern: UUID_PATTERN }) });
  app.get('/v1/wallet/confirmations', { schema: { tags, summary: 'Payments waiting for this customer to confirm them (a till charged a code above the confirmation amount, or risk asked)' } }, async (request) => {
    const waiting = await payments.waitingConfirmations(await requireCustomer(request));
    return {
      confirmations: waiting.map((w) => ({ paymentId: w.paymentId, amount: w.amountMinor.toString(), merchantName: w.merchantName, storeName: w.storeName,
        strength: w.strength, reasons: w.reasons, expiresAt: w.expiresAt.toISOString(), createdAt: w.createdAt.toISOString() })),
    };
  });

  app.post('/v1/wallet/confirmations/:paymentId/confirm', {
    schema: { tags, summary: 'Confirm a waiting payment with the charge PIN (`strong`: plus `emailCode`, the code e-mailed for it), or a passkey (`x-step-up-grant` for confirm_payment {paymentId, amountMinor}); money moves now', params: PaymentIdParams,
      headers: GrantHeader,
      body: Type.Object({ pin: Type.Optional(Type.String({ maxLength: 16 })), emailCode: Type.Optional(Type.String({ maxLength: 16 })) }, { additionalProperties: false }) },
  }, async (request) => {
    const body = request.body as { pin?: string; emailCode?: string };
    const withCode = (ctx: CustomerContext) => body.emailCode === undefined ? ctx : { ...ctx, confirmationEmailCode: body.emailCode };
    const ctx = withGrant(withCode(withPin(await requireCustomer(request), body.pin)), request);
    return customerPaymentView(await payments.confirmHeldPayment(ctx, (request.params as { paymentId: string }).paymentId));
  });

  app.post('/v1/wallet/confirmations/:paymentId/email-code', {
    schema: { tags, summary: 'E-mail the code that, with the PIN, confirms a payment risk held (`strong`) for a customer without a passkey; answers the masked address', params: PaymentIdParams },
  }, async (request, reply) => {
    const sent = await payments.sendConfirmationCode(await requireCustomer(request), (request.params as { paymentId: string }).paymentId);
    return reply.code(202).send(sent);
  });

  app.post('/v1/wallet/confirmations/:paymentId/decline', { schema: { tags, summary: 'Decline a waiting payment (nothing moves; the till is told)', params: PaymentIdParams } }, async (request) => {
    return customerPaymentView(await payments.declineHeldPayment(await requireCustomer(request), (request.params as { paymentId: string }).paymentId));
  });

  app.get('/v1/wallet/payments', { schema: { tags, summary: 'This customer\'s payments, newest first' } }, async (request) => {
    const ctx = await requireCustomer(request);
    const rows = await payments.customerHistory(ctx, CUSTOMER_HISTORY_PAGE_MAX);
    return { payments: rows.map((r) => customerPaymentView(r.payment, { merchantName: r.merchantName, storeName: r.storeName })) };
  });
}
