// The listener for Koban's OPA-compatible merchant API. The PayPay SDKs cannot add a path prefix, so the
// OPA paths live at the root of their own listener (HTTPS with the dev CA in development: SDK-NOTES.md).
//
// Every route goes through `opaRoute`: the body arrives as raw bytes (the signature covers exactly the
// bytes received), OPA-Auth is verified over them, the key's IP allow-list and merchant scoping are
// checked, and only then are the bytes parsed with Koban's strict JSON parser. Every answer, errors
// included, is the resultInfo envelope with an X-REQUEST-ID header: never problem+json on this surface.

import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { TProperties, TSchema } from 'typebox';
import type { Validator } from 'typebox/compile';
import { parseStrictJson } from '../../http/strict-json.ts';
import { refuseUnsafeParams } from '../../http/safe-strings.ts';
import { RETRY_AFTER_SECONDS } from '../../http/problem.ts';
import { capConnections, DEFAULT_HTTP_LIMITS, serverTimeoutOptions, type HttpLimits } from '../../http/limits.ts';
import { isConnectionFailure } from '../../platform/db/resilience.ts';
import { AssertionFailed } from '../../platform/assert.ts';
import { isKobanError, KobanError, type FieldError, type ProblemCode } from '../../platform/errors.ts';
import { uuidv7 } from '../../platform/ids.ts';
import { ipAllowed, type CredentialDirectory } from '../credentials.ts';
import type { NonceStore } from './nonce-store.ts';
import { buildOpenApiDocument, renderReferencePage, type DocumentedRoute } from './openapi.ts';
import type { RateLimiter } from './rate-limit.ts';
import { opaReply, opaUnauthorized, type OpaReply, type OpaResultCode } from './result-info.ts';
import { verifyOpaAuth } from './signature.ts';

export const OPA_BODY_LIMIT_BYTES = 64 * 1024;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const JSON_MEDIA_TYPE = /^application\/json\s*(;.*)?$/i;
const REDACT = ['req.headers.authorization'];

export interface OpaServerOptions {
  readonly logLevel: string;
  readonly https: { key: Buffer; cert: Buffer } | null;
  readonly credentials: CredentialDirectory;
  readonly nonceStore: NonceStore;
  /** `METHOD /path` of the money endpoints whose nonce may be written later (deferring-nonce-store.ts). */
  readonly deferNonceRoutes?: ReadonlySet<string>;
  readonly maxSkewSec: number;
  /** Per-key limits, taken after the signature, the IP allow-list and scoping are checked. */
  readonly rateLimiter: RateLimiter;
  readonly nowSec?: () => number;
  /** Request and header timeouts and the connection cap, as on the main listener (src/http/limits.ts). */
  readonly limits?: HttpLimits;
}

export interface OpaCall {
  readonly merchantId: string;
  readonly credentialId: string;
  /** The strictly parsed JSON body, undefined when the request had none. */
  readonly body: unknown;
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string | undefined>>;
  readonly request: FastifyRequest;
}

/** A file rather than the resultInfo envelope (a settlement CSV); errors still answer the envelope. */
export interface OpaFileReply { readonly file: { readonly contentType: string; readonly fileName: string; readonly body: string } }
export type OpaHandler = (call: OpaCall) => Promise<OpaReply<unknown> | OpaFileReply>;
/** Per-route refinements of the default KobanError → resultInfo mapping (e.g. not found on /v2/codes/payments). */
export type OpaErrorMap = Partial<Record<ProblemCode, OpaResultCode>>;

export interface OpaServer {
  readonly app: FastifyInstance;
  /** Every route registered (the fuzzer walks them: test/http/fuzz.test.ts). */
  readonly routes: ReadonlyArray<{ readonly method: 'GET' | 'POST' | 'DELETE'; readonly url: string }>;
  route(method: 'GET' | 'POST' | 'DELETE', url: string, handler: OpaHandler, errorMap?: OpaErrorMap): void;
}

