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

const unauthorizedListeners = new Set<(path: string) => void>();

/**
 * Called with the request path whenever the API answers 401 (a session that expired or was revoked
 * elsewhere, or simply wrong credentials: the listener decides). Returns the way to stop listening.
 */
export function onUnauthorized(listener: (path: string) => void): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

/** `options.headers` adds request headers, e.g. `{ 'x-step-up-grant': grant }` for a sensitive action. */
export async function api<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown, options?: { headers?: Record<string, string> }): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json, application/problem+json', ...options?.headers };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken !== null) headers['x-csrf-token'] = csrfToken;
  const response = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  const parsed: unknown = text === '' ? null : JSON.parse(text);
  if (!response.ok) {
    const problem = (parsed ?? { type: 'about:blank', title: response.statusText, status: response.status, code: 'http_error' }) as Problem;
    if (response.status === 401) for (const listener of unauthorizedListeners) listener(path);
    throw new ApiError(problem);
  }
  return parsed as T;
}
