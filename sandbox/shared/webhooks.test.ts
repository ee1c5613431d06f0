// Webhook delivery from a real sandbox (the acquirer) to a real receiver: retries, duplicates, delays, redelivery.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpCardAcquirer } from '../../src/wallet/funding/http-acquirer.ts';
import { verifyWebhookSignature } from '../../src/wallet/funding/webhook-signature.ts';
import { buildAcquirer } from '../acquirer/app.ts';
import type { AcquirerOptions } from '../acquirer/app.ts';
import type { SandboxApp } from './server.ts';
import { startWebhookReceiver } from './test-receiver.ts';
import type { ReceivedWebhook, WebhookReceiver } from './test-receiver.ts';

const API_KEY = 'sk_test_acquirer_0123456789';
const TEST_API_KEY = 'test_acquirer_key_012345678';
const WEBHOOK_SECRET = 'whsec_test_0123456789abcdef';

const running: { app: SandboxApp; receiver: WebhookReceiver }[] = [];
const key = (): string => `idem-${randomUUID()}`;

afterEach(async () => {
  for (const { app, receiver } of running.splice(0)) {
    await app.close();
    await receiver.close();
  }
});

async function start(options: Partial<AcquirerOptions> = {}) {
  const receiver = await startWebhookReceiver();
  const app = buildAcquirer({
    apiKey: API_KEY, testApiKey: TEST_API_KEY, webhookSecret: WEBHOOK_SECRET, webhookUrl: receiver.url,
    webhookRetry: { baseDelayMs: 5, maxDelayMs: 20 }, ...options,
  });
  running.push({ app, receiver });
  const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  const acquirer = new HttpCardAcquirer({ baseUrl, apiKey: API_KEY });
  const authorize = async (): Promise<string> => {
    const token = await acquirer.tokenize({ card: { number: '4242424242424242', expMonth: 12, expYear: 2099, cvv: '123', holderName: 'A' }, idempotencyKey: key() });
    if (!token.ok) throw new Error('tokenise failed');
    const result = await acquirer.authorize({ token: token.value.token, amountMinor: 500n, reference: 'hook', idempotencyKey: key() });
    if (!result.ok) throw new Error('authorise failed');
    return result.value.id;
  };
  const testApi = async (method: 'GET' | 'POST', path: string, apiKey = TEST_API_KEY): Promise<Response> =>
    fetch(`${baseUrl}${path}`, { method, headers: { authorization: `Bearer ${apiKey}` } });
  return { app, receiver, acquirer, authorize, testApi };
}

const ofType = (type: string) => (list: readonly ReceivedWebhook[]) => list.filter((hook) => hook.event.type === type);

function expectAuthentic(hook: ReceivedWebhook): void {
  expect(verifyWebhookSignature({ header: hook.signature, rawBody: hook.rawBody, secret: WEBHOOK_SECRET, nowSec: Math.floor(Date.now() / 1000) }).status).toBe('ok');
}

// Waits for a state the dispatcher records just after the receiver has answered.
async function deliveryState(testApi: (method: 'GET', path: string) => Promise<Response>, eventId: string, state: string): Promise<Record<string, unknown>> {
  for (let poll = 0; poll < 200; poll += 1) {
    const body = await (await testApi('GET', `/v1/test/webhooks/events/${eventId}`)).json() as Record<string, unknown>;
    if (body['state'] === state) return body;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`event ${eventId} never reached ${state}`);
}

