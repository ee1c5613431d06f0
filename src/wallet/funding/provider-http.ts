// The HTTP client the funding adapters share: bearer API key, Idempotency-Key passed through, a timeout on every
// call, a bounded response size, and responses checked against a schema before anyone trusts them.
import { assert } from '../../platform/assert.ts';
import { Type } from 'typebox';
import { Compile } from 'typebox/compile';
import type { ProviderError, ProviderResult } from './provider-result.ts';

// PayPay recommends at least 30 s for payment creation (merchant-api-conventions.md §5.1); a shorter timeout
// only turns more answers into `outcome_unknown`.
export const DEFAULT_PROVIDER_TIMEOUT_MS = 30_000;
const MAX_RESPONSE_BYTES = 64 * 1024;
const IDEMPOTENCY_KEY = /^[\x21-\x7E]{1,255}$/;
const RESOURCE_ID = /^[A-Za-z0-9_-]{1,128}$/;
const WIRE_AMOUNT = /^(0|[1-9][0-9]{0,11})$/;

export interface ProviderClientOptions {
  baseUrl: string;
  apiKey: string;
  timeoutMs?: number;
  // Injected in tests to observe every response body.
  fetch?: typeof fetch;
}

export interface ProviderRequest {
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
  idempotencyKey?: string;
}

const ErrorBodySchema = Type.Object({
  error: Type.Object({
    code: Type.String({ maxLength: 128 }),
    message: Type.String({ maxLength: 1024 }),
    param: Type.Optional(Type.String({ maxLength: 128 })),
    declineCode: Type.Optional(Type.String({ maxLength: 128 })),
  }),
});
const checkErrorBody = Compile(ErrorBodySchema);

const unknownOutcome = (reason: Extract<ProviderError, { kind: 'outcome_unknown' }>['reason'], httpStatus: number | null): ProviderResult<never> =>
  ({ ok: false, error: { kind: 'outcome_unknown', reason, httpStatus } });

export const WIRE_AMOUNT_PATTERN = WIRE_AMOUNT.source;

/** Integer-string amount from a provider response whose schema has already matched WIRE_AMOUNT_PATTERN. */
export function wireAmountMinor(value: string): bigint {
  assert(WIRE_AMOUNT.test(value), 'wire value matches WIRE_AMOUNT');
  return BigInt(value);
}

export function toWireAmount(amountMinor: bigint): string {
  assert(amountMinor > 0n, 'amounts sent to a provider are positive');
  return amountMinor.toString();
}

/** A provider id placed in a URL path; anything else (`..`, `/`) would address a different resource. */
export function pathId(id: string): string {
  assert(RESOURCE_ID.test(id), 'provider ids are URL-safe');
  return id;
}

export const isoMs = (value: string): number => Date.parse(value);

export class ProviderClient {
  readonly #baseUrl: URL;
  readonly #apiKey: string;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;

  constructor(options: ProviderClientOptions) {
    this.#baseUrl = new URL(options.baseUrl);
    assert(options.apiKey.length > 0, 'apiKey is required');
    this.#apiKey = options.apiKey;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_PROVIDER_TIMEOUT_MS;
    this.#fetch = options.fetch ?? fetch;
  }

  /** `decode` checks a 2xx body against the adapter's schema and maps it; `undefined` means "not what we expect". */
  async request<T>(request: ProviderRequest, decode: (json: unknown) => T | undefined): Promise<ProviderResult<T>> {
    if (request.idempotencyKey !== undefined) assert(IDEMPOTENCY_KEY.test(request.idempotencyKey), 'wire value matches IDEMPOTENCY_KEY');
    let response: Response;
    let text: string | undefined;
    try {
      response = await this.#fetch(new URL(request.path, this.#baseUrl), this.#init(request));
      text = await readBounded(response, MAX_RESPONSE_BYTES);
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      return unknownOutcome(timedOut ? 'timeout' : 'network', null);
    }
    return this.#interpret(response.status, text, decode);
  }

  #init(request: ProviderRequest): RequestInit {
    const headers: Record<string, string> = { authorization: `Bearer ${this.#apiKey}`, accept: 'application/json' };
    if (request.idempotencyKey !== undefined) headers['idempotency-key'] = request.idempotencyKey;
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    return {
      method: request.method,
      headers,
      body: request.body === undefined ? null : JSON.stringify(request.body),
      // A provider that redirects an API call is misbehaving; following it could send the API key elsewhere.
      redirect: 'error',
      signal: AbortSignal.timeout(this.#timeoutMs),
    };
  }

  #interpret<T>(status: number, text: string | undefined, decode: (json: unknown) => T | undefined): ProviderResult<T> {
    if (status >= 500) return unknownOutcome('server_error', status);
    // 408 and 429 mean the request was not processed: retrying with the same key is safe.
    if (status === 408 || status === 429) return unknownOutcome('rate_limited', status);
    const json = text === undefined ? undefined : parseJson(text);
    if (status >= 200 && status < 300) {
      const value = json === undefined ? undefined : decode(json);
      return value === undefined ? unknownOutcome('bad_response', status) : { ok: true, value };
    }
    return { ok: false, error: rejection(status, json) };
  }
}

// Stops reading (and drops the connection's body) past the limit, so a misbehaving provider cannot exhaust memory.
async function readBounded(response: Response, maxBytes: number): Promise<string | undefined> {
  if (response.body === null) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of response.body) {
    total += chunk.byteLength;
    // Leaving the loop early cancels the stream.
    if (total > maxBytes) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function rejection(status: number, json: unknown): ProviderError {
  if (!checkErrorBody.Check(json)) {
    return { kind: 'rejected', httpStatus: status, code: `http_${status}`, message: 'The provider rejected the request.', param: null, declineCode: null };
  }
  const error = json.error;
  return { kind: 'rejected', httpStatus: status, code: error.code, message: error.message, param: error.param ?? null, declineCode: error.declineCode ?? null };
}