export function createOpaServer(options: OpaServerOptions): OpaServer {
  const app = Fastify({
    logger: { level: options.logLevel, redact: { paths: REDACT, censor: '[redacted]' } },
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : uuidv7();
    },
    bodyLimit: OPA_BODY_LIMIT_BYTES,
    ...serverTimeoutOptions(options.limits ?? DEFAULT_HTTP_LIMITS, options.https),
  });
  capConnections(app, options.limits ?? DEFAULT_HTTP_LIMITS);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  const routes: DocumentedRoute[] = [];
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  app.addHook('preValidation', refuseUnsafeParams);
  app.setErrorHandler((error, request, reply) => sendOpa(reply, errorReply(error, {}, request)));
  app.setNotFoundHandler((_request, reply) => sendOpa(reply, opaReply('RESOURCE_NOT_FOUND', { message: 'No such API' })));
  const nowSec = options.nowSec ?? (() => Math.floor(Date.now() / 1000));
  registerReference(app, routes);

  return {
    app, routes,
    route(method, url, handler, errorMap = {}) {
      routes.push({ method, url });
      app.route({
        method, url,
        handler: async (request, reply) => {
          try {
            const call = await authenticate(options, request, nowSec());
            if (call === null) return sendOpa(reply, opaUnauthorized());
            if (call === 'out_of_scope') return sendOpa(reply, opaReply('OP_OUT_OF_SCOPE'));
            if ('retryAfterSec' in call) return sendOpa(reply.header('retry-after', String(call.retryAfterSec)), opaReply('RATE_LIMIT'));
            const answer = await handler(call);
            if ('file' in answer) {
              return reply.code(200).type(answer.file.contentType).header('content-disposition', `attachment; filename="${answer.file.fileName}"`).send(answer.file.body);
            }
            return sendOpa(reply, answer);
          } catch (error) {
            return sendOpa(reply, errorReply(error, errorMap, request));
          }
        },
      });
    },
  };
}

