// Signed, asynchronous webhook delivery with bounded retries, shared by the sandbox acquirer and bank.
// Chaos options let Koban's tests receive the same event twice or late; the redeliver endpoint replays an old
// event after newer ones, which is how a real provider's retries arrive out of order.
import type { FastifyBaseLogger } from 'fastify';
import { signWebhook, WEBHOOK_SIGNATURE_HEADER } from '../../src/wallet/funding/webhook-signature.ts';
import { BoundedMap } from './bounded-map.ts';
import { newId } from './ids.ts';

export interface WebhookChaos {
  // Every delivery is made twice, concurrently, with the same event id and body.
  duplicate?: boolean;
  // The first attempt of every delivery waits this long.
  delayMs?: number;
}

export interface WebhookRetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  timeoutMs: number;
}

export const DEFAULT_WEBHOOK_RETRY: WebhookRetryPolicy = {
  maxAttempts: 8,
  baseDelayMs: 1_000,
  maxDelayMs: 60_000,
  timeoutMs: 5_000,
};
const EVENT_LOG_CAPACITY = 10_000;
const MAX_SCHEDULED_DELIVERIES = 10_000;

export interface WebhookEvent<Data> {
  id: string;
  type: string;
  createdAt: string;
  data: Data;
}

export type DeliveryState = 'no_endpoint' | 'pending' | 'delivered' | 'failed' | 'dropped';

export interface DeliveryRecord {
  event: WebhookEvent<unknown>;
  // Kept as sent: every attempt signs these exact bytes with a fresh timestamp.
  rawBody: string;
  state: DeliveryState;
  attempts: number;
  successes: number;
  lastResult: string | null;
}

export interface WebhookDispatcherOptions {
  url: string | undefined;
  secret: string;
  now: () => number;
  log: FastifyBaseLogger;
  chaos?: WebhookChaos | undefined;
  retry?: Partial<WebhookRetryPolicy> | undefined;
}

export class WebhookDispatcher {
  readonly #records = new BoundedMap<DeliveryRecord>('webhook events', EVENT_LOG_CAPACITY, 'evict_oldest');
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #inFlight = new Set<AbortController>();
  readonly #options: WebhookDispatcherOptions;
  readonly #retry: WebhookRetryPolicy;
  #closed = false;

  constructor(options: WebhookDispatcherOptions) {
    if (options.secret.length === 0) throw new Error('webhook secret must not be empty');
    this.#options = options;
    this.#retry = { ...DEFAULT_WEBHOOK_RETRY, ...options.retry };
  }

  emit<Data>(type: string, data: Data): WebhookEvent<Data> {
    const event: WebhookEvent<Data> = { id: newId('evt'), type, createdAt: new Date(this.#options.now()).toISOString(), data };
    const record: DeliveryRecord = {
      event, rawBody: JSON.stringify(event), state: this.#options.url === undefined ? 'no_endpoint' : 'pending',
      attempts: 0, successes: 0, lastResult: null,
    };
    this.#records.set(event.id, record);
    this.#startDelivery(record, this.#options.chaos?.delayMs ?? 0);
    return event;
  }

  /** Sends a stored event again, as a provider's dashboard "resend" does. Undefined when the id is unknown. */
  redeliver(eventId: string): DeliveryRecord | undefined {
    const record = this.#records.get(eventId);
    if (record === undefined) return undefined;
    if (this.#options.url !== undefined) record.state = 'pending';
    this.#startDelivery(record, 0);
    return record;
  }

  get(eventId: string): DeliveryRecord | undefined {
    return this.#records.get(eventId);
  }

  close(): void {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const controller of this.#inFlight) controller.abort();
  }

  #startDelivery(record: DeliveryRecord, firstDelayMs: number): void {
    const copies = this.#options.chaos?.duplicate === true ? 2 : 1;
    for (let copy = 0; copy < copies; copy += 1) this.#schedule(record, 1, firstDelayMs);
  }

  #schedule(record: DeliveryRecord, attempt: number, delayMs: number): void {
    if (this.#closed || this.#options.url === undefined) return;
    if (this.#timers.size >= MAX_SCHEDULED_DELIVERIES) {
      record.state = 'dropped';
      this.#options.log.warn({ eventId: record.event.id }, 'webhook delivery queue full; event dropped (redeliver it later)');
      return;
    }
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      void this.#attempt(record, attempt);
    }, delayMs);
    this.#timers.add(timer);
  }

  async #attempt(record: DeliveryRecord, attempt: number): Promise<void> {
    const url = this.#options.url;
    if (this.#closed || url === undefined) return;
    record.attempts += 1;
    const outcome = await this.#post(url, record.rawBody);
    record.lastResult = outcome.detail;
    this.#options.log.info({ eventId: record.event.id, type: record.event.type, attempt, result: outcome.detail }, 'webhook attempt');
    if (outcome.delivered) {
      record.successes += 1;
      record.state = 'delivered';
    } else if (attempt < this.#retry.maxAttempts) {
      this.#schedule(record, attempt + 1, this.#backoffMs(attempt));
    } else if (record.state !== 'delivered') {
      record.state = 'failed';
    }
  }

  // Deterministic exponential backoff (no jitter) so a test's sequence of attempts is reproducible.
  #backoffMs(attempt: number): number {
    return Math.min(this.#retry.maxDelayMs, this.#retry.baseDelayMs * 2 ** (attempt - 1));
  }

  async #post(url: string, rawBody: string): Promise<{ delivered: boolean; detail: string }> {
    const controller = new AbortController();
    this.#inFlight.add(controller);
    try {
      const timestampSec = Math.floor(this.#options.now() / 1000);
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [WEBHOOK_SIGNATURE_HEADER]: signWebhook(this.#options.secret, timestampSec, rawBody) },
        body: rawBody,
        // A receiver that redirects is misconfigured; following it could post the event anywhere.
        redirect: 'manual',
        signal: AbortSignal.any([controller.signal, AbortSignal.timeout(this.#retry.timeoutMs)]),
      });
      await response.body?.cancel();
      return { delivered: response.status >= 200 && response.status < 300, detail: `http_${response.status}` };
    } catch (error) {
      return { delivered: false, detail: error instanceof Error ? error.name : 'error' };
    } finally {
      this.#inFlight.delete(controller);
    }
  }
}
