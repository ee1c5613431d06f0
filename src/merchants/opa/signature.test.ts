import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { MemoryNonceStore } from './nonce-store.ts';
import type { NonceStore } from './nonce-store.ts';
import { computeOpaAuthHeader, parseOpaAuthHeader, verifyOpaAuth } from './signature.ts';
import type { VerifyOpaAuthInput } from './signature.ts';

const API_KEY = 'a_koban_test_key';
const API_SECRET = 'c2VjcmV0LW5vdC1iYXNlNjQtZGVjb2RlZA==';
const NOW_SEC = 1_760_000_000;
const JSON_TYPE = 'application/json';

// The SDK's signer is a private instance field in its TypeScript types but a plain property at runtime;
// reaching it lets us compare against the exact code merchants run, not a re-implementation.
type SdkInstance = { configure(config: object): void; createAuthHeader(method: string, path: string, body: unknown): string };
const require = createRequire(import.meta.url);
const sdkModule: { PayPayRestSDK: new () => unknown } = require('@paypayopa/paypayopa-sdk-node');

function sdkSigner(): SdkInstance {
  const sdk = new sdkModule.PayPayRestSDK() as SdkInstance;
  expect(typeof sdk.createAuthHeader).toBe('function');
  sdk.configure({ clientId: API_KEY, clientSecret: API_SECRET });
  return sdk;
}

function sign(overrides: Partial<Parameters<typeof computeOpaAuthHeader>[0]> = {}): string {
  return computeOpaAuthHeader({
    apiKey: API_KEY,
    apiSecret: API_SECRET,
    method: 'POST',
    path: '/v2/codes',
    nonce: 'a1b2c3d4',
    epochSec: NOW_SEC,
    contentType: JSON_TYPE,
    body: '{"merchantPaymentId":"m-1","amount":{"amount":1200,"currency":"JPY"}}',
    ...overrides,
  });
}

function verify(header: string | undefined, overrides: Partial<VerifyOpaAuthInput> = {}) {
  return verifyOpaAuth({
    header,
    method: 'POST',
    path: '/v2/codes',
    contentType: JSON_TYPE,
    rawBody: Buffer.from('{"merchantPaymentId":"m-1","amount":{"amount":1200,"currency":"JPY"}}'),
    lookupSecret: async (apiKey) => (apiKey === API_KEY ? API_SECRET : null),
    nowSec: NOW_SEC,
    nonceStore: new MemoryNonceStore({ nowSec: () => NOW_SEC }),
    ...overrides,
  });
}

function fieldsOf(header: string): { nonce: string; epochSec: number } {
  const parsed = parseOpaAuthHeader(header);
  if (parsed === null) throw new Error(`SDK produced an unparseable header: ${header}`);
  return { nonce: parsed.nonce, epochSec: Number(parsed.epochText) };
}

describe('computeOpaAuthHeader matches the official Node SDK', () => {
  it('for a JSON body with non-ASCII text (UTF-8 on both sides)', () => {
    const body = { merchantPaymentId: 'm-1', orderDescription: 'コーヒー ☕', amount: { amount: 480, currency: 'JPY' } };
    const sdkHeader = sdkSigner().createAuthHeader('POST', '/v2/codes', body);
    const ours = sign({ ...fieldsOf(sdkHeader), body: JSON.stringify(body) });
    expect(ours).toBe(sdkHeader);
  });

  it('for a request without body (GET), where content type and hash are the literal "empty"', () => {
    const sdkHeader = sdkSigner().createAuthHeader('GET', '/v2/codes/payments/m-1', null);
    const ours = sign({ ...fieldsOf(sdkHeader), method: 'GET', path: '/v2/codes/payments/m-1', contentType: undefined, body: null });
    expect(ours).toBe(sdkHeader);
    expect(sdkHeader.endsWith(':empty')).toBe(true);
  });

  it('for a path whose query string the client leaves out of the signature', () => {
    const body = { merchantPaymentId: 'm-2' };
    const sdkHeader = sdkSigner().createAuthHeader('POST', '/v2/payments', body);
    const ours = sign({ ...fieldsOf(sdkHeader), path: '/v2/payments?agreeSimilarTransaction=false', body: JSON.stringify(body) });
    expect(ours).toBe(sdkHeader);
  });
});

