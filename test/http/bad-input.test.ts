/**
 * Bad text is a 400 on every route, never a 500 (issue 12): NUL, unpaired surrogates and invalid UTF-8
 * in bodies, paths and queries, and ids that are not plain UUIDs, refused before any database sees them —
 * on the main API (including the unauthenticated operator sign-in) and on the OPA merchant listener.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Koban } from '../../src/koban.ts';
import { startTestKoban } from '../support/koban.ts';

let koban: Koban;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ koban, close } = await startTestKoban());
});
afterAll(async () => close());

const signIn = (payload: string | Buffer) => koban.app.inject({ method: 'POST', url: '/v1/ops/session', headers: { 'content-type': 'application/json' }, payload });

describe('bad text in a body', () => {
  it.each([
    ['a NUL', '{"email":"ops\\u0000@koban.test","password":"x","totpCode":"123456"}', '/body/email'],
    ['an unpaired surrogate', '{"email":"ops\\ud800@koban.test","password":"x","totpCode":"123456"}', '/body/email'],
    ['a NUL in a member name', '{"email":"ops@koban.test","password":"x","totpCode":"123456","a\\u0000":1}', '/body'],
  ])('refuses %s in the unauthenticated operator sign-in with a 400 naming the field', async (_what, body, pointer) => {
    const response = await signIn(body);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'validation_failed', errors: [{ pointer }] });
  });

  it('refuses a body that is not valid UTF-8 instead of reading replacement characters', async () => {
    const response = await signIn(Buffer.concat([Buffer.from('{"email":"ops'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('@koban.test","password":"x","totpCode":"123456"}')]));
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'invalid_json', errors: [{ pointer: '/body', message: 'is not valid UTF-8' }] });
  });
});

describe('bad text and malformed ids in paths and queries', () => {
  it.each([
    ['a NUL in the query', '/dev/outbox.json?to=a%00b', '/querystring/to'],
    ['a non-UUID payment code id', '/v1/wallet/payment-codes/not-a-uuid', '/params/codeId'],
    ['a urn:uuid payment code id', '/v1/wallet/payment-codes/urn:uuid:0190a000-0000-7000-8000-000000000001', '/params/codeId'],
    ['a NUL in a path parameter', '/v1/wallet/history/a%00b', '/params/transferId'],
  ])('refuses %s with a 400 naming it', async (_what, url, pointer) => {
    const response = await koban.app.inject({ method: 'GET', url });
    expect(response.statusCode, response.body).toBe(400);
    expect(response.json().status).toBe(400);
    expect(response.json().errors).toContainEqual(expect.objectContaining({ pointer }));
  });

  it('the OPA listener refuses a NUL in a path parameter with INVALID_PARAMS before anything else', async () => {
    const response = await koban.payments.opa.app.inject({ method: 'GET', url: '/v2/payments/a%00b' });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ resultInfo: { code: 'INVALID_PARAMS' } });
  });
});
