/**
 * The till API for browsers, `/v1/till/*` on Koban's main server (problem+json errors, amounts as digit
 * strings). A tablet authenticates with its terminal session cookie only: no merchant API key or secret
 * ever reaches it. Every state-changing request must come from Koban's own origin and carry the
 * session's CSRF token in `x-csrf-token`. Routes parse, call the till service and map.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { awaitingCustomer } from '../customer-confirmation.ts';
import type { App } from '../../http/app.ts';
import { checkBrowserOrigin } from '../../identity/http/guard.ts';
import { readCookie } from '../../operations/http.ts';
import { KobanError } from '../../platform/errors.ts';
import { parseAmountMinor } from '../../platform/money.ts';
import type { Payment, Refund } from '../model.ts';
import type { Payments } from '../service.ts';
import { cancelableAtTill } from './till-rules.ts';
import { TERMINAL_SESSION_ABSOLUTE_MS, type TerminalAccess, type TerminalPrincipal } from './access.ts';
import type { DayClose, DayTotals, SaleLine } from './sales.ts';
import type { TillOrder, TillService } from './till-service.ts';
import { receiptNumber } from '../../platform/receipt-number.ts';
import { receiptUrl } from '../receipts.ts';

export const TERMINAL_COOKIE = '__Host-koban_till';
const CSRF_HEADER = 'x-csrf-token';
const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);
const tags = ['till'];
const security = `Terminal session: cookie ${TERMINAL_COOKIE} from POST /v1/till/activate, plus header ${CSRF_HEADER} on every POST and DELETE.`;

const ScopedId = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' });
const Amount = Type.String({ pattern: '^[1-9][0-9]{0,11}$', description: 'integer yen as a string of digits' });
const Reason = Type.String({ minLength: 1, maxLength: 255 });
const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);
const PaymentParams = Type.Object({ merchantPaymentId: ScopedId });

const RefundOut = Type.Object({
  refundId: Type.String(), merchantRefundId: Type.String(), status: Type.String(), amount: Type.String(), reason: Nullable(Type.String()), completedAt: Nullable(Type.String()),
});
const PaymentOut = Type.Object({
  paymentId: Type.String(), merchantPaymentId: Type.String(), receiptNumber: Type.String({ description: 'Short receipt number, the same the customer\'s wallet shows' }),
  kind: Type.String(), status: Type.String(), amount: Type.String(),
  refunded: Type.String(), canceledAmount: Type.String(), refundable: Type.String(), cancelable: Type.Boolean(),
  acceptedAt: Nullable(Type.String()), canceledAt: Nullable(Type.String()), refunds: Type.Array(RefundOut),
  /** The customer must confirm this charge in the wallet app first (status CREATED): send the same charge again to learn the outcome. */
  waitingForCustomer: Type.Boolean(),
  reasons: Type.Array(Type.Object({ kind: Type.String(), refundId: Nullable(Type.String()), reason: Type.String(), at: Type.String() })),
  codeTail: Nullable(Type.String({ description: 'In the sales list: the last four digits of the customer code it was paid with' })),
  receiptUrl: Nullable(Type.String({ description: 'The public receipt page for the customer to scan (no personal data; payments/receipts.ts), once the payment was accepted' })),
});
const TotalsOut = Type.Object({
  paymentsCount: Type.Integer(), gross: Type.String(), cancelsCount: Type.Integer(), cancels: Type.String(),
  refundsCount: Type.Integer(), refunds: Type.String(), net: Type.String(),
});
const CloseOut = Type.Object({ businessDate: Type.String(), closedAt: Type.String(), totals: TotalsOut });
const SessionOut = Type.Object({
  terminal: Type.Object({ id: Type.String(), name: Type.String() }), store: Type.Object({ id: Type.String(), name: Type.String() }),
  merchant: Type.Object({ id: Type.String(), name: Type.String() }), businessDate: Type.String(), dayClosed: Type.Boolean(), csrfToken: Type.String(),
});
const OrderOut = Type.Object({
  merchantPaymentId: Type.String(), codeId: Type.String(), qrPayload: Type.String(), amount: Type.String(), state: Type.String(), expiresAt: Type.String(), payment: PaymentOut,
});

function refundOut(refund: Refund) {
  return {
    refundId: refund.id, merchantRefundId: refund.merchantRefundId, status: refund.status, amount: refund.amountMinor.toString(),
    reason: refund.reason, completedAt: refund.completedAt?.toISOString() ?? null,
  };
}

