/**
 * Every failure leaves Koban as RFC 9457 problem+json. One function maps anything thrown to a
 * problem: KobanErrors carry their catalogue code; Fastify's own errors (validation, media type,
 * body size, JSON) are mapped to catalogue codes here; anything else is an internal error whose
 * details stay in the log.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AssertionFailed } from '../platform/assert.ts';
import { isKobanError, KobanError, problems, type FieldError, type ProblemCode } from '../platform/errors.ts';
import { isConnectionFailure } from '../platform/db/resilience.ts';

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  code: ProblemCode;
  detail?: string;
  instance?: string;
  requestId?: string;
  errors?: readonly FieldError[];
  [extension: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

export function problemTypeUri(code: ProblemCode): string {
  return `/problems/${code}`;
}

export function toKobanError(error: unknown): KobanError {
  if (isKobanError(error)) return error;
  if (error instanceof AssertionFailed) return new KobanError('internal_error', { cause: error });
  const fastifyError = error as Partial<FastifyError> & { validation?: ValidationIssue[]; validationContext?: string };
  if (Array.isArray(fastifyError.validation)) return validationError(fastifyError.validation, fastifyError.validationContext ?? 'body');
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new KobanError('unsupported_media_type', { cause: error });
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new KobanError('body_too_large', { cause: error });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new KobanError('invalid_json', { cause: error });
    default:
      break;
  }
  if (fastifyError.statusCode === 404) return new KobanError('not_found', { cause: error });
  // Fastify's other refusals of a malformed request (a bad URL encoding, a wrong Content-Length…).
  if (fastifyError.statusCode === 400) return new KobanError('validation_failed', { detail: fastifyError.message ?? 'the request is malformed', cause: error });
  if (fastifyError.statusCode === 405) return new KobanError('method_not_allowed', { cause: error });
  if (fastifyError.statusCode === 429) return new KobanError('rate_limited', { cause: error });
  // A dropped connection, a full pool, a statement or lock timeout: the caller may retry (issue 12).
  if (isConnectionFailure(error)) return new KobanError('database_unavailable', { cause: error });
  // The ledger's bounded queue is full: back-pressure, not a bug (src/ledger/batcher.ts).
  if (error instanceof Error && error.name === 'BatcherOverloaded') return new KobanError('service_unavailable', { detail: 'the ledger is busy; retry shortly', cause: error });
  return new KobanError('internal_error', { cause: error });
}

interface ValidationIssue {
  instancePath?: string;
  message?: string;
  keyword?: string;
  params?: Record<string, unknown>;
}

function validationError(issues: ValidationIssue[], context: string): KobanError {
  const errors = issues.map((issue): FieldError => {
    const missing = typeof issue.params?.missingProperty === 'string' ? `/${issue.params.missingProperty}` : '';
    const extra = typeof issue.params?.additionalProperty === 'string' ? `/${issue.params.additionalProperty}` : '';
    const message = extra !== '' ? 'is not an allowed field' : (issue.message ?? 'is not valid');
    return { pointer: `/${context}${issue.instancePath ?? ''}${missing}${extra}`, message };
  });
  return new KobanError('validation_failed', { detail: errors.map((e) => `${e.pointer} ${e.message}`).join('; '), errors });
}

export function renderProblem(error: KobanError, request: FastifyRequest): ProblemDocument {
  const document: ProblemDocument = {
    type: problemTypeUri(error.code),
    title: error.title,
    status: error.status,
    code: error.code,
    instance: request.url.split('?')[0] ?? request.url,
    requestId: request.id,
  };
  // An internal error's message may hold internals: it stays in the log, not in the answer.
  if (error.detail !== undefined && error.code !== 'internal_error') document.detail = error.detail;
  if (error.errors !== undefined) document.errors = error.errors;
  for (const [key, value] of Object.entries(error.extensions ?? {})) {
    if (!(key in document)) document[key] = value;
  }
  return document;
}

/** Seconds a client should wait before retrying, for the answers that invite a retry. */
export const RETRY_AFTER_SECONDS: Partial<Record<ProblemCode, number>> = { database_unavailable: 2, operation_in_progress: 1, service_unavailable: 2 };

export function sendProblem(reply: FastifyReply, request: FastifyRequest, error: unknown): FastifyReply {
  const kobanError = toKobanError(error);
  if (kobanError.status >= 500) request.log.error({ err: error }, 'request failed');
  else request.log.info({ code: kobanError.code }, 'request refused');
  const retryAfter = RETRY_AFTER_SECONDS[kobanError.code];
  if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
  return reply.code(kobanError.status).type(PROBLEM_CONTENT_TYPE).send(renderProblem(kobanError, request));
}

export function problemCatalogue(): Array<{ code: ProblemCode; status: number; title: string; type: string }> {
  return (Object.keys(problems) as ProblemCode[]).map((code) => ({ code, status: problems[code].status, title: problems[code].title, type: problemTypeUri(code) }));
}
