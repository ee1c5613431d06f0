/**
 * The browser side of Koban's API: JSON in and out, the session cookie sent automatically, the CSRF
 * token echoed on every state-changing request, and RFC 9457 problems turned into ApiError.
 */
export interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail?: string;
  errors?: Array<{ pointer: string; message: string }>;
  [key: string]: unknown;
}

export class ApiError extends Error {
  readonly problem: Problem;
  constructor(problem: Problem) {
    super(problem.detail ?? problem.title);
    this.problem = problem;
  }
}

let csrfToken: string | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

type RequestSigner = (method: string, path: string) => Promise<string>;
let requestSigner: RequestSigner | null = null;

/**
 * The wallet signs every request with its device key (wallet/device-key.ts, a `DPoP` header): its session is
 * bound to that key. The other apps do not set a signer.
 */
export function setRequestSigner(signer: RequestSigner | null): void {
  requestSigner = signer;
}

const unauthorizedListeners = new Set<(path: string) => void>();

/**
 * Called with the request path whenever the API answers 401 (a session that expired or was revoked
 * elsewhere, or simply wrong credentials: the listener decides). Returns the way to stop listening.
 */
export function onUnauthorized(listener: (path: string) => void): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

/**
 * How long a request may go unanswered before the screen says so and offers a retry: a spinner that
 * never ends is worse than an honest "no answer". Long enough for a slow mobile network.
 */
export const REQUEST_TIMEOUT_MS = 15_000;

/**
 * A request that got no answer at all: it never reached Koban (offline, server down) or the answer did not
 * come within the bound. Deliberately not an ApiError: nothing was refused, the outcome is unknown, so a
 * screen offers a retry (with the same idempotency key) rather than a reason.
 */
export class NoAnswerError extends Error {
  readonly timedOut: boolean;
  constructor(timedOut: boolean) {
    super(timedOut ? 'No answer in time' : 'Network unreachable');
    this.name = 'NoAnswerError';
    this.timedOut = timedOut;
  }
}

/**
 * `options.headers` adds request headers, e.g. `{ 'x-step-up-grant': grant }` for a sensitive action;
 * `options.timeoutMs` bounds the wait (default REQUEST_TIMEOUT_MS). A request that gets no answer
 * rejects with a NoAnswerError, so every screen can say so and offer a retry, and no raw
 * `TypeError: Failed to fetch` escapes.
 */
export async function api<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown, options?: { headers?: Record<string, string>; timeoutMs?: number }): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json, application/problem+json', ...options?.headers };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken !== null) headers['x-csrf-token'] = csrfToken;
  if (requestSigner !== null) {
    // No WebCrypto (a page not served over https) means no proof: the server then says what it needs.
    try {
      headers['dpop'] = await requestSigner(method, path);
    } catch {
      // sent without a proof
    }
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options?.timeoutMs ?? REQUEST_TIMEOUT_MS);
  let response: Response;
  let text: string;
  try {
    response = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body), signal: controller.signal });
    text = await response.text();
  } catch {
    throw new NoAnswerError(controller.signal.aborted);
  } finally {
    clearTimeout(timer);
  }
  const parsed = parseJson(text);
  if (!response.ok) {
    const problem = (isProblem(parsed) ? parsed : { type: 'about:blank', title: response.statusText, status: response.status, code: 'http_error' }) as Problem;
    if (response.status === 401) for (const listener of unauthorizedListeners) listener(path);
    throw new ApiError(problem);
  }
  return parsed as T;
}

/** A proxy's HTML error page (a gateway between the browser and Koban) is not JSON: treat it as no body. */
function parseJson(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function isProblem(value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as { code?: unknown }).code === 'string';
}
