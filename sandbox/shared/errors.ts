// Provider-style error objects (modelled on Stripe's `{ error: { type, code, message, param } }`) so Koban's
// adapters are written against the shape real acquirers and banks use, not a Koban-internal one.
export type SandboxErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'card_error'
  | 'idempotency_error'
  | 'api_error';

export interface SandboxErrorBody {
  error: { type: SandboxErrorType; code: string; message: string; param?: string; declineCode?: string };
}

export class SandboxError extends Error {
  readonly statusCode: number;
  readonly type: SandboxErrorType;
  readonly code: string;
  readonly param: string | undefined;
  readonly declineCode: string | undefined;

  constructor(
    statusCode: number,
    type: SandboxErrorType,
    code: string,
    message: string,
    extra: { param?: string; declineCode?: string } = {},
  ) {
    super(message);
    this.name = 'SandboxError';
    this.statusCode = statusCode;
    this.type = type;
    this.code = code;
    this.param = extra.param;
    this.declineCode = extra.declineCode;
  }

  toBody(): SandboxErrorBody {
    const error: SandboxErrorBody['error'] = { type: this.type, code: this.code, message: this.message };
    if (this.param !== undefined) error.param = this.param;
    if (this.declineCode !== undefined) error.declineCode = this.declineCode;
    return { error };
  }
}

export function notFound(resource: string, param?: string): SandboxError {
  return new SandboxError(404, 'invalid_request_error', 'resource_missing', `No such ${resource}.`, param ? { param } : {});
}

export function invalidState(code: string, message: string): SandboxError {
  return new SandboxError(409, 'invalid_request_error', code, message);
}

export function invalidRequest(code: string, message: string, param?: string): SandboxError {
  return new SandboxError(400, 'invalid_request_error', code, message, param ? { param } : {});
}
