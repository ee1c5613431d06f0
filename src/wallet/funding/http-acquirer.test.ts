// Drives the sandbox acquirer, started on a real port, through Koban's HTTP adapter.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildAcquirer } from '../../../sandbox/acquirer/app.ts';
import { TEST_CARDS } from '../../../sandbox/acquirer/cards.ts';
import type { SandboxApp } from '../../../sandbox/shared/server.ts';
import { startWebhookReceiver } from '../../../sandbox/shared/test-receiver.ts';
import type { WebhookReceiver } from '../../../sandbox/shared/test-receiver.ts';
import type { Authorization, CardDetails } from './acquirer.ts';
import { HttpCardAcquirer } from './http-acquirer.ts';
import type { ProviderError, ProviderResult } from './provider-result.ts';
import { verifyWebhookSignature } from './webhook-signature.ts';

const API_KEY = 'sk_test_acquirer_0123456789';
const WEBHOOK_SECRET = 'whsec_test_0123456789abcdef';
const START_MS = Date.parse('2030-01-15T00:00:00Z');

const card = (number: string, cvv = '123'): CardDetails => ({ number, expMonth: 12, expYear: 2031, cvv, holderName: 'TARO KOBAN' });
const key = (): string => `idem-${randomUUID()}`;

function unwrap<T>(result: ProviderResult<T>): T {
  if (!result.ok) throw new Error(`expected success, got ${JSON.stringify(result.error)}`);
  return result.value;
}

function rejected<T>(result: ProviderResult<T>): Extract<ProviderError, { kind: 'rejected' }> {
  if (result.ok || result.error.kind !== 'rejected') throw new Error(`expected a rejection, got ${JSON.stringify(result)}`);
  return result.error;
}

let nowMs: number;
let app: SandboxApp;
let baseUrl: string;
let receiver: WebhookReceiver;
let responseBodies: string[];
let acquirer: HttpCardAcquirer;

// Every response body the adapter sees is kept, so each test also checks that no PAN ever comes back.
const recordingFetch: typeof fetch = async (input, init) => {
  const response = await fetch(input, init);
  responseBodies.push(await response.clone().text());
  return response;
};

beforeEach(async () => {
  nowMs = START_MS;
  receiver = await startWebhookReceiver();
  app = buildAcquirer({ apiKey: API_KEY, webhookSecret: WEBHOOK_SECRET, webhookUrl: receiver.url, now: () => nowMs, webhookRetry: { baseDelayMs: 10 } });
  baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  responseBodies = [];
  acquirer = new HttpCardAcquirer({ baseUrl, apiKey: API_KEY, fetch: recordingFetch });
});

afterEach(async () => {
  await app.close();
  await receiver.close();
});

function expectNoPanInResponses(): void {
  expect(responseBodies.length).toBeGreaterThan(0);
  for (const pan of TEST_CARDS.keys()) {
    for (const body of responseBodies) expect(body).not.toContain(pan);
  }
}

async function tokenFor(number: string): Promise<string> {
  return unwrap(await acquirer.tokenize({ card: card(number), idempotencyKey: key() })).token;
}

async function authorize(number: string, amountMinor = 1_000n, extra: { requestThreeDSecure?: 'challenge' } = {}): Promise<Authorization> {
  const token = await tokenFor(number);
  return unwrap(await acquirer.authorize({ token, amountMinor, reference: `topup-${randomUUID()}`, idempotencyKey: key(), ...extra }));
}

async function answerChallenge(url: string, code: string): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code }) });
}

