// The Fastify scaffolding every sandbox shares: strict validation, provider-style errors that never echo the
// request body, bearer-key guards and form parsing for the pages a cardholder's browser posts to.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import Fastify from 'fastify';
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest, RawServerDefault } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { SandboxError } from './errors.ts';

export type SandboxApp = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

const BODY_LIMIT_BYTES = 16 * 1024;
const REQUEST_TIMEOUT_MS = 30_000;
const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';

export interface SandboxAppOptions {
  logger?: boolean | undefined;
  // Where log lines go when `logger` is on (stdout by default); tests read it to prove no PAN is logged.
  logStream?: Writable | undefined;
}

function loggerOption(options: SandboxAppOptions): boolean | object {
  if (options.logger !== true) return false;
  // Fastify logs no bodies by default; the redaction covers the API key.
  const base = { level: 'info', redact: ['req.headers.authorization'] };
  return options.logStream === undefined ? base : { ...base, stream: options.logStream };
}

export function createSandboxApp(options: SandboxAppOptions): SandboxApp {
  const app = Fastify({
    logger: loggerOption(options),
    bodyLimit: BODY_LIMIT_BYTES,
    requestTimeout: REQUEST_TIMEOUT_MS,
    // No coercion and no silent stripping: a provider rejects what it does not understand.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.addContentTypeParser(FORM_CONTENT_TYPE, { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(typeof body === 'string' ? body : body.toString('utf8'))));
  });
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((_request, reply) => {
    void reply.code(404).send(new SandboxError(404, 'invalid_request_error', 'route_not_found', 'Unrecognised request URL.').toBody());
  });
  app.get('/healthz', () => ({ status: 'ok' }));
  return app;
}

interface ValidationProblem {
  code: 'parameter_missing' | 'parameter_unknown' | 'parameter_invalid';
  param: string;
  message: string;
}

// Names the offending field, as a provider does, from AJV's first error; AJV's wording never quotes the value.
function validationProblem(error: FastifyError): ValidationProblem {
  const first = error.validation?.[0];
  const context = error.validationContext ?? 'body';
  if (first === undefined) return { code: 'parameter_invalid', param: context, message: `${context} is invalid` };
  const toParam = (path: string): string => {
    const field = path.replace(/^\//, '').replaceAll('/', '.');
    if (context === 'headers' && field === 'idempotency-key') return 'Idempotency-Key';
    return field === '' ? context : field;
  };
  const missing = first.params['missingProperty'];
  if (typeof missing === 'string') {
    const param = toParam(`${first.instancePath}/${missing}`);
    return { code: 'parameter_missing', param, message: `${param} is required` };
  }
  const unknown = first.params['additionalProperty'];
  if (typeof unknown === 'string') {
    const param = toParam(`${first.instancePath}/${unknown}`);
    return { code: 'parameter_unknown', param, message: `${param} is not a known parameter` };
  }
  const param = toParam(first.instancePath);
  return { code: 'parameter_invalid', param, message: `${param} ${first.message ?? 'is invalid'}` };
}

// Messages are fixed strings or AJV's schema wording, never a parser's: V8's JSON.parse messages can quote the
// input, and the input may be a card number. (Fastify 5 already hides them; this keeps it so if that changes.)
function handleError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  if (error instanceof SandboxError) {
    void reply.code(error.statusCode).send(error.toBody());
    return;
  }
  if (error.validation !== undefined) {
    const problem = validationProblem(error);
    void reply.code(400).send(new SandboxError(400, 'invalid_request_error', problem.code, problem.message, { param: problem.param }).toBody());
    return;
  }
  const statusCode = error.statusCode ?? 500;
  if (statusCode >= 400 && statusCode < 500) {
    const code = statusCode === 413 ? 'body_too_large' : statusCode === 415 ? 'unsupported_media_type' : 'malformed_request';
    void reply.code(statusCode).send(new SandboxError(statusCode, 'invalid_request_error', code, 'The request could not be read.').toBody());
    return;
  }
  request.log.error({ errCode: error.code, errName: error.name }, 'sandbox internal error');
  void reply.code(500).send(new SandboxError(500, 'api_error', 'internal_error', 'The sandbox failed to process the request.').toBody());
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** onRequest hook accepting `Authorization: Bearer <key>`; digests make the compare constant-time at any length. */
export function bearerGuard(expectedKey: string): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  if (expectedKey.length === 0) throw new Error('API key must not be empty');
  const expected = digest(expectedKey);
  return async (request) => {
    const header = request.headers.authorization ?? '';
    const presented = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
    if (!timingSafeEqual(digest(presented), expected)) {
      throw new SandboxError(401, 'authentication_error', 'invalid_api_key', 'Invalid API key provided.');
    }
  };
}
