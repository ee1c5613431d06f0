/**
 * Per-merchant webhook endpoints: a URL and a signing secret (shown once, kept sealed). Koban signs every
 * delivery with the endpoint's secret (see src/payments/webhooks/README.md for the verification recipe).
 *
 * Management follows Stripe where PayPay is silent: list, update the URL, disable/enable, delete (the row
 * stays as `deleted` for its delivery history, never listed or delivered to again), and secret rotation
 * with an overlap window during which every delivery carries a `v1=` signature for each secret.
 * One URL is one endpoint: registering it again answers the existing endpoint (without its secret).
 */
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { isPublicAddress } from '../platform/public-address.ts';
import { withTransaction, type Database } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import { uuidv7 } from '../platform/ids.ts';
import { signWebhook } from '../wallet/funding/webhook-signature.ts';
import type { SecretBox } from './secret-box.ts';

export const WEBHOOK_ENDPOINTS_PER_MERCHANT_MAX = 8;
const URL_LENGTH_MAX = 2048;

export interface IssuedWebhookEndpoint {
  readonly endpointId: string;
  readonly merchantId: string;
  readonly url: string;
  readonly format: WebhookFormat;
  /** Shown once. */
  readonly signingSecret: string;
}

/** `koban`: Koban's event envelope; `paypay`: PayPay's flat Transaction notification (src/payments/webhooks/render.ts). */
export type WebhookFormat = 'koban' | 'paypay';

export interface WebhookEndpoint {
  readonly endpointId: string;
  readonly merchantId: string;
  readonly url: string;
  readonly format: WebhookFormat;
  readonly signingSecret: string;
  /** The secret before the last rotation, still signing until `expiresAt`. */
  readonly previousSigningSecret: { readonly secret: string; readonly expiresAt: Date } | null;
}

/** What a merchant sees of an endpoint: never a secret. */
export interface WebhookEndpointSummary {
  readonly endpointId: string;
  readonly url: string;
  readonly status: 'active' | 'disabled';
  readonly format: WebhookFormat;
  readonly previousSecretExpiresAt: Date | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export const ROTATION_OVERLAP_DEFAULT_SEC = 24 * 3600;
export const ROTATION_OVERLAP_MAX_SEC = 7 * 24 * 3600;
const LIST_MAX = 100;

const newSigningSecret = (): string => `whsec_${randomBytes(24).toString('base64url')}`;

export const webhookSecretContext = (endpointId: string): string => `merchant-webhook-secret:${endpointId}`;

/** Production endpoints must be HTTPS; development may post to a local http:// receiver. */
export function validateWebhookUrl(url: string, allowHttp: boolean): string {
  const parsed = URL.parse(url);
  const schemeOk = parsed !== null && (parsed.protocol === 'https:' || (allowHttp && parsed.protocol === 'http:'));
  // Delivery refuses private addresses anyway (SSRF guard); an obvious one is refused at once.
  const obviouslyPrivate = parsed !== null && !allowHttp && isObviouslyPrivateHost(parsed.hostname);
  if (!schemeOk || obviouslyPrivate || url.length > URL_LENGTH_MAX || parsed.username !== '' || parsed.password !== '' || parsed.hash !== '') {
    throw new KobanError('webhook_endpoint_invalid', {
      detail: allowHttp ? 'the URL must be http(s) without credentials or fragment' : 'the URL must be https to a public host, without credentials or fragment',
      errors: [{ pointer: '/url', message: 'is not an acceptable webhook URL' }],
    });
  }
  return parsed.href;
}

function isObviouslyPrivateHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  return isIP(host) !== 0 && !isPublicAddress(host);
}

export type CreatedWebhookEndpoint = ({ readonly created: true } & IssuedWebhookEndpoint) | ({ readonly created: false } & WebhookEndpointSummary);

/** Creates an endpoint, or answers the merchant's existing one for the same URL (its secret is not shown again). */
export async function createOrFindWebhookEndpoint(db: Database, box: SecretBox, input: {
  merchantId: string; url: string; allowHttp: boolean; format?: WebhookFormat;
}): Promise<CreatedWebhookEndpoint> {
  const url = validateWebhookUrl(input.url, input.allowHttp);
  const existing = await findByUrl(db, input.merchantId, url);
  if (existing !== null) return { created: false, ...existing };
  try {
    return { created: true, ...await createWebhookEndpoint(db, box, input) };
  } catch (error) {
    // Two concurrent registrations of one URL: the unique index lets one in; the other answers it.
    if ((error as { code?: string }).code !== '23505') throw error;
    const winner = await findByUrl(db, input.merchantId, url);
    if (winner === null) throw error;
    return { created: false, ...winner };
  }
}

async function findByUrl(db: Database, merchantId: string, url: string): Promise<WebhookEndpointSummary | null> {
  const result = await db.pool.query<SummaryRow>(`select ${SUMMARY_COLUMNS} from merchant_webhook_endpoints where merchant_id = $1 and url = $2 and status <> 'deleted'`, [merchantId, url]);
  return result.rows[0] === undefined ? null : toSummary(result.rows[0]);
}

