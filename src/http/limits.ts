/**
 * Slow and excess clients (issue 12): a request body that never finishes, or tens of thousands of
 * them, must not hold Koban's file descriptors forever. Every listener (the main API and the OPA
 * merchant listener) gets the same three bounds:
 *  - the headers must arrive within `headersTimeoutMs` and the whole request within `requestTimeoutMs`
 *    (Node answers 408 and closes the connection; checked every second);
 *  - above `connectionsMax` open connections, new requests are answered 503 (`service_unavailable`,
 *    Retry-After) and their connection closed, so the count comes back down;
 *  - above a hard cap a little higher, Node closes new connections at once without reading them.
 * Server-sent event streams are not affected: their request is complete when the stream starts.
 */
import type { FastifyInstance } from 'fastify';
import type { Server } from 'node:http';
import type { Config } from '../platform/config.ts';
import { KobanError } from '../platform/errors.ts';

export interface HttpLimits {
  readonly requestTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly connectionsMax: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = { requestTimeoutMs: 30_000, headersTimeoutMs: 10_000, connectionsMax: 2_000 };

/** The limits configured for this process (KOBAN_HTTP_*). */
export function httpLimitsOf(config: Config): HttpLimits {
  return { requestTimeoutMs: config.limits.httpRequestTimeoutMs, headersTimeoutMs: config.limits.httpHeadersTimeoutMs, connectionsMax: config.limits.httpConnectionsMax };
}

/** How often Node checks the request and headers timeouts (its default of 30 s would triple them). */
const TIMEOUT_CHECK_INTERVAL_MS = 1_000;

/** Fastify options for the server: the timeouts, for plain HTTP and for HTTPS alike. */
export function serverTimeoutOptions(limits: HttpLimits, https: { key: Buffer; cert: Buffer } | null | undefined): Record<string, unknown> {
  const timeouts = { requestTimeout: limits.requestTimeoutMs, headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs), connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS };
  // https.createServer takes the http.Server options in the same object as the TLS ones.
  // A TLS handshake that never completes is bounded like headers that never finish (Node's default is 120 s).
  if (https) return { requestTimeout: limits.requestTimeoutMs, https: { ...https, ...timeouts, handshakeTimeout: timeouts.headersTimeout } };
  return { requestTimeout: limits.requestTimeoutMs, http: timeouts };
}

/** The hard cap: beyond the soft cap's 503s, connections are closed unread. */
export function hardConnectionCap(connectionsMax: number): number {
  return connectionsMax + Math.max(16, Math.ceil(connectionsMax / 10));
}

/** Counts the listener's connections and refuses requests with a 503 while there are too many. */
export function capConnections(app: FastifyInstance, limits: HttpLimits): void {
  let open = 0;
  const server = app.server as Server;
  server.maxConnections = hardConnectionCap(limits.connectionsMax);
  server.on('connection', (socket) => {
    open++;
    socket.once('close', () => {
      open--;
    });
  });
  app.addHook('onRequest', async (_request, reply) => {
    if (open <= limits.connectionsMax) return;
    reply.header('connection', 'close');
    throw new KobanError('service_unavailable', { detail: `too many open connections (more than ${limits.connectionsMax}); retry shortly` });
  });
}
