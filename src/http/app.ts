/**
 * The HTTP shell shared by every API surface: logging with request ids, strict JSON, RFC 9457
 * errors, OpenAPI generated from the route schemas, health, readiness and metrics. Domain routes
 * are registered by the composition root (src/koban.ts); this file knows no business rule.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type RawReplyDefaultExpression, type RawRequestDefaultExpression, type RawServerDefault } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { uuidv7 } from '../platform/ids.ts';
import type { Metrics } from '../platform/metrics.ts';
import { KobanError } from '../platform/errors.ts';
import { sendProblem, problemCatalogue } from './problem.ts';
import { parseStrictJson } from './strict-json.ts';
import { refuseUnsafeParams } from './safe-strings.ts';
import { capConnections, DEFAULT_HTTP_LIMITS, serverTimeoutOptions, type HttpLimits } from './limits.ts';

export type App = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;

export interface HttpOptions {
  readonly logLevel: string;
  readonly metrics: Metrics;
  readonly publicUrl: string;
  readonly bodyLimitBytes?: number;
  readonly https?: { key: Buffer; cert: Buffer } | null;
  /** Request and header timeouts and the connection cap (limits.ts). */
  readonly limits?: HttpLimits;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const PLAIN_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Logged requests never carry credentials. */
const REDACT = ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]', 'res.headers["set-cookie"]'];

export async function createHttpApp(options: HttpOptions): Promise<App> {
  const app = Fastify({
    logger: { level: options.logLevel, redact: { paths: REDACT, censor: '[redacted]' } },
    // A caller's own id is kept (so a till can correlate), else a fresh time-ordered one.
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : uuidv7();
    },
    bodyLimit: options.bodyLimitBytes ?? 256 * 1024,
    ajv: {
      customOptions: { coerceTypes: false, removeAdditional: false, allErrors: true },
      // ajv-formats' uuid also accepts `urn:uuid:…`, which PostgreSQL's uuid type refuses (a 500): plain form only.
      onCreate: (ajv: { addFormat(name: string, format: RegExp): unknown }) => ajv.addFormat('uuid', PLAIN_UUID),
    },
    ...serverTimeoutOptions(options.limits ?? DEFAULT_HTTP_LIMITS, options.https),
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;
  capConnections(app, options.limits ?? DEFAULT_HTTP_LIMITS);

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    options.metrics.httpRequestDuration.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
  // JSON only: a text/plain body would otherwise reach validation as a string.
  app.removeAllContentTypeParsers();
  const parseJson = (_request: unknown, body: string | Buffer, done: (error: Error | null, value?: unknown) => void): void => {
    try {
      // Bytes, not a string: invalid UTF-8 is refused instead of silently replaced (strict-json.ts).
      done(null, parseStrictJson(body));
    } catch (error) {
      done(error as Error, undefined);
    }
  };
  // A string type matches with any parameters (`; charset=utf-8`); the pattern covers `+json` types.
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, parseJson);
  app.addContentTypeParser(/^application\/[a-z0-9.-]+\+json(\s*;.*)?$/i, { parseAs: 'buffer' }, parseJson);
  // NUL and unpaired surrogates in path and query strings, refused before any route sees them.
  app.addHook('preValidation', refuseUnsafeParams);
  app.setErrorHandler((error, request, reply) => sendProblem(reply, request, error));
  app.setNotFoundHandler((request, reply) => sendProblem(reply, request, new KobanError('not_found', { detail: `no route ${request.method} ${request.url.split('?')[0]}` })));
  await registerOpenApi(app, options.publicUrl);
  registerOperationalRoutes(app, options.metrics);
  return app;
}

async function registerOpenApi(app: App, publicUrl: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Koban API',
        version: '0.1.0',
        description: 'Koban cashless payments. Amounts are integer minor units sent as strings of digits. Errors are RFC 9457 problem documents; see /problems.',
      },
      servers: [{ url: publicUrl }],
      components: {
        securitySchemes: { ledgerToken: { type: 'http', scheme: 'bearer', description: 'Internal ledger API token (KOBAN_LEDGER_API_TOKEN)' } },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}

function registerOperationalRoutes(app: App, metrics: Metrics): void {
  app.get('/problems', { schema: { hide: true } }, async () => ({ problems: problemCatalogue() }));
  app.get<{ Params: { code: string } }>('/problems/:code', { schema: { hide: true } }, async (request) => {
    const entry = problemCatalogue().find((p) => p.code === request.params.code);
    if (entry === undefined) throw new KobanError('not_found', { detail: `no problem type ${request.params.code}` });
    return entry;
  });
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
