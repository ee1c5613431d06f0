/**
 * Dynamic (order) QR codes, PayPay's POST /v2/codes: the merchant fixes the amount, Koban returns a code
 * the customer scans. The order is a payment row in CREATED until a customer pays it.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { assert } from '../platform/assert.ts';
import { sqlState, withTransaction } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import { uuidv7 } from '../platform/ids.ts';
import type { PaymentsDeps } from './deps.ts';
import { merchantFee } from './fees.ts';
import { fingerprint, lockPayment, PAYMENT_COLUMNS, readPaymentByMerchantId, toPayment, type Payment, type PaymentRow } from './model.ts';
import { requirePayableAmount } from './till.ts';
import { refuseCanceledId } from './merchant-orders.ts';
import { hasOrderDetails, NO_ORDER_DETAILS, writeOrderDetails, type OrderDetails } from './order-details.ts';
import { requireMerchantStanding } from '../merchants/standing.ts';

export interface DynamicQrRequest {
  readonly merchantId: string;
  readonly merchantPaymentId: string;
  readonly amountMinor: bigint;
  readonly orderDescription: string | null;
  readonly storeId: string | null;
  readonly terminalId: string | null;
  readonly requestedAt: Date | null;
  /** What the merchant said that Koban echoes (its own store/terminal ids, orderItems, storeInfo, productType). */
  readonly details?: OrderDetails;
  /** Where the checkout page sends the customer after paying, as the merchant sent it (checked by `checkOrderRedirect`). */
  readonly redirectUrl?: string;
  readonly redirectType?: RedirectType;
  /** A pre-authorisation (`isAuthorization`): paying the QR holds the money until capture, revert or this expiry (authorizations.ts). */
  readonly authorization?: { readonly expiresAt: Date };
}

/** PayPay's redirectType: a web page, an app's deep link, or (in PayPay's own app) its web view, which Koban treats as a web page. */
export type RedirectType = 'WEB_LINK' | 'APP_DEEP_LINK' | 'WEBVIEW_IN_PAYPAY';
export interface OrderRedirect { readonly url: string; readonly type: RedirectType }
export const REDIRECT_URL_MAX = 2048;
/** Schemes a deep link may never use: they run code or read local data in the page that follows them. */
const FORBIDDEN_DEEP_LINK_SCHEMES = new Set(['javascript:', 'data:', 'vbscript:', 'file:', 'blob:', 'about:', 'filesystem:']);

/**
 * The merchant's return address, checked before it is kept: the checkout page navigates to it, so it must be
 * an absolute URL that runs nothing. A web link is https (http too in the sandbox) with no credentials in it;
 * an app deep link is any other custom scheme (or https: universal links). The type defaults to WEB_LINK.
 */
export function checkOrderRedirect(url: string | undefined, type: RedirectType | undefined, httpsOnly: boolean): OrderRedirect | null {
  if (url === undefined) return null;
  const refuse = (message: string): never => { throw new KobanError('validation_failed', { errors: [{ pointer: '/body/redirectUrl', message }] }); };
  if (url.length > REDIRECT_URL_MAX) refuse(`must be at most ${REDIRECT_URL_MAX} characters`);
  const kind = type ?? 'WEB_LINK';
  let parsed: URL;
  try { parsed = new URL(url); } catch { return refuse('must be an absolute URL'); }
  if (parsed.username !== '' || parsed.password !== '') refuse('must not carry credentials');
  const webSchemes = httpsOnly ? ['https:'] : ['https:', 'http:'];
  if (kind === 'APP_DEEP_LINK') {
    if (FORBIDDEN_DEEP_LINK_SCHEMES.has(parsed.protocol) || (parsed.protocol === 'http:' && httpsOnly)) refuse(`must not use the ${parsed.protocol} scheme`);
  } else if (!webSchemes.includes(parsed.protocol)) {
    refuse(httpsOnly ? 'must be an https URL' : 'must be an https (or, in the sandbox, http) URL');
  }
  return { url, type: kind };
}