export async function createWebhookEndpoint(db: Database, box: SecretBox, input: {
  merchantId: string; url: string; allowHttp: boolean; signingSecret?: string; endpointId?: string; format?: WebhookFormat;
}): Promise<IssuedWebhookEndpoint> {
  const url = validateWebhookUrl(input.url, input.allowHttp);
  const count = await db.pool.query<{ n: number }>(`select count(*)::int as n from merchant_webhook_endpoints where merchant_id = $1 and status = 'active'`, [input.merchantId]);
  if ((count.rows[0]?.n ?? 0) >= WEBHOOK_ENDPOINTS_PER_MERCHANT_MAX) {
    throw new KobanError('webhook_endpoint_invalid', { detail: `at most ${WEBHOOK_ENDPOINTS_PER_MERCHANT_MAX} active endpoints per merchant` });
  }
  const endpointId = input.endpointId ?? uuidv7();
  const signingSecret = input.signingSecret ?? newSigningSecret();
  const format = input.format ?? 'koban';
  await db.pool.query(
    `insert into merchant_webhook_endpoints (id, merchant_id, url, secret_sealed, format) values ($1, $2, $3, $4, $5) on conflict (id) do nothing`,
    [endpointId, input.merchantId, url, box.seal(signingSecret, webhookSecretContext(endpointId)), format]);
  return { endpointId, merchantId: input.merchantId, url, format, signingSecret };
}

export async function disableWebhookEndpoint(db: Database, merchantId: string, endpointId: string): Promise<void> {
  await db.pool.query(`update merchant_webhook_endpoints set status = 'disabled' where id = $1 and merchant_id = $2`, [endpointId, merchantId]);
}

/** The endpoint a delivery goes to; null once it is deleted (a disabled one still finishes what was queued). */
export async function readWebhookEndpoint(db: Database, box: SecretBox, endpointId: string): Promise<WebhookEndpoint | null> {
  const result = await db.pool.query<{ id: string; merchant_id: string; url: string; format: WebhookFormat; secret_sealed: Buffer; previous_secret_sealed: Buffer | null; previous_secret_expires_at: Date | null }>(
    `select id, merchant_id, url, format, secret_sealed, previous_secret_sealed, previous_secret_expires_at
     from merchant_webhook_endpoints where id = $1 and status <> 'deleted'`, [endpointId]);
  const row = result.rows[0];
  if (row === undefined) return null;
  const context = webhookSecretContext(row.id);
  const previous = row.previous_secret_sealed === null || row.previous_secret_expires_at === null ? null
    : { secret: box.open(row.previous_secret_sealed, previousSecretContext(row.id)), expiresAt: row.previous_secret_expires_at };
  return { endpointId: row.id, merchantId: row.merchant_id, url: row.url, format: row.format, signingSecret: box.open(row.secret_sealed, context), previousSigningSecret: previous };
}

const previousSecretContext = (endpointId: string): string => `merchant-webhook-previous-secret:${endpointId}`;

/**
 * The `Koban-Signature` header for one delivery: `t=<unix>,v1=<hex>` with the current secret and, while a
 * rotation's overlap lasts (judged at the delivery's own timestamp), a second `v1=` with the previous one —
 * Stripe's scheme, so a receiver that still holds the old secret keeps verifying.
 */
export function signDelivery(endpoint: WebhookEndpoint, timestampSec: number, rawBody: string | Buffer): string {
  const header = signWebhook(endpoint.signingSecret, timestampSec, rawBody);
  const previous = endpoint.previousSigningSecret;
  if (previous === null || previous.expiresAt.getTime() <= timestampSec * 1000) return header;
  const previousV1 = signWebhook(previous.secret, timestampSec, rawBody).split(',').find((part) => part.startsWith('v1='));
  return previousV1 === undefined ? header : `${header},${previousV1}`;
}

type SummaryRow = { id: string; url: string; status: 'active' | 'disabled'; format: WebhookFormat; previous_secret_expires_at: Date | null; created_at: Date; updated_at: Date };
const SUMMARY_COLUMNS = 'id, url, status, format, previous_secret_expires_at, created_at, updated_at';
const toSummary = (row: SummaryRow): WebhookEndpointSummary => ({
  endpointId: row.id, url: row.url, status: row.status, format: row.format, previousSecretExpiresAt: row.previous_secret_expires_at, createdAt: row.created_at, updatedAt: row.updated_at,
});
const endpointNotFound = (): KobanError => new KobanError('not_found', { detail: 'no such webhook endpoint' });

export async function listWebhookEndpoints(db: Database, merchantId: string): Promise<WebhookEndpointSummary[]> {
  const result = await db.pool.query<SummaryRow>(
    `select ${SUMMARY_COLUMNS} from merchant_webhook_endpoints where merchant_id = $1 and status <> 'deleted' order by created_at, id limit $2`, [merchantId, LIST_MAX]);
  return result.rows.map(toSummary);
}