describe('webhook delivery', () => {
  it('retries a failing receiver with backoff until it accepts, with the same event id and body', async () => {
    const { receiver, authorize, testApi } = await start();
    receiver.failNext(2, 503);
    await authorize();
    await receiver.waitFor((list) => ofType('authorized')(list).length === 3);
    const attempts = ofType('authorized')(receiver.received);
    expect(new Set(attempts.map((hook) => hook.event.id)).size).toBe(1);
    expect(new Set(attempts.map((hook) => hook.rawBody)).size).toBe(1);
    attempts.forEach(expectAuthentic);
    const eventId = attempts[0]?.event.id ?? '';
    expect(await deliveryState(testApi, eventId, 'delivered')).toMatchObject({ attempts: 3, successes: 1, lastResult: 'http_200' });
  });

  it('gives up after the bounded number of attempts', async () => {
    const { receiver, authorize, testApi } = await start({ webhookRetry: { maxAttempts: 3, baseDelayMs: 5 } });
    receiver.failNext(100, 500);
    await authorize();
    await receiver.waitFor((list) => ofType('authorized')(list).length === 3);
    const eventId = ofType('authorized')(receiver.received)[0]?.event.id ?? '';
    expect(await deliveryState(testApi, eventId, 'failed')).toMatchObject({ attempts: 3, successes: 0, lastResult: 'http_500' });
  });

  it('does not follow a redirect from the receiver', async () => {
    const { receiver, authorize, testApi } = await start({ webhookRetry: { maxAttempts: 1 } });
    receiver.failNext(1, 302);
    await authorize();
    await receiver.waitFor((list) => ofType('authorized')(list).length === 1);
    const eventId = ofType('authorized')(receiver.received)[0]?.event.id ?? '';
    expect(await deliveryState(testApi, eventId, 'failed')).toMatchObject({ lastResult: 'http_302' });
  });

  it('delivers every event twice with the duplicate chaos option', async () => {
    const { receiver, authorize } = await start({ webhookChaos: { duplicate: true } });
    await authorize();
    await receiver.waitFor((list) => ofType('authorized')(list).length === 2);
    const [first, second] = ofType('authorized')(receiver.received);
    expect(first?.event.id).toBe(second?.event.id);
    expect(first?.rawBody).toBe(second?.rawBody);
  });

  it('holds deliveries back with the delay chaos option', async () => {
    const { receiver, authorize } = await start({ webhookChaos: { delayMs: 300 } });
    const authorizationId = await authorize();
    // The authorisation has answered, and its webhook is still held back.
    expect(receiver.received).toHaveLength(0);
    await receiver.waitFor((list) => list.some((hook) => hook.event.data['authorizationId'] === authorizationId));
  });

  it('redelivers an old event after a newer one, so Koban sees them out of order', async () => {
    const { receiver, acquirer, authorize, testApi } = await start();
    const authorizationId = await authorize();
    await acquirer.capture({ authorizationId, idempotencyKey: key() });
    await receiver.waitFor((list) => ofType('captured')(list).length === 1 && ofType('authorized')(list).length === 1);
    const authorizedEvent = ofType('authorized')(receiver.received)[0]?.event.id ?? '';
    const response = await testApi('POST', `/v1/test/webhooks/redeliver/${authorizedEvent}`);
    expect(response.status).toBe(202);
    await receiver.waitFor((list) => ofType('authorized')(list).length === 2);
    expect(receiver.received.at(-1)?.event).toMatchObject({ id: authorizedEvent, type: 'authorized' });
    const types = receiver.received.map((hook) => hook.event.type);
    expect(types.lastIndexOf('captured')).toBeLessThan(types.lastIndexOf('authorized'));
  });

  it('gives every event its own id', async () => {
    const { receiver, acquirer, authorize } = await start();
    const authorizationId = await authorize();
    await acquirer.capture({ authorizationId, amountMinor: 300n, idempotencyKey: key() });
    await acquirer.refund({ authorizationId, amountMinor: 100n, idempotencyKey: key() });
    await acquirer.refund({ authorizationId, amountMinor: 100n, idempotencyKey: key() });
    await receiver.waitFor((list) => list.length === 4);
    expect(new Set(receiver.received.map((hook) => hook.event.id)).size).toBe(4);
  });

  it('keeps the test endpoints closed to the API key, and unmounted without a test key', async () => {
    const { testApi } = await start();
    expect((await testApi('POST', '/v1/test/webhooks/redeliver/evt_x', API_KEY)).status).toBe(401);
    expect((await testApi('POST', '/v1/test/webhooks/redeliver/evt_x')).status).toBe(404);
    const { testApi: withoutTestKey } = await start({ testApiKey: undefined });
    const unmounted = await withoutTestKey('POST', '/v1/test/webhooks/redeliver/evt_x', API_KEY);
    expect(unmounted.status).toBe(404);
    expect(await unmounted.json()).toMatchObject({ error: { code: 'route_not_found' } });
  });
});