describe('tokenisation', () => {
  it('returns a token, brand, last 4 and a stable fingerprint, and never the PAN', async () => {
    const first = unwrap(await acquirer.tokenize({ card: card('4242424242424242'), idempotencyKey: key() }));
    const second = unwrap(await acquirer.tokenize({ card: card('4242424242424242'), idempotencyKey: key() }));
    const other = unwrap(await acquirer.tokenize({ card: card('5555555555554444'), idempotencyKey: key() }));
    expect(first).toMatchObject({ brand: 'visa', last4: '4242', expMonth: 12, expYear: 2031, threeDSecure: 'optional' });
    expect(first.token).toMatch(/^tok_/);
    expect(second.token).not.toBe(first.token);
    expect(second.fingerprint).toBe(first.fingerprint);
    expect(other).toMatchObject({ brand: 'mastercard', last4: '4444' });
    expect(other.fingerprint).not.toBe(first.fingerprint);
    expect(unwrap(await acquirer.tokenize({ card: card('3566002020360505'), idempotencyKey: key() })).brand).toBe('jcb');
    expectNoPanInResponses();
  });

  it('rejects a card number that fails the Luhn check', async () => {
    expect(rejected(await acquirer.tokenize({ card: card('4242424242424241'), idempotencyKey: key() }))).toMatchObject({ httpStatus: 402, code: 'incorrect_number' });
    expectNoPanInResponses();
  });

  it('refuses a real-looking card that is not a documented test card', async () => {
    expect(rejected(await acquirer.tokenize({ card: card('4111111111111111'), idempotencyKey: key() }))).toMatchObject({ httpStatus: 400, code: 'unknown_test_card' });
    expect(responseBodies.join('')).not.toContain('4111111111111111');
  });

  it('rejects a card whose expiry month has passed', async () => {
    const expired = { ...card('4242424242424242'), expMonth: 12, expYear: 2029 };
    expect(rejected(await acquirer.tokenize({ card: expired, idempotencyKey: key() }))).toMatchObject({ httpStatus: 402, code: 'expired_card' });
    const thisMonth = { ...card('4242424242424242'), expMonth: 1, expYear: 2030 };
    expect(unwrap(await acquirer.tokenize({ card: thisMonth, idempotencyKey: key() })).last4).toBe('4242');
  });

  it('stops CVV guessing: three wrong CVVs block the card, even for the right CVV and existing tokens', async () => {
    const earlierToken = await tokenFor('4242424242424242');
    for (let attempt = 0; attempt < 3; attempt += 1) {
      expect(rejected(await acquirer.tokenize({ card: card('4242424242424242', '000'), idempotencyKey: key() }))).toMatchObject({ code: 'incorrect_cvc', param: 'cvv' });
    }
    expect(rejected(await acquirer.tokenize({ card: card('4242424242424242', '123'), idempotencyKey: key() }))).toMatchObject({ code: 'card_declined', declineCode: 'card_blocked' });
    const blocked = unwrap(await acquirer.authorize({ token: earlierToken, amountMinor: 500n, reference: 'after-block', idempotencyKey: key() }));
    expect(blocked).toMatchObject({ status: 'declined', declineCode: 'card_blocked' });
    expect(unwrap(await acquirer.tokenize({ card: card('5555555555554444'), idempotencyKey: key() })).last4).toBe('4444');
  });

  it('resets the CVV count after a correct CVV', async () => {
    for (const cvv of ['000', '000', '123', '000', '000', '123']) {
      const result = await acquirer.tokenize({ card: card('4242424242424242', cvv), idempotencyKey: key() });
      expect(result.ok).toBe(cvv !== '000');
    }
  });
});

describe('authorisation', () => {
  it('authorises a card without 3-D Secure and sends a signed authorized webhook', async () => {
    const authorization = await authorize('4242424242424242', 1_200n);
    expect(authorization).toMatchObject({
      status: 'authorized', amountMinor: 1_200n, capturedAmountMinor: 0n, refundedAmountMinor: 0n, currency: 'JPY',
      declineCode: null, challenge: null, card: { brand: 'visa', last4: '4242' },
    });
    await receiver.waitFor((list) => list.some((hook) => hook.event.data['authorizationId'] === authorization.id));
    const hook = receiver.received.find((entry) => entry.event.data['authorizationId'] === authorization.id);
    expect(hook?.event).toMatchObject({ type: 'authorized', data: { amount: '1200', currency: 'JPY', status: 'authorized', reference: authorization.reference } });
    expect(hook?.event.id).toMatch(/^evt_/);
    expect(verifyWebhookSignature({ header: hook?.signature, rawBody: hook?.rawBody ?? '', secret: WEBHOOK_SECRET, nowSec: Math.floor(nowMs / 1000) }).status).toBe('ok');
    expect(unwrap(await acquirer.getAuthorization(authorization.id))).toEqual(authorization);
  });

  it.each([
    ['4000000000009995', 'insufficient_funds'],
    ['4000000000000002', 'generic_decline'],
    ['4000000000000069', 'expired_card'],
  ])('declines test card %s with %s', async (number, declineCode) => {
    const authorization = await authorize(number);
    expect(authorization).toMatchObject({ status: 'declined', declineCode });
    await receiver.waitFor((list) => list.some((hook) => hook.event.type === 'declined' && hook.event.data['declineCode'] === declineCode));
  });

  it('accepts a safe JSON integer amount as well as an integer string', async () => {
    const token = await tokenFor('4242424242424242');
    const response = await fetch(`${baseUrl}/v1/authorizations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', 'idempotency-key': key() },
      body: JSON.stringify({ token, amount: 999_999_999_999, currency: 'JPY', reference: 'max' }),
    });
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({ amount: '999999999999', status: 'authorized' });
  });

  it.each([
    ['a fraction', 12.5], ['zero', '0'], ['a negative number', -1], ['an exponent', '1e3'], ['a leading zero', '0100'],
    ['13 digits', '1000000000000'], ['an unsafe integer', 2 ** 53 + 2], ['a boolean', true],
  ])('rejects %s as an amount', async (_name, amount) => {
    const token = await tokenFor('4242424242424242');
    const response = await fetch(`${baseUrl}/v1/authorizations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', 'idempotency-key': key() },
      body: JSON.stringify({ token, amount, currency: 'JPY', reference: 'bad-amount' }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { param: 'amount' } });
  });

  it('rejects an unknown token', async () => {
    const result = await acquirer.authorize({ token: 'tok_doesnotexist', amountMinor: 100n, reference: 'x', idempotencyKey: key() });
    expect(rejected(result)).toMatchObject({ httpStatus: 404, code: 'resource_missing', param: 'token' });
  });
});