describe('verifyOpaAuth', () => {
  it('accepts a correctly signed request and names its apiKey', async () => {
    expect(await verify(sign())).toEqual({ outcome: 'ok', apiKey: API_KEY, nonce: 'a1b2c3d4', epochSec: NOW_SEC });
  });

  it('accepts a body-less request whatever Content-Type header came with it', async () => {
    const header = sign({ method: 'DELETE', path: '/v2/codes/c-1', contentType: undefined, body: null });
    const result = await verify(header, { method: 'DELETE', path: '/v2/codes/c-1', contentType: JSON_TYPE, rawBody: Buffer.alloc(0) });
    expect(result.outcome).toBe('ok');
  });

  it('ignores the query string, as the SDKs do', async () => {
    expect((await verify(sign(), { path: '/v2/codes?assumeMerchant=m-9' })).outcome).toBe('ok');
  });

  it('reports a missing header as missing', async () => {
    expect(await verify(undefined)).toEqual({ outcome: 'missing' });
    expect(await verify('')).toEqual({ outcome: 'missing' });
  });

  it.each([
    ['another scheme', 'Bearer abc'],
    ['too few fields', 'hmac OPA-Auth:key:mac:nonce:1760000000'],
    ['too many fields', `${sign()}:extra`],
    ['a non-numeric epoch', sign().replace(`:${NOW_SEC}:`, ':17600000x0:')],
    ['an epoch with a leading zero', sign().replace(`:${NOW_SEC}:`, `:0${NOW_SEC}:`)],
    ['a MAC that is not Base64 of 32 bytes', sign().replace(/:[A-Za-z0-9+/]{43}=:/, ':not-a-mac:')],
    ['a body hash that is not Base64 of 16 bytes', sign().replace(/:[^:]+$/, ':AAAA')],
    ['an empty apiKey', sign().replace(`OPA-Auth:${API_KEY}:`, 'OPA-Auth::')],
    ['a nonce with forbidden characters', sign().replace(':a1b2c3d4:', ':a1b2 c3d4:')],
    ['an oversized header (resource exhaustion)', `hmac OPA-Auth:${'k'.repeat(600)}`],
  ])('rejects a header with %s as malformed', async (_name, header) => {
    expect(await verify(header)).toEqual({ outcome: 'malformed' });
  });

  it('rejects an apiKey Koban never issued', async () => {
    expect(await verify(sign({ apiKey: 'someone_else' }))).toEqual({ outcome: 'unknown_key' });
  });

  it('rejects a request signed with the wrong secret (forged request)', async () => {
    expect(await verify(sign({ apiSecret: 'guessed-secret' }))).toEqual({ outcome: 'bad_signature' });
  });

  it('rejects a request replayed to another path (path substitution)', async () => {
    expect(await verify(sign(), { path: '/v2/refunds' })).toEqual({ outcome: 'bad_signature' });
  });

  it('rejects a request replayed with another method (method substitution)', async () => {
    expect(await verify(sign(), { method: 'PUT' })).toEqual({ outcome: 'bad_signature' });
  });

  it('rejects a request whose signed content type was changed in transit', async () => {
    expect(await verify(sign(), { contentType: 'text/plain' })).toEqual({ outcome: 'bad_signature' });
  });

  it('rejects a tampered body under an intact header (amount tampering)', async () => {
    const tampered = Buffer.from('{"merchantPaymentId":"m-1","amount":{"amount":9999,"currency":"JPY"}}');
    expect(await verify(sign(), { rawBody: tampered })).toEqual({ outcome: 'bad_body_hash' });
  });

  it('rejects a body smuggled into a request signed as body-less', async () => {
    const header = sign({ method: 'DELETE', path: '/v2/codes/c-1', contentType: undefined, body: null });
    const result = await verify(header, { method: 'DELETE', path: '/v2/codes/c-1' });
    expect(result.outcome).toBe('bad_signature');
  });

  it.each([
    ['121 s in the past (captured request replayed later)', NOW_SEC - 121],
    ['121 s in the future (pre-signed request)', NOW_SEC + 121],
  ])('rejects an epoch %s as stale', async (_name, epochSec) => {
    expect(await verify(sign({ epochSec }))).toEqual({ outcome: 'stale_epoch' });
  });

  it('accepts an epoch exactly 120 s away in either direction', async () => {
    expect((await verify(sign({ epochSec: NOW_SEC - 120 }))).outcome).toBe('ok');
    expect((await verify(sign({ epochSec: NOW_SEC + 120 }))).outcome).toBe('ok');
  });

  it('rejects a replayed nonce inside the clock window (request replay)', async () => {
    const nonceStore = new MemoryNonceStore({ nowSec: () => NOW_SEC });
    expect((await verify(sign(), { nonceStore })).outcome).toBe('ok');
    expect(await verify(sign(), { nonceStore, nowSec: NOW_SEC + 5 })).toEqual({ outcome: 'replayed_nonce' });
  });

  it('remembers a nonce until its epoch leaves the window', async () => {
    const claims: number[] = [];
    const nonceStore: NonceStore = { claim: async (_key, _nonce, expiresAtSec) => (claims.push(expiresAtSec), true) };
    await verify(sign({ epochSec: NOW_SEC - 30 }), { nonceStore, maxSkewSec: 60 });
    expect(claims).toEqual([NOW_SEC - 30 + 60]);
  });

  it('does not let an unauthenticated caller burn a merchant nonce', async () => {
    const nonceStore = new MemoryNonceStore({ nowSec: () => NOW_SEC });
    await verify(sign({ apiSecret: 'guessed-secret' }), { nonceStore });
    expect(nonceStore.size).toBe(0);
    expect((await verify(sign(), { nonceStore })).outcome).toBe('ok');
  });

  it('accepts the Java SDK nonce shape (8 lowercase alphanumerics) and the Node SDK one (UUID v4)', async () => {
    expect((await verify(sign({ nonce: 'k3x9q2zz' }))).outcome).toBe('ok');
    expect((await verify(sign({ nonce: '0f8fad5b-d9cb-469f-a165-70867728950e' }))).outcome).toBe('ok');
  });
});
