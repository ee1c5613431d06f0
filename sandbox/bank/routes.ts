// HTTP routes of the sandbox bank: parse, call the mandate or transfer book, map the result.
import { parseAmountMinor } from '../shared/amount.ts';
import { IdempotencyHeadersSchema, sendIdempotent } from '../shared/idempotency.ts';
import type { HandlerResult, IdempotencyStore } from '../shared/idempotency.ts';
import type { SandboxApp } from '../shared/server.ts';
import type { MandateBook } from './mandates.ts';
import * as S from './schemas.ts';
import type { TransferBook } from './transfers.ts';
import { debitView, mandateView, payoutView } from './views.ts';

export interface BankContext {
  mandates: MandateBook;
  transfers: TransferBook;
  idempotency: IdempotencyStore;
}

const created = (body: unknown): HandlerResult => ({ statusCode: 201, body });
const ok = (body: unknown): HandlerResult => ({ statusCode: 200, body });

export function registerBankRoutes(api: SandboxApp, ctx: BankContext): void {
  const idempotency = ctx.idempotency;
  api.post('/v1/mandates', {
    schema: { headers: IdempotencyHeadersSchema, body: S.MandateBodySchema, response: { 201: S.MandateSchema } },
  }, (request, reply) => {
    sendIdempotent(idempotency, request, reply, () => created(mandateView(ctx.mandates.create(request.body))));
  });

  api.get('/v1/mandates/:id', {
    schema: { params: S.MandateParamsSchema, response: { 200: S.MandateSchema } },
  }, (request) => mandateView(ctx.mandates.get(request.params.id)));

  api.post('/v1/mandates/:id/confirm', {
    schema: { headers: IdempotencyHeadersSchema, params: S.MandateParamsSchema, body: S.ConfirmBodySchema, response: { 200: S.MandateSchema } },
  }, (request, reply) => {
    sendIdempotent(idempotency, request, reply, () => ok(mandateView(ctx.mandates.confirm(request.params.id, request.body.code))));
  });

  api.post('/v1/debits', {
    schema: { headers: IdempotencyHeadersSchema, body: S.DebitBodySchema, response: { 201: S.DebitSchema } },
  }, (request, reply) => {
    const body = request.body;
    sendIdempotent(idempotency, request, reply, () => created(debitView(ctx.transfers.debit({
      mandateId: body.mandateId, amountMinor: parseAmountMinor(body.amount), reference: body.reference,
    }))));
  });

  api.get('/v1/debits/:id', {
    schema: { params: S.DebitParamsSchema, response: { 200: S.DebitSchema } },
  }, (request) => debitView(ctx.transfers.getDebit(request.params.id)));

  api.post('/v1/payouts', {
    schema: { headers: IdempotencyHeadersSchema, body: S.PayoutBodySchema, response: { 201: S.PayoutSchema } },
  }, (request, reply) => {
    const body = request.body;
    sendIdempotent(idempotency, request, reply, () => created(payoutView(ctx.transfers.payout({
      bankCode: body.bankCode, branchCode: body.branchCode, accountType: body.accountType ?? 'ordinary',
      accountNumber: body.accountNumber, holderNameKana: body.holderNameKana,
      amountMinor: parseAmountMinor(body.amount), reference: body.reference,
    }))));
  });

  // A withdrawal: to the mandate holder's own account (the bank knows its number; Koban keeps only the last four).
  api.post('/v1/mandates/:id/payouts', {
    schema: { headers: IdempotencyHeadersSchema, params: S.MandateParamsSchema, body: S.MandatePayoutBodySchema, response: { 201: S.PayoutSchema } },
  }, (request, reply) => {
    sendIdempotent(idempotency, request, reply, () => created(payoutView(ctx.transfers.payoutToMandate({
      mandateId: request.params.id, amountMinor: parseAmountMinor(request.body.amount), reference: request.body.reference,
    }))));
  });

  api.get('/v1/payouts/:id', {
    schema: { params: S.PayoutParamsSchema, response: { 200: S.PayoutSchema } },
  }, (request) => payoutView(ctx.transfers.getPayout(request.params.id)));
}

/** Stands in for the SMS or app notification the bank sends the account holder. Test key only. */
export function registerBankTestRoutes(scope: SandboxApp, mandates: MandateBook): void {
  scope.get('/v1/test/mandates/:id/otp', { schema: { params: S.MandateParamsSchema } }, (request) => {
    const otp = mandates.otpFor(request.params.id);
    return { mandateId: request.params.id, code: otp.code, expiresAt: new Date(otp.expiresAtMs).toISOString() };
  });
}