export interface DynamicQr {
  readonly codeId: string;
  readonly status: 'ACTIVE' | 'DELETED' | 'PAID';
  readonly expiresAt: Date;
  readonly payment: Payment;
  readonly redirect: OrderRedirect | null;
}

export function newCodeId(): string {
  return `kq_${randomBytes(18).toString('base64url')}`;
}

export async function createDynamicQr(deps: PaymentsDeps, request: DynamicQrRequest): Promise<DynamicQr> {
  requirePayableAmount(deps, request.amountMinor);
  const redirect = checkOrderRedirect(request.redirectUrl, request.redirectType, deps.config.orderRedirectHttpsOnly);
  const details = request.details ?? NO_ORDER_DETAILS;
  // Details join the fingerprint only when there are any, so repeats of orders made before them still match.
  const requestFingerprint = fingerprint(['dynamic_qr', request.amountMinor, request.storeId, request.terminalId, request.orderDescription,
    ...(hasOrderDetails(details) ? [JSON.stringify(details)] : []), ...(request.authorization === undefined ? [] : ['authorization', request.authorization.expiresAt.toISOString()])]);
  const earlier = await readPaymentByMerchantId(deps.db.pool, request.merchantId, request.merchantPaymentId);
  if (earlier !== null) return repeatOf(deps, earlier, requestFingerprint);
  await refuseCanceledId(deps.db.pool, request.merchantId, request.merchantPaymentId);
  // Read through the pool (a cached lookup), so before the transaction: inside it only its client may be used.
  if (request.storeId !== null) await deps.tills.require(request.merchantId, request.storeId, request.terminalId);
  // A suspended merchant or store makes no new order QR either (uncached: immediate, src/merchants/standing.ts).
  await requireMerchantStanding(deps.db.pool, request.merchantId, request.storeId);
  try {
    return await withTransaction(deps.db, (client) => insertDynamicQr(deps, client, request, redirect, requestFingerprint));
  } catch (error) {
    if (sqlState(error) !== '23505') throw error;
    const winner = await readPaymentByMerchantId(deps.db.pool, request.merchantId, request.merchantPaymentId);
    assert(winner !== null, 'the conflicting payment exists');
    return repeatOf(deps, winner, requestFingerprint);
  }
}

/** "When the same merchantPaymentId is specified, the previous result is returned"; a changed request is a conflict. */
async function repeatOf(deps: PaymentsDeps, earlier: Payment, requestFingerprint: string): Promise<DynamicQr> {
  if (earlier.kind !== 'dynamic_qr' || earlier.requestFingerprint !== requestFingerprint) throw new KobanError('merchant_payment_id_conflict');
  const qr = await readQrByPayment(deps.db.pool, earlier);
  assert(qr !== null, 'a dynamic QR payment has its code');
  return qr;
}

async function insertDynamicQr(deps: PaymentsDeps, client: pg.PoolClient, request: DynamicQrRequest, redirect: OrderRedirect | null, requestFingerprint: string): Promise<DynamicQr> {
  const now = deps.now();
  const inserted = await client.query<PaymentRow>(
    `insert into payments (id, merchant_id, merchant_payment_id, kind, status, amount_minor, fee_minor, store_id, terminal_id, order_description,
       request_fingerprint, requested_at, created_at, is_authorization, authorization_expires_at, authorized_amount_minor)
     values ($1, $2, $3, 'dynamic_qr', 'CREATED', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) returning ${PAYMENT_COLUMNS}`,
    [uuidv7(now.getTime()), request.merchantId, request.merchantPaymentId, request.amountMinor, merchantFee(request.amountMinor, deps.config.merchantFeeBps),
      request.storeId, request.terminalId, request.orderDescription, requestFingerprint, request.requestedAt, now,
      request.authorization !== undefined, request.authorization?.expiresAt ?? null, request.authorization === undefined ? null : request.amountMinor]);
  const row = inserted.rows[0];
  assert(row !== undefined, 'payment inserted');
  await writeOrderDetails(client, request.merchantId, request.merchantPaymentId, request.details ?? NO_ORDER_DETAILS);
  const expiresAt = new Date(now.getTime() + deps.config.dynamicQrTtlSec * 1000);
  const codeId = newCodeId();
  await client.query(`insert into dynamic_qr_codes (id, payment_id, merchant_id, expires_at, created_at, redirect_url, redirect_type) values ($1, $2, $3, $4, $5, $6, $7)`,
    [codeId, row.id, request.merchantId, expiresAt, now, redirect?.url ?? null, redirect?.type ?? null]);
  return { codeId, status: 'ACTIVE', expiresAt, payment: toPayment(row), redirect };
}