describe('3-D Secure challenge', () => {
  it('authorises after the right code, even after one wrong code', async () => {
    const authorization = await authorize('4000000000003220');
    expect(authorization.status).toBe('requires_challenge');
    const challenge = authorization.challenge;
    if (challenge === null) throw new Error('expected a challenge');
    expect(challenge.url).toBe(`${baseUrl}/v1/challenges/${challenge.id}`);
    expect(challenge.expiresAtMs).toBe(START_MS + 10 * 60 * 1000);

    const page = await fetch(challenge.url);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('<form method="post"');

    const wrong = await answerChallenge(challenge.url, '000000');
    expect(await wrong.json()).toMatchObject({ result: 'incorrect_code', attemptsRemaining: 2, authorization: { status: 'requires_challenge' } });
    const right = await answerChallenge(challenge.url, '123456');
    expect(await right.json()).toMatchObject({ result: 'succeeded', status: 'succeeded', authorization: { status: 'authorized' } });
    expect(unwrap(await acquirer.getAuthorization(authorization.id))).toMatchObject({ status: 'authorized', challenge: { status: 'succeeded' } });
    await receiver.waitFor((list) => list.some((hook) => hook.event.type === 'authorized' && hook.event.data['authorizationId'] === authorization.id));
  });

  it('declines after three wrong codes and refuses further answers (lockout)', async () => {
    const authorization = await authorize('4000000000003220');
    const url = authorization.challenge?.url ?? '';
    for (const expected of ['incorrect_code', 'incorrect_code', 'failed']) {
      expect(await (await answerChallenge(url, '999999')).json()).toMatchObject({ result: expected });
    }
    const afterLockout = await answerChallenge(url, '123456');
    expect(afterLockout.status).toBe(409);
    expect(await afterLockout.json()).toMatchObject({ error: { code: 'challenge_not_pending' } });
    expect(unwrap(await acquirer.getAuthorization(authorization.id))).toMatchObject({ status: 'declined', declineCode: 'authentication_failed' });
    await receiver.waitFor((list) => list.some((hook) => hook.event.type === 'challenge_failed' && hook.event.data['authorizationId'] === authorization.id));
  });

  it('expires an unanswered challenge after 10 minutes', async () => {
    const authorization = await authorize('4000000000003220');
    nowMs += 10 * 60 * 1000;
    expect(unwrap(await acquirer.getAuthorization(authorization.id))).toMatchObject({ status: 'declined', declineCode: 'authentication_expired', challenge: { status: 'expired' } });
    const late = await answerChallenge(authorization.challenge?.url ?? '', '123456');
    expect(late.status).toBe(410);
  });

  it('declines a 3-D Secure card whose issuer refuses after authentication', async () => {
    const authorization = await authorize('4000008400001629');
    await answerChallenge(authorization.challenge?.url ?? '', '123456');
    expect(unwrap(await acquirer.getAuthorization(authorization.id))).toMatchObject({ status: 'declined', declineCode: 'generic_decline' });
  });

  it('challenges an optional-3DS card when Koban asks for it (first top-up)', async () => {
    const authorization = await authorize('4242424242424242', 1_000n, { requestThreeDSecure: 'challenge' });
    expect(authorization.status).toBe('requires_challenge');
  });
});

