import { describe, expect, it } from 'vitest';
import { signWebhook, verifyWebhookSignature } from './webhook-signature.ts';

const SECRET = 'whsec_test_0123456789abcdef';
const BODY = '{"id":"evt_1","type":"authorized","data":{"amount":"1200"}}';
const NOW_SEC = 1_900_000_000;

describe('webhook signatures', () => {
  it('accepts a signature made with the shared secret over the raw body', () => {
    const header = signWebhook(SECRET, NOW_SEC, BODY);
    expect(header).toMatch(/^t=1900000000,v1=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature({ header, rawBody: BODY, secret: SECRET, nowSec: NOW_SEC })).toEqual({ status: 'ok', timestampSec: NOW_SEC });
    expect(verifyWebhookSignature({ header, rawBody: Buffer.from(BODY), secret: SECRET, nowSec: NOW_SEC }).status).toBe('ok');
  });

  it('rejects a tampered body (amount changed in transit)', () => {
    const header = signWebhook(SECRET, NOW_SEC, BODY);
    const tampered = BODY.replace('"1200"', '"120000"');
    expect(verifyWebhookSignature({ header, rawBody: tampered, secret: SECRET, nowSec: NOW_SEC })).toEqual({ status: 'bad_signature' });
  });

  it('rejects a webhook signed with another secret', () => {
    const header = signWebhook('whsec_attacker_guess_000000', NOW_SEC, BODY);
    expect(verifyWebhookSignature({ header, rawBody: BODY, secret: SECRET, nowSec: NOW_SEC })).toEqual({ status: 'bad_signature' });
  });

  it('rejects a replayed webhook whose timestamp is outside the tolerance', () => {
    const header = signWebhook(SECRET, NOW_SEC - 301, BODY);
    expect(verifyWebhookSignature({ header, rawBody: BODY, secret: SECRET, nowSec: NOW_SEC })).toEqual({ status: 'stale_timestamp', timestampSec: NOW_SEC - 301 });
    const future = signWebhook(SECRET, NOW_SEC + 301, BODY);
    expect(verifyWebhookSignature({ header: future, rawBody: BODY, secret: SECRET, nowSec: NOW_SEC }).status).toBe('stale_timestamp');
    expect(verifyWebhookSignature({ header, rawBody: BODY, secret: SECRET, nowSec: NOW_SEC, toleranceSec: 600 }).status).toBe('ok');
  });

  it('rejects a signature moved to another timestamp', () => {
    const signature = signWebhook(SECRET, NOW_SEC - 1_000, BODY).split(',')[1];
    expect(verifyWebhookSignature({ header: `t=${NOW_SEC},${signature}`, rawBody: BODY, secret: SECRET, nowSec: NOW_SEC }).status).toBe('bad_signature');
  });

  it.each([
    ['a missing header', undefined],
    ['an empty header', ''],
    ['no timestamp', 'v1=' + 'a'.repeat(64)],
    ['no v1 signature', `t=${NOW_SEC}`],
    ['a short signature', `t=${NOW_SEC},v1=abcd`],
    ['an upper-case signature', `t=${NOW_SEC},v1=${'A'.repeat(64)}`],
    ['two timestamps', `t=${NOW_SEC},t=${NOW_SEC},v1=${'a'.repeat(64)}`],
    ['a non-numeric timestamp', `t=soon,v1=${'a'.repeat(64)}`],
    ['a part without "="', `t=${NOW_SEC},garbage,v1=${'a'.repeat(64)}`],
    ['an oversized header', `t=${NOW_SEC},${'v0=x,'.repeat(1000)}v1=${'a'.repeat(64)}`],
    ['too many signatures', `t=${NOW_SEC},${`v1=${'a'.repeat(64)},`.repeat(9)}`.slice(0, -1)],
  ])('reports %s as malformed', (_name, header) => {
    expect(verifyWebhookSignature({ header, rawBody: BODY, secret: SECRET, nowSec: NOW_SEC })).toEqual({ status: 'malformed' });
  });

  it('accepts any of several v1 signatures while the sender rotates its secret', () => {
    const oldSignature = signWebhook('whsec_old_secret_0000000000', NOW_SEC, BODY).split(',')[1];
    const header = `${signWebhook(SECRET, NOW_SEC, BODY)},${oldSignature},v0=ignored`;
    expect(verifyWebhookSignature({ header, rawBody: BODY, secret: SECRET, nowSec: NOW_SEC }).status).toBe('ok');
    expect(verifyWebhookSignature({ header, rawBody: BODY, secret: 'whsec_old_secret_0000000000', nowSec: NOW_SEC }).status).toBe('ok');
  });

  it('accepts several receiver secrets while the receiver rotates', () => {
    const header = signWebhook(SECRET, NOW_SEC, BODY);
    expect(verifyWebhookSignature({ header, rawBody: BODY, secret: ['whsec_next_secret_000000000', SECRET], nowSec: NOW_SEC }).status).toBe('ok');
  });

  it('refuses to verify with an empty secret (which anyone could sign with)', () => {
    const header = signWebhook(SECRET, NOW_SEC, BODY);
    expect(() => verifyWebhookSignature({ header, rawBody: BODY, secret: '', nowSec: NOW_SEC })).toThrow();
    expect(() => verifyWebhookSignature({ header, rawBody: BODY, secret: [], nowSec: NOW_SEC })).toThrow();
    expect(() => signWebhook('', NOW_SEC, BODY)).toThrow();
  });
});
