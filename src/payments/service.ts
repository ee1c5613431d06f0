/**
 * The payments module's public face: built once by the composition root (src/koban.ts) from the
 * configuration, the database, the ledger and the hooks identity and risk provide.
 */
import type { Ledger } from '../ledger/ledger.ts';
import type { PaymentsConfig, WalletConfig } from '../platform/config.ts';
import type { Database } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import { deriveKey } from '../merchants/secret-box.ts';
import { mintedOrThrow, mintPaymentCodes, paymentCodeStatus, deleteOldPaymentCodes, type CodeStatus, type MintedCode, type MintOutcome } from './codes.ts';
import { createBatcher } from '../ledger/batcher.ts';
import { repairInFlightPayments } from './complete.ts';
import { confirmHeldPayment, declineHeldPayment, expireConfirmations, sendConfirmationCode, waitingConfirmations, type WaitingConfirmation } from './customer-confirmation.ts';
import { createNoticeRelay, relayCustomerNotices } from './customer-notices.ts';
import { createCodePaymentBatcher } from './group-commit.ts';
import { defaultPaymentHooks, type CustomerContext, type PaymentHooks } from './context.ts';
import type { DeferredNonces, Logger, MerchantEventSink, PaymentRisk, PaymentsDeps, PaymentSwitches } from './deps.ts';
import { PAYMENT_COLUMNS, readPaymentByMerchantId, toPayment, type Payment, type PaymentRow } from './model.ts';
import type { TillAnswer, TillPaymentRequest } from './till.ts';
import { cancelPayment, captureAuthorization, payAtTill, payDynamicQr, payStaticQr, payWithCustomerCode, refundPayment, revertAuthorization } from './pipeline.ts';
import { authorizationExpiry, expireAuthorizations, repairAuthorizationActions, type CaptureRequest, type RevertRequest } from './authorizations.ts';
import { createTills } from './tills.ts';
import { repairPendingReversals } from './cancel.ts';
import { previewDynamicQr, previewStaticQr } from './customer-pay.ts';
import { cancelByMerchantId, resolveOrderRefs, type OrderRefs } from './merchant-orders.ts';
import { searchPayments, type PaymentSearch } from './payment-search.ts';
import { readOrderDetails, writeOrderDetails, type OrderDetails } from './order-details.ts';
import { createDynamicQr, deleteDynamicQr, getCodePayment, readOrderSummary, type DynamicQr, type DynamicQrRequest, type OrderSummary, type QrPreview } from './dynamic-qr.ts';
import { getRefund, repairInFlightRefunds, type RefundRequest } from './refunds.ts';
import type { Refund } from './model.ts';

export interface PaymentsOptions {
  readonly db: Database;
  readonly ledger: Ledger;
  readonly config: PaymentsConfig;
  /** The tiers' payment limits (the wallet's configuration). */
  readonly tierLimits: Pick<WalletConfig, 'transfers'>;
  /** The key-encryption key (src/merchants/secret-key.ts). */
  readonly secretKey: Buffer;
  readonly hooks?: Partial<PaymentHooks>;
  readonly switches: PaymentSwitches;
  readonly risk: PaymentRisk;
  readonly events: MerchantEventSink;
  readonly log: Logger;
  readonly now?: () => Date;
  /** The OPA money endpoints' nonces a payment batch writes (deps.ts DeferredNonces). */
  readonly nonces?: DeferredNonces;
}

