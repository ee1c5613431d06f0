import { describe, expect, it } from 'vitest';
import { buildStaticQrPayload, crc16CcittFalse, parseStaticQrPayload } from './emvco.ts';

const fields = { merchantId: '00000000-0000-7000-8000-000000002001', storeId: '00000000-0000-7000-8000-000000002101', categoryCode: '5411', merchantName: 'Koban Mart' };

describe('EMVCo merchant-presented QR', () => {
  it('computes CRC-16/CCITT-FALSE (check value of "123456789" is 0x29B1)', () => {
    expect(crc16CcittFalse('123456789')).toBe(0x29b1);
  });

  it('round-trips a static store QR', () => {
    const payload = buildStaticQrPayload(fields);
    expect(payload.startsWith('000201010211')).toBe(true);
    expect(payload).toMatch(/6304[0-9A-F]{4}$/);
    expect(parseStaticQrPayload(payload)).toEqual({ merchantId: fields.merchantId, storeId: fields.storeId, merchantName: 'Koban Mart' });
  });

  it('replaces a name that is not printable ASCII rather than mangling it', () => {
    expect(parseStaticQrPayload(buildStaticQrPayload({ ...fields, merchantName: 'コバンマート' })).merchantName).toBe('KOBAN MERCHANT');
  });

  it('rejects a payload with one character changed (CRC mismatch)', () => {
    const payload = buildStaticQrPayload(fields);
    const altered = payload.replace('2101', '2102');
    expect(() => parseStaticQrPayload(altered)).toThrow(/CRC mismatch/);
  });

  it('rejects a store swapped in with a recomputed CRC only if the template is not Koban\'s', () => {
    const foreign = buildStaticQrPayload(fields).replace('jp.koban', 'jp.other');
    const body = foreign.slice(0, -4);
    const fixed = body + crc16CcittFalse(body).toString(16).toUpperCase().padStart(4, '0');
    expect(() => parseStaticQrPayload(fixed)).toThrow(/not a Koban merchant QR/);
  });

  it.each([
    ['truncated', (p: string) => p.slice(0, 30)],
    ['no CRC', (p: string) => p.slice(0, -8)],
    ['non-ASCII', (p: string) => `${p.slice(0, 10)}é${p.slice(11)}`],
    ['huge', (p: string) => p.repeat(10)],
  ])('rejects a %s payload', (_name, damage) => {
    expect(() => parseStaticQrPayload(damage(buildStaticQrPayload(fields)))).toThrow();
  });

  it('rejects a dynamic point of initiation or an embedded amount on a static code', () => {
    const withCrc = (body: string) => body + crc16CcittFalse(body).toString(16).toUpperCase().padStart(4, '0');
    const base = buildStaticQrPayload(fields).slice(0, -8);
    expect(() => parseStaticQrPayload(withCrc(`${base.replace('010211', '010212')}6304`))).toThrow(/not a static QR/);
    expect(() => parseStaticQrPayload(withCrc(`${base}54031006304`))).toThrow(/carries no amount/);
  });
});
