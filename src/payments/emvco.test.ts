import { describe, expect, it } from 'vitest';
import { buildStaticQrPayload, crc16CcittFalse, parseStaticQrPayload, parseTlv } from './emvco.ts';

const fields = {
  merchantId: '00000000-0000-7000-8000-000000002001', storeId: '00000000-0000-7000-8000-000000002101', categoryCode: '5411', merchantName: 'Koban Mart',
  merchantCity: 'Shibuya-ku', postalCode: '150-0043',
};

/** The top-level fields of a payload, checking the CRC independently of the module's own parser. */
function fieldsOf(payload: string): Map<string, string> {
  const body = payload.slice(0, -4);
  expect(body.endsWith('6304')).toBe(true);
  expect(payload.slice(-4)).toBe(crc16CcittFalse(body).toString(16).toUpperCase().padStart(4, '0'));
  return parseTlv(payload.slice(0, -8));
}

describe('EMVCo merchant-presented QR', () => {
  it('computes CRC-16/CCITT-FALSE (check value of "123456789" is 0x29B1)', () => {
    expect(crc16CcittFalse('123456789')).toBe(0x29b1);
  });

  it('round-trips a static store QR', () => {
    const payload = buildStaticQrPayload(fields);
    expect(payload.startsWith('000201010211')).toBe(true);
    expect(payload).toMatch(/6304[0-9A-F]{4}$/);
    expect(parseStaticQrPayload(payload)).toEqual({
      merchantId: fields.merchantId, storeId: fields.storeId, merchantName: 'Koban Mart', merchantCity: 'Shibuya-ku', postalCode: '150-0043', alternateLanguage: null,
    });
  });

  it('carries the store\'s real city in tag 60 and its postal code in tag 61, and no language template for a Latin name', () => {
    const parsed = fieldsOf(buildStaticQrPayload(fields));
    expect(parsed.get('59')).toBe('Koban Mart');
    expect(parsed.get('60')).toBe('Shibuya-ku');
    expect(parsed.get('61')).toBe('150-0043');
    expect(parsed.has('64')).toBe(false);
  });

  it('puts a Japanese name into the language template (64) and its Latin name into tag 59', () => {
    const payload = buildStaticQrPayload({ ...fields, merchantName: 'コバンマート', merchantNameLatin: 'Koban Mart', merchantCityLocal: '渋谷区' });
    const top = fieldsOf(Buffer.from(payload, 'utf8').toString('utf8'));
    expect(top.get('59')).toBe('Koban Mart');
    expect(top.get('60')).toBe('Shibuya-ku');
    const template = parseTlv(top.get('64') ?? '');
    expect(Object.fromEntries(template)).toEqual({ '00': 'JA', '01': 'コバンマート', '02': '渋谷区' });
    // Lengths count characters: six katakana are "06", not their eighteen UTF-8 bytes.
    expect(top.get('64')).toBe('0002JA0106コバンマート0203渋谷区');
    expect(parseStaticQrPayload(payload).alternateLanguage).toEqual({ languagePreference: 'JA', merchantName: 'コバンマート', merchantCity: '渋谷区' });
  });

  it('falls back to a fixed Latin name in tag 59 when a Japanese-named merchant has no Latin name, keeping the real name in 64', () => {
    const top = fieldsOf(buildStaticQrPayload({ ...fields, merchantName: 'コバンマート' }));
    expect(top.get('59')).toBe('KOBAN MERCHANT');
    expect(parseTlv(top.get('64') ?? '').get('01')).toBe('コバンマート');
    expect(parseTlv(top.get('64') ?? '').has('02')).toBe(false);
  });

  it('clips names to the EMVCo maxima (59: 25, template 01: 25 characters)', () => {
    const long = 'A'.repeat(40);
    expect(fieldsOf(buildStaticQrPayload({ ...fields, merchantName: long })).get('59')).toBe('A'.repeat(25));
    const japanese = 'あ'.repeat(40);
    expect(parseTlv(fieldsOf(buildStaticQrPayload({ ...fields, merchantName: japanese })).get('64') ?? '').get('01')).toBe('あ'.repeat(25));
  });

  it.each([
    ['a city over 15 characters', { merchantCity: 'Higashimurayama-shi' }],
    ['a non-Latin city in tag 60', { merchantCity: '渋谷区' }],
    ['a postal code over 10 characters', { postalCode: '123-4567-8901' }],
    ['an empty city', { merchantCity: ' ' }],
  ])('refuses to build a code with %s', (_name, change) => {
    expect(() => buildStaticQrPayload({ ...fields, ...change })).toThrow(/EMVCo field 6[01]/);
  });

  it('rejects non-ASCII outside the language template even with a correct CRC', () => {
    const withCrc = (body: string) => body + crc16CcittFalse(body).toString(16).toUpperCase().padStart(4, '0');
    const base = buildStaticQrPayload(fields).slice(0, -8).replace('5910Koban Mart', '5910コバンマートMart');
    expect(() => parseStaticQrPayload(withCrc(`${base}6304`))).toThrow(/field 59 must be printable ASCII/);
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