export async function getWebhookEndpoint(db: Database, merchantId: string, endpointId: string): Promise<WebhookEndpointSummary> {
  const result = await db.pool.query<SummaryRow>(
    `select ${SUMMARY_COLUMNS} from merchant_webhook_endpoints where id = $1 and merchant_id = $2 and status <> 'deleted'`, [endpointId, merchantId]);
  if (result.rows[0] === undefined) throw endpointNotFound();
  return toSummary(result.rows[0]);
}

/** Changes the URL and/or status of one of the merchant's endpoints; enabling counts against the per-merchant maximum. */
export async function updateWebhookEndpoint(db: Database, input: {
  merchantId: string; endpointId: string; url?: string; status?: 'active' | 'disabled'; format?: WebhookFormat; allowHttp: boolean; now: Date;
}): Promise<WebhookEndpointSummary> {
  const current = await getWebhookEndpoint(db, input.merchantId, input.endpointId);
  const url = input.url === undefined ? current.url : validateWebhookUrl(input.url, input.allowHttp);
  if (url !== current.url && await findByUrl(db, input.merchantId, url) !== null) {
    throw new KobanError('webhook_endpoint_invalid', { detail: 'another endpoint already has this URL', errors: [{ pointer: '/url', message: 'is already registered' }] });
  }
  if (input.status === 'active' && current.status !== 'active') {
    const count = await db.pool.query<{ n: number }>(`select count(*)::int as n from merchant_webhook_endpoints where merchant_id = $1 and status = 'active'`, [input.merchantId]);
    if ((count.rows[0]?.n ?? 0) >= WEBHOOK_ENDPOINTS_PER_MERCHANT_MAX) throw new KobanError('webhook_endpoint_invalid', { detail: `at most ${WEBHOOK_ENDPOINTS_PER_MERCHANT_MAX} active endpoints per merchant` });
  }
  const result = await db.pool.query<SummaryRow>(
    `update merchant_webhook_endpoints set url = $3, status = $4, updated_at = $5, format = $6 where id = $1 and merchant_id = $2 and status <> 'deleted' returning ${SUMMARY_COLUMNS}`,
    [input.endpointId, input.merchantId, url, input.status ?? current.status, input.now, input.format ?? current.format]);
  if (result.rows[0] === undefined) throw endpointNotFound();
  return toSummary(result.rows[0]);
}

/** Deletes an endpoint: no new deliveries, queued ones fail as "endpoint no longer exists"; its log stays. */
export async function deleteWebhookEndpoint(db: Database, merchantId: string, endpointId: string, now: Date): Promise<void> {
  const result = await db.pool.query(
    `update merchant_webhook_endpoints set status = 'deleted', previous_secret_sealed = null, previous_secret_expires_at = null, updated_at = $3
     where id = $1 and merchant_id = $2 and status <> 'deleted'`, [endpointId, merchantId, now]);
  if (result.rowCount !== 1) throw endpointNotFound();
}

/**
 * Issues a new signing secret (shown once). The old one keeps signing beside it for `overlapSec`
 * (0 = retire it at once); a rotation during an overlap replaces the older previous secret.
 */
export async function rotateWebhookSecret(db: Database, box: SecretBox, input: {
  merchantId: string; endpointId: string; overlapSec: number; now: Date;
}): Promise<{ endpointId: string; signingSecret: string; previousSecretExpiresAt: Date | null }> {
  if (!Number.isInteger(input.overlapSec) || input.overlapSec < 0 || input.overlapSec > ROTATION_OVERLAP_MAX_SEC) {
    throw new KobanError('validation_failed', { detail: `overlap must be 0–${ROTATION_OVERLAP_MAX_SEC} seconds`, errors: [{ pointer: '/body/overlapSeconds', message: 'is out of range' }] });
  }
  const signingSecret = newSigningSecret();
  const expiresAt = input.overlapSec === 0 ? null : new Date(input.now.getTime() + input.overlapSec * 1000);
  // The row lock orders concurrent rotations: each sees the secret the one before it installed.
  await withTransaction(db, async (client) => {
    const locked = await client.query<{ secret_sealed: Buffer }>(
      `select secret_sealed from merchant_webhook_endpoints where id = $1 and merchant_id = $2 and status <> 'deleted' for update`, [input.endpointId, input.merchantId]);
    const row = locked.rows[0];
    if (row === undefined) throw endpointNotFound();
    const previousSealed = expiresAt === null ? null : box.seal(box.open(row.secret_sealed, webhookSecretContext(input.endpointId)), previousSecretContext(input.endpointId));
    await client.query(
      `update merchant_webhook_endpoints set secret_sealed = $2, previous_secret_sealed = $3, previous_secret_expires_at = $4, updated_at = $5 where id = $1`,
      [input.endpointId, box.seal(signingSecret, webhookSecretContext(input.endpointId)), previousSealed, expiresAt, input.now]);
  });
  return { endpointId: input.endpointId, signingSecret, previousSecretExpiresAt: expiresAt };
}
