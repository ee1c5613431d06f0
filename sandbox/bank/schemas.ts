import { Type } from 'typebox';
import { AmountSchema } from '../shared/amount.ts';

// Katakana (full- and half-width), long-vowel mark, spaces, and the Latin capitals, digits and punctuation that
// Zengin-format account names allow.
const HOLDER_NAME_KANA = '^[\\u30A0-\\u30FF\\uFF65-\\uFF9F\\u3000 A-Z0-9().,/-]{1,40}$';
const REFERENCE = '^[A-Za-z0-9._:-]{1,64}$';
const MANDATE_ID = '^mdt_[A-Za-z0-9_-]{1,64}$';

const AccountFields = {
  bankCode: Type.String({ pattern: '^[0-9]{4}$' }),
  branchCode: Type.String({ pattern: '^[0-9]{3}$' }),
  accountNumber: Type.String({ pattern: '^[0-9]{7}$' }),
  holderNameKana: Type.String({ pattern: HOLDER_NAME_KANA }),
};
const AccountTypeSchema = Type.Union([Type.Literal('ordinary'), Type.Literal('current')]);

export const MandateBodySchema = Type.Object({ ...AccountFields, accountType: AccountTypeSchema }, { additionalProperties: false });

export const MandateSchema = Type.Object({
  id: Type.String(),
  object: Type.Literal('mandate'),
  status: Type.String(),
  failureCode: Type.Union([Type.String(), Type.Null()]),
  bankCode: Type.String(),
  branchCode: Type.String(),
  accountType: Type.String(),
  accountNumberLast4: Type.String(),
  holderNameKana: Type.String(),
  otpExpiresAt: Type.String(),
  otpAttemptsRemaining: Type.Integer(),
  createdAt: Type.String(),
});

export const MandateParamsSchema = Type.Object({ id: Type.String({ pattern: MANDATE_ID }) });

export const ConfirmBodySchema = Type.Object({ code: Type.String({ pattern: '^[0-9]{6}$' }) }, { additionalProperties: false });

export const DebitBodySchema = Type.Object({
  mandateId: Type.String({ pattern: MANDATE_ID }),
  amount: AmountSchema,
  reference: Type.String({ pattern: REFERENCE }),
}, { additionalProperties: false });

export const DebitSchema = Type.Object({
  id: Type.String(),
  object: Type.Literal('debit'),
  mandateId: Type.String(),
  amount: Type.String(),
  currency: Type.Literal('JPY'),
  reference: Type.String(),
  status: Type.String(),
  failureCode: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
});

export const DebitParamsSchema = Type.Object({ id: Type.String({ pattern: '^dbt_[A-Za-z0-9_-]{1,64}$' }) });

export const PayoutBodySchema = Type.Object({
  ...AccountFields,
  // Optional because most payouts go to ordinary (普通) accounts.
  accountType: Type.Optional(AccountTypeSchema),
  amount: AmountSchema,
  reference: Type.String({ pattern: REFERENCE }),
}, { additionalProperties: false });

export const MandatePayoutBodySchema = Type.Object({
  amount: AmountSchema,
  reference: Type.String({ pattern: REFERENCE }),
}, { additionalProperties: false });

export const PayoutSchema = Type.Object({
  id: Type.String(),
  object: Type.Literal('payout'),
  bankCode: Type.String(),
  branchCode: Type.String(),
  accountType: Type.String(),
  accountNumberLast4: Type.String(),
  holderNameKana: Type.String(),
  amount: Type.String(),
  currency: Type.Literal('JPY'),
  reference: Type.String(),
  status: Type.String(),
  failureCode: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
  settledAt: Type.Union([Type.String(), Type.Null()]),
});

export const PayoutParamsSchema = Type.Object({ id: Type.String({ pattern: '^po_[A-Za-z0-9_-]{1,64}$' }) });
