/**
 * Per-merchant webhook endpoints: a URL and a signing secret (shown once, kept sealed). Koban signs every
 * delivery with the endpoint's secret (see src/payments/webhooks/README.md for the verification recipe).
 */
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { isPublicAddress } from '../platform/public-address.ts';
import type { Database } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import { uuidv7 } from '../platform/ids.ts';
import type { SecretBox } from './secret-box.ts';

export const WEBHOOK_ENDPOINTS_PER_MERCHANT_MAX = 8;
const URL_LENGTH_MAX = 2048;

export interface IssuedWebhookEndpoint {
  readonly endpointId: string;
  readonly merchantId: string;
  readonly url: string;
  /** Shown once. */
  readonly signingSecret: string;
}

export interface WebhookEndpoint {
  readonly endpointId: string;
  readonly merchantId: string;
  readonly url: string;
  readonly signingSecret: string;
}

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

export async function createWebhookEndpoint(db: Database, box: SecretBox, input: {
  merchantId: string; url: string; allowHttp: boolean; signingSecret?: string; endpointId?: string;
}): Promise<IssuedWebhookEndpoint> {
  const url = validateWebhookUrl(input.url, input.allowHttp);
  const count = await db.pool.query<{ n: number }>(`select count(*)::int as n from merchant_webhook_endpoints where merchant_id = $1 and status = 'active'`, [input.merchantId]);
  if ((count.rows[0]?.n ?? 0) >= WEBHOOK_ENDPOINTS_PER_MERCHANT_MAX) {
    throw new KobanError('webhook_endpoint_invalid', { detail: `at most ${WEBHOOK_ENDPOINTS_PER_MERCHANT_MAX} active endpoints per merchant` });
  }
  const endpointId = input.endpointId ?? uuidv7();
  const signingSecret = input.signingSecret ?? `whsec_${randomBytes(24).toString('base64url')}`;
  await db.pool.query(
    `insert into merchant_webhook_endpoints (id, merchant_id, url, secret_sealed) values ($1, $2, $3, $4) on conflict (id) do nothing`,
    [endpointId, input.merchantId, url, box.seal(signingSecret, webhookSecretContext(endpointId))]);
  return { endpointId, merchantId: input.merchantId, url, signingSecret };
}

export async function disableWebhookEndpoint(db: Database, merchantId: string, endpointId: string): Promise<void> {
  await db.pool.query(`update merchant_webhook_endpoints set status = 'disabled' where id = $1 and merchant_id = $2`, [endpointId, merchantId]);
}

export async function readWebhookEndpoint(db: Database, box: SecretBox, endpointId: string): Promise<WebhookEndpoint | null> {
  const result = await db.pool.query<{ id: string; merchant_id: string; url: string; secret_sealed: Buffer }>(
    `select id, merchant_id, url, secret_sealed from merchant_webhook_endpoints where id = $1`, [endpointId]);
  const row = result.rows[0];
  if (row === undefined) return null;
  return { endpointId: row.id, merchantId: row.merchant_id, url: row.url, signingSecret: box.open(row.secret_sealed, webhookSecretContext(row.id)) };
}