/** Public and unsigned, like PayPay's own reference: the OpenAPI 3.1 document and a page over it. */
function registerReference(app: FastifyInstance, routes: readonly DocumentedRoute[]): void {
  app.get('/openapi.json', async (_request, reply) => reply.type('application/json; charset=utf-8').send(buildOpenApiDocument(routes, '2')));
  app.get('/reference', async (_request, reply) => reply.type('text/html; charset=utf-8')
    .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'").send(renderReferencePage(routes)));
}

function sendOpa(reply: FastifyReply, answer: OpaReply<unknown>): FastifyReply {
  if (answer.statusCode === 503) reply.header('retry-after', String(RETRY_AFTER_SECONDS.database_unavailable));
  return reply.code(answer.statusCode).type('application/json; charset=utf-8').send(answer.body);
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function authenticate(options: OpaServerOptions, request: FastifyRequest, nowSec: number): Promise<OpaCall | null | 'out_of_scope' | { retryAfterSec: number }> {
  const rawBody = Buffer.isBuffer(request.body) ? request.body : null;
  const contentType = header(request, 'content-type');
  let credential = null;
  const result = await verifyOpaAuth({
    header: header(request, 'authorization'), method: request.method, path: request.raw.url ?? '', contentType, rawBody,
    lookupSecret: async (apiKey) => {
      credential = await options.credentials.lookup(apiKey);
      return credential?.secret ?? null;
    },
    nowSec, maxSkewSec: options.maxSkewSec, nonceStore: options.nonceStore,
    nonceDeferrable: options.deferNonceRoutes?.has(`${request.method} ${request.routeOptions.url ?? ''}`) ?? false,
  });
  const verified = credential as Awaited<ReturnType<CredentialDirectory['lookup']>>;
  if (result.outcome !== 'ok' || verified === null) {
    request.log.info({ outcome: result.outcome }, 'OPA-Auth refused');
    return null;
  }
  if (!ipAllowed(verified.ipAllowList, request.ip)) {
    request.log.info({ outcome: 'ip_not_allowed' }, 'OPA-Auth refused');
    return null;
  }
  // Neither the header nor the query parameter is signed: scoping is authorised from the verified key.
  // The query parameter wins when both are given (PayPay's rule).
  const query = request.query as Record<string, string | undefined>;
  const assumed = query.assumeMerchant ?? header(request, 'x-assume-merchant');
  // A test key may name its live merchant (an SDK configured with the merchant's id sends it): it still acts as the twin.
  if (assumed !== undefined && assumed !== verified.merchantId && assumed !== verified.liveMerchantId) return 'out_of_scope';
  // Only a verified, in-scope call spends the key's allowance: a forger cannot exhaust a merchant's limit.
  const decision = await options.rateLimiter.take(verified.credentialId, verified.rateLimit);
  if (!decision.allowed) {
    request.log.info({ outcome: 'rate_limited', credentialId: verified.credentialId }, 'OPA rate limit');
    return { retryAfterSec: decision.retryAfterSec };
  }
  return {
    merchantId: verified.merchantId, credentialId: verified.credentialId, body: parseBody(rawBody, contentType),
    params: request.params as Record<string, string>, query, request,
  };
}

function parseBody(rawBody: Buffer | null, contentType: string | undefined): unknown {
  if (rawBody === null || rawBody.length === 0) return undefined;
  if (contentType === undefined || !JSON_MEDIA_TYPE.test(contentType)) throw new KobanError('unsupported_media_type');
  return parseStrictJson(rawBody);
}

const DEFAULT_ERROR_MAP: OpaErrorMap = {
  validation_failed: 'INVALID_PARAMS',
  invalid_json: 'INVALID_REQUEST_PARAMS',
  invalid_amount: 'INVALID_PARAMS',
  amount_too_large: 'LIMIT_EXCEEDED',
  unsupported_media_type: 'INVALID_REQUEST_PARAMS',
  body_too_large: 'INVALID_REQUEST_PARAMS',
  not_found: 'RESOURCE_NOT_FOUND',
  unauthenticated: 'UNAUTHORIZED',
  forbidden: 'OP_OUT_OF_SCOPE',
  rate_limited: 'RATE_LIMIT',
  service_unavailable: 'MAINTENANCE_MODE',
  database_unavailable: 'MAINTENANCE_MODE',
  operation_in_progress: 'UNACCEPTABLE_OP',
  payment_code_not_found: 'PAYMENT_CODE_NOT_FOUND',
  terminal_locked: 'UNACCEPTABLE_OP',
  terminal_slowed_down: 'RATE_LIMIT',
  payment_code_expired: 'PAYMENT_CODE_EXPIRED',
  payment_code_used: 'PAYMENT_CODE_ALREADY_USED',
  insufficient_funds: 'NO_SUFFICIENT_FUND',
  merchant_not_active: 'OP_OUT_OF_SCOPE',
  payment_mode_mismatch: 'UNACCEPTABLE_OP',
  store_not_found: 'INVALID_PARAMS',
  terminal_not_found: 'INVALID_PARAMS',
  external_id_in_use: 'INVALID_PARAMS',
  unsupported_currency: 'INVALID_REQUEST_PARAMS',
  merchant_payment_id_conflict: 'DUPLICATE_DYNAMIC_QR_REQUEST',
  payment_not_found: 'RESOURCE_NOT_FOUND',
  payment_in_progress: 'PAYMENT_IN_PROGRESS',
  // PayPay's "a similar refund is in progress; retry" code.
  refund_in_progress: 'THROTTLED_MULTIPLE_REFUND_REJECTED',
  wallet_frozen: 'WALLET_FROZEN',
  payment_failed: 'PAYMENT_FAILED',
  customer_declined: 'USER_DECLINED',
  customer_confirmation_expired: 'EXPIRED_USER_CONFIRMATION',
  refund_failed: 'REFUND_FAILED',
  // Every kill switch on a payment surface: PayPay's maintenance code.
  service_switched_off: 'MAINTENANCE_MODE',
  payment_not_reversible: 'ORDER_NOT_REVERSIBLE',
  payment_not_refundable: 'ORDER_NOT_REVERSIBLE',
  // PayPay's refund answers 400 INVALID_PARAMS for an amount it will not refund (its 'Refund a payment' table).
  refund_exceeds_payment: 'INVALID_PARAMS',
  refund_not_found: 'NO_SUCH_REFUND_ORDER',
  merchant_refund_id_conflict: 'DUPLICATE_REFUND_REQUEST',
  dynamic_qr_not_found: 'DYNAMIC_QR_NOT_FOUND',
  dynamic_qr_expired: 'DYNAMIC_QR_PAYMENT_NOT_FOUND',
  dynamic_qr_unavailable: 'DYNAMIC_QR_BAD_REQUEST',
  webhook_endpoint_invalid: 'INVALID_PARAMS',
  webhook_delivery_not_found: 'RESOURCE_NOT_FOUND',
  payment_refused_by_risk: 'UNACCEPTABLE_OP',
  // The customer's tier's 24-hour or 30-day payment limit (src/wallet/transfers/money-limits.ts): PayPay's limit code.
  payment_limit_exceeded: 'LIMIT_EXCEEDED',
  // Pre-authorisation (src/payments/authorizations.ts): PayPay's capture and revert codes.
  authorization_expiry_invalid: 'PRE_AUTH_CAPTURE_INVALID_EXPIRY_DATE',
  authorization_expired: 'ORDER_EXPIRED',
  payment_not_capturable: 'ORDER_NOT_CAPTURABLE',
  payment_already_captured: 'ALREADY_CAPTURED',
  payment_not_revertible: 'ORDER_NOT_CANCELABLE',
  merchant_action_id_conflict: 'DUPLICATE_PAYMENT_REQUEST',
};

function errorReply(thrown: unknown, routeMap: OpaErrorMap, request: FastifyRequest): OpaReply<unknown> {
  // A dropped or stalled database is MAINTENANCE_MODE (503, Retry-After), never an internal error (issue 12).
  const error = isConnectionFailure(thrown) ? new KobanError('database_unavailable', { cause: thrown }) : thrown;
  if (isKobanError(error)) {
    const code = routeMap[error.code] ?? DEFAULT_ERROR_MAP[error.code];
    if (code !== undefined) {
      if (code === 'INVALID_PARAMS' && error.errors?.some((e) => e.message.startsWith('is required'))) return opaReply('MISSING_REQUEST_PARAMS', { message: describe(error) });
      return opaReply(code, { message: describe(error) });
    }
  }
  const fastifyCode = (error as { code?: string }).code;
  if (fastifyCode === 'FST_ERR_CTP_BODY_TOO_LARGE') return opaReply('INVALID_REQUEST_PARAMS', { message: 'Request body is too large' });
  if (typeof fastifyCode === 'string' && fastifyCode.startsWith('FST_ERR_CTP')) return opaReply('INVALID_REQUEST_PARAMS');
  request.log.error({ err: error, assertion: error instanceof AssertionFailed }, 'OPA request failed');
  return opaReply('INTERNAL_SERVER_ERROR');
}

function describe(error: KobanError): string {
  const fields = (error.errors ?? []).map((e: FieldError) => `${e.pointer} ${e.message}`).join('; ');
  return fields === '' ? (error.detail ?? error.title) : `${error.title}: ${fields}`;
}

/** Validates a parsed body against a compiled TypeBox schema; refusals name the field. */
export function checkBody<C extends TProperties, S extends TSchema, E>(checker: Validator<C, S, E>, body: unknown): E {
  if (checker.Check(body)) return body;
  const errors: FieldError[] = [...checker.Errors(body)].slice(0, 20).map((issue) => {
    const missing = issue.keyword === 'required' ? `/${String((issue.params as { requiredProperties?: string[] }).requiredProperties?.[0] ?? '')}` : '';
    const extra = issue.keyword === 'additionalProperties' ? `/${String((issue.params as { additionalProperties?: string[] }).additionalProperties?.[0] ?? '')}` : '';
    const message = issue.keyword === 'required' ? 'is required' : extra !== '' ? 'is not an allowed field' : issue.message;
    return { pointer: `/body${issue.instancePath}${missing}${extra}`, message };
  }).filter((e) => e.message !== 'schema is false');
  throw new KobanError('validation_failed', { detail: errors.map((e) => `${e.pointer} ${e.message}`).join('; '), errors });
}

/** Unknown fields kept in a log line at most, so a long body cannot flood it. */
const IGNORED_FIELDS_LOGGED_MAX = 20;

/**
 * PayPay-compatible endpoints read tolerantly, as PayPay's clients expect (a newer SDK adds a field, the
 * merchant keeps working): fields the schema does not know are dropped, logged, and the rest validated as
 * strictly as ever. Koban's own APIs keep refusing unknown fields (`checkBody`).
 */
export function checkTolerantBody<C extends TProperties, S extends TSchema, E>(checker: Validator<C, S, E>, body: unknown, request: FastifyRequest): E {
  const ignored: string[] = [];
  const known = withoutUnknownFields(checker.Type(), body, '/body', ignored);
  if (ignored.length > 0) request.log.info({ ignoredFields: ignored.slice(0, IGNORED_FIELDS_LOGGED_MAX) }, 'OPA request: unknown fields ignored');
  return checkBody(checker, known);
}

function withoutUnknownFields(schema: unknown, value: unknown, pointer: string, ignored: string[]): unknown {
  if (typeof schema !== 'object' || schema === null) return value;
  const { properties, items, additionalProperties } = schema as { properties?: Record<string, unknown>; items?: unknown; additionalProperties?: unknown };
  if (Array.isArray(value) && items !== undefined) return value.map((item, index) => withoutUnknownFields(items, item, `${pointer}/${index}`, ignored));
  if (properties === undefined || additionalProperties !== false || typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const kept: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (Object.hasOwn(properties, key)) kept[key] = withoutUnknownFields(properties[key], field, `${pointer}/${key}`, ignored);
    else ignored.push(`${pointer}/${key}`);
  }
  return kept;
}
