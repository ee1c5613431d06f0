/**
 * Every way to pay, refund and cancel, top to bottom: one ordered table of small named steps per
 * operation (step.ts runs them). The same steps recur in the same order in every table:
 *
 *   authenticate → replay check → validate → switches → standing → test or live money → risk → tier payment limit → claim → choose accounts → move money →
 *   record → consequences → answer
 *
 * - **authenticate** happens at the surface, before the table: OPA-Auth signature and nonce (the
 *   request's own replay check) on the merchant API (`merchants/opa/server.ts`), the terminal session at
 *   `/v1/till` (`terminal/access.ts`), the customer session for the wallet's QR payments.
 * - **replay check** answers a repeated merchantPaymentId / merchantRefundId / idempotency key with the
 *   first outcome, before the switches (a till retrying after a timeout must learn that money moved); an
 *   operation still in flight is waited for, bounded, else "in progress, retry" (in-flight.ts).
 * - **claim** is the one atomic step that makes the operation this request's: the code claim, the order's
 *   row lock, the refund's reservation, the cancel's decision. A retry that loses the claim to its
 *   original answers the original's outcome.
 * - **choose accounts** says which balances pay (complete.ts `chooseDebits`, the wallet's spend order).
 * - **record** writes the outcome with the merchant event (the transactional outbox) in one transaction.
 * - Refusals are thrown as the one outcome → error mapping (outcomes.ts) every surface shares.
 */
import {
  actionAnswerStep, actionConsequencesStep, answerRepeatedAction, captureAttempt, claimAction, readAuthorization, recordActionStep, requireOpenAuthorization,
  resolveHoldsStep, revertAttempt, type AuthorizationAttempt, type CaptureRequest, type RevertRequest,
} from './authorizations.ts';
import { consequencesStep, chooseAccountsStep, moveMoneyStep, recordedPayment, recordStep } from './complete.ts';
import { cancelAnswer, cancelConsequencesStep, decideCancelStep, awaitPaymentOutcome, reverseStep, type CancelAttempt } from './cancel.ts';
import type { CustomerContext } from './context.ts';
import {
  answerRepeatedStaticPayment, answerRepeatedTap, assessQrPayment, claimOrder, readOrder, readStore, requireOwnWalletStep, requirePayableOrder,
  resolveStore, stageStaticPayment, holdQrForCustomer, paymentPasskeyForOrder, paymentPasskeyForStore, type DynamicQrAttempt, type StaticQrAttempt,
} from './customer-pay.ts';
import type { PaymentsDeps } from './deps.ts';
import type { Payment, Refund } from './model.ts';
import { paymentAnswer } from './outcomes.ts';
import {
  answerRepeatedRefund, moveRefundMoneyStep, recordRefundStep, refundAnswer, refundAttempt, refundConsequencesStep, reserveRefundStep, validateRefund,
  type RefundAttempt, type RefundRequest,
} from './refunds.ts';
import { captureStanding, codePaymentMode, codePaymentStanding, orderStanding, qrPaymentMode, storeStanding } from './standing-step.ts';
import { runSteps, runStepsUntilAnswer, table } from './step.ts';
import { tierLimitForCode, tierLimitForQr } from './tier-limit-step.ts';
import {
  answerRepeatedPayment, assessCodePayment, claimCode, codeAttempt, requireLiveCodeStep, requirePayableAmount, resolveTill, settleInGroupCommit,
  holdForCustomerStep,
  type CodeAttempt, type TillAnswer, type TillOutcome, type TillPaymentRequest,
} from './till.ts';
import { NO_ORDER_DETAILS, readOrderDetails } from './order-details.ts';

const paymentsOn = (deps: PaymentsDeps): undefined => { deps.switches.assertOn('payments'); return undefined; };
const refundsOn = (deps: PaymentsDeps): undefined => { deps.switches.assertOn('refunds'); return undefined; };

/**
 * A customer-code payment settled on its own: claim, ledger and record as three commits (the crash between
 * the ledger and the record is repaired by the maintenance loop). The group commit's fallback for a
 * payment its batch did not write (group-commit.ts).
 */
export const CUSTOMER_CODE_SETTLE_ALONE = table<CodeAttempt, TillOutcome>([
  ['claim code', claimCode],
  ['wait for the customer (above the confirmation amount or when risk asks)', holdForCustomerStep],
  ['choose accounts', chooseAccountsStep],
  ['move money', moveMoneyStep],
  ['record', recordStep],
]);

