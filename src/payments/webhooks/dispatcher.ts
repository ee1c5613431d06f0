/**
 * Delivers pending webhook deliveries through the one dispatcher (notifications/dispatcher.ts): signs the
 * stored body with the endpoint's secret (`Koban-Signature: t=<unix>,v1=<hex HMAC-SHA256 over "t.body">`),
 * POSTs it; the dispatcher logs the attempt and schedules a retry with exponential backoff until the
 * delivery's attempt limit. Every limit is bounded: deliveries per run, concurrent posts, timeout, response
 * size (not read), attempts.
 */
import type { SecretBox } from '../../merchants/secret-box.ts';
import { readWebhookEndpoint, signDelivery } from '../../merchants/webhook-endpoints.ts';
import type { Database } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import type { Logger } from '../deps.ts';
import { renderDelivery } from './render.ts';
import { retryDelayMs, type ClaimedRow, type DeliveryResult, type OutboxQueue } from '../../notifications/dispatcher.ts';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { isPublicAddress, PrivateAddressError, publicOnlyLookup } from '../../platform/public-address.ts';

export const KOBAN_SIGNATURE_HEADER = 'koban-signature';
export const DELIVERIES_PER_RUN_MAX = 50;
const CONCURRENT_POSTS_MAX = 10;
/** A claimed delivery is not retried by another dispatcher for this long (it is being attempted). */
const LEASE_MS = 60_000;
const BACKOFF_BASE_MS = 10_000;
const BACKOFF_MAX_MS = 3_600_000;
const ERROR_TEXT_MAX = 500;

