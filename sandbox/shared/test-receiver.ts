// A real HTTP webhook receiver for tests: records each delivery's raw body and signature header, can be told to
// fail or redirect, and lets a test await "N deliveries arrived" instead of sleeping.
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WEBHOOK_SIGNATURE_HEADER } from '../../src/wallet/funding/webhook-signature.ts';

const MAX_RECORDED = 1_000;

export interface ReceivedWebhook {
  rawBody: string;
  signature: string | undefined;
  event: { id: string; type: string; data: Record<string, unknown> };
}

export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  // Status to answer with for the next `count` deliveries (then 200 again).
  failNext(count: number, statusCode?: number): void;
  waitFor(predicate: (received: readonly ReceivedWebhook[]) => boolean): Promise<void>;
  close(): Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const waiters = new Set<() => void>();
  let failures: { remaining: number; statusCode: number } = { remaining: 0, statusCode: 500 };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const rawBody = await readBody(request);
    const header = request.headers[WEBHOOK_SIGNATURE_HEADER];
    if (received.length < MAX_RECORDED) {
      received.push({ rawBody, signature: typeof header === 'string' ? header : undefined, event: JSON.parse(rawBody) as ReceivedWebhook['event'] });
    }
    const fail = failures.remaining > 0;
    if (fail) failures = { ...failures, remaining: failures.remaining - 1 };
    const statusCode = fail ? failures.statusCode : 200;
    response.writeHead(statusCode, statusCode === 302 ? { location: 'http://127.0.0.1:9/elsewhere' } : {}).end();
    for (const wake of waiters) wake();
  };
  const server = createServer((request, response) => void handle(request, response));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/webhooks`,
    received,
    failNext(count, statusCode = 500) {
      failures = { remaining: count, statusCode };
    },
    waitFor(predicate) {
      return new Promise((resolve) => {
        const check = (): void => {
          if (!predicate(received)) return;
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
        check();
      });
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