describe('capture, void and refund', () => {
  it('captures part of an authorisation once', async () => {
    const authorization = await authorize('4242424242424242', 1_000n);
    const captured = unwrap(await acquirer.capture({ authorizationId: authorization.id, amountMinor: 600n, idempotencyKey: key() }));
    expect(captured).toMatchObject({ status: 'captured', amountMinor: 1_000n, capturedAmountMinor: 600n });
    const again = await acquirer.capture({ authorizationId: authorization.id, amountMinor: 400n, idempotencyKey: key() });
    expect(rejected(again)).toMatchObject({ httpStatus: 409, code: 'authorization_not_capturable' });
    await receiver.waitFor((list) => list.some((hook) => hook.event.type === 'captured' && hook.event.data['amount'] === '600'));
  });

  it('captures the full amount when none is given, and never more than authorised', async () => {
    const authorization = await authorize('4242424242424242', 1_000n);
    const over = await acquirer.capture({ authorizationId: authorization.id, amountMinor: 1_001n, idempotencyKey: key() });
    expect(rejected(over)).toMatchObject({ httpStatus: 400, code: 'amount_too_large', param: 'amount' });
    expect(unwrap(await acquirer.capture({ authorizationId: authorization.id, idempotencyKey: key() })).capturedAmountMinor).toBe(1_000n);
  });

  it('voids only uncaptured authorisations', async () => {
    const open = await authorize('4242424242424242');
    expect(unwrap(await acquirer.void({ authorizationId: open.id, idempotencyKey: key() })).status).toBe('voided');
    expect(rejected(await acquirer.capture({ authorizationId: open.id, idempotencyKey: key() })).code).toBe('authorization_not_capturable');

    const captured = await authorize('4242424242424242');
    unwrap(await acquirer.capture({ authorizationId: captured.id, idempotencyKey: key() }));
    expect(rejected(await acquirer.void({ authorizationId: captured.id, idempotencyKey: key() }))).toMatchObject({ httpStatus: 409, code: 'authorization_not_voidable' });

    const pending = await authorize('4000000000003220');
    expect(unwrap(await acquirer.void({ authorizationId: pending.id, idempotencyKey: key() }))).toMatchObject({ status: 'voided', challenge: { status: 'canceled' } });
  });

  it('refunds up to the captured amount and no further', async () => {
    const authorization = await authorize('4242424242424242', 1_000n);
    expect(rejected(await acquirer.refund({ authorizationId: authorization.id, amountMinor: 1n, idempotencyKey: key() })).code).toBe('authorization_not_refundable');
    unwrap(await acquirer.capture({ authorizationId: authorization.id, amountMinor: 800n, idempotencyKey: key() }));
    const first = unwrap(await acquirer.refund({ authorizationId: authorization.id, amountMinor: 300n, idempotencyKey: key() }));
    expect(first).toMatchObject({ authorizationId: authorization.id, amountMinor: 300n, status: 'succeeded' });
    expect(first.id).toMatch(/^re_/);
    const over = await acquirer.refund({ authorizationId: authorization.id, amountMinor: 501n, idempotencyKey: key() });
    expect(rejected(over)).toMatchObject({ httpStatus: 400, code: 'amount_too_large' });
    unwrap(await acquirer.refund({ authorizationId: authorization.id, amountMinor: 500n, idempotencyKey: key() }));
    expect(rejected(await acquirer.refund({ authorizationId: authorization.id, amountMinor: 1n, idempotencyKey: key() })).code).toBe('amount_too_large');
    expect(unwrap(await acquirer.getAuthorization(authorization.id))).toMatchObject({ capturedAmountMinor: 800n, refundedAmountMinor: 800n, status: 'captured' });
    await receiver.waitFor((list) => list.filter((hook) => hook.event.type === 'refunded').length === 2);
    expect(receiver.received.find((hook) => hook.event.type === 'refunded')?.event.data).toMatchObject({ refundId: first.id, amount: '300' });
  });
});

