// Sandbox-specific behaviour of the acquirer not reachable through Koban's adapter: the cardholder's HTML page,
// logging, and the hygiene of error answers.
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { SandboxApp } from '../shared/server.ts';
import { buildAcquirer } from './app.ts';
import { TEST_CARDS } from './cards.ts';

const API_KEY = 'sk_test_acquirer_0123456789';
const PAN = '4000000000003220';
let app: SandboxApp | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
});

function capturingStream(lines: string[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString('utf8'));
      callback();
    },
  });
}

const api = (idempotencyKey: string) => ({ authorization: `Bearer ${API_KEY}`, 'idempotency-key': idempotencyKey });
const cardBody = (number: string, cvv = '123') => ({ number, expMonth: 12, expYear: 2099, cvv, holderName: 'TARO KOBAN' });

async function challengeFor(sandbox: SandboxApp, returnUrl?: string): Promise<{ authorizationId: string; path: string }> {
  const token = await sandbox.inject({ method: 'POST', url: '/v1/tokens', headers: api('t-1'), payload: cardBody(PAN) });
  const payload = { token: token.json<{ id: string }>().id, amount: '1200', currency: 'JPY', reference: 'order-1', ...(returnUrl ? { returnUrl } : {}) };
  const authorization = await sandbox.inject({ method: 'POST', url: '/v1/authorizations', headers: api('a-1'), payload });
  const body = authorization.json<{ id: string; challenge: { url: string } }>();
  return { authorizationId: body.id, path: new URL(body.challenge.url).pathname };
}

describe('sandbox acquirer', () => {
  it('never writes a PAN to its logs or echoes it in an error, even for malformed JSON', async () => {
    const lines: string[] = [];
    app = buildAcquirer({ apiKey: API_KEY, webhookSecret: 'whsec_x_0123456789abcdef', logger: true, logStream: capturingStream(lines) });
    const bodies: string[] = [];
    for (const [index, payload] of [cardBody(PAN), cardBody(PAN, '000'), cardBody('4000000000003221'), cardBody('4111111111111111')].entries()) {
      bodies.push((await app.inject({ method: 'POST', url: '/v1/tokens', headers: api(`k-${index}`), payload })).body);
    }
    const broken = await app.inject({
      method: 'POST', url: '/v1/tokens', headers: { ...api('k-broken'), 'content-type': 'application/json' }, payload: `{"number": ${PAN}x, "cvv": "123"}`,
    });
    expect(broken.statusCode).toBe(400);
    bodies.push(broken.body);
    expect(lines.length).toBeGreaterThan(0);
    for (const text of [...lines, ...bodies]) {
      for (const pan of [...TEST_CARDS.keys(), '4000000000003221', '4111111111111111']) expect(text).not.toContain(pan);
      expect(text).not.toContain(API_KEY);
    }
  });

  it('walks the cardholder through the challenge page and redirects to the merchant', async () => {
    app = buildAcquirer({ apiKey: API_KEY, webhookSecret: 'whsec_x_0123456789abcdef' });
    const { authorizationId, path } = await challengeFor(app, 'https://koban.example/topups/return?from=card');
    const page = await app.inject({ method: 'GET', url: path });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.body).toContain('¥1200');
    expect(page.body).not.toContain(PAN);

    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const wrong = await app.inject({ method: 'POST', url: path, headers: form, payload: 'code=111111' });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.body).toContain('2 attempt(s) left');
    const right = await app.inject({ method: 'POST', url: path, headers: form, payload: 'code=123456' });
    expect(right.statusCode).toBe(303);
    const location = new URL(right.headers.location ?? '');
    expect(location.origin + location.pathname).toBe('https://koban.example/topups/return');
    expect(Object.fromEntries(location.searchParams)).toEqual({ from: 'card', authorization_id: authorizationId, status: 'authorized' });
  });

  it('answers an unknown challenge with an HTML 404', async () => {
    app = buildAcquirer({ apiKey: API_KEY, webhookSecret: 'whsec_x_0123456789abcdef' });
    const page = await app.inject({ method: 'GET', url: '/v1/challenges/chl_nope' });
    expect(page.statusCode).toBe(404);
    expect(page.headers['content-type']).toContain('text/html');
  });

  it('refuses a javascript: returnUrl (no script redirect from the challenge page)', async () => {
    app = buildAcquirer({ apiKey: API_KEY, webhookSecret: 'whsec_x_0123456789abcdef' });
    const token = await app.inject({ method: 'POST', url: '/v1/tokens', headers: api('t'), payload: cardBody(PAN) });
    const response = await app.inject({
      method: 'POST', url: '/v1/authorizations', headers: api('a'),
      payload: { token: token.json<{ id: string }>().id, amount: '1', currency: 'JPY', reference: 'r', returnUrl: 'javascript:alert(1)' },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: { param: 'returnUrl' } });
  });

  it('rejects unknown fields instead of ignoring them (no mass assignment)', async () => {
    app = buildAcquirer({ apiKey: API_KEY, webhookSecret: 'whsec_x_0123456789abcdef' });
    const response = await app.inject({ method: 'POST', url: '/v1/tokens', headers: api('m'), payload: { ...cardBody(PAN), blocked: false } });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: { code: 'parameter_unknown', param: 'blocked' } });
  });

  it('answers 401 to a request without a valid bearer key', async () => {
    app = buildAcquirer({ apiKey: API_KEY, webhookSecret: 'whsec_x_0123456789abcdef' });
    for (const authorization of [undefined, 'Bearer', `Bearer ${API_KEY}x`, `Basic ${API_KEY}`]) {
      const headers = authorization === undefined ? {} : { authorization };
      const response = await app.inject({ method: 'GET', url: '/v1/authorizations/auth_x', headers });
      expect(response.statusCode).toBe(401);
    }
  });
});