export interface WebhookTransport {
  /** POSTs the body; resolves with the HTTP status, rejects on network errors and timeouts. */
  post(url: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<number>;
}

/**
 * POSTs with node:http(s): no redirects are followed (a redirect could point the signed body anywhere),
 * the answer is not read, and unless `allowPrivateNetworks` (development, where receivers run on
 * localhost) the connection may only go to a public address (public-address.ts: SSRF guard).
 */
export function httpTransport(options: { allowPrivateNetworks: boolean }): WebhookTransport {
  return {
    post(url, headers, body, timeoutMs) {
      const target = new URL(url);
      const host = target.hostname.replace(/^\[|\]$/g, '');
      // Literal addresses never reach the lookup below, so they are judged here.
      if (!options.allowPrivateNetworks && isIP(host) !== 0 && !isPublicAddress(host)) return Promise.reject(new PrivateAddressError(host, host));
      const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
      return new Promise<number>((resolve, reject) => {
        const request = send(target, {
          method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, timeout: timeoutMs,
          lookup: options.allowPrivateNetworks ? undefined : publicOnlyLookup,
        }, (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        });
        request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
        request.on('error', reject);
        request.end(body);
      });
    },
  };
}

const WEBHOOK_BACKOFF = { baseMs: BACKOFF_BASE_MS, maxMs: BACKOFF_MAX_MS } as const;

export function backoffMs(attempts: number): number {
  return retryDelayMs(attempts, WEBHOOK_BACKOFF);
}

export interface DispatcherDeps {
  readonly db: Database;
  readonly box: SecretBox;
  readonly transport: WebhookTransport;
  readonly timeoutMs: number;
  readonly now: () => Date;
  readonly log: Logger;
}

interface DueRow extends ClaimedRow { event_id: string; endpoint_id: string; body: string; type: string }

/**
 * The webhook deliveries as a queue of the one dispatcher (notifications/dispatcher.ts), which claims them
 * with FOR UPDATE SKIP LOCKED and a lease, so several nodes can dispatch at once without attempting one
 * delivery twice, and records each attempt in the delivery log (`webhook_attempts`) in the same statement.
 *
 * **In order per payment and endpoint:** a delivery is due only when no earlier event of the same payment
 * (`order_key`, `seq`) is still pending for the same endpoint — neither waiting for its retry nor leased
 * by a dispatcher right now. So an endpoint never gets a payment's refund before its completion; a later
 * event waits until the earlier one was delivered or given up (`failed`). Events written before migration
 * 0200 have no order key and go unordered, as before.
 */
export function webhookQueue(deps: DispatcherDeps): OutboxQueue<DueRow> {
  return {
    name: 'webhooks', table: 'webhook_deliveries', deliveredStatus: 'delivered', deliveredAtColumn: 'delivered_at',
    dueWhen: `not exists (select 1 from webhook_deliveries earlier where earlier.status = 'pending' and earlier.endpoint_id = p.endpoint_id
                and earlier.order_key = p.order_key and earlier.seq < p.seq)`,
    select: 'c.event_id, c.endpoint_id, e.body, e.type',
    join: 'join webhook_events e on e.id = c.event_id',
    resultColumns: ['last_status_code'],
    attemptLog: `insert into webhook_attempts (delivery_id, attempt, attempted_at, status_code, error, duration_ms)
                 select $1, $2, $4, $9, $5, $7 where $8::boolean`,
    batchSize: DELIVERIES_PER_RUN_MAX, concurrency: CONCURRENT_POSTS_MAX, leaseMs: LEASE_MS, backoff: WEBHOOK_BACKOFF, errorLengthMax: ERROR_TEXT_MAX,
    now: deps.now,
    deliver: (row) => attempt(deps, row),
    onGiveUp: (row) => deps.log.warn({ deliveryId: row.id, attempts: row.attempts + 1 }, 'webhook delivery gave up'),
  };
}

async function attempt(deps: DispatcherDeps, row: DueRow): Promise<DeliveryResult> {
  const endpoint = await readWebhookEndpoint(deps.db, deps.box, row.endpoint_id);
  if (endpoint === null) return { outcome: 'retry', error: 'endpoint no longer exists', values: [null] };
  // The payload as the endpoint's format renders it (render.ts); null: that format has no such notification.
  const body = await renderDelivery(deps.db.pool, endpoint.format, row.type, row.body);
  // Never posted: recorded so the delivery log says why (a PayPay-format endpoint and a refund, say).
  if (body === null) return { outcome: 'skipped', reason: `not sent: the ${endpoint.format} format has no notification for this event` };
  const headers = {
    'content-type': 'application/json',
    [KOBAN_SIGNATURE_HEADER]: signDelivery(endpoint, Math.floor(deps.now().getTime() / 1000), body),
    'koban-event-id': row.event_id,
    'koban-event-type': row.type,
    'koban-delivery-id': row.id,
  };
  const statusCode = await deps.transport.post(endpoint.url, headers, body, deps.timeoutMs);
  const delivered = statusCode >= 200 && statusCode < 300;
  return delivered ? { outcome: 'delivered', values: [statusCode] } : { outcome: 'retry', error: `HTTP ${statusCode}`, values: [statusCode] };
}

/** Manual redelivery: one more attempt, now. Bounded by the same per-delivery attempt counter. */
export async function redeliver(db: Database, merchantId: string, deliveryId: string, now: Date): Promise<void> {
  const result = await db.pool.query(
    `update webhook_deliveries set status = 'pending', next_attempt_at = $3, attempts_max = least(attempts + 1, 100) where id = $1 and merchant_id = $2`,
    [deliveryId, merchantId, now]);
  if (result.rowCount !== 1) throw new KobanError('webhook_delivery_not_found');
}

export interface DeliveryLogEntry {
  readonly deliveryId: string; readonly eventId: string; readonly eventType: string; readonly endpointId: string; readonly status: string;
  readonly attempts: number; readonly lastStatusCode: number | null; readonly lastError: string | null; readonly createdAt: Date; readonly deliveredAt: Date | null;
}

export async function deliveryLog(db: Database, merchantId: string, limit: number): Promise<DeliveryLogEntry[]> {
  const result = await db.pool.query<{ id: string; event_id: string; type: string; endpoint_id: string; status: string; attempts: number; last_status_code: number | null; last_error: string | null; created_at: Date; delivered_at: Date | null }>(
    `select d.id, d.event_id, e.type, d.endpoint_id, d.status, d.attempts, d.last_status_code, d.last_error, d.created_at, d.delivered_at
     from webhook_deliveries d join webhook_events e on e.id = d.event_id where d.merchant_id = $1 order by d.created_at desc limit $2`, [merchantId, Math.min(limit, 100)]);
  return result.rows.map((r) => ({ deliveryId: r.id, eventId: r.event_id, eventType: r.type, endpointId: r.endpoint_id, status: r.status, attempts: r.attempts, lastStatusCode: r.last_status_code, lastError: r.last_error, createdAt: r.created_at, deliveredAt: r.delivered_at }));
}