interface RedirectRow { redirect_url: string | null; redirect_type: RedirectType | null }
function toRedirect(row: RedirectRow): OrderRedirect | null {
  return row.redirect_url === null || row.redirect_type === null ? null : { url: row.redirect_url, type: row.redirect_type };
}

async function readQrByPayment(db: pg.Pool | pg.PoolClient, payment: Payment): Promise<DynamicQr | null> {
  const result = await db.query<{ id: string; status: DynamicQr['status']; expires_at: Date } & RedirectRow>(
    `select id, status, expires_at, redirect_url, redirect_type from dynamic_qr_codes where payment_id = $1`, [payment.id]);
  const row = result.rows[0];
  return row === undefined ? null : { codeId: row.id, status: row.status, expiresAt: row.expires_at, payment, redirect: toRedirect(row) };
}

/** DELETE /v2/codes/{codeId}: an unpaid code stops working and its order fails. */
export async function deleteDynamicQr(deps: PaymentsDeps, merchantId: string, codeId: string): Promise<void> {
  await withTransaction(deps.db, async (client) => {
    // The global lock order (model.ts lockPayment): the payment row, then its QR row.
    const owner = await client.query<{ payment_id: string }>('select payment_id from dynamic_qr_codes where id = $1 and merchant_id = $2', [codeId, merchantId]);
    if (owner.rows[0] === undefined) throw new KobanError('dynamic_qr_not_found');
    await lockPayment(client, owner.rows[0].payment_id);
    const locked = await client.query<{ status: string; payment_id: string; payment_status: string; staged: boolean }>(
      `select c.status, c.payment_id, p.status as payment_status, p.payment_transfer_id is not null as staged
       from dynamic_qr_codes c join payments p on p.id = c.payment_id where c.id = $1 and c.merchant_id = $2 for update of c`, [codeId, merchantId]);
    const row = locked.rows[0];
    if (row === undefined) throw new KobanError('dynamic_qr_not_found');
    if (row.status === 'DELETED') return;
    if (row.status === 'PAID' || row.payment_status !== 'CREATED') throw new KobanError('dynamic_qr_unavailable', { detail: 'the code was already paid; cancel or refund the payment instead' });
    if (row.staged) throw new KobanError('payment_in_progress');
    await client.query(`update dynamic_qr_codes set status = 'DELETED' where id = $1`, [codeId]);
    await client.query(`update payments set status = 'FAILED', failure_code = 'qr_deleted' where id = $1`, [row.payment_id]);
  });
}

/**
 * GET /v2/codes/payments/{merchantPaymentId}: the order's payment. An order whose code expired unpaid (or
 * was deleted) has no payment: DYNAMIC_QR_PAYMENT_NOT_FOUND, as PayPay answers.
 */
