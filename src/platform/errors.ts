/**
 * The one catalogue of errors a caller can see (Fastify style). Each code is stable: clients and
 * tests match on `code`, never on the human text. The HTTP layer renders every KobanError as an
 * RFC 9457 problem document whose `type` is `/problems/<code>` (documented at that path).
 */
export interface ProblemDefinition {
  readonly status: number;
  readonly title: string;
}

export const problems = {
  // Requests
  validation_failed: { status: 400, title: 'The request is not valid' },
  invalid_json: { status: 400, title: 'The request body is not valid JSON' },
  invalid_amount: { status: 400, title: 'The amount is not a positive integer number of minor units' },
  amount_too_large: { status: 400, title: 'The amount is above the configured maximum' },
  unsupported_media_type: { status: 415, title: 'The request body must be application/json' },
  body_too_large: { status: 413, title: 'The request body is too large' },
  not_found: { status: 404, title: 'Not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  unauthenticated: { status: 401, title: 'Authentication is required' },
  forbidden: { status: 403, title: 'Not allowed' },
  rate_limited: { status: 429, title: 'Too many requests' },
  service_unavailable: { status: 503, title: 'Service unavailable' },
  internal_error: { status: 500, title: 'Internal error' },

  // Ledger
  ledger_not_found: { status: 404, title: 'No such ledger' },
  account_not_found: { status: 404, title: 'No such account' },
  account_exists_with_different_fields: { status: 409, title: 'An account with this id exists with different fields' },
  account_code_unknown: { status: 400, title: 'Unknown account code' },
  account_not_empty: { status: 409, title: 'The account still holds a balance or pending amounts' },
  account_closed: { status: 409, title: 'The account is closed' },
  transfer_not_found: { status: 404, title: 'No such transfer' },
  transfers_rejected: { status: 422, title: 'One or more transfers were not created' },
  batch_too_large: { status: 400, title: 'Too many transfers in one request' },
} as const satisfies Record<string, ProblemDefinition>;

export type ProblemCode = keyof typeof problems;

export interface FieldError {
  /** JSON pointer into the request, e.g. `/body/transfers/0/amount`. */
  readonly pointer: string;
  readonly message: string;
}

export interface KobanErrorOptions {
  readonly detail?: string;
  readonly errors?: readonly FieldError[];
  /** Extra members of the problem document (RFC 9457 §3.2 extension members). */
  readonly extensions?: Readonly<Record<string, unknown>>;
  readonly cause?: unknown;
}

export class KobanError extends Error {
  override readonly name = 'KobanError';
  readonly code: ProblemCode;
  readonly status: number;
  readonly title: string;
  readonly detail: string | undefined;
  readonly errors: readonly FieldError[] | undefined;
  readonly extensions: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ProblemCode, options: KobanErrorOptions = {}) {
    const definition = problems[code];
    super(options.detail ?? definition.title, { cause: options.cause });
    this.code = code;
    this.status = definition.status;
    this.title = definition.title;
    this.detail = options.detail;
    this.errors = options.errors;
    this.extensions = options.extensions;
  }
}

export function isKobanError(error: unknown): error is KobanError {
  return error instanceof KobanError;
}