function paymentOut(payment: Payment, refunds: readonly Refund[], reasons: SaleLine['reasons'], at: Date, cutoffMinutes: number) {
  const paid = payment.status === 'COMPLETED' || payment.status === 'REFUNDED';
  const cancelable = cancelableAtTill(payment, at, cutoffMinutes);
  return {
    paymentId: payment.id, merchantPaymentId: payment.merchantPaymentId, receiptNumber: receiptNumber(payment.id), kind: payment.kind, status: payment.status, amount: payment.amountMinor.toString(),
    refunded: payment.refundedMinor.toString(), canceledAmount: (payment.cancelAmountMinor ?? 0n).toString(),
    refundable: (paid ? payment.amountMinor - payment.refundedMinor : 0n).toString(), cancelable, waitingForCustomer: awaitingCustomer(payment),
    acceptedAt: payment.acceptedAt?.toISOString() ?? null, canceledAt: payment.canceledAt?.toISOString() ?? null,
    refunds: refunds.map(refundOut), reasons: reasons.map((r) => ({ kind: r.kind, refundId: r.refundId, reason: r.reason, at: r.at.toISOString() })),
  };
}

function totalsOut(totals: DayTotals) {
  return {
    paymentsCount: totals.paymentsCount, gross: totals.grossMinor.toString(), cancelsCount: totals.cancelsCount, cancels: totals.cancelsMinor.toString(),
    refundsCount: totals.refundsCount, refunds: totals.refundsMinor.toString(), net: totals.netMinor.toString(),
  };
}

function closeOut(close: DayClose) {
  return { businessDate: close.businessDate, closedAt: close.closedAt.toISOString(), totals: totalsOut(close) };
}

export interface TerminalRoutesOptions {
  readonly access: TerminalAccess;
  readonly till: TillService;
  readonly payments: Payments;
  readonly publicUrl: string;
}