export interface Payments {
  readonly deps: PaymentsDeps;
  /** Concurrent mints share one transaction (codes.ts `mintPaymentCodes`, batched like the till's payments). */
  mintPaymentCode(ctx: CustomerContext): Promise<MintedCode>;
  /** Resolves when every mint submitted so far is written (shutdown). */
  drainCodeMints(): Promise<void>;
  paymentCodeStatus(ctx: CustomerContext, codeId: string): Promise<CodeStatus>;
  payWithCustomerCode(request: TillPaymentRequest): Promise<Payment>;
  /** The same, with the payment's refunds (the till API's answer) read only when it is a repeat, and its order details. */
  payAtTill(request: TillPaymentRequest): Promise<TillAnswer>;
  /** Forgets the cached till → store → merchant facts (after changing a merchant, store or terminal). */
  invalidateTills(): void;
  /** A merchant reads its own payment; another merchant's is "not found". */
  getPayment(merchantId: string, merchantPaymentId: string): Promise<Payment>;
  createDynamicQr(request: DynamicQrRequest): Promise<DynamicQr>;
  deleteDynamicQr(merchantId: string, codeId: string): Promise<void>;
  getCodePayment(merchantId: string, merchantPaymentId: string): Promise<Payment>;
  previewDynamicQr(codeId: string): Promise<QrPreview>;
  /** The public checkout page's summary of an order QR (dynamic-qr.ts readOrderSummary). */
  orderSummary(codeId: string): Promise<OrderSummary>;
  payDynamicQr(ctx: CustomerContext, codeId: string): Promise<Payment>;
  previewStaticQr(payload: string): Promise<QrPreview & { merchantId: string; storeId: string }>;
  payStaticQr(ctx: CustomerContext, payload: string, amountMinor: bigint, idempotencyKey?: string | null): Promise<Payment>;
  cancelPayment(merchantId: string, merchantPaymentId: string): Promise<Payment>;
  /** PayPay's cancel: as cancelPayment, and an unknown merchantPaymentId is remembered as cancelled (null). */
  cancelByMerchantId(merchantId: string, merchantPaymentId: string): Promise<Payment | null>;
  /** A request's storeId/terminalId (the merchant's own ids or Koban's) mapped to Koban's stores and terminals. */
  resolveOrderRefs(merchantId: string, storeRef: string | null, terminalRef: string | null): Promise<OrderRefs>;
  orderDetails(merchantId: string, merchantPaymentId: string): Promise<OrderDetails>;
  /** GET /v2/payments: the merchant's payments by time, status, store and amount, newest first in pages. */
  searchPayments(merchantId: string, search: PaymentSearch): ReturnType<typeof searchPayments>;
  refundPayment(request: RefundRequest): Promise<Refund>;
  getRefund(merchantId: string, merchantRefundId: string): Promise<{ refund: Refund; payment: Payment }>;
  /** This customer's own payments (another customer's never appear), newest first. */
  customerHistory(ctx: CustomerContext, limit: number): Promise<Array<{ payment: Payment; merchantName: string; storeName: string | null }>>;
  /** Payments waiting for this customer's confirmation in the wallet (customer-confirmation.ts). */
  waitingConfirmations(ctx: CustomerContext): Promise<WaitingConfirmation[]>;
  /** The customer confirms (PIN; when risk asked, on an established device plus the e-mailed code, or a passkey) or declines a waiting payment: the outcome. */
  confirmHeldPayment(ctx: CustomerContext, paymentId: string): Promise<Payment>;
  /** E-mails the code that, with the PIN, confirms a payment risk held (customer-confirmation.ts); answers where it went. */
  sendConfirmationCode(ctx: CustomerContext, paymentId: string): Promise<{ sentTo: string }>;
  declineHeldPayment(ctx: CustomerContext, paymentId: string): Promise<Payment>;
  /** Pre-authorisation (authorizations.ts): capture (full or partial) or revert an AUTHORIZED payment. */
  captureAuthorization(request: CaptureRequest): Promise<Payment>;
  revertAuthorization(request: RevertRequest): Promise<Payment>;
  /** Marks authorisations EXPIRED whose holds the ledger released (part of runMaintenance; tests drive it). */
  expireAuthorizations(): Promise<number>;
  /** The expiry of a new authorisation: the merchant's `authorizationExpiry` checked against the limit, or the default. */
  authorizationExpiry(requested: Date | null): Date;
  /** One round of housekeeping: repair in-flight payments, refunds and reversals; delete long-expired codes. */
  runMaintenance(): Promise<void>;
}

/** Code mints per transaction: mints come from app screens, far fewer than payments at a busy till. */
const MINT_BATCH_MAX = 128;
const MINTS_QUEUED_MAX = 4096;