export async function getCodePayment(deps: PaymentsDeps, merchantId: string, merchantPaymentId: string): Promise<Payment> {
  const payment = await readPaymentByMerchantId(deps.db.pool, merchantId, merchantPaymentId);
  if (payment === null || payment.kind !== 'dynamic_qr') throw new KobanError('payment_not_found');
  if (payment.status === 'FAILED' && payment.failureCode === 'qr_deleted') throw new KobanError('payment_not_found', { detail: 'the QR code was deleted' });
  if (payment.status !== 'CREATED' || payment.paymentTransferId !== null) return payment;
  const qr = await readQrByPayment(deps.db.pool, payment);
  if (qr !== null && qr.expiresAt <= deps.now()) throw new KobanError('payment_not_found', { detail: 'the QR code expired unpaid' });
  return payment;
}

/** What the wallet app shows before the customer confirms. Reading a code reveals nothing about any customer. */
export interface QrPreview {
  readonly merchantName: string;
  readonly storeName: string | null;
  readonly amountMinor: bigint | null;
  readonly orderDescription: string | null;
  readonly expiresAt: Date | null;
}

export async function readDynamicQrForCustomer(deps: PaymentsDeps, codeId: string): Promise<{ qr: DynamicQr; preview: QrPreview }> {
  const result = await deps.db.pool.query<PaymentRow & RedirectRow & { code_id: string; code_status: DynamicQr['status']; expires_at: Date; merchant_name: string; store_name: string | null }>(
    `select ${PAYMENT_COLUMNS.split(',').map((c) => `p.${c.trim()}`).join(', ')}, c.id as code_id, c.status as code_status, c.expires_at, c.redirect_url, c.redirect_type,
       m.name as merchant_name, s.name as store_name
     from dynamic_qr_codes c join payments p on p.id = c.payment_id join merchants m on m.id = c.merchant_id left join stores s on s.id = p.store_id
     where c.id = $1`, [codeId]);
  const row = result.rows[0];
  if (row === undefined) throw new KobanError('dynamic_qr_not_found');
  const payment = toPayment(row);
  return {
    qr: { codeId: row.code_id, status: row.code_status, expiresAt: row.expires_at, payment, redirect: toRedirect(row) },
    preview: { merchantName: row.merchant_name, storeName: row.store_name, amountMinor: payment.amountMinor, orderDescription: payment.orderDescription, expiresAt: row.expires_at },
  };
}

/**
 * The public checkout page's order summary (GET /qr/{codeId} opens it before anyone signs in): who is paid,
 * how much, until when, whether it can still be paid, and where the page returns afterwards. The code id
 * (144 random bits) is the only key; nothing about the payer, the merchant's ids or its order lines.
 */
export interface OrderSummary {
  readonly merchantName: string;
  readonly storeName: string | null;
  readonly amountMinor: bigint;
  readonly expiresAt: Date;
  /** PAYABLE: pay now; PAID: money moved; EXPIRED: unpaid past its expiry; UNAVAILABLE: deleted, failed or canceled. */
  readonly state: 'PAYABLE' | 'PAID' | 'EXPIRED' | 'UNAVAILABLE';
  readonly redirect: OrderRedirect | null;
}

export async function readOrderSummary(deps: PaymentsDeps, codeId: string): Promise<OrderSummary> {
  const { qr, preview } = await readDynamicQrForCustomer(deps, codeId);
  const amountMinor = qr.payment.amountMinor;
  assert(amountMinor > 0n, 'an order QR has its amount');
  return { merchantName: preview.merchantName, storeName: preview.storeName, amountMinor, expiresAt: qr.expiresAt, state: orderState(qr, deps.now()), redirect: qr.redirect };
}

function orderState(qr: DynamicQr, now: Date): OrderSummary['state'] {
  const status = qr.payment.status;
  if (status === 'COMPLETED' || status === 'REFUNDED' || status === 'AUTHORIZED' || qr.status === 'PAID') return 'PAID';
  if (status === 'EXPIRED') return 'EXPIRED';
  if (qr.status === 'DELETED' || status !== 'CREATED') return 'UNAVAILABLE';
  // A payment already under way (staged) is not expired even if the clock passed: the pay call settles it.
  if (qr.payment.paymentTransferId === null && qr.expiresAt <= now) return 'EXPIRED';
  return 'PAYABLE';
}
