/**
 * `GET /v1/customer/notifications/stream`: the customer's feed as server-sent events, so the wallet
 * shows "you paid ¥1,200 at …" (and its "this wasn't me") the moment money moves. Session cookie only
 * (EventSource sends cookies, never custom headers); a comment line every `heartbeatMs` keeps proxies
 * from closing an idle stream, and each heartbeat re-checks the session, so signing out everywhere or an
 * operator's revocation ends the stream too. `Last-Event-ID` (sent by EventSource when it reconnects)
 * resumes after that entry. Events: `ready` once, `notification` per entry (id = entry id), `replaced`
 * when a newer stream of the same customer took this one's place, `end` when the session ended.
 */
import type { FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import { Type } from 'typebox';
import type { App } from '../http/app.ts';
import { isKobanError, KobanError } from '../platform/errors.ts';
import type { LiveEntry, LiveFeed } from './live-feed.ts';

export interface FeedStreamDeps {
  readonly feed: LiveFeed;
  readonly heartbeatMs: number;
  /** Identity's session guard: the signed-in customer, or a 401 problem. */
  readonly guard: (request: FastifyRequest) => Promise<{ customerId: string }>;
}

export function registerFeedStreamRoutes(app: App, deps: FeedStreamDeps): void {
  const open = new Set<() => void>();
  // A stream never ends on its own: shutting down ends them first, or closing the server would wait forever.
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });

  app.get('/v1/customer/notifications/stream', {
    schema: {
      tags: ['customer-security'], summary: 'The notification feed live, as server-sent events (text/event-stream)',
      description: 'Events: `ready`, `notification` (data: {id, kind, title, body, createdAt, contestable}; the SSE id is the entry id), `replaced`, `end`. Resumes after `Last-Event-ID`. At most a few streams per customer: the oldest gives way.',
      headers: Type.Object({ 'last-event-id': Type.Optional(Type.String({ maxLength: 64 })) }),
    },
  }, async (request, reply) => {
    const session = await deps.guard(request);
    const raw = reply.raw;
    const pending: string[] = [];
    let started = false;
    let ended = false;
    const write = (text: string) => {
      if (ended) return;
      if (started) raw.write(text);
      else pending.push(text);
    };
    const end = (finalEvent: string | null) => {
      if (ended) return;
      if (finalEvent !== null) write(`event: ${finalEvent}\ndata: {}\n\n`);
      ended = true;
      cleanup();
      raw.end();
    };
    const subscription = await deps.feed.subscribe({
      customerId: session.customerId,
      deliver: (entries) => { for (const entry of entries) write(formatEntry(entry)); },
      displace: () => end('replaced'),
    }, lastEventIdOf(request));
    if (subscription === null) throw new KobanError('service_unavailable', { detail: 'too many live streams; the app falls back to reading the feed' });

    const heartbeat = setInterval(() => {
      write(': heartbeat\n\n');
      deps.guard(request).catch((error: unknown) => {
        if (isKobanError(error) && error.code === 'unauthenticated') end('end');
      });
    }, deps.heartbeatMs);
    const onEnd = () => end(null);
    const cleanup = () => {
      clearInterval(heartbeat);
      subscription.unsubscribe();
      open.delete(onEnd);
    };
    open.add(onEnd);
    // The response's 'close' is the connection going away (the client left, or a proxy cut it).
    raw.on('close', onEnd);

    reply.hijack();
    startStream(raw);
    started = true;
    raw.write(`retry: 3000\n\nevent: ready\ndata: {}\n\n${pending.join('')}`);
  });
}

function startStream(raw: ServerResponse): void {
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    // Tells reverse proxies (nginx) not to buffer the stream.
    'x-accel-buffering': 'no',
    // A stream is the connection's last response: once it ends (session over, replaced, shutdown) the
    // socket closes too, instead of idling where a server shutdown would wait for it.
    connection: 'close',
  });
}

function lastEventIdOf(request: FastifyRequest): string | null {
  const header = request.headers['last-event-id'];
  return typeof header === 'string' && header !== '' ? header : null;
}

/** One SSE event; the JSON has no raw newlines, so `data:` is one line. */
export function formatEntry(entry: LiveEntry): string {
  const data = JSON.stringify({ id: entry.id, kind: entry.kind, title: entry.title, body: entry.body, createdAt: entry.createdAt.toISOString(), contestable: entry.contestable });
  return `id: ${entry.id}\nevent: notification\ndata: ${data}\n\n`;
}
