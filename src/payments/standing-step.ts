/**
 * The pipeline's "merchant standing" step (issue 13/16): a suspended or closed merchant, or a suspended
 * store, takes no payment on any surface, from the moment its state changes. The merchant/store facts
 * (names, receivable account) stay cached in tills.ts; the right to be paid is re-read here, uncached
 * (src/merchants/standing.ts). Refunds and cancels do not run it: they only return money to the wallet
 * that paid, which a suspension must not block (src/merchants/README.md, "Merchant states").
 */
import { judgeMerchantStanding, requireMerchantStanding } from '../merchants/standing.ts';
import { Ledgers } from '../ledger/types.ts';
import { assert } from '../platform/assert.ts';
import type { AuthorizationAttempt } from './authorizations.ts';
import { KobanError } from '../platform/errors.ts';
import type { DynamicQrAttempt, StaticQrAttempt } from './customer-pay.ts';
import type { PaymentsDeps } from './deps.ts';
import type { CodeAttempt } from './till.ts';

/** A till payment read its standing with its other facts, in the replay step's one statement (till.ts). */
export async function codePaymentStanding(deps: PaymentsDeps, attempt: CodeAttempt): Promise<undefined> {
  if (attempt.facts !== undefined) judgeMerchantStanding(attempt.facts.standing, attempt.request.storeId);
  else await requireMerchantStanding(deps.db.pool, attempt.request.merchantId, attempt.request.storeId);
  return undefined;
}

export async function orderStanding(deps: PaymentsDeps, attempt: DynamicQrAttempt): Promise<undefined> {
  assert(attempt.qr !== undefined, 'the order was read');
  await requireMerchantStanding(deps.db.pool, attempt.qr.payment.merchantId, attempt.qr.payment.storeId);
  return undefined;
}

export async function storeStanding(deps: PaymentsDeps, attempt: StaticQrAttempt): Promise<undefined> {
  assert(attempt.store !== undefined, 'the store was read');
  await requireMerchantStanding(deps.db.pool, attempt.store.merchantId, attempt.store.storeId);
  return undefined;
}

/**
 * Capturing a pre-authorisation moves the held money to the merchant: a suspended merchant or store may not
 * (the API key's short cache may still call the merchant active). A revert has no such step: it only
 * releases the payer's own money, which a suspension must never block.
 */
export async function captureStanding(deps: PaymentsDeps, attempt: AuthorizationAttempt): Promise<undefined> {
  assert(attempt.payment !== undefined, 'the authorisation was read');
  await requireMerchantStanding(deps.db.pool, attempt.payment.merchantId, attempt.payment.storeId);
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Test or live money (issue 15 follow-up). A merchant's test twin keeps its books on the test ledger and a
// developer's test wallet holds test money there (src/wallet/test-wallets.ts); everyone else is on the real-yen
// ledger. The ledger itself refuses a transfer between two ledgers, but only after the payment was written and
// claimed: this step refuses the mismatch first, on every payment surface (till code, OPA till API, order QR —
// pre-authorisation included — and store QR), with one problem, before anything is claimed or moved.

/** The payer's balance and the merchant's receivable must be on one ledger: test pays test, real pays real. */
export function judgePaymentMode(walletLedger: number, merchantLedger: number): void {
  if (walletLedger === merchantLedger) return;
  const detail = merchantLedger === Ledgers.TEST_JPY
    ? 'this merchant is in test mode: only a test wallet (made on the merchant portal\'s Developers page) can pay it'
    : 'a test wallet holds test money: it pays only a merchant\'s test mode, never a live merchant';
  throw new KobanError('payment_mode_mismatch', { detail });
}

const LEDGER_OF_ACCOUNT_MAX = 10_000;
// An account's ledger never changes once the account exists, so this cache can never be stale.
const ledgerOfAccount = new Map<string, number>();

async function walletLedger(deps: PaymentsDeps, walletAccountId: string): Promise<number> {
  const known = ledgerOfAccount.get(walletAccountId);
  if (known !== undefined) return known;
  const account = await deps.ledger.getAccount(walletAccountId);
  if (account === null) throw new KobanError('wallet_not_found');
  if (ledgerOfAccount.size >= LEDGER_OF_ACCOUNT_MAX) ledgerOfAccount.delete(ledgerOfAccount.keys().next().value as string);
  ledgerOfAccount.set(walletAccountId, account.ledger);
  return account.ledger;
}

/** A till payment: the code's wallet (read with the replay check, till.ts) against the till's merchant. */
export async function codePaymentMode(deps: PaymentsDeps, attempt: CodeAttempt): Promise<undefined> {
  assert(attempt.code != null && attempt.till !== undefined, 'the code and the till were read');
  const ledger = attempt.facts?.walletLedger ?? await walletLedger(deps, attempt.code.walletAccountId);
  judgePaymentMode(ledger, attempt.till.ledger);
  return undefined;
}

/** An order QR or a store QR paid in the wallet: the signed-in customer's wallet against the merchant. */
export async function qrPaymentMode(deps: PaymentsDeps, attempt: DynamicQrAttempt | StaticQrAttempt): Promise<undefined> {
  assert(attempt.target !== undefined, 'the merchant was read');
  judgePaymentMode(await walletLedger(deps, attempt.ctx.walletAccountId), attempt.target.ledger);
  return undefined;
}
