// Idempotency-Key handling with Stripe's semantics: the first response (success or business error) is stored
// and replayed for the same key and the same request; the same key with a different request is an error.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Type } from 'typebox';
import { BoundedMap } from './bounded-map.ts';
import { SandboxError } from './errors.ts';

export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
const IDEMPOTENCY_CAPACITY = 100_000;
// 409 as in Stripe and Brandur's reference design (ledger-design.md §6). The IETF draft uses 422 for a reused
// key; the stable `code` lets a client tell the two conflicts apart whichever status is chosen.
const IDEMPOTENCY_CONFLICT_STATUS = 409;

export const IdempotencyHeadersSchema = Type.Object({
  [IDEMPOTENCY_KEY_HEADER]: Type.String({ pattern: '^[\\x21-\\x7E]{1,255}$' }),
});

export interface HandlerResult {
  statusCode: number;
  body: unknown;
}

export interface IdempotentOutcome extends HandlerResult {
  replayed: boolean;
}

interface RequestIdentity {
  method: string;
  url: string;
  body: unknown;
}

interface Entry {
  fingerprint: Buffer;
  createdAtMs: number;
  result: HandlerResult | 'in_flight';
}

// Sorted keys so `{a,b}` and `{b,a}` are the same request.
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export class IdempotencyStore {
  readonly #entries = new BoundedMap<Entry>('idempotency', IDEMPOTENCY_CAPACITY, 'reject');
  // Keyed: a request body may hold a PAN, and PCI DSS 3.5.1.1 allows only keyed hashes of it.
  readonly #fingerprintKey = randomBytes(32);
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  execute(key: string, request: RequestIdentity, run: () => HandlerResult): IdempotentOutcome {
    this.#pruneExpired();
    const fingerprint = this.#fingerprint(request);
    const existing = this.#entries.get(key);
    if (existing !== undefined) return { ...this.#replay(existing, fingerprint), replayed: true };
    // Reserve first: a full store refuses before any state changes, and a concurrent retry sees 'in_flight'.
    const entry: Entry = { fingerprint, createdAtMs: this.#now(), result: 'in_flight' };
    this.#entries.set(key, entry);
    try {
      entry.result = run();
    } catch (error) {
      if (!(error instanceof SandboxError) || error.statusCode >= 500) {
        // Not a decided outcome (a bug or a full store, raised before any change): let a retry run again.
        this.#entries.delete(key);
        throw error;
      }
      entry.result = { statusCode: error.statusCode, body: error.toBody() };
    }
    return { ...entry.result, replayed: false };
  }

  #replay(entry: Entry, fingerprint: Buffer): HandlerResult {
    if (!timingSafeEqual(entry.fingerprint, fingerprint)) {
      throw new SandboxError(IDEMPOTENCY_CONFLICT_STATUS, 'idempotency_error', 'idempotency_key_reused',
        'This Idempotency-Key was already used with a different request.', { param: 'Idempotency-Key' });
    }
    if (entry.result === 'in_flight') {
      throw new SandboxError(IDEMPOTENCY_CONFLICT_STATUS, 'idempotency_error', 'idempotency_request_in_progress',
        'A request with this Idempotency-Key is still being processed.', { param: 'Idempotency-Key' });
    }
    return entry.result;
  }

  #fingerprint(request: RequestIdentity): Buffer {
    return createHmac('sha256', this.#fingerprintKey)
      .update(`${request.method}\n${request.url}\n${canonicalJson(request.body ?? null)}`)
      .digest();
  }

  // Entries are in insertion (= time) order, so pruning stops at the first one still alive.
  #pruneExpired(): void {
    const cutoffMs = this.#now() - IDEMPOTENCY_TTL_MS;
    for (const [key, entry] of this.#entries.entries()) {
      if (entry.createdAtMs > cutoffMs) return;
      this.#entries.delete(key);
    }
  }
}

// Structural views of Fastify's request and reply (method syntax keeps them assignable from typed routes).
interface IdempotentRequest {
  method: string;
  url: string;
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
}
interface IdempotentReply {
  code(statusCode: number): IdempotentReply;
  header(name: string, value: string): IdempotentReply;
  send(payload?: unknown): IdempotentReply;
}

/** Runs a state-changing route under the request's Idempotency-Key (required by the route's header schema). */
export function sendIdempotent(store: IdempotencyStore, request: IdempotentRequest, reply: IdempotentReply, run: () => HandlerResult): void {
  const key = request.headers[IDEMPOTENCY_KEY_HEADER];
  if (typeof key !== 'string') throw new Error('route is missing IdempotencyHeadersSchema');
  const outcome = store.execute(key, request, run);
  if (outcome.replayed) reply.header('idempotent-replayed', 'true');
  reply.code(outcome.statusCode).send(outcome.body);
}