/** A customer-presented code at a till: the signed till API (`POST /v2/till/payments`) and the till app (`/v1/till/charges`). */
export const CUSTOMER_CODE_PAYMENT = table<CodeAttempt, TillOutcome>([
  ['validate amount', (deps, a) => { requirePayableAmount(deps, a.request.amountMinor); }],
  ['replay check', answerRepeatedPayment],
  ['switches', paymentsOn],
  ['till', resolveTill],
  ['merchant standing', codePaymentStanding],
  ['validate code', requireLiveCodeStep],
  ['test or live money', codePaymentMode],
  ['risk', assessCodePayment],
  ['tier payment limit', tierLimitForCode],
  // Claim code → choose accounts → move money → record, for a whole batch of payments in one transaction. A
  // payment its customer must first confirm in the wallet is staged on its own and waits (customer-confirmation.ts).
  ['claim, move money, record (group commit)', async (deps, a) => {
    if (a.confirmation != null) return runStepsUntilAnswer(CUSTOMER_CODE_SETTLE_ALONE, deps, a);
    const settled = await settleInGroupCommit(deps, a);
    return settled === 'alone' ? runStepsUntilAnswer(CUSTOMER_CODE_SETTLE_ALONE, deps, a) : settled;
  }],
  ['consequences', consequencesStep],
  // A payment completing right now has no refunds yet.
  ['answer', (_deps, a) => ({ payment: recordedPayment(a), refunds: [] })],
]);

/**
 * The wallet pays a merchant's order QR (`POST /v2/codes` made it). For a pre-authorisation order
 * (`isAuthorization`) "move money" places a ledger hold and "record" makes the payment AUTHORIZED
 * (complete.ts → authorizations.ts); every check before it is the same.
 */
export const DYNAMIC_QR_PAYMENT = table<DynamicQrAttempt, Payment>([
  ['validate wallet', requireOwnWalletStep],
  ['read order', readOrder],
  ['replay check', answerRepeatedTap],
  ['validate order', requirePayableOrder],
  ['the passkey the customer pays with', paymentPasskeyForOrder],
  ['switches', paymentsOn],
  ['merchant standing', orderStanding],
  ['test or live money', qrPaymentMode],
  ['risk and confirmation', assessQrPayment],
  ['tier payment limit', tierLimitForQr],
  ['claim order', claimOrder],
  ['wait for the customer (risk asked for a strong confirmation)', holdQrForCustomer],
  ['choose accounts', chooseAccountsStep],
  ['move money', moveMoneyStep],
  ['record', recordStep],
  ['consequences', consequencesStep],
  ['answer', (_deps, a) => paymentAnswer(recordedPayment(a))],
]);

/** The wallet pays a store's static QR with a typed amount. */
export const STATIC_QR_PAYMENT = table<StaticQrAttempt, Payment>([
  ['validate amount', (deps, a) => { requirePayableAmount(deps, a.amountMinor); }],
  ['validate wallet', requireOwnWalletStep],
  ['read store', readStore],
  ['replay check', answerRepeatedStaticPayment],
  ['the passkey the customer pays with', paymentPasskeyForStore],
  ['switches', paymentsOn],
  ['store', resolveStore],
  ['merchant standing', storeStanding],
  ['test or live money', qrPaymentMode],
  ['risk and confirmation', assessQrPayment],
  ['tier payment limit', tierLimitForQr],
  ['claim', stageStaticPayment],
  ['wait for the customer (risk asked for a strong confirmation)', holdQrForCustomer],
  ['choose accounts', chooseAccountsStep],
  ['move money', moveMoneyStep],
  ['record', recordStep],
  ['consequences', consequencesStep],
  ['answer', (_deps, a) => paymentAnswer(recordedPayment(a))],
]);

/** A refund (`POST /v2/refunds`, `/v1/till/payments/{id}/refunds`): full or partial, several per payment. */
export const REFUND = table<RefundAttempt, Refund>([
  ['validate amount', validateRefund],
  ['replay check', answerRepeatedRefund],
  ['switches', refundsOn],
  ['reserve (claim)', reserveRefundStep],
  ['move money', moveRefundMoneyStep],
  ['record', recordRefundStep],
  ['consequences', refundConsequencesStep],
  ['answer', refundAnswer],
]);

