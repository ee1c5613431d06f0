/**
 * Delivers pending webhook deliveries: signs the stored body with the endpoint's secret
 * (`Koban-Signature: t=<unix>,v1=<hex HMAC-SHA256 over "t.body">`), POSTs it, logs the attempt, and
 * schedules a retry with exponential backoff until the delivery's attempt limit. Every limit is bounded:
 * deliveries per run, concurrent posts, timeout, response size (not read), attempts.
 */
import type { SecretBox } from '../../merchants/secret-box.ts';
import { readWebhookEndpoint, signDelivery } from '../../merchants/webhook-endpoints.ts';
import type { Database } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import type { Logger } from '../deps.ts';
import { renderDelivery } from './render.ts';
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

export function backoffMs(attempts: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempts - 1));
}

export interface DispatcherDeps {
  readonly db: Database;
  readonly box: SecretBox;
  readonly transport: WebhookTransport;
  readonly timeoutMs: number;
  readonly now: () => Date;
  readonly log: Logger;
}

interface DueRow { id: string; event_id: string; endpoint_id: string; attempts: number; attempts_max: number; body: string; type: string }

/**
 * One dispatch round; returns how many deliveries were attempted. Claims with FOR UPDATE SKIP LOCKED and a
 * lease, so several nodes can dispatch at once without attempting one delivery twice.
 *
 * **In order per payment and endpoint:** a delivery is due only when no earlier event of the same payment
 * (`order_key`, `seq`) is still pending for the same endpoint — neither waiting for its retry nor leased
 * by a dispatcher right now. So an endpoint never gets a payment's refund before its completion; a later
 * event waits until the earlier one was delivered or given up (`failed`). Events written before migration
 * 0200 have no order key and go unordered, as before.
 */
export async function dispatchDueWebhooks(deps: DispatcherDeps): Promise<number> {
  const now = deps.now();
  const due = await deps.db.pool.query<DueRow>(
    `with claimed as (
       update webhook_deliveries d set next_attempt_at = $2 where d.id in (
         select p.id from webhook_deliveries p where p.status = 'pending' and p.next_attempt_at <= $1
           and not exists (select 1 from webhook_deliveries earlier where earlier.status = 'pending' and earlier.endpoint_id = p.endpoint_id
                             and earlier.order_key = p.order_key and earlier.seq < p.seq)
           order by p.next_attempt_at limit $3 for update skip locked)
       returning d.id, d.event_id, d.endpoint_id, d.attempts, d.attempts_max)
     select c.*, e.body, e.type from claimed c join webhook_events e on e.id = c.event_id`,
    [now, new Date(now.getTime() + LEASE_MS), DELIVERIES_PER_RUN_MAX]);
  for (let i = 0; i < due.rows.length; i += CONCURRENT_POSTS_MAX) {
    await Promise.all(due.rows.slice(i, i + CONCURRENT_POSTS_MAX).map((row) => attempt(deps, row)));
  }
  return due.rows.length;
}

async function attempt(deps: DispatcherDeps, row: DueRow): Promise<void> {
  const endpoint = await readWebhookEndpoint(deps.db, deps.box, row.endpoint_id);
  const started = performance.now();
  const sentAt = deps.now();
  let statusCode: number | null = null;
  let error: string | null = null;
  // The payload as the endpoint's format renders it (render.ts); null: that format has no such notification.
  const body = endpoint === null ? null : await renderDelivery(deps.db.pool, endpoint.format, row.type, row.body);
  if (endpoint !== null && body === null) return skipDelivery(deps, row.id, endpoint.format);
  if (endpoint === null || body === null) {
    error = 'endpoint no longer exists';
  } else {
    const headers = {
      'content-type': 'application/json',
      [KOBAN_SIGNATURE_HEADER]: signDelivery(endpoint, Math.floor(sentAt.getTime() / 1000), body),
      'koban-event-id': row.event_id,
      'koban-event-type': row.type,
      'koban-delivery-id': row.id,
    };
    try {
      statusCode = await deps.transport.post(endpoint.url, headers, body, deps.timeoutMs);
    } catch (cause) {
      error = (cause as Error).message.slice(0, ERROR_TEXT_MAX);
    }
  }
  await recordAttempt(deps, row, { statusCode, error, durationMs: Math.round(performance.now() - started), at: sentAt });
}

/** Never posted: recorded so the delivery log says why (a PayPay-format endpoint and a refund, say). */
async function skipDelivery(deps: DispatcherDeps, deliveryId: string, format: string): Promise<void> {
  await deps.db.pool.query(`update webhook_deliveries set status = 'skipped', last_error = $2 where id = $1 and status = 'pending'`,
    [deliveryId, `not sent: the ${format} format has no notification for this event`]);
}

async function recordAttempt(deps: DispatcherDeps, row: DueRow, outcome: { statusCode: number | null; error: string | null; durationMs: number; at: Date }): Promise<void> {
  const delivered = outcome.statusCode !== null && outcome.statusCode >= 200 && outcome.statusCode < 300;
  const attempts = row.attempts + 1;
  const status = delivered ? 'delivered' : attempts >= row.attempts_max ? 'failed' : 'pending';
  const next = new Date(outcome.at.getTime() + backoffMs(attempts));
  await deps.db.pool.query(
    `with logged as (insert into webhook_attempts (delivery_id, attempt, attempted_at, status_code, error, duration_ms) values ($1, $2, $3, $4, $5, $6))
     update webhook_deliveries set attempts = $2, status = $7, next_attempt_at = $8, last_status_code = $4, last_error = $5,
       delivered_at = case when $7 = 'delivered' then $3 else null end
     where id = $1`,
    [row.id, attempts, outcome.at, outcome.statusCode, outcome.error ?? (delivered ? null : `HTTP ${outcome.statusCode}`), outcome.durationMs, status, next]);
  if (status === 'failed') deps.log.warn({ deliveryId: row.id, attempts }, 'webhook delivery gave up');
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