export function registerTerminalRoutes(app: App, options: TerminalRoutesOptions): void {
  const { access, till, payments } = options;
  const now = () => payments.deps.now();
  const cutoff = payments.deps.config.cancelCutoffMinutes;
  const maxAmount = payments.deps.config.paymentMaxAmountMinor;
  const out = (payment: Payment, refunds: readonly Refund[] = [], reasons: SaleLine['reasons'] = [], codeTail: string | null = null) => ({
    ...paymentOut(payment, refunds, reasons, now(), cutoff), codeTail,
    receiptUrl: payment.acceptedAt === null ? null : receiptUrl(options.publicUrl, payments.deps.pepper, payment.id),
  });
  const orderOut = (order: TillOrder) => ({
    merchantPaymentId: order.payment.merchantPaymentId, codeId: order.codeId, qrPayload: `${options.publicUrl}/qr/${order.codeId}`,
    amount: order.payment.amountMinor.toString(), state: order.state, expiresAt: order.expiresAt.toISOString(), payment: out(order.payment),
  });
  const principals = new WeakMap<FastifyRequest, TerminalPrincipal>();
  const principalOf = (request: FastifyRequest): TerminalPrincipal => {
    const principal = principals.get(request);
    if (principal === undefined) throw new KobanError('unauthenticated', { detail: 'a till session is required' });
    return principal;
  };
  const originCheck = checkBrowserOrigin(new URL(options.publicUrl).origin);

  void app.register(async (scope) => {
    scope.addHook('onRequest', async (request, reply) => {
      reply.header('cache-control', 'no-store');
      reply.header('referrer-policy', 'no-referrer');
      await originCheck(request);
      // Activation is how a session starts: the only route without one.
      if (request.routeOptions.url === '/v1/till/activate') return;
      const token = readCookie(request.headers.cookie, TERMINAL_COOKIE);
      const principal = token === null ? null : await access.authenticate(token);
      if (principal === null) throw new KobanError('unauthenticated', { detail: 'this till is not activated, or its session has ended; activate it again' });
      if (!SAFE_METHODS.has(request.method) && !access.csrfMatches(principal, request.headers[CSRF_HEADER] as string | undefined)) {
        throw new KobanError('csrf_failed', { detail: `state-changing requests need the till session's ${CSRF_HEADER} header` });
      }
      principals.set(request, principal);
    });

    const sessionView = async (principal: TerminalPrincipal) => {
      const sales = await till.sales(principal);
      return {
        terminal: { id: principal.terminalId, name: principal.terminalName }, store: { id: principal.storeId, name: principal.storeName },
        merchant: { id: principal.merchantId, name: principal.merchantName }, businessDate: sales.businessDate, dayClosed: sales.close !== null,
        csrfToken: access.csrfTokenFor(principal),
      };
    };

    scope.post('/activate', {
      schema: {
        tags, summary: 'Activate this browser as a till with a one-time activation code', description: `Sets ${TERMINAL_COOKIE} (HttpOnly, Secure, SameSite=Strict) and answers the CSRF token.`,
        body: Type.Object({ code: Type.String({ minLength: 1, maxLength: 32 }) }, { additionalProperties: false }), response: { 200: SessionOut },
      },
    }, async (request, reply: FastifyReply) => {
      const agent = request.headers['user-agent'];
      const { principal } = await access.activate((request.body as { code: string }).code, { ip: request.ip ?? null, userAgent: typeof agent === 'string' ? agent : null });
      reply.header('set-cookie', `${TERMINAL_COOKIE}=${principal.token}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(TERMINAL_SESSION_ABSOLUTE_MS / 1000)}`);
      return sessionView(principal);
    });

    scope.get('/session', { schema: { tags, summary: 'Which terminal this till is, and its CSRF token', description: security, response: { 200: SessionOut } } },
      async (request) => sessionView(principalOf(request)));

    scope.post('/sign-out', { schema: { tags, summary: 'End this till session', description: security } }, async (request, reply) => {
      await access.signOut(principalOf(request));
      reply.header('set-cookie', `${TERMINAL_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0`);
      return reply.code(204).send();
    });

    scope.post('/charges', {
      schema: {
        tags, summary: 'Charge a customer-presented payment code', description: `${security} Idempotent by merchantPaymentId: a retry answers the first result. Store and terminal come from the session.`,
        body: Type.Object({ merchantPaymentId: ScopedId, code: Type.String({ minLength: 1, maxLength: 64 }), amount: Amount }, { additionalProperties: false }),
        response: { 200: PaymentOut },
      },
    }, async (request) => {
      const body = request.body as { merchantPaymentId: string; code: string; amount: string };
      const { payment, refunds } = await till.charge(principalOf(request), { merchantPaymentId: body.merchantPaymentId, code: body.code, amountMinor: parseAmountMinor(body.amount, maxAmount, '/body/amount') });
      return out(payment, refunds);
    });

    scope.post('/orders', {
      schema: {
        tags, summary: 'Show a dynamic QR for an amount (the customer scans and pays it)', description: `${security} Idempotent by merchantPaymentId.`,
        body: Type.Object({ merchantPaymentId: ScopedId, amount: Amount }, { additionalProperties: false }), response: { 200: OrderOut },
      },
    }, async (request) => {
      const body = request.body as { merchantPaymentId: string; amount: string };
      return orderOut(await till.createOrder(principalOf(request), body.merchantPaymentId, parseAmountMinor(body.amount, maxAmount, '/body/amount')));
    });

    scope.get('/orders/:merchantPaymentId', { schema: { tags, summary: 'Whether the customer has paid the QR order (poll it)', description: security, params: PaymentParams, response: { 200: OrderOut } } },
      async (request) => orderOut(await till.order(principalOf(request), (request.params as { merchantPaymentId: string }).merchantPaymentId)));

    scope.delete('/orders/:merchantPaymentId', { schema: { tags, summary: 'Withdraw an unpaid QR order', description: security, params: PaymentParams, response: { 200: OrderOut } } },
      async (request) => orderOut(await till.cancelOrder(principalOf(request), (request.params as { merchantPaymentId: string }).merchantPaymentId)));

    scope.get('/sales', {
      schema: {
        tags, summary: "Today's payments, cancels and refunds of this terminal, with totals", description: security,
        response: { 200: Type.Object({ businessDate: Type.String(), payments: Type.Array(PaymentOut), totals: TotalsOut, close: Type.Union([CloseOut, Type.Null()]) }) },
      },
    }, async (request) => {
      const sales = await till.sales(principalOf(request));
      return {
        businessDate: sales.businessDate, payments: sales.lines.map((line) => out(line.payment, line.refunds, line.reasons, line.codeTail)),
        totals: totalsOut(sales.totals), close: sales.close === null ? null : closeOut(sales.close),
      };
    });

    scope.post('/payments/:merchantPaymentId/cancel', {
      schema: {
        tags, summary: "Cancel one of today's payments of this till (the customer gets everything not yet refunded back)", description: security,
        params: PaymentParams, body: Type.Object({ reason: Reason }, { additionalProperties: false }), response: { 200: PaymentOut },
      },
    }, async (request) => {
      const principal = principalOf(request);
      const { merchantPaymentId } = request.params as { merchantPaymentId: string };
      const payment = await till.cancel(principal, merchantPaymentId, (request.body as { reason: string }).reason);
      return out(payment);
    });

    scope.post('/payments/:merchantPaymentId/refunds', {
      schema: {
        tags, summary: 'Refund a payment of this till, fully or partly', description: `${security} Idempotent by merchantRefundId.`,
        params: PaymentParams, body: Type.Object({ merchantRefundId: ScopedId, amount: Amount, reason: Reason }, { additionalProperties: false }),
        response: { 200: Type.Object({ refund: RefundOut, payment: PaymentOut }) },
      },
    }, async (request) => {
      const { merchantPaymentId } = request.params as { merchantPaymentId: string };
      const body = request.body as { merchantRefundId: string; amount: string; reason: string };
      const { refund, payment } = await till.refund(principalOf(request), merchantPaymentId, {
        merchantRefundId: body.merchantRefundId, amountMinor: parseAmountMinor(body.amount, maxAmount, '/body/amount'), reason: body.reason,
      });
      return { refund: refundOut(refund), payment: out(payment) };
    });

    scope.post('/close', {
      schema: {
        tags, summary: "Close this till's business day (Z-report); closing again answers the same report", description: security,
        response: { 200: CloseOut },
      },
    }, async (request) => closeOut(await till.close(principalOf(request))));
  }, { prefix: '/v1/till' });
}