/** A cancel (`DELETE /v2/payments/{id}`, `/v1/till/payments/{id}/cancel`): today's payment back in full, or an open order withdrawn. */
export const CANCEL = table<CancelAttempt, Payment>([
  ['wait for a payment in flight', awaitPaymentOutcome],
  ['decide (claim; switches for a paid payment)', decideCancelStep],
  ['move money back', reverseStep],
  ['consequences', cancelConsequencesStep],
  ['answer', cancelAnswer],
]);

/** Capture of a pre-authorisation (`POST /v2/payments/capture`): the holds posted with the amount (the rest released), the fee on it. */
export const CAPTURE = table<AuthorizationAttempt, Payment>([
  ['read authorisation', readAuthorization],
  ['replay check', answerRepeatedAction],
  ['validate (open, amount within the authorisation)', requireOpenAuthorization],
  ['switches', paymentsOn],
  ['merchant standing', captureStanding],
  ['claim (the one decision per authorisation)', claimAction],
  ['move money (post the holds, charge the fee)', resolveHoldsStep],
  ['record', recordActionStep],
  ['consequences', actionConsequencesStep],
  ['answer', actionAnswerStep],
]);

/**
 * Revert of a pre-authorisation (`POST /v2/payments/preauthorize/revert`): the holds voided. No switch: it
 * only releases the payer's own money, as deleting an unpaid order does.
 */
export const REVERT = table<AuthorizationAttempt, Payment>([
  ['read authorisation', readAuthorization],
  ['replay check', answerRepeatedAction],
  ['validate (open)', requireOpenAuthorization],
  ['claim (the one decision per authorisation)', claimAction],
  ['move money (void the holds)', resolveHoldsStep],
  ['record', recordActionStep],
  ['consequences', actionConsequencesStep],
  ['answer', actionAnswerStep],
]);

export const payWithCustomerCode = (deps: PaymentsDeps, request: TillPaymentRequest, options: { refuseCanceledId?: boolean } = {}): Promise<TillOutcome> =>
  runSteps(CUSTOMER_CODE_PAYMENT, deps, { ...codeAttempt(deps, request), refuseCanceledId: options.refuseCanceledId ?? false });

/**
 * A merchant's till payment (a cancelled merchantPaymentId refused), answered with the order details the replay
 * step's one read found (issue 11: no read after the payment); read afresh only if no step read them.
 */
export async function payAtTill(deps: PaymentsDeps, request: TillPaymentRequest): Promise<TillAnswer> {
  const attempt: CodeAttempt = { ...codeAttempt(deps, request), refuseCanceledId: true };
  const outcome = await runSteps(CUSTOMER_CODE_PAYMENT, deps, attempt);
  const kept = attempt.facts === undefined ? await readOrderDetails(deps.db.pool, request.merchantId, request.merchantPaymentId) : attempt.facts.orderDetails;
  return { ...outcome, orderDetails: kept ?? NO_ORDER_DETAILS };
}

export const payDynamicQr = (deps: PaymentsDeps, ctx: CustomerContext, codeId: string): Promise<Payment> =>
  runSteps(DYNAMIC_QR_PAYMENT, deps, { ctx, codeId });

export const payStaticQr = (deps: PaymentsDeps, ctx: CustomerContext, payload: string, amountMinor: bigint, idempotencyKey: string | null = null): Promise<Payment> =>
  runSteps(STATIC_QR_PAYMENT, deps, { ctx, payload, amountMinor, idempotencyKey });

export const refundPayment = (deps: PaymentsDeps, request: RefundRequest): Promise<Refund> => runSteps(REFUND, deps, refundAttempt(request));

export const cancelPayment = (deps: PaymentsDeps, merchantId: string, merchantPaymentId: string): Promise<Payment> =>
  runSteps(CANCEL, deps, { merchantId, merchantPaymentId });

export const captureAuthorization = (deps: PaymentsDeps, request: CaptureRequest): Promise<Payment> => runSteps(CAPTURE, deps, captureAttempt(request));

export const revertAuthorization = (deps: PaymentsDeps, request: RevertRequest): Promise<Payment> => runSteps(REVERT, deps, revertAttempt(request));
