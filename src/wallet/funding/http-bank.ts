// BankRail over the sandbox bank's HTTP API.
import { Type } from 'typebox';
import { Compile } from 'typebox/compile';
import type { BankAccountDetails, BankRail, Debit, Mandate, Payout, PayoutRequest } from './bank.ts';
import { isoMs, pathId, ProviderClient, toWireAmount, WIRE_AMOUNT_PATTERN, wireAmountMinor } from './provider-http.ts';
import type { ProviderClientOptions } from './provider-http.ts';
import type { ProviderResult } from './provider-result.ts';

const WireAmount = Type.String({ pattern: WIRE_AMOUNT_PATTERN });
const WireTime = Type.String({ format: 'date-time' });
const NullableString = Type.Union([Type.String(), Type.Null()]);
const AccountTypeSchema = Type.Union([Type.Literal('ordinary'), Type.Literal('current')]);

const checkMandate = Compile(Type.Object({
  id: Type.String({ pattern: '^mdt_' }),
  status: Type.Union([Type.Literal('pending_confirmation'), Type.Literal('active'), Type.Literal('failed'), Type.Literal('expired')]),
  failureCode: NullableString,
  bankCode: Type.String(),
  branchCode: Type.String(),
  accountType: AccountTypeSchema,
  accountNumberLast4: Type.String(),
  holderNameKana: Type.String(),
  otpExpiresAt: WireTime,
  otpAttemptsRemaining: Type.Integer({ minimum: 0 }),
  createdAt: WireTime,
}));

const checkDebit = Compile(Type.Object({
  id: Type.String({ pattern: '^dbt_' }),
  mandateId: Type.String(),
  amount: WireAmount,
  currency: Type.Literal('JPY'),
  reference: Type.String(),
  status: Type.Union([Type.Literal('succeeded'), Type.Literal('failed')]),
  failureCode: NullableString,
  createdAt: WireTime,
}));

const checkPayout = Compile(Type.Object({
  id: Type.String({ pattern: '^po_' }),
  amount: WireAmount,
  currency: Type.Literal('JPY'),
  reference: Type.String(),
  status: Type.Union([Type.Literal('accepted'), Type.Literal('paid'), Type.Literal('failed')]),
  failureCode: NullableString,
  bankCode: Type.String(),
  branchCode: Type.String(),
  accountNumberLast4: Type.String(),
  createdAt: WireTime,
  settledAt: Type.Union([WireTime, Type.Null()]),
}));

function decodeMandate(json: unknown): Mandate | undefined {
  if (!checkMandate.Check(json)) return undefined;
  return {
    id: json.id, status: json.status, failureCode: json.failureCode, bankCode: json.bankCode, branchCode: json.branchCode,
    accountType: json.accountType, accountNumberLast4: json.accountNumberLast4, holderNameKana: json.holderNameKana,
    otpExpiresAtMs: isoMs(json.otpExpiresAt), otpAttemptsRemaining: json.otpAttemptsRemaining, createdAtMs: isoMs(json.createdAt),
  };
}

function decodeDebit(json: unknown): Debit | undefined {
  if (!checkDebit.Check(json)) return undefined;
  return {
    id: json.id, mandateId: json.mandateId, amountMinor: wireAmountMinor(json.amount), reference: json.reference,
    status: json.status, failureCode: json.failureCode, createdAtMs: isoMs(json.createdAt),
  };
}

function decodePayout(json: unknown): Payout | undefined {
  if (!checkPayout.Check(json)) return undefined;
  return {
    id: json.id, amountMinor: wireAmountMinor(json.amount), reference: json.reference, status: json.status,
    failureCode: json.failureCode, bankCode: json.bankCode, branchCode: json.branchCode, accountNumberLast4: json.accountNumberLast4,
    createdAtMs: isoMs(json.createdAt), settledAtMs: json.settledAt === null ? null : isoMs(json.settledAt),
  };
}

export class HttpBankRail implements BankRail {
  readonly #client: ProviderClient;

  constructor(options: ProviderClientOptions) {
    this.#client = new ProviderClient(options);
  }

  createMandate(request: BankAccountDetails & { idempotencyKey: string }): Promise<ProviderResult<Mandate>> {
    const { bankCode, branchCode, accountType, accountNumber, holderNameKana } = request;
    return this.#client.request({
      method: 'POST', path: '/v1/mandates', idempotencyKey: request.idempotencyKey,
      body: { bankCode, branchCode, accountType, accountNumber, holderNameKana },
    }, decodeMandate);
  }

  confirmMandate(request: { mandateId: string; code: string; idempotencyKey: string }): Promise<ProviderResult<Mandate>> {
    return this.#client.request({
      method: 'POST', path: `/v1/mandates/${pathId(request.mandateId)}/confirm`, idempotencyKey: request.idempotencyKey,
      body: { code: request.code },
    }, decodeMandate);
  }

  getMandate(mandateId: string): Promise<ProviderResult<Mandate>> {
    return this.#client.request({ method: 'GET', path: `/v1/mandates/${pathId(mandateId)}` }, decodeMandate);
  }

  debit(request: { mandateId: string; amountMinor: bigint; reference: string; idempotencyKey: string }): Promise<ProviderResult<Debit>> {
    return this.#client.request({
      method: 'POST', path: '/v1/debits', idempotencyKey: request.idempotencyKey,
      body: { mandateId: request.mandateId, amount: toWireAmount(request.amountMinor), reference: request.reference },
    }, decodeDebit);
  }

  getDebit(debitId: string): Promise<ProviderResult<Debit>> {
    return this.#client.request({ method: 'GET', path: `/v1/debits/${pathId(debitId)}` }, decodeDebit);
  }

  payout(request: PayoutRequest): Promise<ProviderResult<Payout>> {
    const { bankCode, branchCode, accountNumber, holderNameKana, reference } = request;
    return this.#client.request({
      method: 'POST', path: '/v1/payouts', idempotencyKey: request.idempotencyKey,
      body: { bankCode, branchCode, accountType: request.accountType ?? 'ordinary', accountNumber, holderNameKana, amount: toWireAmount(request.amountMinor), reference },
    }, decodePayout);
  }

  payoutToMandate(request: { mandateId: string; amountMinor: bigint; reference: string; idempotencyKey: string }): Promise<ProviderResult<Payout>> {
    return this.#client.request({
      method: 'POST', path: `/v1/mandates/${pathId(request.mandateId)}/payouts`, idempotencyKey: request.idempotencyKey,
      body: { amount: toWireAmount(request.amountMinor), reference: request.reference },
    }, decodePayout);
  }

  getPayout(payoutId: string): Promise<ProviderResult<Payout>> {
    return this.#client.request({ method: 'GET', path: `/v1/payouts/${pathId(payoutId)}` }, decodePayout);
  }
}