export async function createPayments(options: PaymentsOptions): Promise<Payments> {
  const now = options.now ?? (() => new Date());
  const hooks: PaymentHooks = { ...defaultPaymentHooks, ...options.hooks };
  const base: Omit<PaymentsDeps, 'codePayments'> = {
    db: options.db, ledger: options.ledger, config: options.config, tierLimits: options.tierLimits, hooks,
    switches: options.switches, risk: options.risk, tills: createTills(options.db.pool, now),
    pepper: deriveKey(options.secretKey, 'payment-code-hmac v1'),
    events: options.events, notices: createNoticeRelay({ db: options.db, hooks, log: options.log }), log: options.log, now,
    ...(options.nonces === undefined ? {} : { nonces: options.nonces }),
  };
  const deps: PaymentsDeps = { ...base, codePayments: createCodePaymentBatcher(base) };
  const codeDeps = { db: deps.db, pepper: deps.pepper, hooks: deps.hooks, switches: deps.switches, ttlSec: deps.config.paymentCodeTtlSec, now: deps.now };
  const mints = createBatcher<CustomerContext, MintOutcome>({
    itemsMax: MINT_BATCH_MAX, queuedItemsMax: MINTS_QUEUED_MAX, inFlightMax: 2, sizeOf: () => 1, write: (ctxs) => mintPaymentCodes(codeDeps, ctxs),
  });
  return {
    deps,
    async mintPaymentCode(ctx) {
      // Codes already shown keep working until they expire (the switch's promise in the catalogue).
      deps.switches.assertOn('payment_code_minting');
      // A customer who pays with a passkey proves each code with it (issue 13): malware on the phone cannot.
      if (ctx.paysWithPasskey === true) await deps.hooks.requirePaymentPasskey(ctx, { method: 'code' });
      return mintedOrThrow(await mints.submit(ctx));
    },
    drainCodeMints: () => mints.drain(),
    paymentCodeStatus: (ctx, codeId) => paymentCodeStatus(deps, ctx, codeId),
    payWithCustomerCode: async (request) => (await payWithCustomerCode(deps, request)).payment,
    async payAtTill(request) {
      if (request.details !== undefined) await writeOrderDetails(deps.db.pool, request.merchantId, request.merchantPaymentId, request.details);
      // A cancelled merchantPaymentId is refused by the replay step, from the request's one read (issue 11: one statement
      // less); the same read brings the order details the answer echoes (one more).
      return payAtTill(deps, request);
    },
    invalidateTills: () => deps.tills.invalidate(),
    waitingConfirmations: (ctx) => waitingConfirmations(deps, ctx),
    confirmHeldPayment: (ctx, paymentId) => confirmHeldPayment(deps, ctx, paymentId),
    sendConfirmationCode: (ctx, paymentId) => sendConfirmationCode(deps, ctx, paymentId),
    declineHeldPayment: (ctx, paymentId) => declineHeldPayment(deps, ctx, paymentId),
    async getPayment(merchantId, merchantPaymentId) {
      const payment = await readPaymentByMerchantId(deps.db.pool, merchantId, merchantPaymentId);
      if (payment === null) throw new KobanError('payment_not_found');
      return payment;
    },
    createDynamicQr: (request) => createDynamicQr(deps, request),
    deleteDynamicQr: (merchantId, codeId) => deleteDynamicQr(deps, merchantId, codeId),
    getCodePayment: (merchantId, merchantPaymentId) => getCodePayment(deps, merchantId, merchantPaymentId),
    previewDynamicQr: (codeId) => previewDynamicQr(deps, codeId),
    orderSummary: (codeId) => readOrderSummary(deps, codeId),
    payDynamicQr: (ctx, codeId) => payDynamicQr(deps, ctx, codeId),
    previewStaticQr: (payload) => previewStaticQr(deps, payload),
    payStaticQr: (ctx, payload, amountMinor, idempotencyKey = null) => payStaticQr(deps, ctx, payload, amountMinor, idempotencyKey),
    cancelPayment: (merchantId, merchantPaymentId) => cancelPayment(deps, merchantId, merchantPaymentId),
    cancelByMerchantId: (merchantId, merchantPaymentId) => cancelByMerchantId(deps, merchantId, merchantPaymentId, (m, p) => cancelPayment(deps, m, p)),
    resolveOrderRefs: (merchantId, storeRef, terminalRef) => resolveOrderRefs(deps, merchantId, storeRef, terminalRef),
    orderDetails: (merchantId, merchantPaymentId) => readOrderDetails(deps.db.pool, merchantId, merchantPaymentId),
    searchPayments: (merchantId, search) => searchPayments(deps.db, merchantId, search),
    refundPayment: (request) => refundPayment(deps, request),
    getRefund: (merchantId, merchantRefundId) => getRefund(deps, merchantId, merchantRefundId),
    async customerHistory(ctx, limit) {
      const result = await deps.db.pool.query<PaymentRow & { merchant_name: string; store_name: string | null }>(
        `select ${PAYMENT_COLUMNS.split(',').map((c) => `p.${c.trim()}`).join(', ')}, m.name as merchant_name, s.name as store_name
         from payments p join merchants m on m.id = p.merchant_id left join stores s on s.id = p.store_id
         where p.customer_id = $1 and p.wallet_account_id = $2 order by p.created_at desc limit $3`, [ctx.customerId, ctx.walletAccountId, Math.min(limit, 50)]);
      return result.rows.map((row) => ({ payment: toPayment(row), merchantName: row.merchant_name, storeName: row.store_name }));
    },
    captureAuthorization: (request) => captureAuthorization(deps, request),
    revertAuthorization: (request) => revertAuthorization(deps, request),
    expireAuthorizations: () => expireAuthorizations(deps),
    authorizationExpiry: (requested) => authorizationExpiry(deps.now(), requested),
    async runMaintenance() {
      await repairInFlightPayments(deps);
      await repairAuthorizationActions(deps);
      await expireAuthorizations(deps);
      await repairInFlightRefunds(deps);
      await repairPendingReversals(deps);
      await expireConfirmations(deps);
      // Notices a crash left undelivered (and those the repairs just wrote).
      while ((await relayCustomerNotices(deps)) > 0) { /* until none waits */ }
      await deleteOldPaymentCodes(deps.db, deps.now());
    },
  };
}