describe('idempotency', () => {
  it('replays the first result for the same key and the same request', async () => {
    const token = await tokenFor('4242424242424242');
    const idempotencyKey = key();
    const request = { token, amountMinor: 700n, reference: 'replay-1', idempotencyKey };
    const first = unwrap(await acquirer.authorize(request));
    const second = unwrap(await acquirer.authorize(request));
    expect(second).toEqual(first);

    const captureKey = key();
    unwrap(await acquirer.capture({ authorizationId: first.id, amountMinor: 100n, idempotencyKey: captureKey }));
    const replayedCapture = unwrap(await acquirer.capture({ authorizationId: first.id, amountMinor: 100n, idempotencyKey: captureKey }));
    expect(replayedCapture).toMatchObject({ status: 'captured', capturedAmountMinor: 100n });
  });

  it('rejects the same key with a different request (a double top-up with another amount)', async () => {
    const token = await tokenFor('4242424242424242');
    const idempotencyKey = key();
    unwrap(await acquirer.authorize({ token, amountMinor: 700n, reference: 'conflict', idempotencyKey }));
    const conflict = await acquirer.authorize({ token, amountMinor: 70_000n, reference: 'conflict', idempotencyKey });
    expect(rejected(conflict)).toMatchObject({ httpStatus: 409, code: 'idempotency_key_reused' });
  });

  it('replays a wrong-CVV answer without counting it again, so a retry cannot block the card', async () => {
    const idempotencyKey = key();
    for (let attempt = 0; attempt < 4; attempt += 1) {
      expect(rejected(await acquirer.tokenize({ card: card('4242424242424242', '000'), idempotencyKey })).code).toBe('incorrect_cvc');
    }
    expect(unwrap(await acquirer.tokenize({ card: card('4242424242424242'), idempotencyKey: key() })).last4).toBe('4242');
  });

  it('requires an Idempotency-Key on every state change', async () => {
    const response = await fetch(`${baseUrl}/v1/refunds`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ authorizationId: 'auth_x', amount: '1' }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: 'parameter_missing', param: 'Idempotency-Key' } });
  });
});

describe('transport', () => {
  it('rejects a caller without the API key', async () => {
    const stranger = new HttpCardAcquirer({ baseUrl, apiKey: 'sk_test_wrong_key_000000' });
    expect(rejected(await stranger.tokenize({ card: card('4242424242424242'), idempotencyKey: key() }))).toMatchObject({ httpStatus: 401, code: 'invalid_api_key' });
  });

  it('reports an unknown outcome, not a failure, when the acquirer does not answer in time', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const slow = new HttpCardAcquirer({ baseUrl: `http://127.0.0.1:${port}`, apiKey: API_KEY, timeoutMs: 100 });
    const result = await slow.authorize({ token: 'tok_x', amountMinor: 100n, reference: 'slow', idempotencyKey: key() });
    expect(result).toEqual({ ok: false, error: { kind: 'outcome_unknown', reason: 'timeout', httpStatus: null } });
    silent.closeAllConnections();
    await new Promise((resolve) => silent.close(resolve));
  });

  it.each([
    ['a malformed body', '{"id":"auth_1","amount":"-5"}'],
    ['an oversized body', `{"padding":"${'x'.repeat(100_000)}"}`],
  ])('treats a success with %s as an unknown outcome', async (_name, body) => {
    const liar = createServer((_request, response) => response.writeHead(201, { 'content-type': 'application/json' }).end(body));
    await new Promise<void>((resolve) => liar.listen(0, '127.0.0.1', resolve));
    const { port } = liar.address() as AddressInfo;
    const adapter = new HttpCardAcquirer({ baseUrl: `http://127.0.0.1:${port}`, apiKey: API_KEY });
    const result = await adapter.authorize({ token: 'tok_x', amountMinor: 100n, reference: 'liar', idempotencyKey: key() });
    expect(result).toEqual({ ok: false, error: { kind: 'outcome_unknown', reason: 'bad_response', httpStatus: 201 } });
    liar.closeAllConnections();
    await new Promise((resolve) => liar.close(resolve));
  });

  it('reports a 5xx as an unknown outcome: the provider may have acted', async () => {
    const broken = createServer((_request, response) => response.writeHead(502).end());
    await new Promise<void>((resolve) => broken.listen(0, '127.0.0.1', resolve));
    const { port } = broken.address() as AddressInfo;
    const adapter = new HttpCardAcquirer({ baseUrl: `http://127.0.0.1:${port}`, apiKey: API_KEY });
    const result = await adapter.capture({ authorizationId: 'auth_x', idempotencyKey: key() });
    expect(result).toEqual({ ok: false, error: { kind: 'outcome_unknown', reason: 'server_error', httpStatus: 502 } });
    broken.closeAllConnections();
    await new Promise((resolve) => broken.close(resolve));
  });
});

afterEach(() => {
  // A guard over every test above: whatever the scenario, no PAN came back in a response.
  for (const pan of TEST_CARDS.keys()) expect(responseBodies.join('\n')).not.toContain(pan);
});
